#!/usr/bin/env bash
# The real server side by side with references, under the same load, in one run, reported as
# ratios (DESIGN.md §6): hyper (bench/hyper-ref, an empty 200) and nginx (an empty 200).
# Measures keep-alive requests/s and 16-deep pipelined requests/s with wrk, and the server's
# memory per idle keep-alive connection. Loopback only.
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx-light).
#   bench/real_server.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "error: nginx is not installed (apt-get install -y nginx-light)" >&2; exit 2; }
cargo build --release -q -p twine-scenarios --bin twine
cargo build --release -q --manifest-path bench/hyper-ref/Cargo.toml

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() { # name command...: starts a server that prints `listening on URL`, sets url_NAME, pid_NAME
  local name=$1; shift
  "$@" > "$work/$name.out" &
  pids+=($!)
  eval "pid_$name=$!"
  for _ in $(seq 100); do grep -q listening "$work/$name.out" && break; sleep 0.1; done
  eval "url_$name=$(sed -n 's/^listening on //p' "$work/$name.out")"
}
start twine ./target/release/twine serve --listen 127.0.0.1:0 --app echo
start hyper ./bench/hyper-ref/target/release/hyper-ref

nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
error_log $work/error.log;
pid $work/nginx.pid;
events { worker_connections 4096; }
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
url_nginx="http://127.0.0.1:$nginx_port"
sleep 0.3
pid_nginx=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

cat > "$work/pipeline.lua" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
LUA

rate() { wrk -t1 -c50 -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

printf '%-30s %12s %12s %12s %10s %10s\n' measure twine hyper nginx "vs hyper" "vs nginx"
for mode in keep-alive pipelined-16; do
  extra=()
  [ "$mode" = pipelined-16 ] && extra=(-s "$work/pipeline.lua")
  t=$(rate "${extra[@]}" "$url_twine/"); h=$(rate "${extra[@]}" "$url_hyper/"); n=$(rate "${extra[@]}" "$url_nginx/")
  printf '%-30s %12s %12s %12s %10s %10s\n' "$mode requests/s" "$t" "$h" "$n" "$(ratio "$t" "$h")" "$(ratio "$t" "$n")"
done
t=$(python3 bench/idle_memory.py "$pid_twine" "$url_twine" 1000)
h=$(python3 bench/idle_memory.py "$pid_hyper" "$url_hyper" 1000)
n=$(python3 bench/idle_memory.py "$pid_nginx" "$url_nginx" 1000)
printf '%-30s %12s %12s %12s %10s %10s\n' "KiB per idle connection" "$t" "$h" "$n" "$(ratio "$t" "$h")" "$(ratio "$t" "$n")"
