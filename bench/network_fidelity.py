#!/usr/bin/env python3
"""How many response bytes a client that reads nothing absorbs on real loopback, next to the
simulation's bound, for the README's note on the simulated network.

Starts `twine serve --app stream` on 127.0.0.1:0, asks for a 50 MB body and reads nothing;
after 0.1 s, 0.5 s and 1 s it sums the kernel's queues of the connection (`ss -tn`: the
client's Recv-Q and the server's Send-Q), i.e. what the server could hand to its socket
before it saw backpressure. The simulation bounds the same quantity at
`twine_sim::net::IN_FLIGHT_BYTES_MAX` (Linux's default `tcp_rmem` 128 KiB plus `tcp_wmem`
16 KiB, without autotuning). Loopback only. Usage:

    bench/network_fidelity.py target/release/twine
"""

import socket
import subprocess
import sys
import time

SIM_IN_FLIGHT_BYTES_MAX = 128 * 1024 + 16 * 1024


def queues(port):
    """(Recv-Q, Send-Q) of every established socket with `port` at either end."""
    out = subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True,
                         text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        fields = line.split()
        ends = (fields[2].rsplit(":", 1)[1], fields[3].rsplit(":", 1)[1])
        if str(port) in ends:
            rows.append((int(fields[0]), int(fields[1])))
    return rows


def main():
    twine = sys.argv[1] if len(sys.argv) > 1 else "target/release/twine"
    server = subprocess.Popen([twine, "serve", "--listen", "127.0.0.1:0", "--app", "stream"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("listening on "):
        sys.exit(f"error: twine did not start ({line!r})")
    port = int(line.rsplit(":", 1)[1])
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"GET /stream/50000000 HTTP/1.1\r\nHost: h\r\n\r\n")
    start = time.monotonic()
    try:
        for at in (0.1, 0.5, 1.0):
            time.sleep(max(0.0, start + at - time.monotonic()))
            rows = queues(port)
            recv_q = sum(r[0] for r in rows)
            send_q = sum(r[1] for r in rows)
            print(f"real loopback, {at:.1f} s without reading: {recv_q + send_q} bytes in "
                  f"flight (client Recv-Q {recv_q}, server Send-Q {send_q})")
        print(f"simulation bound: {SIM_IN_FLIGHT_BYTES_MAX} bytes "
              f"(twine_sim::net::IN_FLIGHT_BYTES_MAX)")
    finally:
        client.close()
        server.terminate()
        server.wait()


main()
