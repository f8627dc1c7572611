#!/usr/bin/env python3
"""Memory per idle keep-alive connection: open N connections to URL, send one request on each
and read its response, keep them open, and report the server's resident memory growth per
connection (KiB). Usage: idle_memory.py PID URL [N]"""
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS")


def main():
    pid, url = int(sys.argv[1]), sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    host, port = url.split("//")[1].rstrip("/").split(":")
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    time.sleep(0.2)
    before = rss_kib(pid)
    sockets = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)))
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        sockets.append(s)
    time.sleep(0.5)
    after = rss_kib(pid)
    print(f"{(after - before) / count:.2f}")
    for s in sockets:
        s.close()


main()
