#!/usr/bin/env bash
# The README's first command: installs what Berth needs (apt), builds it, installs berth, berthd,
# berth-runtime and berth-monitor in /usr/local/bin, runs a container straight from an OCI bundle with
# berth-runtime, then starts berthd on unix:///run/berth.sock (it creates the built-in busybox:latest image)
# and runs containers through it with the docker CLI and berth.  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
for b in berth-runtime berthd berth-monitor berth; do
  if [ -f "out/bin/$b" ]; then install -m 0755 "out/bin/$b" "/usr/local/bin/$b"; fi
done

# 1. The runtime alone, on a bundle.
bundle=/var/lib/berth/bundles/busybox
./scripts/make-bundle.sh "$bundle" -- sh -c \
  'echo "hello from $(hostname): pid $$, $(id -u):$(id -g), caps $(grep CapEff /proc/self/status | cut -f2)"; ls /'
echo "+ berth-runtime run --bundle $bundle hello"
berth-runtime delete --force hello >/dev/null 2>&1 || true
berth-runtime run --bundle "$bundle" hello

# 2. The engine: berthd on /run/berth.sock (a running one is replaced: it keeps its containers).
sock=/run/berth.sock
if [ -f /run/berth.pid ] && kill -0 "$(cat /run/berth.pid)" 2>/dev/null; then
  echo "+ stopping the running berthd ($(cat /run/berth.pid))"
  kill "$(cat /run/berth.pid)"
  for _ in $(seq 100); do kill -0 "$(cat /run/berth.pid 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
fi
echo "+ berthd -H unix://$sock  (log: /var/log/berthd.log)"
setsid /usr/local/bin/berthd -H "unix://$sock" </dev/null >>/var/log/berthd.log 2>&1 &
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "berthd did not start; see /var/log/berthd.log" >&2; tail -20 /var/log/berthd.log >&2; exit 1; }

export DOCKER_HOST="unix://$sock"
echo "+ DOCKER_HOST=$DOCKER_HOST docker run --rm busybox echo hi"
docker run --rm busybox echo hi
echo "+ docker run --rm busybox sh -c '...'"
docker run --rm --hostname berth-demo busybox sh -c \
  'echo "hello from $(hostname): pid $$, $(id -u):$(id -g), caps $(grep CapEff /proc/self/status | cut -f2)"'
if command -v berth >/dev/null; then
  echo "+ berth run --rm busybox echo hi from berth"
  berth run --rm busybox echo hi from berth
fi
echo "+ docker images"
docker images
echo
echo "berthd is running on $sock.  Try:  export DOCKER_HOST=unix://$sock; docker run -it --rm busybox sh"
