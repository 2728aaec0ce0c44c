"""logs: all, stdout/stderr, tail, timestamps, since, until, stream and follow. python3-docker against berthd."""
import datetime
import threading
import time

from common import api, check, client, done, eventually, ok, sleeper

c = sleeper("py-logs", "sh", "-c", "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; sleep 1000")
eventually("five lines logged", lambda: c.logs().count(b"\n") >= 10)
# stdout and stderr are two pipes (as with dockerd): each stream's order is kept, not the order between them.
full = c.logs()
check("logs: stdout and stderr", sorted(full.splitlines()), sorted([b"out%d" % i for i in range(1, 6)] + [b"err%d" % i for i in range(1, 6)]))
check("logs: stdout only", c.logs(stderr=False), b"".join(b"out%d\n" % i for i in range(1, 6)))
check("logs: stderr only", c.logs(stdout=False), b"".join(b"err%d\n" % i for i in range(1, 6)))
check("logs: tail=3 (the last three of all)", c.logs(tail=3).splitlines(), full.splitlines()[-3:])
check("logs: tail=0", c.logs(tail=0), b"")

# timestamps: RFC3339Nano before each line, in the second the line was written.
lines = c.logs(timestamps=True, tail=2).decode().splitlines()
check("timestamps: two lines", len(lines), 2)
for line in lines:
    ts, _, text = line.partition(" ")
    ok("timestamp shape", ts.endswith("Z") and "T" in ts and len(ts) >= 20, line)
    when = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
    ok("timestamp is recent", -2 < age < 60, f"{ts} is {age:.0f}s old")
    ok("timestamp then the text", text.encode() in full.splitlines()[-2:], line)

# since/until: a line written after a moment is the only one since then; until before it excludes it.
time.sleep(1.1)
mark = datetime.datetime.utcnow()
time.sleep(1.1)
c.exec_run(["sh", "-c", "echo late > /proc/1/fd/1"])
eventually("the late line", lambda: b"late" in c.logs())
check("since a datetime", c.logs(since=mark), b"late\n")
check("since an int", c.logs(since=int(mark.replace(tzinfo=datetime.timezone.utc).timestamp())), b"late\n")
check("until a datetime", c.logs(until=mark).count(b"\n"), 10)
# the docker CLI's form, "seconds.nanoseconds", straight through the API.
frac = "%.9f" % (mark.replace(tzinfo=datetime.timezone.utc).timestamp())
res = api._get(api._url("/containers/{0}/logs", c.id), params={"stdout": 1, "since": frac})
api._raise_for_status(res)
ok("since with a fraction (the CLI's form)", res.content.endswith(b"late\n") and b"out1" not in res.content, res.content)

# stream without follow: the lines there are, then the end.
check("stream=True, follow=False", b"".join(c.logs(stream=True, follow=False, stderr=False)),
      b"".join(b"out%d\n" % i for i in range(1, 6)) + b"late\n")

# stream + follow: new lines arrive as they are written, the stream ends when the container does.
f = sleeper("py-logs-follow", "sh", "-c", "echo first; sleep 1; echo second; sleep 1; echo third")
got = []
t0 = time.time()
for chunk in f.logs(stream=True, follow=True):
    got.append((round(time.time() - t0, 1), chunk))
check("follow content", b"".join(ch for _, ch in got), b"first\nsecond\nthird\n")
ok("follow: lines as written (first well before third)", got and got[0][0] < got[-1][0] - 1, got)
ok("follow ends with the container", time.time() - t0 < 10, f"{time.time() - t0:.1f}s")

# follow with tail=0 on a running container: only what comes after.
res = {}
def follow():
    res["lines"] = []
    for chunk in c.logs(stream=True, follow=True, tail=0):
        res["lines"].append(chunk)
        if b"after" in b"".join(res["lines"]):
            break
th = threading.Thread(target=follow, daemon=True)
th.start()
time.sleep(0.5)
c.exec_run(["sh", "-c", "echo after > /proc/1/fd/1"])
th.join(10)
check("follow tail=0 sees only the new line", b"".join(res.get("lines", [])), b"after\n")

# a tty container: raw bytes, no framing.
t = client.containers.run("busybox", ["sh", "-c", "echo tty-line"], tty=True, detach=True, name="py-logs-tty")
try:
    t.wait(timeout=20)
    check("tty logs", t.logs(), b"tty-line\r\n")
finally:
    t.remove()
done()
