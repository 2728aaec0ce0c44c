#!/usr/bin/env python3
"""bench/dns-probe.py: run inside a container's network namespace (nsenter --net=/proc/PID/ns/net): sends A
queries to the embedded DNS at 127.0.0.11:53 over UDP, one at a time.

  dns-probe.py latency NAME COUNT   prints "p50_us p95_us answered/COUNT"
  dns-probe.py all NAME...          prints "resolved/asked" (each name asked once, must have an A record)
"""
import random, socket, struct, sys, time

def query(sock, name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    sock.send(q)
    while True:
        r = sock.recv(4096)
        if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
            rcode, ancount = r[3] & 0xF, struct.unpack(">H", r[6:8])[0]
            return rcode == 0 and ancount > 0

def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect(("127.0.0.11", 53))
    if sys.argv[1] == "latency":
        name, n = sys.argv[2], int(sys.argv[3])
        for _ in range(20): query(s, name)  # warm up
        times, ok = [], 0
        for _ in range(n):
            t = time.perf_counter_ns()
            try: ok += query(s, name)
            except socket.timeout: continue
            times.append((time.perf_counter_ns() - t) / 1000)
        times.sort()
        print(f"{times[len(times) // 2]:.0f} {times[int(len(times) * 0.95)]:.0f} {ok}/{n}")
    else:
        names = sys.argv[2:]
        ok = 0
        for name in names:
            try: ok += query(s, name)
            except socket.timeout: pass
        print(f"{ok}/{len(names)}")

main()
