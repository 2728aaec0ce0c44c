"""run(restart_policy=...) and run(healthcheck=...): restarts counted with a growing delay, a health check that
reaches healthy (and one that turns unhealthy). python3-docker against berthd."""
import time

from common import api, check, client, done, eventually, ok, track

# on-failure with a maximum: three restarts, then it stays exited with its code.
c = track(client.containers.run("busybox", ["sh", "-c", "exit 4"], detach=True, name="py-restart",
                                restart_policy={"Name": "on-failure", "MaximumRetryCount": 3}))
check("restart policy as sent", api.inspect_container(c.id)["HostConfig"]["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 3})
eventually("three restarts", lambda: (lambda i: i["RestartCount"] == 3 and i["State"]["Status"] == "exited")(api.inspect_container(c.id)), 20)
time.sleep(1.5)
i = api.inspect_container(c.id)
check("no more than the maximum", (i["RestartCount"], i["State"]["Status"], i["State"]["ExitCode"]), (3, "exited", 4))

# always: restarted after each exit, not after the user's stop.
a = track(client.containers.run("busybox", ["sh", "-c", "sleep 0.2"], detach=True, name="py-always", restart_policy={"Name": "always"}))
eventually("always: restarted twice", lambda: api.inspect_container(a.id)["RestartCount"] >= 2, 20)
a.stop(timeout=1)
n = api.inspect_container(a.id)["RestartCount"]
time.sleep(1.5)
i = api.inspect_container(a.id)
check("always: stopped by the user stays stopped", (i["State"]["Status"], i["RestartCount"]), ("exited", n))

# a health check that passes: starting, then healthy, with its log.
NS = 1_000_000
h = track(client.containers.run("busybox", ["sleep", "1000"], detach=True, name="py-healthy",
                                healthcheck={"test": ["CMD-SHELL", "echo probe-ok"], "interval": 200 * NS, "timeout": 2000 * NS,
                                             "retries": 2, "start_period": 0}))
hc = api.inspect_container(h.id)["Config"]["Healthcheck"]
check("Healthcheck as sent", (hc["Test"], hc["Interval"], hc["Timeout"], hc["Retries"]), (["CMD-SHELL", "echo probe-ok"], 200 * NS, 2000 * NS, 2))
eventually("healthy", lambda: api.inspect_container(h.id)["State"].get("Health", {}).get("Status") == "healthy", 15)
health = api.inspect_container(h.id)["State"]["Health"]
check("healthy: failing streak", health["FailingStreak"], 0)
ok("healthy: the log has the probe's output", health["Log"] and health["Log"][-1]["Output"] == "probe-ok\n" and health["Log"][-1]["ExitCode"] == 0, health["Log"])
ok("ps filter health=healthy", any(x.id == h.id for x in client.containers.list(filters={"health": "healthy"})), "not listed")

# one that fails: unhealthy after the retries.
u = track(client.containers.run("busybox", ["sleep", "1000"], detach=True, name="py-unhealthy",
                                healthcheck={"test": ["CMD", "false"], "interval": 200 * NS, "retries": 2}))
eventually("unhealthy", lambda: api.inspect_container(u.id)["State"].get("Health", {}).get("Status") == "unhealthy", 15)
health = api.inspect_container(u.id)["State"]["Health"]
ok("unhealthy: failing streak >= retries", health["FailingStreak"] >= 2, health)
check("unhealthy: exit code of the probe", health["Log"][-1]["ExitCode"], 1)
done()
