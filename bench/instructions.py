#!/usr/bin/env python3
"""User-space instructions per request of each whole server, counted by callgrind: a figure
that does not move with the machine's load, where wall-clock ratios on a shared machine move by
10-20% between runs. Companion to bench/compare.py (same servers, same response bytes).

Each server runs under `valgrind --tool=callgrind` while a client in this process sends
`GET / HTTP/1.1` requests over C keep-alive connections, one at a time per connection
(keep-alive) or 16 at once (pipelined), in rounds across the connections. The server is run
twice, with a small and a large number of rounds; the difference of the two totals divided by
the difference of the request counts is the cost per request, start-up and shut-down excluded.

    bench/instructions.py --twine target/release/twine \\
        --hyper bench/hyper-ref/target/release/hyper-ref \\
        --ceiling bench/hyper-ref/target/release/ceiling [--connections C] [--rounds LOW HIGH]

Prints instructions per request for each server and the twine/hyper and twine/ceiling ratios.
Needs valgrind (bench/run installs it when asked for `--instructions`).
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

BODY = b"hello world\n"


def drive(port, connections, rounds, depth):
    """Sends `rounds` x `depth` requests on each of `connections`; waits for every answer."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    for _ in range(rounds):
        for sock in sockets:
            sock.sendall(request * depth)
        for sock in sockets:
            received = b""
            while received.count(BODY) < depth:
                chunk = sock.recv(65536)
                if not chunk:
                    sys.exit("error: the server closed a connection early")
                received += chunk
    for sock in sockets:
        sock.close()
    return rounds * depth * connections


def instructions(command, connections, rounds, depth):
    """Total instructions of one run of the server under callgrind, and the requests sent."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + command,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = process.stdout.readline().strip()
        if not line.startswith("listening on "):
            process.kill()
            sys.exit(f"error: {command[0]} did not start under valgrind (first line: {line!r})")
        port = int(line.rsplit(":", 1)[1].rstrip("/"))
        requests = drive(port, connections, rounds, depth)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        with open(out) as profile:
            text = profile.read()
        match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        if not match:
            sys.exit(f"error: no instruction total in callgrind's output for {command[0]}")
        return int(match.group(1)), requests


def per_request(command, connections, low, high, depth):
    small, small_requests = instructions(command, connections, low, depth)
    large, large_requests = instructions(command, connections, high, depth)
    return (large - small) / (large_requests - small_requests)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twine", required=True)
    parser.add_argument("--hyper", required=True)
    parser.add_argument("--ceiling", required=True)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, nargs=2, default=[50, 350], metavar=("LOW", "HIGH"))
    args = parser.parse_args()
    low, high = args.rounds
    if not 0 < low < high:
        sys.exit("error: --rounds takes LOW HIGH with 0 < LOW < HIGH")
    servers = [
        ("twine", [args.twine, "serve", "--listen", "127.0.0.1:0", "--app", "hello",
                   "--log-level", "off"]),
        ("hyper", [args.hyper]),
        ("ceiling", [args.ceiling]),
    ]
    rows = []
    for label, depth in [("keep-alive", 1), ("pipelined-16", 16)]:
        # Keep-alive rounds carry one request per connection: more rounds for as many requests.
        scale = 16 // depth
        counts = {
            name: per_request(command, args.connections, low * scale, high * scale, depth)
            for name, command in servers
        }
        rows.append((f"{label} instructions/request", counts))
        print(f"{label} done", file=sys.stderr)
    print(f"user-space instructions per request (callgrind), {args.connections} connections, "
          f"rounds {low} and {high}")
    print(f"{'measure':36} {'twine':>9} {'hyper':>9} {'ceiling':>9} {'/hyper':>8} {'/ceiling':>9}")
    for name, c in rows:
        print(f"{name:36} {c['twine']:9.0f} {c['hyper']:9.0f} {c['ceiling']:9.0f} "
              f"{c['twine'] / c['hyper']:8.2f} {c['twine'] / c['ceiling']:9.2f}")


if __name__ == "__main__":
    main()
