#!/usr/bin/env python3
"""bench/exec-api.py SOCKET CONTAINER RUNS: the engine's own time for `docker exec CONTAINER true` at the API level,
the requests the docker CLI makes without its own start-up: POST /containers/{c}/exec, POST /exec/{id}/start
hijacked (Upgrade: tcp, read to the stream's end), GET /exec/{id}/json (the exit code). One connection per request,
as the CLI. Prints the mean and the median in seconds (after 3 warm-up runs)."""
import json, socket, statistics, sys, time

sock_path, container, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])


def request(method, path, body=None, upgrade=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} /v1.41{path} HTTP/1.1\r\nHost: api\r\nUser-Agent: bench\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    if upgrade:
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError(f"{method} {path}: connection closed: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    if upgrade:
        s.shutdown(socket.SHUT_WR)  # no stdin, as the CLI without -i
        while s.recv(65536):
            pass
        s.close()
        return status, b""
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length is not None:
        while len(rest) < length:
            rest += s.recv(65536)
    elif b"chunked" in head.lower():
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        out, r = b"", rest
        while True:
            n, _, r = r.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out, r = out + r[:n], r[n + 2:]
        rest = out
    s.close()
    return status, rest


def one():
    st, body = request("POST", f"/containers/{container}/exec",
                       {"AttachStdout": True, "AttachStderr": True, "Cmd": ["true"]})
    assert st == 201, (st, body)
    eid = json.loads(body)["Id"]
    st, _ = request("POST", f"/exec/{eid}/start", {"Detach": False, "Tty": False}, upgrade=True)
    assert st == 101, st
    st, body = request("GET", f"/exec/{eid}/json")
    assert st == 200 and json.loads(body)["ExitCode"] == 0, (st, body)


for _ in range(3):
    one()
times = []
for _ in range(runs):
    t = time.perf_counter()
    one()
    times.append(time.perf_counter() - t)
print(f"{statistics.mean(times):.6f} {statistics.median(times):.6f}")
