"""containers.run (foreground, detach, remove), top, rename, pause/unpause, update, wait(condition), diff, export,
containers.prune: python3-docker against berthd."""
import io
import os
import tarfile
import time

import docker
from common import api, cgroup_file, check, client, done, eventually, ok, raises, sleeper, track

# run in the foreground: the output, stderr when asked; remove=True leaves nothing.
out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True, stderr=True, name="py-fg")
check("run foreground output", out, b"out\nerr\n")
check("run remove=True removed it", [c.name for c in client.containers.list(all=True, filters={"name": "py-fg"})], [])
raises("run with a non-zero exit", lambda: client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True),
       docker.errors.ContainerError, text="returned non-zero exit status 3")

# detach + remove: AutoRemove, the container goes when it exits.
c = client.containers.run("busybox", ["sh", "-c", "sleep 0.3"], detach=True, remove=True, name="py-autorm")
check("detach+remove sets AutoRemove", api.inspect_container(c.id)["HostConfig"]["AutoRemove"], True)
eventually("detach+remove: gone after the exit", lambda: not client.containers.list(all=True, filters={"id": c.id}))

# detach: a Container object, running, with its labels and environment.
c = sleeper("py-ctr", labels={"k": "v"}, environment={"A": "1"})
c.reload()
check("detach status", c.status, "running")
check("labels", c.labels, {"k": "v"})
ok("environment", "A=1" in c.attrs["Config"]["Env"], c.attrs["Config"]["Env"])

# top (default ps args and ps_args).
top = c.top()
check("top titles", top["Titles"][:2], ["UID", "PID"])
ok("top lists sleep 1000", any("sleep 1000" in " ".join(p) for p in top["Processes"]), top["Processes"])
top = c.top(ps_args="-o pid,comm")
check("top ps_args titles", top["Titles"], ["PID", "COMMAND"])
check("top ps_args rows", [p[1] for p in top["Processes"]], ["sleep"])

# rename: the new name resolves, the old does not; a taken name is a 409.
c.rename("py-ctr2")
check("rename: new name", client.containers.get("py-ctr2").id, c.id)
raises("rename: old name gone", lambda: client.containers.get("py-ctr"), docker.errors.NotFound, 404)
other = sleeper("py-other")
raises("rename to a taken name", lambda: other.rename("py-ctr2"), docker.errors.APIError, 409, "is already in use")

# pause / unpause: the process is frozen (its state D/T in /proc), status paused, exec refused.
c.pause()
c.reload()
check("pause status", c.status, "paused")
check("pause State.Paused", c.attrs["State"]["Paused"], True)
raises("exec in a paused container", lambda: c.exec_run("true"), docker.errors.APIError, 409, "is paused")
raises("pause twice", c.pause, docker.errors.APIError, 409, "is already paused")
c.unpause()
c.reload()
check("unpause status", c.status, "running")
check("exec after unpause", c.exec_run("echo thawed").output, b"thawed\n")

# update: the cgroup sees the new limits, the restart policy changes.
r = c.update(mem_limit="64m", memswap_limit="128m", cpu_quota=50000, cpu_period=100000, cpu_shares=512,
             restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
check("update warnings", r.get("Warnings"), [])
hc = api.inspect_container(c.id)["HostConfig"]
check("update Memory", hc["Memory"], 64 * 1024 * 1024)
check("update CpuQuota/CpuPeriod/CpuShares", (hc["CpuQuota"], hc["CpuPeriod"], hc["CpuShares"]), (50000, 100000, 512))
check("update RestartPolicy", hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 2})
pid = c.attrs["State"]["Pid"]
v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
check("update: memory limit in the container's cgroup",
      cgroup_file(pid, "memory", "memory.max" if v2 else "memory.limit_in_bytes"), str(64 * 1024 * 1024))
if v2:
    check("update: cpu.max in the container's cgroup", cgroup_file(pid, "cpu", "cpu.max"), "50000 100000")
else:
    check("update: cfs quota in the container's cgroup", cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000")
    check("update: cpu.shares in the container's cgroup", cgroup_file(pid, "cpu", "cpu.shares"), "512")
raises("update of an unknown container", lambda: api.update_container("py-nope", mem_limit="64m"), docker.errors.NotFound, 404)

# wait with a condition: next-exit waits for the exit, not-running of a stopped one answers at once.
w = sleeper("py-wait", "sh", "-c", "sleep 0.5; exit 7")
t0 = time.time()
check("wait next-exit StatusCode", w.wait(condition="next-exit", timeout=20)["StatusCode"], 7)
ok("wait next-exit waited for the exit", time.time() - t0 >= 0.3, f"{time.time() - t0:.2f}s")
check("wait not-running of an exited one", w.wait(condition="not-running", timeout=5)["StatusCode"], 7)
r2 = client.containers.create("busybox", ["true"], name="py-wait-removed")
track(r2)
import threading
res = {}
th = threading.Thread(target=lambda: res.update(r=api.wait(r2.id, condition="removed", timeout=20)))
th.start()
time.sleep(0.3)
ok("wait removed still waiting", th.is_alive(), "returned before the removal")
r2.remove()
th.join(20)
check("wait removed answered after the removal", res.get("r", {}).get("StatusCode"), 0)
raises("wait with a bad condition", lambda: api.wait(c.id, condition="bogus"), docker.errors.APIError, 400)

# diff: an added file, a changed directory, a deleted file (Kind 1, 0, 2).
d = sleeper("py-diff", "sh", "-c", "echo x > /tmp/added; rm /bin/true; sleep 1000")
eventually("diff sees the changes", lambda: len(d.diff() or []) >= 3)
changes = {ch["Path"]: ch["Kind"] for ch in d.diff()}
check("diff /tmp/added", changes.get("/tmp/added"), 1)
check("diff /tmp", changes.get("/tmp"), 0)
check("diff /bin/true", changes.get("/bin/true"), 2)

# export: a tar of the rootfs with the container's file in it.
buf = io.BytesIO()
for chunk in d.export():
    buf.write(chunk)
buf.seek(0)
with tarfile.open(fileobj=buf) as tf:
    names = set(n.lstrip("./") for n in tf.getnames())
    ok("export has tmp/added", "tmp/added" in names, sorted(names)[:20])
    ok("export has bin/sh", "bin/sh" in names, sorted(names)[:20])
    ok("export lacks the deleted bin/true", "bin/true" not in names, "bin/true is in the export")
    member = tf.getmember(next(n for n in tf.getnames() if n.lstrip("./") == "tmp/added"))
    check("export file content", tf.extractfile(member).read(), b"x\n")

# containers.prune: removes the stopped ones (filtered by label), keeps the running ones.
p1 = track(client.containers.create("busybox", ["true"], name="py-prune1", labels={"prune": "yes"}))
p2 = track(client.containers.create("busybox", ["true"], name="py-prune2", labels={"prune": "no"}))
res = client.containers.prune(filters={"label": "prune=yes"})
check("prune deleted", res["ContainersDeleted"], [p1.id])
ok("prune SpaceReclaimed is a number", isinstance(res["SpaceReclaimed"], int), res)
raises("pruned container is gone", lambda: client.containers.get(p1.id), docker.errors.NotFound, 404)
check("unpruned stays", client.containers.get(p2.id).status, "created")
res = client.containers.prune()
ok("prune without filters takes the stopped ones", p2.id in (res["ContainersDeleted"] or []), res)
ok("prune keeps the running ones", c.id not in (res["ContainersDeleted"] or []), res)
check("running one still there", client.containers.get(c.id).status, "running")

# stop with a timeout, then remove; the errors have Docker's types.
c.stop(timeout=1)
c.reload()
check("stop status", c.status, "exited")
c.remove()
raises("get removed", lambda: client.containers.get(c.id), docker.errors.NotFound, 404)
done()
