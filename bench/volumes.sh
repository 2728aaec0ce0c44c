#!/usr/bin/env bash
# bench/volumes.sh: storage figures of Berth against Docker 20.10 and the host itself, in one run on this machine.
#
#   bench/volumes.sh [all|io|run|many]      (default: all)
#
#   io    sequential write (dd, 1 MiB blocks, fsync at the end) and read (page cache dropped first) of a 1 GiB file
#         (BENCH_IO_MIB to change) on a named volume, a bind mount, a tmpfs mount and the container's own layer;
#         the host's figure with the same busybox dd on a directory of the same filesystem and on a tmpfs. Three
#         rounds, engines taking turns; medians. Goal: volume/bind/tmpfs within 5 % of the host, none slower
#         than Docker.
#   run   `run --rm --network none -v NAME:/data busybox true` against the plain `run --rm` (hyperfine, 30 runs):
#         the time a volume adds. Goal: at most 2 ms on Berth.
#   many  1,000 volumes created then removed through the API (one curl, one connection, per engine and verb).
#         Goal: at least 3x Docker's rate.
#
# Needs root and out/bin from scripts/build.sh. Installs docker.io and hyperfine with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -x out/bin/berthd ] || { echo "out/bin/berthd missing: run scripts/build.sh first" >&2; exit 1; }
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ ${#need[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
W=/tmp/berth-bench-volumes
source bench/lib.sh

echo "# $(date -u +%F) $(nproc) cores, kernel $(uname -r), $($D version --format 'Docker {{.Server.Version}}'), berthd $($B version --format '{{.Server.Version}}')"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# MiB/s from the last line of busybox `time -f %e` (seconds, 10 ms resolution: under 1 % of a 1 GiB transfer).
rate() { tail -1 | awk -v m="$MIB" '{ printf "%.0f", m / ($1 > 0 ? $1 : 0.01) }'; }

if [ "$what" = all ] || [ "$what" = io ]; then
  MIB=${BENCH_IO_MIB:-1024}
  BB=$(command -v busybox || echo /bin/busybox)
  [ -x "$BB" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  echo
  echo "## sequential I/O, ${MIB} MiB, MiB/s (median of 3 rounds; write ends with fsync, read after dropping caches)"
  WRITE="time -f %e dd if=/dev/zero of=/t/f bs=1M count=$MIB conv=fsync 2>&1"
  READ="time -f %e dd if=/t/f of=/dev/null bs=1M 2>&1"
  # The container keeps its file between the two starts (write, then read): `start -a` twice of one container.
  TWO="if [ -f /t/f ]; then $READ; else $WRITE; fi"
  mkdir -p "$W/host-disk" "$W/host-tmpfs"
  mount -t tmpfs -o size=$((MIB + 64))m tmpfs "$W/host-tmpfs"
  declare -A res
  add() { res[$1]="${res[$1]:-} $2"; }
  for round in 1 2 3; do
    # host
    for t in disk tmpfs; do
      d=$W/host-$t; rm -f "$d/f"
      add "host $t write" "$("$BB" time -f %e "$BB" dd if=/dev/zero of="$d/f" bs=1M count="$MIB" conv=fsync 2>&1 | rate)"
      drop_caches
      add "host $t read" "$("$BB" time -f %e "$BB" dd if="$d/f" of=/dev/null bs=1M 2>&1 | rate)"
      rm -f "$d/f"
    done
    for e in berth docker; do
      c=$B; [ "$e" = docker ] && c=$D
      mkdir -p "$W/bind-$e"
      for target in volume bind layer; do
        case $target in
          volume) m=(-v "bench-io:/t") ;;
          bind) m=(-v "$W/bind-$e:/t") ;;
          layer) m=() ;;
        esac
        $c create --name bench-io --network none "${m[@]}" busybox sh -c "mkdir -p /t; $TWO" >/dev/null
        add "$e $target write" "$($c start -a bench-io | rate)"
        drop_caches
        add "$e $target read" "$($c start -a bench-io | rate)"
        $c rm -f bench-io >/dev/null
        [ "$target" = volume ] && $c volume rm bench-io >/dev/null
        rm -f "$W/bind-$e/f"
      done
      out=$($c run --rm --network none --tmpfs "/t:size=$((MIB + 64))m" busybox sh -c "$WRITE; $READ")
      add "$e tmpfs write" "$(printf '%s\n' "$out" | grep -E '^[0-9.]+$' | head -1 | rate)"
      add "$e tmpfs read" "$(printf '%s\n' "$out" | rate)"
    done
  done
  printf '%-8s %-5s %9s %9s %9s %12s %12s\n' target op host berth docker berth/host berth/docker
  for target in volume bind tmpfs layer; do
    for op in write read; do
      ht=disk; [ "$target" = tmpfs ] && ht=tmpfs
      # shellcheck disable=SC2086
      h=$(median ${res["host $ht $op"]}); b=$(median ${res["berth $target $op"]}); dk=$(median ${res["docker $target $op"]})
      printf '%-8s %-5s %9s %9s %9s %12s %12s\n' "$target" "$op" "$h" "$b" "$dk" \
        "$(awk -v b="$b" -v h="$h" 'BEGIN { printf "%.3f", b / h }')" "$(awk -v b="$b" -v d="$dk" 'BEGIN { printf "%.3f", b / d }')"
    done
  done
  umount "$W/host-tmpfs"
fi

if [ "$what" = all ] || [ "$what" = run ]; then
  echo
  echo "## run --rm with a named volume against a plain run --rm (hyperfine, 30 runs, medians)"
  for c in "$B" "$D"; do $c volume create bench-run >/dev/null; done
  hyperfine -N -w 3 -r 30 --export-json "$W/run.json" \
    -n "berth plain" "$B run --rm --network none busybox true" \
    -n "berth volume" "$B run --rm --network none -v bench-run:/data busybox true" \
    -n "docker plain" "$D run --rm --network none busybox true" \
    -n "docker volume" "$D run --rm --network none -v bench-run:/data busybox true" >/dev/null
  python3 - "$W/run.json" <<'EOF'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for e in ("berth", "docker"):
    print(f"{e:6} plain {r[e + ' plain']:7.1f} ms, with a volume {r[e + ' volume']:7.1f} ms: adds {r[e + ' volume'] - r[e + ' plain']:5.1f} ms")
added = r["berth volume"] - r["berth plain"]
print(f"berth: a volume adds {added:.1f} ms (goal <= 2 ms): {'PASS' if added <= 2 else 'FAIL'}")
EOF
fi

if [ "$what" = all ] || [ "$what" = many ]; then
  echo
  echo "## 1,000 volumes created, then removed, through the API (one curl and one connection per engine and verb)"
  N=1000
  for e in berth docker; do
    sock=$W/$e.sock
    : > "$W/create-$e.cfg"; : > "$W/rm-$e.cfg"
    for i in $(seq $N); do
      printf 'unix-socket = "%s"\nurl = "http://x/v1.41/volumes/create"\nheader = "Content-Type: application/json"\ndata = "{\\"Name\\":\\"bench-many-%d\\"}"\noutput = "/dev/null"\nnext\n' "$sock" "$i" >> "$W/create-$e.cfg"
      printf 'unix-socket = "%s"\nurl = "http://x/v1.41/volumes/bench-many-%d"\nrequest = "DELETE"\noutput = "/dev/null"\nnext\n' "$sock" "$i" >> "$W/rm-$e.cfg"
    done
    # curl takes a trailing "next" as one more operation without a URL.
    sed -i '$ d' "$W/create-$e.cfg" "$W/rm-$e.cfg"
  done
  declare -A took
  for e in berth docker; do
    c=$B; [ "$e" = docker ] && c=$D
    s=$(date +%s%N); curl -sf -K "$W/create-$e.cfg"; took[$e-create]=$(( $(date +%s%N) - s ))
    n=$($c volume ls -q --filter name=bench-many- | wc -l)
    [ "$n" = $N ] || { echo "$e: $n volumes after creating $N" >&2; exit 1; }
    s=$(date +%s%N); curl -sf -K "$W/rm-$e.cfg"; took[$e-rm]=$(( $(date +%s%N) - s ))
    n=$($c volume ls -q --filter name=bench-many- | wc -l)
    [ "$n" = 0 ] || { echo "$e: $n volumes left after removing $N" >&2; exit 1; }
  done
  python3 - "$N" "${took[berth-create]}" "${took[berth-rm]}" "${took[docker-create]}" "${took[docker-rm]}" <<'EOF'
import sys
n, bc, br, dc, dr = (int(x) for x in sys.argv[1:])
rate = lambda ns: n / (ns / 1e9)
print(f"create: berth {rate(bc):7.0f}/s, docker {rate(dc):7.0f}/s, ratio {dc / bc:.1f}x")
print(f"remove: berth {rate(br):7.0f}/s, docker {rate(dr):7.0f}/s, ratio {dr / br:.1f}x")
ratio = (dc + dr) / (bc + br)
print(f"create + remove: {ratio:.1f}x Docker's rate (goal >= 3x): {'PASS' if ratio >= 3 else 'FAIL'}")
EOF
  left=$(find "$W/berth-data/volumes" -mindepth 1 -maxdepth 1 2>/dev/null | grep -c bench-many- || true)
  echo "berth: $left volume directories left behind; mounts under the data root: $(grep -c " $W/berth-data/volumes" /proc/mounts || true)"
fi
