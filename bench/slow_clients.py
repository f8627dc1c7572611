#!/usr/bin/env python3
"""Memory under slow clients: `twine serve --app stream` holding N slowloris clients (a request
head that never ends) and N slow readers (a 64 MiB response they stop reading after 1 KiB),
and still answering a well-behaved client.

Prints the server's resident memory (VmRSS, and the peak VmHWM) with every slow client
connected, the growth per slow client, and how long the well-behaved client's request took.
Loopback only. The goal (issue: Performance) is 10,000 slow clients in at most 48 MiB.

    bench/slow_clients.py --twine target/release/twine [--slowloris 5000] [--slow-readers 5000]
        [--body-bytes 67108864]
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import time


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    sys.exit(f"error: no {key} for pid {pid}")


def open_many(count, host, port, request, rcvbuf=None, read_first=0):
    """`count` connections, each sent `request`; a slow reader reads `read_first` bytes and
    then nothing. Returns the sockets, kept open by the caller."""
    sockets = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # A small receive window: the server's writes block early, as for a slow phone.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect((host, port))
        s.sendall(request)
        got = 0
        while got < read_first:
            chunk = s.recv(read_first - got)
            if not chunk:
                sys.exit("error: the server closed a slow reader early")
            got += len(chunk)
        sockets.append(s)
    return sockets


def well_behaved(host, port, n):
    """One ordinary request for `n` bytes: seconds taken, and whether all arrived."""
    started = time.monotonic()
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(f"GET /stream/{n} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return time.monotonic() - started, head.startswith(b"HTTP/1.1 200") and len(body) == n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--twine", required=True)
    parser.add_argument("--slowloris", type=int, default=5000)
    parser.add_argument("--slow-readers", type=int, default=5000)
    parser.add_argument("--body-bytes", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args()
    total = args.slowloris + args.slow_readers
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < total + 256:
        sys.exit(f"error: the open-file limit ({hard}) is below {total + 256}")
    # The server inherits the raised limit (its default --connections-max follows it).
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    server = subprocess.Popen(
        [args.twine, "serve", "--listen", "127.0.0.1:0", "--app", "stream",
         "--log-level", "warn"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        host, port = line.removeprefix("listening on http://").split(":")
        port = int(port)
        time.sleep(0.3)
        before = status_kib(server.pid, "VmRSS")
        loris = open_many(args.slowloris, host, port, b"GET /stream/1 HTTP/1.1\r\nHost: h\r\n")
        readers = open_many(
            args.slow_readers, host, port,
            f"GET /stream/{args.body_bytes} HTTP/1.1\r\nHost: h\r\n\r\n".encode(),
            rcvbuf=4096, read_first=1024)
        time.sleep(2)
        rss = status_kib(server.pid, "VmRSS")
        peak = status_kib(server.pid, "VmHWM")
        took, whole = well_behaved(host, port, 1_000_000)
        print(f"slow clients held          {len(loris)} slowloris + {len(readers)} slow readers")
        print(f"server RSS                 {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB, "
              f"{before / 1024:.1f} MiB before)")
        print(f"per slow client            {(rss - before) / total:.2f} KiB")
        print(f"well-behaved 1 MB request  {'answered whole' if whole else 'FAILED'} "
              f"in {took * 1000:.0f} ms")
        for s in loris + readers:
            s.close()
        if not whole:
            sys.exit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
