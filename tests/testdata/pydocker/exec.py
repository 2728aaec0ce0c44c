"""exec_run: exit code, output, stream, demux, user, workdir, environment, detach, tty, privileged; the low-level
exec_create/exec_start/exec_inspect; errors. python3-docker against berthd."""
import time

import docker
from common import api, check, client, done, eventually, ok, raises, sleeper

c = sleeper("py-exec", environment={"CTR": "c", "OVER": "ctr"})

r = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"])
check("exit code", r.exit_code, 3)
check("output (stdout and stderr)", r.output, b"out\nerr\n")
r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
check("demux", r.output, (b"out\n", b"err\n"))
r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], stderr=False)
check("stderr=False", r.output, b"out\n")
check("not found: 127", c.exec_run(["no-such-cmd"]).exit_code, 127)
check("not executable: 126", c.exec_run(["/etc"]).exit_code, 126)

# stream: the chunks come while the process runs (the first before the last is written).
t0 = time.time()
r = c.exec_run(["sh", "-c", "echo one; sleep 1; echo two"], stream=True)
check("stream exit_code is None", r.exit_code, None)
chunks = []
for chunk in r.output:
    chunks.append((round(time.time() - t0, 2), chunk))
check("stream content", b"".join(ch for _, ch in chunks), b"one\ntwo\n")
ok("stream: the first chunk before the sleep ended", chunks and chunks[0][0] < 0.9 and chunks[0][1] == b"one\n", chunks)

# user, workdir, environment (the container's, the exec's over it).
check("user", c.exec_run("id", user="nobody").output, b"uid=65534(nobody) gid=65534(nobody)\n")
check("user uid:gid", c.exec_run(["sh", "-c", "id -u; id -g"], user="1234:5678").output, b"1234\n5678\n")
check("workdir", c.exec_run("pwd", workdir="/tmp").output, b"/tmp\n")
check("default workdir", c.exec_run("pwd").output, b"/\n")
env = c.exec_run("env", environment={"EXE": "e", "OVER": "exec"}).output.decode().splitlines()
ok("environment EXE=e", "EXE=e" in env, env)
ok("container env CTR=c", "CTR=c" in env, env)
ok("exec env over the container's", "OVER=exec" in env and "OVER=ctr" not in env, env)
env = c.exec_run("env", environment=["LIST=1"]).output.decode().splitlines()
ok("environment as a list", "LIST=1" in env, env)

# tty: one stream, a terminal.
r = c.exec_run(["sh", "-c", "tty; echo err >&2"], tty=True)
ok("tty: a pts", r.output.startswith(b"/dev/pts/"), r.output)
ok("tty: stderr on the same stream", b"err" in r.output, r.output)
# privileged: every capability.
caps = c.exec_run(["sh", "-c", "grep CapEff /proc/self/status"]).output.split()[-1]
pcaps = c.exec_run(["sh", "-c", "grep CapEff /proc/self/status"], privileged=True).output.split()[-1]
check("unprivileged CapEff", caps, b"00000000a80425fb")
ok("privileged CapEff has more", int(pcaps, 16) > int(caps, 16), pcaps)

# detach (Detach: true in exec_start's body): the call returns at once, the process runs on.
t0 = time.time()
r = c.exec_run(["sh", "-c", "sleep 1; touch /tmp/detached"], detach=True)
ok("detach returns at once", time.time() - t0 < 0.8, f"{time.time() - t0:.2f}s")
eventually("detached exec ran", lambda: c.exec_run(["test", "-f", "/tmp/detached"]).exit_code == 0, 10)

# the low-level calls and exec_inspect.
eid = api.exec_create(c.id, ["sh", "-c", "exit 5"])["Id"]
i = api.exec_inspect(eid)
check("inspect before start: Running", i["Running"], False)
check("inspect before start: ExitCode", i["ExitCode"], None)
check("inspect before start: ContainerID", i["ContainerID"], c.id)
check("inspect ProcessConfig", (i["ProcessConfig"]["entrypoint"], i["ProcessConfig"]["arguments"]), ("sh", ["-c", "exit 5"]))
ok("container lists the exec", eid in api.inspect_container(c.id)["ExecIDs"], api.inspect_container(c.id)["ExecIDs"])
check("exec_start output", api.exec_start(eid), b"")
i = eventually("exec_inspect after the exit", lambda: (lambda j: j if not j["Running"] and j["ExitCode"] is not None else None)(api.exec_inspect(eid)))
check("inspect after: ExitCode", i and i["ExitCode"], 5)
ok("inspect after: Pid", i and i["Pid"] > 0, i)
# as dockerd: an attached start that fails after the upgrade writes the error into the stream; a detached one is a 409.
# (python3-docker may lose those bytes: urllib3 reads past the 101's headers before the socket is handed over.)
again = api.exec_start(eid)
ok("exec_start twice (attached): the error or nothing", again in (b"", f"Error: Exec command {eid} has already run\r\n".encode()), again)
check("exec_start twice: the exit code stays", api.exec_inspect(eid)["ExitCode"], 5)
raises("exec_start twice (detached)", lambda: api.exec_start(eid, detach=True), docker.errors.APIError, 409, "has already run")
raises("exec_inspect unknown", lambda: api.exec_inspect("nope"), docker.errors.NotFound, 404, "No such exec instance")
raises("exec_create unknown container", lambda: api.exec_create("py-nope", "true"), docker.errors.NotFound, 404)
stopped = client.containers.create("busybox", ["true"], name="py-exec-stopped")
try:
    raises("exec in a created container", lambda: stopped.exec_run("true"), docker.errors.APIError, 409, "is not running")
finally:
    stopped.remove()
done()
