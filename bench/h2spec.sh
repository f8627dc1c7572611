#!/usr/bin/env bash
# h2spec (summerwind/h2spec: RFC 7540/9113 and RFC 7541 conformance, 146 server cases)
# against `twine serve`, over cleartext with prior knowledge and over TLS with ALPN `h2`.
#   bench/h2spec.sh [--app APP] [--source DIR]
# APP is the served app (default `hello`: it answers every request with a body, so h2spec
# skips no case; `echo` answers a GET with an empty body, and h2spec then skips four).
# h2spec is built from source with Debian's Go and the three libraries it uses (installed
# with apt-get if missing, as .ci/run installs its tools), in GOPATH mode, with no module
# download: the source is DIR, or a shallow clone of github.com/summerwind/h2spec.
# Known, over cleartext only: http2/3.5/2 (an invalid preface) fails, because a cleartext
# port serves HTTP/1.1 too, and a first line that is not the preface gets an HTTP/1.1 400;
# over TLS the client chose `h2` in the handshake, and the same bytes get GOAWAY.
set -euo pipefail
cd "$(dirname "$0")/.."
app=hello
source=
while [ $# -gt 0 ]; do
  case "$1" in
    --app) app="$2"; shift 2 ;;
    --source) source="$2"; shift 2 ;;
    *) echo "bench/h2spec.sh: unknown argument $1 (use --app APP, --source DIR)" >&2; exit 2 ;;
  esac
done
install() {
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "$@" >/dev/null; fi
}
gocode=/usr/share/gocode/src
[ -d "$gocode/golang.org/x/net/http2" ] && command -v go >/dev/null && command -v openssl >/dev/null ||
  install golang-go golang-golang-x-net-dev golang-github-spf13-cobra-dev \
    golang-github-fatih-color-dev openssl
work=target/h2spec
mkdir -p "$work"
gopath="$PWD/$work/gopath"
src="$gopath/src/github.com/summerwind/h2spec"
if [ ! -x "$work/h2spec" ]; then
  rm -rf "$gopath" && mkdir -p "$(dirname "$src")"
  if [ -n "$source" ]; then cp -r "$source" "$src"
  else git clone -q --depth 1 https://github.com/summerwind/h2spec "$src"; fi
  (cd "$src" && GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" \
    go build -o "$OLDPWD/$work/h2spec" ./cmd/h2spec)
fi
cargo build --release -q -p twine-scenarios --bin twine
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=localhost 2>/dev/null
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# Starts `twine serve` on a free port with the given flags; prints the port.
serve() {
  local log="$work/serve-$1.log"
  shift
  target/release/twine serve --app "$app" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    if grep -q "listening on" "$log"; then
      sed -n 's/^listening on https\?:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log" | head -1
      return
    fi
    sleep 0.05
  done
  echo "bench/h2spec.sh: twine serve did not start (see $log)" >&2
  exit 1
}
plain=$(serve plain)
tls=$(serve tls --tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
status=0
# Runs h2spec with the given flags; prints its failures (if any) and its count.
run() {
  local out="$work/report-$1.txt"
  shift
  "$work/h2spec" -h 127.0.0.1 -o 2 "$@" >"$out" 2>&1 || status=1
  sed -n '/^Failures:/,/^Finished/p' "$out" | grep -v '^Finished' || true
  tail -1 "$out"
}
echo "== cleartext, prior knowledge (--app $app)"
run plain -p "$plain"
echo "== TLS, ALPN h2 (--app $app)"
run tls -p "$tls" -t -k
exit "$status"
