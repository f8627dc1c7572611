#!/usr/bin/env python3
"""twine side by side with hyper and a no-parse ceiling, under the same load, in one run.

Starts the three servers (all answering `200` with `hello world\\n`), then for each round runs
`wrk` plain keep-alive and 16-deep pipelined against each server in turn (the order rotates per
round, so drift in the machine's state does not favour one server), and prints the medians and
the ratios twine/hyper and twine/ceiling of:

- requests/s (wrk),
- server CPU per request in microseconds (user + system ticks of the server process from
  /proc/PID/stat over the wrk run, divided by the requests wrk counted),
- p99 latency (wrk --latency),
- peak RSS (VmHWM) after the whole run, and
- memory per idle keep-alive connection (KiB of RSS growth with N connections open, each
  having made one request).

Then HTTP/2: `h2load -c10 -m10` (ten connections, ten streams each, prior knowledge) against
twine and against hyper serving HTTP/2 (`hyper-ref --h2`), in the same rotation, for
requests/s and server CPU per request (h2load prints no percentiles).

With `--access-log`, a fourth server runs: twine with `--access-log FILE` (a temporary file),
and the last column is its ratio to twine without one: the access log's cost.

The servers are pinned to core 0 and wrk and h2load to core 1 when the machine has two cores or more and
`taskset` exists. Loopback only. Usage (bench/run builds the binaries and calls this):

    bench/compare.py --twine BIN --hyper BIN --ceiling BIN [--rounds 3] [--seconds 5]
        [--connections 50] [--idle 2000] [--access-log] [--no-h2]
"""

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PIPELINE_LUA = """
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
"""

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pinned(core):
    """The command prefix that pins a process to `core`, or nothing if that cannot be done."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


class Server:
    """One server process, started on core 0, whose first line is `listening on URL`."""

    def __init__(self, name, command):
        self.name = name
        self.process = subprocess.Popen(
            pinned(0) + command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            sys.exit(f"error: {name} did not start (first line: {line!r})")
        self.url = line.removeprefix("listening on ")
        self.host, port = self.url.split("//")[1].rstrip("/").split(":")
        self.port = int(port)

    def cpu_seconds(self):
        """User plus system CPU time of the server so far (all its threads)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            # The command name may hold spaces; the fields after its closing parenthesis are
            # numbered from 3 (state), so utime (14) and stime (15) are at 11 and 12.
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def status_kib(self, key):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        sys.exit(f"error: no {key} for {self.name}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def parse_wrk(output):
    """(requests, seconds, p99 in ms) from wrk's --latency output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if not done:
        sys.exit(f"error: cannot read wrk's output:\n{output}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    p99 = re.search(r"^\s*99%\s+([\d.]+)(\w+)", output, re.MULTILINE)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    if re.search(r"Non-2xx or 3xx responses|Socket errors", output):
        sys.exit(f"error: wrk saw errors:\n{output}")
    return int(done.group(1)), float(done.group(2)) * unit, p99_ms


def load(server, args, script):
    """One wrk run against `server`: requests/s, CPU microseconds per request, p99 ms."""
    command = pinned(1) + ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s",
                           "--latency"]
    if script:
        command += ["-s", script]
    before = server.cpu_seconds()
    output = subprocess.run(command + [server.url + "/"], capture_output=True, text=True,
                            check=True).stdout
    cpu = server.cpu_seconds() - before
    requests, seconds, p99 = parse_wrk(output)
    return requests / seconds, cpu / requests * 1e6, p99


def parse_h2load(output):
    """(requests, seconds) from h2load's summary; every request must have succeeded."""
    finished = re.search(r"finished in ([\d.]+)(\w+),", output)
    counts = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", output)
    if not finished or not counts:
        sys.exit(f"error: cannot read h2load's output:\n{output}")
    if counts.group(1) != counts.group(2):
        sys.exit(f"error: h2load saw failures:\n{output}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[finished.group(2)]
    return int(counts.group(2)), float(finished.group(1)) * unit


def load_h2(server, args):
    """One h2load run against `server`: requests/s, CPU microseconds per request, no p99."""
    command = pinned(1) + ["h2load", "-t1", "-c10", "-m10", f"-D{args.seconds}",
                           server.url + "/"]
    before = server.cpu_seconds()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - before
    requests, seconds = parse_h2load(output)
    return requests / seconds, cpu / requests * 1e6, float("nan")


def idle_kib_per_connection(server, count):
    """RSS growth per keep-alive connection left idle after one request."""
    request = f"GET / HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode()
    time.sleep(0.3)
    before = server.status_kib("VmRSS")
    sockets = []
    for _ in range(count):
        s = socket.create_connection((server.host, server.port))
        s.sendall(request)
        data = b""
        while b"hello world\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit(f"error: {server.name} closed an idle connection")
            data += chunk
        sockets.append(s)
    time.sleep(0.5)
    after = server.status_kib("VmRSS")
    for s in sockets:
        s.close()
    return (after - before) / count


def ratio(a, b):
    return f"{a / b:.2f}" if b and a == a and b == b else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--twine", required=True)
    parser.add_argument("--hyper", required=True)
    parser.add_argument("--ceiling", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--no-h2", action="store_true", help="skip the HTTP/2 runs")
    args = parser.parse_args()
    h2 = not args.no_h2
    if h2 and not shutil.which("h2load"):
        sys.exit("error: h2load is not installed (apt-get install -y nghttp2-client)")
    if not shutil.which("wrk"):
        sys.exit("error: wrk is not installed (apt-get install -y wrk)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.idle + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    log_dir = tempfile.TemporaryDirectory()
    twine = [args.twine, "serve", "--listen", "127.0.0.1:0", "--app", "hello"]
    servers = [
        Server("twine", twine),
        Server("hyper", [args.hyper]),
        Server("ceiling", [args.ceiling]),
    ]
    if args.access_log:
        log = os.path.join(log_dir.name, "access.log")
        servers.append(Server("twine+log", twine + ["--access-log", log]))
    names = [s.name for s in servers]
    # HTTP/2: twine as it is (prior knowledge on the same port), hyper's HTTP/2 server.
    h2_servers = [servers[0], Server("hyper", [args.hyper, "--h2"])] if h2 else []
    results = {}  # (mode, server) -> list of (rps, cpu_us, p99_ms)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(PIPELINE_LUA)
        lua.flush()
        try:
            for round_index in range(args.rounds):
                turn = round_index % len(servers)
                order = servers[turn:] + servers[:turn]
                for mode, script in (("keep-alive", None), ("pipelined-16", lua.name)):
                    for server in order:
                        sample = load(server, args, script)
                        results.setdefault((mode, server.name), []).append(sample)
                h2_order = h2_servers[round_index % 2:] + h2_servers[:round_index % 2]
                for server in h2_order:
                    results.setdefault(("h2 c10 m10", server.name), []).append(
                        load_h2(server, args))
                print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)
            idle = {s.name: idle_kib_per_connection(s, args.idle) for s in servers}
            peak = {s.name: s.status_kib("VmHWM") / 1024 for s in servers}
        finally:
            for server in servers + h2_servers[1:]:
                server.stop()
            log_dir.cleanup()

    pins = "server on core 0, wrk on core 1" if pinned(0) else "not pinned"
    print(f"medians of {args.rounds} rounds, wrk -t1 -c{args.connections} -d{args.seconds}s, "
          f"{pins}")
    ratios = [("/hyper", "twine", "hyper"), ("/ceiling", "twine", "ceiling")]
    if args.access_log:
        ratios.append(("log/none", "twine+log", "twine"))
    print(f"{'measure':<34}" + "".join(f"{n:>11}" for n in names)
          + "".join(f"{r[0]:>10}" for r in ratios))
    rows = []
    for mode in ("keep-alive", "pipelined-16"):
        for index, (label, digits) in enumerate(
            (("requests/s", 0), ("server CPU us/request", 2), ("p99 latency ms", 2))
        ):
            values = {name: statistics.median(sample[index] for sample in results[(mode, name)])
                      for name in names}
            rows.append((f"{mode} {label}", values, digits))
    nan = float("nan")
    if h2:
        for index, (label, digits) in enumerate((("requests/s", 0), ("server CPU us/request", 2))):
            values = {name: nan for name in names}
            for name in ("twine", "hyper"):
                values[name] = statistics.median(
                    sample[index] for sample in results[("h2 c10 m10", name)])
            rows.append((f"h2 c10 m10 {label}", values, digits))
    rows.append(("peak RSS MiB", peak, 1))
    rows.append((f"KiB per idle connection ({args.idle})", idle, 2))
    for label, values, digits in rows:
        print(f"{label:<34}" + "".join(f"{values[n]:>11.{digits}f}" for n in names)
              + "".join(f"{ratio(values[a], values[b]):>10}" for _, a, b in ratios))


if __name__ == "__main__":
    main()
