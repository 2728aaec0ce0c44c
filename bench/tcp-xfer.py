#!/usr/bin/env python3
"""bench/tcp-xfer.py: one measured TCP transfer with a byte count check (bench/network.sh runs it, each side in
the network namespace it measures: nsenter --net=/proc/PID/ns/net).

  tcp-xfer.py sink PORT            listens on 0.0.0.0:PORT, prints "ready", takes ONE connection, reads it to EOF
                                   (1 MiB buffer), answers the number of bytes it read (ASCII) and prints it
  tcp-xfer.py send HOST PORT MIB   connects, sends MIB MiB of zeros, half-closes, reads the sink's count;
                                   prints "BYTES SECONDS MIB_PER_S"; exits 2 when the sink's count is not
                                   what was sent (the transfer did not go through: the figure would be a lie)

The time runs from the connect to the sink's answer: every byte has reached the sink's process.
"""
import socket
import sys
import time

CHUNK = 1 << 20


def sink(port: int) -> None:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("ready", flush=True)
    c, _ = ls.accept()
    buf = bytearray(CHUNK)
    n = 0
    while True:
        k = c.recv_into(buf)
        if k == 0:
            break
        n += k
    c.sendall(str(n).encode())
    c.close()
    ls.close()
    print(n, flush=True)


def send(host: str, port: int, mib: int) -> int:
    total = mib * CHUNK
    data = bytes(CHUNK)
    t0 = time.monotonic()
    s = socket.create_connection((host, port), timeout=120)
    for _ in range(mib):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(64)
        if not b:
            break
        reply += b
    t = time.monotonic() - t0
    s.close()
    got = int(reply) if reply.isdigit() else -1
    if got != total:
        print(f"tcp-xfer: sent {total} bytes to {host}:{port}, the sink read {got if got >= 0 else 'nothing (no answer)'}",
              file=sys.stderr)
        return 2
    print(f"{total} {t:.3f} {total / CHUNK / t:.0f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sink":
        sink(int(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "send":
        sys.exit(send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
