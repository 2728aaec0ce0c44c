"""events: decode=True, since/until (datetime and int), filters (container, event, type, label, image), a live
stream that ends at its until. python3-docker against berthd."""
import datetime
import threading
import time

from common import client, check, done, ok, track

since = datetime.datetime.utcnow() - datetime.timedelta(seconds=1)
c = track(client.containers.run("busybox", ["sh", "-c", "exit 2"], detach=True, name="py-ev", labels={"ev": "yes"}))
c.wait()
c.rename("py-ev2")
c.remove()
until = datetime.datetime.utcnow() + datetime.timedelta(seconds=1)

evs = list(client.events(since=since, until=until, decode=True, filters={"container": c.id}))
actions = [e["Action"] for e in evs]
check("container events in order", actions, ["create", "attach", "start", "die", "rename", "destroy"] if "attach" in actions
      else ["create", "start", "die", "rename", "destroy"])
die = next((e for e in evs if e["Action"] == "die"), {})
check("die: type", die.get("Type"), "container")
check("die: exitCode", die.get("Actor", {}).get("Attributes", {}).get("exitCode"), "2")
check("die: label attribute", die.get("Actor", {}).get("Attributes", {}).get("ev"), "yes")
check("die: image attribute", die.get("Actor", {}).get("Attributes", {}).get("image"), "busybox")
check("die: legacy status/id/from", (die.get("status"), die.get("id"), die.get("from")), ("die", c.id, "busybox"))
ok("die: time and timeNano", die.get("time", 0) > 0 and die.get("timeNano", 0) // 10**9 == die.get("time"), die)
ren = next((e for e in evs if e["Action"] == "rename"), {})
check("rename: oldName", ren.get("Actor", {}).get("Attributes", {}).get("oldName"), "/py-ev")

evs = list(client.events(since=since, until=until, decode=True, filters={"event": ["die", "destroy"], "label": "ev=yes"}))
check("filters event + label", [e["Action"] for e in evs], ["die", "destroy"])
evs = list(client.events(since=int(since.replace(tzinfo=datetime.timezone.utc).timestamp()), until=until, decode=True,
                         filters={"type": "container", "container": "py-ev2"}))
ok("filters by the name (the new one)", [e["Action"] for e in evs][-1:] == ["destroy"], [e["Action"] for e in evs])
evs = list(client.events(since=since, until=until, decode=True, filters={"type": "image"}))
check("type=image: none", evs, [])

# a live stream with an until 3 s ahead: sees what happens, then ends by itself. (With until alone the kept
# history is replayed too, as dockerd does: the filter takes this container's start only.)
got = []
t0 = time.time()
def listen():
    for e in client.events(until=datetime.datetime.utcnow() + datetime.timedelta(seconds=3), decode=True,
                           filters={"type": "container", "event": "start", "container": "py-ev-live"}):
        got.append(e)
th = threading.Thread(target=listen, daemon=True)
th.start()
time.sleep(0.5)
live = track(client.containers.run("busybox", ["true"], detach=True, name="py-ev-live"))
th.join(10)
ok("the stream ended at its until", not th.is_alive() and 2 < time.time() - t0 < 8, f"{time.time() - t0:.1f}s alive={th.is_alive()}")
check("live: the start event", [e["Action"] for e in got if e["id"] == live.id], ["start"])

# volume and network events.
since = datetime.datetime.utcnow() - datetime.timedelta(seconds=1)
v = client.volumes.create("py-ev-vol")
v.remove()
n = client.networks.create("py-ev-net")
n.remove()
until = datetime.datetime.utcnow() + datetime.timedelta(seconds=1)
evs = list(client.events(since=since, until=until, decode=True, filters={"type": ["volume", "network"]}))
check("volume and network events", [(e["Type"], e["Action"]) for e in evs],
      [("volume", "create"), ("volume", "destroy"), ("network", "create"), ("network", "destroy")])
done()
