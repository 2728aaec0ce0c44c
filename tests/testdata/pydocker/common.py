"""Shared by the python3-docker scripts: the client on the socket given as argv[1], checks that name what differed,
and a cleanup of what a script created. Each script prints one line per failed check and exits 1 if any failed."""
import sys
import time

import docker

SOCKET = sys.argv[1]
client = docker.DockerClient(base_url="unix://" + SOCKET, version="auto", timeout=60)
api = client.api
failures = []
_created = []


def check(what, got, want):
    """got must equal want."""
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")
        print("FAIL", failures[-1], flush=True)


def ok(what, cond, detail=""):
    """cond must hold; detail says what was seen."""
    if not cond:
        failures.append(f"{what}: {detail}")
        print("FAIL", failures[-1], flush=True)


def raises(what, fn, exc_type, status=None, text=None):
    """fn() must raise exc_type (with the HTTP status and a message containing text, when given)."""
    try:
        fn()
    except exc_type as e:
        if status is not None:
            check(what + " status", getattr(e, "status_code", None), status)
        if text is not None:
            ok(what + " message", text in str(e), str(e))
        return
    except Exception as e:  # noqa: BLE001 - a wrong exception is a failure, named
        failures.append(f"{what}: raised {type(e).__name__}: {e}, want {exc_type.__name__}")
        print("FAIL", failures[-1], flush=True)
        return
    failures.append(f"{what}: did not raise {exc_type.__name__}")
    print("FAIL", failures[-1], flush=True)


def eventually(what, fn, timeout=15.0, interval=0.1):
    """Polls fn() until it is truthy; a failure names the last value seen."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    failures.append(f"{what}: not reached in {timeout}s (last: {last!r})")
    print("FAIL", failures[-1], flush=True)
    return last


def sleeper(name, *extra, **kwargs):
    """A detached busybox running `sleep 1000` (or the command given), removed at the end."""
    cmd = list(extra) if extra else ["sleep", "1000"]
    c = client.containers.run("busybox", cmd, detach=True, name=name, **kwargs)
    _created.append(c.id)
    return c


def track(c):
    _created.append(c.id)
    return c


def done():
    for cid in _created:
        try:
            api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass
    client.close()
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        sys.exit(1)
    print("all checks passed", flush=True)


def cgroup_file(pid, controller, name):
    """The content of a cgroup file of a process, read on the host (cgroup v1 or v2)."""
    import os
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        path = next(p for h, c, p in lines if h == "0")
        full = f"/sys/fs/cgroup{path}/{name}"
    else:
        path = next(p for h, c, p in lines if controller in c.split(","))
        full = f"/sys/fs/cgroup/{controller}{path}/{name}"
    with open(full) as f:
        return f.read().strip()
