# bench/lib.sh: sourced by the bench scripts. Starts berthd (out/bin) and Docker 20.10's dockerd side by side, each
# on its own socket and roots under $W (default /tmp/berth-bench), imports the same busybox into Docker, warms
# both up, and stops and removes everything at exit. Defines W, DOCKER, B (docker CLI on berthd), D (on dockerd),
# PODMAN, cleanup. DOCKERD_NET replaces dockerd's network flags (default: no bridge, no iptables, no proxy).
# The package may have started its own daemon: it is not ours to measure.
W=${W:-/tmp/berth-bench}
rm -rf "$W"; mkdir -p "$W"
DOCKER=/usr/local/bin/docker
# Podman on its own roots, cgroupfs (no systemd here), runc as Docker's. Rootful Podman gives containers
# RLIMIT_NOFILE/NPROC far above what can be set here without CAP_SYS_RESOURCE (runc then fails every
# container): the defaults are set to values that can (this shell's nofile hard limit, nproc 4096).
PODMAN="podman --root $W/podman/root --runroot $W/podman/run --cgroup-manager=cgroupfs --events-backend=file --runtime runc"
export CONTAINERS_CONF=$W/podman/containers.conf
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)

cleanup() {
  set +e
  [ -d "$W/podman" ] && $PODMAN rm -af -t 0 >/dev/null 2>&1
  for s in "$W/docker.sock" "$W/berth.sock"; do
    [ -S "$s" ] && ids=$($DOCKER -H "unix://$s" ps -aq) && [ -n "$ids" ] && $DOCKER -H "unix://$s" rm -f $ids >/dev/null 2>&1
  done
  [ -f "$W/berthd.pid" ] && kill "$(cat "$W/berthd.pid")" 2>/dev/null
  [ -f "$W/docker.pid" ] && kill "$(cat "$W/docker.pid")" 2>/dev/null
  sleep 2
  grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# --- the daemons ---
out/bin/berthd -H "unix://$W/berth.sock" --data-root "$W/berth-data" --exec-root "$W/berth-exec" -p "$W/berthd.pid" \
  >"$W/berthd.log" 2>&1 </dev/null &
dockerd -H "unix://$W/docker.sock" --data-root "$W/docker-data" --exec-root "$W/docker-exec" -p "$W/docker.pid" \
  ${DOCKERD_NET:---bridge none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --userland-proxy=false} \
  >"$W/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 200); do [ -S "$W/berth.sock" ] && [ -S "$W/docker.sock" ] && $DOCKER -H "unix://$W/docker.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
B="$DOCKER -H unix://$W/berth.sock"
D="$DOCKER -H unix://$W/docker.sock"
$D version --format 'Docker {{.Server.Version}}' >/dev/null || { echo "dockerd did not start:"; tail "$W/dockerd.log"; exit 1; }

# The same busybox for Docker: Berth's rootfs builder from Debian's busybox-static, imported.
scripts/make-busybox-rootfs.sh "$W/rootfs" >/dev/null
tar -C "$W/rootfs" -cf "$W/busybox.tar" .
$D import --change 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null
rm -rf "$W/rootfs" # busybox.tar stays for Podman
for e in B D; do ${!e} run --rm --network none busybox true; done # warm up both
# Settled (a daemon gives memory back a few seconds after a burst: berthd's trimmer, Go's scavenger).
sleep 3

