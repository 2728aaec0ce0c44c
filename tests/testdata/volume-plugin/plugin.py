#!/usr/bin/env python3
"""A small Docker volume plugin (legacy plugin protocol) for Berth's driver tests.

Volumes are directories ROOT/volumes/NAME; mounts are counted per ID in memory.
    plugin.py --unix SOCKET --root DIR [--scope global|local|none] [--implements VolumeDriver] [--delay SECONDS]
    plugin.py --tcp SPECFILE --root DIR ...   (listens on 127.0.0.1:0 and writes tcp://127.0.0.1:PORT to SPECFILE)
Test hooks: Create with option fail=MSG answers 500 {"Err": MSG}; failok=MSG answers 200 {"Err": MSG};
option slow=SECONDS sleeps before answering Mount. Requests without the plugin Accept header get 400.
Every request is appended to ROOT/requests.log as "METHOD BODY".
"""
import argparse, json, os, shutil, socketserver, threading, time
from http.server import BaseHTTPRequestHandler

MEDIA = "application/vnd.docker.plugins.v1.2+json"
ap = argparse.ArgumentParser()
ap.add_argument("--unix"); ap.add_argument("--tcp"); ap.add_argument("--root", required=True)
ap.add_argument("--scope", default="global"); ap.add_argument("--implements", default="VolumeDriver")
ap.add_argument("--delay", type=float, default=0)
args = ap.parse_args()
VOLS = os.path.join(args.root, "volumes")
os.makedirs(VOLS, exist_ok=True)
mounts = {}   # name -> set of ids
opts = {}     # name -> create options
lock = threading.Lock()


def vol_path(name):
    return os.path.join(VOLS, name)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", MEDIA)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        method = self.path.lstrip("/")
        with open(os.path.join(args.root, "requests.log"), "a") as f:
            f.write(method + " " + raw.decode() + "\n")
        if MEDIA not in (self.headers.get("Accept") or ""):
            return self.reply(400, {"Err": "missing Accept: " + MEDIA})
        req = json.loads(raw) if raw.strip() else {}
        name = req.get("Name", "")
        with lock:
            if method == "Plugin.Activate":
                return self.reply(200, {"Implements": [args.implements]})
            if method == "VolumeDriver.Create":
                o = req.get("Opts") or {}
                if "fail" in o:
                    return self.reply(500, {"Err": o["fail"]})
                if "failok" in o:
                    return self.reply(200, {"Err": o["failok"]})
                os.makedirs(vol_path(name), exist_ok=True)
                opts[name] = o
                return self.reply(200, {"Err": ""})
            if method == "VolumeDriver.Capabilities":
                if args.scope == "none":  # a plugin without the optional call
                    return self.reply(404, {"Err": "404 page not found"})
                return self.reply(200, {"Capabilities": {"Scope": args.scope}})
            if method == "VolumeDriver.List":
                vols = [{"Name": v, "Mountpoint": vol_path(v) if mounts.get(v) else ""} for v in sorted(os.listdir(VOLS))]
                return self.reply(200, {"Volumes": vols, "Err": ""})
            if not os.path.isdir(vol_path(name)):
                return self.reply(500, {"Err": "volume %s not found" % name})
            if method == "VolumeDriver.Remove":
                if mounts.get(name):
                    return self.reply(500, {"Err": "volume %s is in use" % name})
                shutil.rmtree(vol_path(name))
                return self.reply(200, {"Err": ""})
            if method == "VolumeDriver.Mount":
                slow = float((opts.get(name) or {}).get("slow", 0))
                mounts.setdefault(name, set()).add(req.get("ID", ""))
            elif method == "VolumeDriver.Unmount":
                mounts.get(name, set()).discard(req.get("ID", ""))
                return self.reply(200, {"Err": ""})
            elif method == "VolumeDriver.Path":
                return self.reply(200, {"Mountpoint": vol_path(name) if mounts.get(name) else "", "Err": ""})
            elif method == "VolumeDriver.Get":
                return self.reply(200, {"Volume": {"Name": name, "Mountpoint": vol_path(name) if mounts.get(name) else "",
                                                   "Status": {"mounts": len(mounts.get(name, ()))}}, "Err": ""})
            else:
                return self.reply(404, {"Err": "unknown method " + method})
        time.sleep(slow)  # Mount, outside the lock
        self.reply(200, {"Mountpoint": vol_path(name), "Err": ""})


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


time.sleep(args.delay)
if args.unix:
    if os.path.exists(args.unix):
        os.unlink(args.unix)
    server = UnixServer(args.unix, Handler)
else:
    server = TcpServer(("127.0.0.1", 0), Handler)
    tmp = args.tcp + ".tmp"
    with open(tmp, "w") as f:
        f.write("tcp://127.0.0.1:%d\n" % server.server_address[1])
    os.rename(tmp, args.tcp)
print("ready", flush=True)
try:
    server.serve_forever()
finally:
    if args.unix and os.path.exists(args.unix):
        os.unlink(args.unix)
