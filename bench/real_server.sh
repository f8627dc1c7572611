#!/usr/bin/env bash
# The real server side by side with a reference (nginx returning an empty 200), under the same
# wrk load, in one run, reported as ratios: keep-alive requests and 16-deep pipelining.
# Loopback only. Needs wrk and nginx (Debian: apt-get install -y wrk nginx-light).
#   bench/real_server.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "error: nginx is not installed (apt-get install -y nginx-light)" >&2; exit 2; }
cargo build --release -q -p twine-scenarios --bin twine

work=$(mktemp -d)
trap 'kill $twine_pid 2>/dev/null || true; nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

./target/release/twine serve --listen 127.0.0.1:0 --app echo > "$work/twine.out" &
twine_pid=$!
for _ in $(seq 50); do grep -q listening "$work/twine.out" && break; sleep 0.1; done
twine_url=$(sed -n 's/^listening on //p' "$work/twine.out")

nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
error_log $work/error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 ""; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
nginx_url="http://127.0.0.1:$nginx_port"

cat > "$work/pipeline.lua" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
LUA

rate() { wrk -t1 -c50 -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
printf '%-24s %14s %14s %8s\n' load twine nginx ratio
for mode in keep-alive pipelined-16; do
  extra=()
  [ "$mode" = pipelined-16 ] && extra=(-s "$work/pipeline.lua")
  t=$(rate "${extra[@]}" "$twine_url/")
  n=$(rate "${extra[@]}" "$nginx_url/")
  printf '%-24s %14s %14s %8s\n' "$mode" "$t" "$n" "$(python3 -c "print(f'{$t/$n:.2f}')")"
done
