"""stats: stream=False (python3-docker sends stream=False), a reading from the stream (decode=True), one-shot;
Docker's keys and plausible values. python3-docker against berthd."""
import time

import docker
from common import api, check, client, done, ok, raises, sleeper

KEYS = {"read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats", "precpu_stats",
        "memory_stats", "name", "id", "networks"}

# a busy container with a memory limit: its CPU use and limit show.
c = sleeper("py-stats", "sh", "-c", "while :; do :; done", mem_limit="64m")


def shape(what, s, busy=True):
    missing = KEYS - set(s)
    ok(f"{what}: Docker's keys", not missing, f"missing {sorted(missing)}; keys {sorted(s)}")
    if missing:
        return
    check(f"{what}: name", s["name"], "/py-stats")
    check(f"{what}: id", s["id"], c.id)
    for k in ("cpu_usage", "system_cpu_usage", "online_cpus"):
        ok(f"{what}: cpu_stats.{k}", k in s["cpu_stats"], s["cpu_stats"])
    for k in ("total_usage", "usage_in_kernelmode", "usage_in_usermode"):
        ok(f"{what}: cpu_stats.cpu_usage.{k}", k in s["cpu_stats"]["cpu_usage"], s["cpu_stats"]["cpu_usage"])
    ok(f"{what}: precpu_stats.cpu_usage", "cpu_usage" in s["precpu_stats"], s["precpu_stats"])
    m = s["memory_stats"]
    check(f"{what}: memory_stats.limit", m.get("limit"), 64 * 1024 * 1024)
    ok(f"{what}: memory_stats.usage", 0 < m.get("usage", 0) <= 64 * 1024 * 1024, m)
    ok(f"{what}: memory_stats.stats", isinstance(m.get("stats"), dict) and len(m["stats"]) > 5, m)
    ok(f"{what}: networks.eth0", "eth0" in (s["networks"] or {}), s["networks"])
    if "eth0" in (s["networks"] or {}):
        for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "rx_errors", "tx_dropped"):
            ok(f"{what}: networks.eth0.{k}", k in s["networks"]["eth0"], s["networks"]["eth0"])
    ok(f"{what}: blkio_stats.io_service_bytes_recursive", "io_service_bytes_recursive" in s["blkio_stats"], s["blkio_stats"])
    ok(f"{what}: pids_stats.current", s["pids_stats"].get("current", 0) >= 1, s["pids_stats"])
    if busy:
        cpu = s["cpu_stats"]["cpu_usage"]["total_usage"] - s["precpu_stats"]["cpu_usage"]["total_usage"]
        sys_ = s["cpu_stats"]["system_cpu_usage"] - s["precpu_stats"].get("system_cpu_usage", 0)
        pct = cpu / sys_ * s["cpu_stats"]["online_cpus"] * 100 if sys_ > 0 else 0
        ok(f"{what}: CPU % of a busy loop (as the CLI computes it)", 5 < pct < 250, f"{pct:.1f}%")


time.sleep(0.5)
t0 = time.time()
s = c.stats(stream=False)
took = time.time() - t0
shape("stream=False", s)
ok("stream=False: two readings a second apart", 0.8 < took < 5, f"{took:.2f}s")

# one from the stream, decoded; the next a second later.
gen = c.stats(stream=True, decode=True)
first = next(gen)
second = next(gen)
shape("stream (second reading)", second)
ok("stream: readings a second apart", first["read"] != second["read"], (first["read"], second["read"]))
check("stream: precpu of the second is the first's cpu", second["precpu_stats"]["cpu_usage"]["total_usage"],
      first["cpu_stats"]["cpu_usage"]["total_usage"])
gen.close()

# one-shot (API 1.41): the first reading at once, no precpu.
t0 = time.time()
res = api._get(api._url("/containers/{0}/stats", c.id), params={"stream": "false", "one-shot": "true"})
s = api._result(res, json=True)
ok("one-shot answers at once", time.time() - t0 < 0.8, f"{time.time() - t0:.2f}s")
shape("one-shot", s, busy=False)
res = api._get(api._url("/containers/{0}/stats", c.id), params={"stream": "true", "one-shot": "true"})
check("stream with one-shot is a 400", res.status_code, 400)

# a stopped container: zeros, its name and id.
c.kill()
c.wait()
s = c.stats(stream=False)
check("stopped: name", s.get("name"), "/py-stats")
check("stopped: memory_stats empty", s.get("memory_stats"), {})
check("stopped: pids current", s.get("pids_stats", {}).get("current", 0), 0)
raises("stats of an unknown container", lambda: api.stats("py-nope", stream=False), docker.errors.NotFound, 404)
done()
