"""get_archive / put_archive (docker cp both ways), on a running and on a stopped container. python3-docker
against berthd."""
import io
import tarfile
import time

import docker
from common import api, check, client, done, ok, raises, sleeper


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, (data, mode, uid) in files.items():
            if data is None:
                ti = tarfile.TarInfo(name)
                ti.type = tarfile.DIRTYPE
                ti.mode = mode
            else:
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                ti.mode = mode
            ti.uid = ti.gid = uid
            ti.mtime = 1_600_000_000
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def untar(stream):
    buf = io.BytesIO(b"".join(stream))
    out = {}
    with tarfile.open(fileobj=buf) as tf:
        for m in tf.getmembers():
            out[m.name] = (tf.extractfile(m).read() if m.isfile() else None, m.mode & 0o7777, m.uid, m.type)
    return out


c = sleeper("py-cp", "sh", "-c", "mkdir -p /data/sub; echo hello > /data/sub/f; chmod 640 /data/sub/f; chown 7:8 /data/sub/f; sleep 1000")
time.sleep(0.5)

# get_archive of a directory: the tar and the stat header.
stream, stat = c.get_archive("/data")
check("stat name", stat["name"], "data")
ok("stat mode is a directory (Go's ModeDir)", stat["mode"] & (1 << 31), stat)
files = untar(stream)
check("get_archive: the file", files.get("data/sub/f"), (b"hello\n", 0o640, 7, tarfile.REGTYPE))
ok("get_archive: the directory", "data/sub" in files, sorted(files))
stream, stat = c.get_archive("/data/sub/f")
check("stat of a file", (stat["name"], stat["size"], stat["mode"] & 0o777), ("f", 6, 0o640))
check("get_archive of a file", untar(stream).get("f", (None,))[0], b"hello\n")
raises("get_archive of a missing path", lambda: c.get_archive("/nope"), docker.errors.NotFound, 404, "Could not find the file /nope")

# put_archive: files land with their mode; owner 0 without copyUIDGID (the API default of python3-docker).
check("put_archive returns True", c.put_archive("/data", tar_of({"new": (None, 0o755, 0), "new/g": (b"put\n", 0o600, 1234)})), True)
check("put file content", c.exec_run("cat /data/new/g").output, b"put\n")
check("put file mode and owner", c.exec_run("stat -c '%a %u' /data/new/g").output, b"600 0\n")
raises("put_archive onto a file", lambda: c.put_archive("/data/sub/f", tar_of({"x": (b"x", 0o644, 0)})),
       docker.errors.APIError, 400, "not a directory")
raises("put_archive to a missing directory", lambda: c.put_archive("/nope", tar_of({"x": (b"x", 0o644, 0)})),
       docker.errors.NotFound, 404)
raises("put_archive with ../", lambda: c.put_archive("/data", tar_of({"../escape": (b"x", 0o644, 0)})),
       docker.errors.APIError, 400)

# a stopped container: both ways still work.
c.stop(timeout=0)
c.put_archive("/", tar_of({"stopped.txt": (b"while stopped\n", 0o644, 0)}))
stream, _ = c.get_archive("/stopped.txt")
check("cp on a stopped container", untar(stream).get("stopped.txt", (None,))[0], b"while stopped\n")
stream, _ = c.get_archive("/data/new/g")
check("the earlier put survives the stop", untar(stream).get("g", (None,))[0], b"put\n")
c.start()
check("the stopped put is seen after start", c.exec_run("cat /stopped.txt").output, b"while stopped\n")
done()
