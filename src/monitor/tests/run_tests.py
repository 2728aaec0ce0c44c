#!/usr/bin/env python3
"""berth-monitor integration tests (need root).

usage: run_tests.py /path/to/berth-monitor

Runs every test against each runtime in $MONITOR_TEST_RUNTIMES (space separated);
default: the repo's out/bin/berth-runtime (if built) and runc (if installed).
Prints TAP-style `ok N - name` lines (`ok N - name # SKIP reason` for a skipped one) and
`N passed, M failed, K skipped`; exits 1 on failure. A default runtime that is missing skips its
tests, except in CI (CI=true), where it fails them.
"""
import json, os, re, shutil, signal, socket, stat, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MONITOR = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "berth-monitor")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")

results = []  # True passed, False failed, None skipped
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WORK = tempfile.mkdtemp(prefix="berth-monitor-test.")
BASE_BUNDLE = os.path.join(WORK, "base")
seq = [0]


def tap(ok, name, diag=None):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name), flush=True)
    if diag and not ok:
        for line in str(diag).splitlines():
            print("#   " + line, flush=True)


def skip(name, reason):
    results.append(None)
    print("ok %d - %s # SKIP %s" % (len(results), name, reason), flush=True)


def poll(cond, timeout=10, what="condition"):
    """Wait until cond() is true (polling, with a deadline); returns its value or raises Fail."""
    end = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > end:
            raise Fail("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.01)


def monitor_pids(state_dir):
    """pids of live berth-monitor processes whose --state-dir is state_dir"""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if st[st.rindex(")") + 2] in ("Z", "X") or not argv[0].endswith(b"berth-monitor"):
            continue
        if b"--state-dir" in argv and argv.index(b"--state-dir") + 1 < len(argv) \
                and argv[argv.index(b"--state-dir") + 1] == state_dir.encode():
            out.append(int(d))
    return out


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def runtimes():
    """[(label, path or None, why missing)]"""
    env = os.environ.get("MONITOR_TEST_RUNTIMES")
    if env:
        return [(os.path.basename(r), r if os.access(r, os.X_OK) else None, "%s is not an executable" % r)
                for r in env.split()]
    br = os.path.join(REPO, "out", "bin", "berth-runtime")
    return [("berth-runtime", br if os.access(br, os.X_OK) else None, "%s not built (./scripts/build.sh)" % br),
            ("runc", shutil.which("runc"), "runc not installed")]


class Ctr:
    """One container + monitor, with cleanup."""

    def __init__(self, rt, args, terminal=False, stdin=False, log_max=None, extra=None, memory=None):
        seq[0] += 1
        self.rt = rt
        self.id = "bmt-%d-%d" % (os.getpid(), seq[0])
        self.dir = os.path.join(WORK, self.id)
        self.bundle = os.path.join(self.dir, "bundle")
        self.root = os.path.join(WORK, "root-" + os.path.basename(rt))
        self.state = os.path.join(self.dir, "state")
        self.log = os.path.join(self.dir, "ctr.log")
        os.makedirs(self.bundle)
        with open(os.path.join(BASE_BUNDLE, "config.json")) as f:
            cfg = json.load(f)
        cfg["root"] = {"path": os.path.join(BASE_BUNDLE, "rootfs"), "readonly": True}
        cfg["process"]["args"] = args
        cfg["process"]["terminal"] = terminal
        cfg["linux"]["cgroupsPath"] = "/berth/" + self.id
        if memory:
            cfg["linux"].setdefault("resources", {})["memory"] = {"limit": memory, "swap": memory}
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(cfg, f)
        self.cmd = [MONITOR, "--id", self.id, "--bundle", self.bundle, "--runtime", rt,
                    "--runtime-root", self.root, "--state-dir", self.state, "--log-path", self.log]
        if terminal:
            self.cmd.append("--terminal")
        if stdin:
            self.cmd.append("--stdin")
        if log_max:
            self.cmd += ["--log-max-size", str(log_max)]
        self.cmd += extra or []
        self.mon_pid = None

    def launch(self, input=None):
        p = subprocess.run(self.cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        lines = p.stdout.decode().splitlines()
        check(len(lines) == 1, "expected one result line, got %r (stderr %r)" % (p.stdout, p.stderr))
        self.result = json.loads(lines[0])
        self.rc = p.returncode
        try:
            with open(os.path.join(self.state, "monitor.pid")) as f:
                self.mon_pid = int(f.read())
        except OSError:
            pass
        return self.result

    def runtime(self, *args, check_rc=True):
        p = subprocess.run([self.rt, "--root", self.root] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        if check_rc:
            check(p.returncode == 0, "%s %s failed: %s" % (self.rt, args, p.stderr.decode()))
        return p

    def start(self):
        p = self.runtime("start", self.id, check_rc=False)
        if p.returncode != 0:
            try:
                with open(os.path.join(self.state, "exit.json")) as f:
                    ex = f.read().strip()
            except OSError:
                ex = "none"
            raise Fail("%s start failed: %s (exit.json: %s)" % (self.rt, p.stderr.decode().strip(), ex))

    def barrier(self):
        """A control round trip: the monitor has handled every event that was pending before
        (connections to attach.sock, signals), since it serves them in one loop."""
        r = self.ctl("resize 1 1")
        check(r in ("ok\n", "error no terminal\n"), "ctl reply %r" % r)

    def sock(self, name):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(os.path.join(self.state, name))
        return s

    def ctl(self, line):
        s = self.sock("ctl.sock")
        s.sendall(line.encode() + b"\n")
        r = b""
        while not r.endswith(b"\n"):
            d = s.recv(256)
            if not d:
                break
            r += d
        s.close()
        return r.decode()

    def wait_exit(self, timeout=15):
        path = os.path.join(self.state, "exit.json")
        end = time.time() + timeout
        while time.time() < end:
            if os.path.exists(path):
                with open(path) as f:
                    return json.load(f)
            time.sleep(0.02)
        raise Fail("no exit.json after %ss" % timeout)

    def monitor_alive(self):
        if not self.mon_pid:
            return False
        try:
            with open("/proc/%d/stat" % self.mon_pid) as f:
                st = f.read()
        except OSError:
            return False
        state = st[st.rindex(")") + 2]
        return state not in ("Z", "X")

    def wait_monitor_gone(self, timeout=10):
        """every monitor of this state dir has exited (also one whose monitor.pid is gone)"""
        end = time.time() + timeout
        while time.time() < end:
            if not self.monitor_alive() and not monitor_pids(self.state):
                return True
            time.sleep(0.01)
        return False

    def cleanup(self):
        self.runtime("delete", "--force", self.id, check_rc=False)
        if self.monitor_alive():
            os.kill(self.mon_pid, signal.SIGKILL)


def read_frames(s):
    """Read stdcopy frames until EOF: list of (stream, payload)."""
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    frames = []
    i = 0
    while i < len(buf):
        check(len(buf) - i >= 8, "truncated frame header")
        st, z, ln = buf[i], buf[i + 1:i + 4], struct.unpack(">I", buf[i + 4:i + 8])[0]
        check(z == b"\0\0\0", "bad frame header %r" % buf[i:i + 8])
        check(st in (1, 2), "bad stream byte %d" % st)
        check(len(buf) - i - 8 >= ln, "truncated frame payload")
        frames.append((st, buf[i + 8:i + 8 + ln]))
        i += 8 + ln
    return frames


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        check(d, "EOF inside/before a frame (%d of %d bytes)" % (len(b), n))
        b += d
    return b


def read_frame(s):
    h = recv_exact(s, 8)
    check(h[0] in (1, 2) and h[1:4] == b"\0\0\0", "bad frame header %r" % h)
    return h[0], recv_exact(s, struct.unpack(">I", h[4:])[0])


def joined(frames, st):
    return b"".join(p for s, p in frames if s == st)


def sockets_left(c):
    try:
        names = os.listdir(c.state)
    except OSError:
        return []
    return [n for n in names if n.endswith(".sock")]


# ---------------------------------------------------------------- tests

def t_log_exit(rt):
    c = Ctr(rt, ["sh", "-c", "echo out1; echo err1 >&2; printf 'a\\tb\"\\\\\\377\\n'; echo out2; printf tail; exit 3"])
    try:
        r = c.launch()
        check(c.rc == 0 and isinstance(r.get("pid"), int) and r["pid"] > 0, "bad result %r rc=%d" % (r, c.rc))
        check(c.monitor_alive(), "monitor not running after create")
        for name in ("attach.sock", "ctl.sock"):
            st = os.stat(os.path.join(c.state, name))
            check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, "%s mode %o" % (name, st.st_mode))
        with open("/proc/%d/cmdline" % c.mon_pid, "rb") as f:
            check(c.id.encode() in f.read(), "monitor.pid is not the monitor")
        c.start()
        ex = c.wait_exit()
        check(ex["exitCode"] == 3 and ex["signal"] == 0 and ex["oomKilled"] is False, "exit.json %r" % ex)
        check(TIME_RE.match(ex["finishedAt"]), "finishedAt %r" % ex["finishedAt"])
        check(c.wait_monitor_gone(), "monitor still running")
        with open(c.log, "rb") as f:
            raw = f.read()
        entries = [json.loads(l) for l in raw.decode("utf-8").splitlines()]
        for e in entries:
            check(set(e) == {"log", "stream", "time"}, "keys %r" % e)
            check(TIME_RE.match(e["time"]), "time %r" % e["time"])
        out = [e["log"] for e in entries if e["stream"] == "stdout"]
        err = [e["log"] for e in entries if e["stream"] == "stderr"]
        check(out == ["out1\n", "a\tb\"\\\ufffd\n", "out2\n", "tail"], "stdout entries %r" % out)
        check(err == ["err1\n"], "stderr entries %r" % err)
        check(not sockets_left(c), "sockets left: %r" % sockets_left(c))
    finally:
        c.cleanup()


def t_attach(rt):
    c = Ctr(rt, ["sh", "-c", "echo o1; echo e1 >&2; sleep 0.1; echo o2; echo e2 >&2"])
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        s1, s2 = c.sock("attach.sock"), c.sock("attach.sock")
        c.barrier()  # both clients accepted before the first output
        c.start()
        for s in (s1, s2):
            fr = read_frames(s)
            check(joined(fr, 1) == b"o1\no2\n", "stdout frames %r" % fr)
            check(joined(fr, 2) == b"e1\ne2\n", "stderr frames %r" % fr)
        ex = c.wait_exit()
        check(ex["exitCode"] == 0, "exit %r" % ex)
    finally:
        c.cleanup()


def t_stdin(rt):
    c = Ctr(rt, ["cat"], stdin=True)
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        s = c.sock("attach.sock")
        c.start()
        s.sendall(b"hello\n")
        s.sendall(b"world\n")
        s.shutdown(socket.SHUT_WR)
        fr = read_frames(s)
        check(joined(fr, 1) == b"hello\nworld\n", "frames %r" % fr)
        ex = c.wait_exit()
        check(ex["exitCode"] == 0, "exit %r" % ex)
        check(c.wait_monitor_gone(), "monitor still running")
    finally:
        c.cleanup()


def t_reattach(rt):
    # a client that closes completely (a restarting daemon) detaches without closing stdin
    c = Ctr(rt, ["cat"], stdin=True)
    try:
        c.launch()
        s = c.sock("attach.sock")
        c.start()
        s.sendall(b"first\n")
        got = b""
        while b"first\n" not in got:
            d = s.recv(4096)
            check(d, "EOF on first client")
            got += d
        s.close()
        # cat echoing the second client's input proves its stdin stayed open: the monitor handles
        # the first client's close before it accepts (and reads) the second one
        s = c.sock("attach.sock")
        s.sendall(b"second\n")
        got = b""
        while got != b"second\n":
            st, payload = read_frame(s)
            check(st == 1, "stream %d" % st)
            got += payload
        check(not os.path.exists(os.path.join(c.state, "exit.json")), "container exited after a full close")
        s.shutdown(socket.SHUT_WR)
        fr = read_frames(s)
        check(fr == [], "frames after the echo %r" % fr)
        ex = c.wait_exit()
        check(ex["exitCode"] == 0, "exit %r" % ex)
        with open(c.log) as f:
            logs = [json.loads(l)["log"] for l in f]
        check(logs == ["first\n", "second\n"], "log %r" % logs)
    finally:
        c.cleanup()


def t_terminal(rt):
    c = Ctr(rt, ["sh", "-c", "stty size; read x; stty size; echo got:$x; exit 5"], terminal=True)
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        s = c.sock("attach.sock")
        r = c.ctl("resize 30 90")  # initial size, before start
        check(r == "ok\n", "resize before start: %r" % r)
        c.start()
        got = b""
        while b"30 90" not in got:
            st, payload = read_frame(s)
            check(st == 1, "stream %d with a terminal" % st)
            got += payload
        r = c.ctl("resize 40 100")
        check(r == "ok\n", "resize reply %r" % r)
        r = c.ctl("bogus")
        check(r.startswith("error"), "bogus reply %r" % r)
        s.sendall(b"go\n")
        fr = read_frames(s)
        check(fr and all(st == 1 for st, _ in fr), "frames not all stream 1: %r" % fr)
        out = joined(fr, 1)
        check(b"40 100" in out and b"got:go" in out, "output %r" % out)
        ex = c.wait_exit()
        check(ex["exitCode"] == 5, "exit %r" % ex)
        with open(c.log) as f:
            entries = [json.loads(l) for l in f]
        check(all(e["stream"] == "stdout" for e in entries), "log streams %r" % entries)
        check(any("40 100" in e["log"] for e in entries), "log %r" % entries)
        check(c.wait_monitor_gone(), "monitor still running")
        check(not sockets_left(c), "sockets left: %r" % sockets_left(c))
    finally:
        c.cleanup()


def t_create_failure(rt):
    c = Ctr(rt, ["/no-such-binary-xyz"])
    try:
        r = c.launch()
        check(c.rc == 1, "monitor rc %d" % c.rc)
        check(set(r) == RESULT_KEYS and r["exitCode"] == 1, "result %r" % r)
        check("no-such-binary-xyz" in r["error"] and not r["error"].startswith("time="), "error %r" % r["error"])
        check((r["errno"], r["syscall"], r["path"], r["kind"]) == (2, "execve", "/no-such-binary-xyz", "not-found"),
              "detail %r" % r)
        check(c.wait_monitor_gone(), "monitor still running")
        lst = c.runtime("list", "-q", check_rc=False).stdout.decode()
        check(c.id not in lst, "runtime list still has it: %r" % lst)
        check(not os.path.exists(os.path.join(c.root, c.id)), "runtime state dir left")
        cg = "/sys/fs/cgroup/memory/berth/" + c.id
        check(not os.path.exists(cg), cg + " left")
        left = os.listdir(c.state) if os.path.isdir(c.state) else []
        check(not left, "state dir entries left: %r" % left)
    finally:
        c.cleanup()


RESULT_KEYS = {"error", "exitCode", "errno", "syscall", "path", "kind"}


def t_create_failure_kinds(rt):
    # the command not in PATH, and a directory as the command: kind from the runtime's wording
    for args, want in ((["no-such-cmd-xyz"], (2, "execve", "no-such-cmd-xyz", "not-found")),
                       (["/etc"], (None, "execve", "/etc", "permission"))):
        c = Ctr(rt, args)
        try:
            r = c.launch()
            check(c.rc == 1 and set(r) == RESULT_KEYS, "result %r" % r)
            got = (r["errno"] if want[0] is not None else None, r["syscall"], r["path"], r["kind"])
            check(got == want, "%s: detail %r, want %r" % (args, r, want))
            check(r["kind"] != "permission" or r["errno"] in (1, 8, 13, 21), "errno %r" % r)
            check(c.wait_monitor_gone(), "monitor still running")
        finally:
            c.cleanup()


def t_duplicate_id(rt):
    # a create refused because the ID exists must leave the existing container alone
    c = Ctr(rt, ["sleep", "60"])
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        c.start()
        d = Ctr(rt, ["sleep", "60"])
        d.id = c.id
        d.cmd[d.cmd.index("--id") + 1] = c.id
        r = d.launch()
        check(d.rc == 1 and "error" in r and r["exitCode"] != 0, "duplicate result %r" % r)
        check(r["kind"] == "other", "kind %r" % r)
        check(d.wait_monitor_gone(), "the failing monitor is still running")  # it cleans up after reporting
        st = json.loads(c.runtime("state", c.id).stdout)
        check(st["status"] == "running", "existing container %r" % st["status"])
        check(c.monitor_alive(), "first monitor gone")
        check(not os.path.exists(os.path.join(c.state, "exit.json")), "exit.json for the running container")
        # a second monitor on the same state dir refuses and leaves the first one's files alone
        e = Ctr(rt, ["sleep", "60"])
        e.cmd[e.cmd.index("--state-dir") + 1] = c.state
        r = e.launch()
        check(e.rc == 1 and "another monitor" in r.get("error", ""), "same state dir result %r" % r)
        check(os.path.exists(os.path.join(c.state, "attach.sock")), "attach.sock of the first monitor removed")
        e.runtime("delete", "--force", e.id, check_rc=False)
    finally:
        c.cleanup()


def smaps(pid):
    d = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[2] == "kB":
                d[p[0].rstrip(":")] = int(p[1])
    return d


def t_idle_pss(rt):
    c = Ctr(rt, ["sleep", "60"])
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        c.start()
        pid = c.result["pid"]

        def comm():
            with open("/proc/%d/comm" % pid) as f:
                return f.read().strip() == "sleep"
        poll(comm, what="the container to exec sleep")  # started and idle
        check(os.path.isdir("/sys/fs/cgroup/memory/berth/" + c.id), "container cgroup not found")
        r = c.ctl("resize 10 10")
        check(r.startswith("error"), "resize without terminal: %r" % r)
        m = smaps(c.mon_pid)
        print("# idle monitor (%s): Rss %d kB, Pss %d kB (anon %d kB, file %d kB), Private_Dirty %d kB"
              % (os.path.basename(rt), m["Rss"], m["Pss"], m.get("Pss_Anon", -1), m.get("Pss_File", -1),
                 m.get("Private_Dirty", -1)), flush=True)
        # Pss counts a share of libc's pages, which depends on how many other processes map libc on this
        # machine (seen 194-377 kB); the goal (<= conmon's Pss) is measured side by side in bench/.
        # What the monitor itself owns is its private memory: that must stay small here.
        priv = m.get("Private_Dirty", 0) + m.get("Private_Clean", 0)
        check(priv <= 256, "private memory %d kB > 256 kB" % priv)
        # SIGTERM to the monitor is ignored
        os.kill(c.mon_pid, signal.SIGTERM)
        c.barrier()  # answered after the signal was delivered: a SIGTERM not ignored would have ended it
        check(c.monitor_alive(), "monitor died on SIGTERM")
        c.runtime("kill", c.id, "KILL")
        ex = c.wait_exit()
        check(ex["exitCode"] == 137 and ex["signal"] == 9, "exit %r" % ex)
    finally:
        c.cleanup()


def t_rotation(rt):
    c = Ctr(rt, ["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"], log_max=4096)
    try:
        c.launch()
        c.start()
        c.wait_exit()
        check(c.wait_monitor_gone(), "monitor still running")
        check(os.path.getsize(c.log) <= 4096, "log size %d" % os.path.getsize(c.log))
        check(os.path.exists(c.log + ".1") and os.path.getsize(c.log + ".1") <= 4096, "no/oversized .1")
        check(not os.path.exists(c.log + ".2"), ".2 exists")
        with open(c.log) as f:
            last = [json.loads(l)["log"] for l in f]
        check(last[-1] == "line-199\n", "last line %r" % last[-1:])
    finally:
        c.cleanup()


def t_rotation_max_file(rt):
    # --log-max-file 3: FILE, FILE.1, FILE.2 and no more, in order; --log-attrs in every entry
    c = Ctr(rt, ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"], log_max=2048,
            extra=["--log-max-file", "3", "--log-attrs", '{"app":"web"}'])
    try:
        c.launch()
        c.start()
        c.wait_exit()
        check(c.wait_monitor_gone(), "monitor still running")
        check(not os.path.exists(c.log + ".3"), ".3 exists")
        lines = []
        for f in (c.log + ".2", c.log + ".1", c.log):
            check(os.path.getsize(f) <= 2048, "%s: %d bytes" % (f, os.path.getsize(f)))
            with open(f) as fh:
                for l in fh:
                    e = json.loads(l)
                    check(e["attrs"] == {"app": "web"}, "attrs %r" % e)
                    check(list(e) == ["log", "stream", "attrs", "time"], "field order %r" % list(e))
                    lines.append(int(e["log"].strip().split("-")[1]))
        check(lines == list(range(lines[0], 300)), "not contiguous: %r" % lines[:5])
    finally:
        c.cleanup()


def t_slow_client(rt):
    # a client that never reads must not block the container and gets dropped past 1 MiB
    c = Ctr(rt, ["sh", "-c", "yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c 4000000; echo done"])
    try:
        c.launch()
        s = c.sock("attach.sock")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.start()
        ex = c.wait_exit(timeout=20)
        check(ex["exitCode"] == 0, "exit %r" % ex)
        got = 0
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
        check(got < 2500000, "slow client got %d bytes (not dropped?)" % got)
        with open(c.log) as f:
            n = sum(1 for _ in f)
        check(n > 100000, "log has %d lines" % n)
    finally:
        c.cleanup()


def t_long_line(rt):
    c = Ctr(rt, ["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo; echo x >&2"])
    try:
        c.launch()
        c.start()
        c.wait_exit()
        check(c.wait_monitor_gone(), "monitor still running")
        with open(c.log) as f:
            entries = [json.loads(l) for l in f]
        out = [e["log"] for e in entries if e["stream"] == "stdout"]
        check([len(x) for x in out] == [16384, 16384, 40000 - 32768 + 1], "entry sizes %r" % [len(x) for x in out])
        check("".join(out) == "a" * 40000 + "\n", "content")
    finally:
        c.cleanup()


def t_oom(rt):
    c = Ctr(rt, ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1; exit 0"], memory=16 << 20)
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        c.start()
        ex = c.wait_exit()
        check(ex["oomKilled"] is True and ex["exitCode"] == 0, "exit %r" % ex)
    finally:
        c.cleanup()


def t_usage(rt):
    p = subprocess.run([MONITOR, "--id", "x"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    r = json.loads(p.stdout)
    check(p.returncode == 1 and r["exitCode"] == 125 and "error" in r, "usage result %r rc %d" % (r, p.returncode))


TESTS = [
    ("stdout/stderr to json-file log, exit.json exitCode 3, monitor gone, no sockets", t_log_exit),
    ("attach before start: framed stdout/stderr to two clients", t_attach),
    ("stdin: cat echoes client input, exits on half-close", t_stdin),
    ("full close detaches without closing stdin; a new client attaches", t_reattach),
    ("terminal: stream 1 frames, resize before start (30 90) and after (40 100) seen by stty size", t_terminal),
    ("runtime create failure: error result with errno/syscall/path/kind, nothing left", t_create_failure),
    ("create failure kinds: not in PATH -> not-found, a directory -> permission", t_create_failure_kinds),
    ("existing ID / running monitor on the state dir: refused, first container untouched", t_duplicate_id),
    ("idle monitor private memory <= 256 kB, ignores SIGTERM, kill -> 137", t_idle_pss),
    ("log rotation with --log-max-size", t_rotation),
    ("log rotation with --log-max-file 3 and --log-attrs", t_rotation_max_file),
    ("slow attach client dropped, container not blocked", t_slow_client),
    ("partial lines split at 16 KiB", t_long_line),
    ("oomKilled from the memory cgroup", t_oom),
    ("bad arguments: JSON error line", t_usage),
]


# ---------------------------------------------------------------- --spawn FILE
# berthd writes the spawn file (PendingCreate.EncodeSpawnFile); here it is built from berth.h's
# encoding by hand: a plan without namespaces (clone flags 0) that runs on the host, enough to
# test the monitor's half (stdio, exec fifo and console fds, init.pid, errors, cleanup). The
# plans berthd builds are tested through berthd (tests/Berth.E2E.Tests).

OP_CHDIR, OP_CONSOLE, OP_READY, OP_EXEC_FIFO, OP_LOOKUP, OP_EXEC = 15, 18, 28, 29, 31, 32
SH_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def plan_bytes(ops):
    out = struct.pack("<III", 0x4E4C5042, 1, len(ops))
    for op, args in ops:
        out += struct.pack("<HHI", op, 0, len(args))
        for a in args:
            if isinstance(a, int):
                out += struct.pack("<BQ", 0, a)
            else:
                out += struct.pack("<BI", 1, len(a)) + a
    return out


def nul_list(items):
    return b"".join(i.encode() + b"\0" for i in items)


def spawn_file(path, args, fifo=None, console=False, magic=0x4E505342, pre_ops=()):
    ops = list(pre_ops) + [(OP_LOOKUP, [args[0].encode(), nul_list(SH_ENV)])]
    if console:
        ops.append((OP_CONSOLE, [4, 0, 0]))
    ops.append((OP_READY, []))
    if fifo:
        ops.append((OP_EXEC_FIFO, [b"/proc/self/fd/3"]))
    ops.append((OP_EXEC, [args[0].encode(), nul_list(args), nul_list(SH_ENV), b""]))
    plan = plan_bytes(ops)
    fifo_b = (fifo or "").encode()
    data = struct.pack("<IIQ", magic, 1, 0)
    data += struct.pack("<iI", 3 if fifo else -1, len(fifo_b)) + fifo_b
    data += struct.pack("<iI", 4 if console else -1, 0)  # console fd, no cgroup
    data += struct.pack("<I", 0)  # no namespaces to join
    data += struct.pack("<I", len(plan)) + plan
    with open(path, "wb") as f:
        f.write(data)


class SpawnCtr(Ctr):
    """A container created by the monitor from a spawn file; started by opening its exec fifo."""

    def __init__(self, args, terminal=False, pre_ops=(), **kw):
        super().__init__("spawn", args, terminal=terminal, **kw)
        self.fifo = os.path.join(self.dir, "exec.fifo")
        os.mkfifo(self.fifo, 0o622)
        self.spawn = os.path.join(self.dir, "spawn")
        spawn_file(self.spawn, args, fifo=self.fifo, console=terminal, pre_ops=pre_ops)
        i = self.cmd.index("--runtime")
        self.cmd[i:i + 2] = ["--spawn", self.spawn]

    def start(self):
        fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            end = time.time() + 10
            while time.time() < end:
                try:
                    if os.read(fd, 1) == b"0":
                        return
                except BlockingIOError:
                    pass
                time.sleep(0.005)
            raise Fail("the init never opened exec.fifo")
        finally:
            os.close(fd)

    def cleanup(self):
        pid = (self.result or {}).get("pid") if hasattr(self, "result") else None
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.monitor_alive():
            os.kill(self.mon_pid, signal.SIGKILL)


def t_spawn_run(_):
    c = SpawnCtr(["sh", "-c", "echo out; echo err >&2; exit 4"])
    try:
        r = c.launch()
        check(c.rc == 0 and r.get("pid", 0) > 0, "result %r rc=%d" % (r, c.rc))
        with open(os.path.join(c.state, "init.pid")) as f:
            check(int(f.read()) == r["pid"], "init.pid is not the reported pid")
        with open("/proc/%d/status" % r["pid"]) as f:
            ppid = int(re.search(r"^PPid:\s+(\d+)", f.read(), re.M).group(1))
        check(ppid == c.mon_pid, "the init's parent is %d, not the monitor %d" % (ppid, c.mon_pid))
        c.start()
        ex = c.wait_exit()
        check(ex["exitCode"] == 4, "exit.json %r" % ex)
        check(c.wait_monitor_gone(), "monitor still running")
        with open(c.log) as f:
            entries = [json.loads(l) for l in f]
        check([(e["stream"], e["log"]) for e in entries] == [("stdout", "out\n"), ("stderr", "err\n")] or
              sorted((e["stream"], e["log"]) for e in entries) == [("stderr", "err\n"), ("stdout", "out\n")],
              "log %r" % entries)
        check(not sockets_left(c), "sockets left: %r" % sockets_left(c))
    finally:
        c.cleanup()


def t_spawn_stdin(_):
    c = SpawnCtr(["sh", "-c", "echo via-stdin"])
    try:
        with open(c.spawn, "rb") as f:
            data = f.read()
        os.unlink(c.spawn)
        c.cmd[c.cmd.index("--spawn") + 1] = "-"
        r = c.launch(input=data)
        check(c.rc == 0 and r.get("pid", 0) > 0, "result %r rc=%d" % (r, c.rc))
        c.start()
        check(c.wait_exit()["exitCode"] == 0, "exit")
        with open(c.log) as f:
            check([json.loads(l)["log"] for l in f] == ["via-stdin\n"], "log")
        d = SpawnCtr(["true"])
        d.cmd[d.cmd.index("--spawn") + 1] = "-"
        r = d.launch(input=b"")
        check(d.rc == 1 and "spawn file -: truncated" in r.get("error", ""), "empty stdin: %r" % r)
    finally:
        c.cleanup()


def t_spawn_terminal(_):
    c = SpawnCtr(["sh", "-c", "tty; exit 6"], terminal=True)
    try:
        c.launch()
        check(c.rc == 0, "launch %r" % c.result)
        s = c.sock("attach.sock")
        c.start()
        out = joined(read_frames(s), 1)
        check(re.search(rb"/dev/pts/\d+", out), "output %r" % out)
        check(c.wait_exit()["exitCode"] == 6, "exit")
        check(not os.path.exists(os.path.join(c.state, "console.sock")), "console.sock left")
    finally:
        c.cleanup()


def t_spawn_failure(_):
    c = SpawnCtr(["/no-such-binary-xyz"])
    try:
        r = c.launch()
        check(c.rc == 1 and r.get("exitCode") == 1, "result %r rc=%d" % (r, c.rc))
        check(r["error"] == 'berth-runtime create failed: unable to start container process: '
              'exec: "/no-such-binary-xyz": stat /no-such-binary-xyz: no such file or directory', "error %r" % r["error"])
        check(set(r) == RESULT_KEYS and (r["errno"], r["syscall"], r["path"], r["kind"]) ==
              (2, "execve", "/no-such-binary-xyz", "not-found"), "detail %r" % r)
        check(c.wait_monitor_gone(), "monitor still running")
        left = os.listdir(c.state) if os.path.isdir(c.state) else []
        check(not left, "state dir entries left: %r" % left)
    finally:
        c.cleanup()


def t_spawn_failure_kinds(_):
    # from the child's ERROR (errno, call and path travel with it), not from the wording
    cases = (
        (["no-such-cmd-xyz"], (), 'exec: "no-such-cmd-xyz": executable file not found in $PATH',
         (2, "execve", "no-such-cmd-xyz", "not-found")),
        (["/etc"], (), 'exec: "/etc": permission denied', (13, "execve", "/etc", "permission")),
        (["true"], ((OP_CHDIR, [b"/no-such-dir-xyz"]),), "chdir /no-such-dir-xyz: No such file or directory",
         (2, "chdir", "/no-such-dir-xyz", "other")),
    )
    for args, pre, msg, want in cases:
        c = SpawnCtr(args, pre_ops=pre)
        try:
            r = c.launch()
            check(c.rc == 1 and set(r) == RESULT_KEYS, "result %r rc=%d" % (r, c.rc))
            check(r["error"] == "berth-runtime create failed: unable to start container process: " + msg,
                  "error %r" % r["error"])
            check((r["errno"], r["syscall"], r["path"], r["kind"]) == want, "detail %r, want %r" % (r, want))
            check(c.wait_monitor_gone(), "monitor still running")
        finally:
            c.cleanup()


def t_spawn_bad_file(_):
    c = SpawnCtr(["true"])
    try:
        spawn_file(c.spawn, ["true"], fifo=c.fifo, magic=0x12345678)
        r = c.launch()
        check(c.rc == 1 and r.get("exitCode") == 1 and "not a version 1 spawn file" in r["error"], "result %r" % r)
        os.unlink(c.spawn)
        r = c.launch()
        check(c.rc == 1 and "open spawn file" in r["error"] and "No such file" in r["error"], "result %r" % r)
        check(c.wait_monitor_gone(), "monitor still running")
        left = os.listdir(c.state) if os.path.isdir(c.state) else []
        check(not left, "state dir entries left: %r" % left)
    finally:
        c.cleanup()


SPAWN_TESTS = [
    ("--spawn: runs the plan, init.pid, the init is the monitor's child, log and exit", t_spawn_run),
    ("--spawn -: the spawn data on stdin", t_spawn_stdin),
    ("--spawn: console socket at the plan's fd, pty output", t_spawn_terminal),
    ("--spawn: the child's error as the runtime words it, with errno/syscall/path/kind, nothing left", t_spawn_failure),
    ("--spawn: not-found, permission and other kinds from the child's error", t_spawn_failure_kinds),
    ("--spawn: a bad or missing spawn file is a clear error", t_spawn_bad_file),
]


def main():
    if os.geteuid() != 0:
        print("# tests need root")
        print("0 passed, 1 failed")
        return 1
    rts = runtimes()
    subprocess.run([os.path.join(REPO, "scripts", "make-bundle.sh"), BASE_BUNDLE, "--", "sh"],
                   check=True, stdout=subprocess.DEVNULL)
    try:
        for label_rt, rt, missing in rts:
            for name, fn in TESTS:
                label = "%s: %s" % (label_rt, name)
                if rt is None:
                    if IN_CI or os.environ.get("MONITOR_TEST_RUNTIMES"):  # asked for by name: a failure
                        tap(False, label, missing + " (in CI or named in MONITOR_TEST_RUNTIMES a missing runtime fails)")
                    else:
                        skip(label, missing)
                    continue
                try:
                    fn(rt)
                    tap(True, label)
                except Exception as e:  # noqa
                    tap(False, label, "%s: %s" % (type(e).__name__, e))
        for name, fn in SPAWN_TESTS:
            try:
                fn(None)
                tap(True, name)
            except Exception as e:  # noqa
                tap(False, name, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    passed = sum(1 for r in results if r is True)
    failed = sum(1 for r in results if r is False)
    skipped = sum(1 for r in results if r is None)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
