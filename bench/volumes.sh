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
#   many  1,000 volumes (BENCH_VOLUMES) created then removed through the API with curl (one kept-alive connection
#         per client), sequentially (one client) and by BENCH_CLIENTS (8) clients at once; both engines measured the
#         same way in the same run. Goal: at least 3x Docker's rate.
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
W=${BENCH_DIR:-/tmp/berth-bench-volumes}
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
  # What the engine does, not the client: each client is one curl process sending its requests on one kept-alive
  # connection (curl -K), the same for both engines. "sequential": one client, each request waits for the answer
  # of the last (a create is acknowledged once durable: Berth fsyncs volume.json and the volumes directory, dockerd
  # commits its bolt database). "parallel": BENCH_CLIENTS (8) such clients at once over disjoint names, as a
  # compose file or an orchestrator creates volumes; the rate is all requests over the wall time of the batch.
  echo
  N=${BENCH_VOLUMES:-1000}
  P=${BENCH_CLIENTS:-8}
  echo "## $N volumes created, then removed, through the API (curl, one kept-alive connection per client)"
  for e in berth docker; do
    sock=$W/$e.sock
    for j in $(seq 0 $((P - 1))); do : > "$W/create-$e-$j.cfg"; : > "$W/rm-$e-$j.cfg"; done
    for i in $(seq $N); do
      j=$((i % P))
      printf 'unix-socket = "%s"\nurl = "http://x/v1.41/volumes/create"\nheader = "Content-Type: application/json"\ndata = "{\\"Name\\":\\"bench-many-%d\\"}"\noutput = "/dev/null"\nnext\n' "$sock" "$i" >> "$W/create-$e-$j.cfg"
      printf 'unix-socket = "%s"\nurl = "http://x/v1.41/volumes/bench-many-%d"\nrequest = "DELETE"\noutput = "/dev/null"\nnext\n' "$sock" "$i" >> "$W/rm-$e-$j.cfg"
    done
    # curl takes a trailing "next" as one more operation without a URL.
    for j in $(seq 0 $((P - 1))); do sed -i '$ d' "$W/create-$e-$j.cfg" "$W/rm-$e-$j.cfg"; done
  done
  # One client: the P files one after the other on one connection each (the order of names does not matter).
  batch() { # engine verb clients -> ns
    local e=$1 verb=$2 clients=$3 s pids=()
    s=$(date +%s%N)
    if [ "$clients" = 1 ]; then
      for j in $(seq 0 $((P - 1))); do curl -sf -K "$W/$verb-$e-$j.cfg" || return 1; done
    else
      for j in $(seq 0 $((P - 1))); do curl -sf -K "$W/$verb-$e-$j.cfg" & pids+=($!); done
      for p in "${pids[@]}"; do wait "$p" || return 1; done
    fi
    echo $(( $(date +%s%N) - s ))
  }
  check() { # engine expected
    local c=$B n; [ "$1" = docker ] && c=$D
    n=$($c volume ls -q --filter name=bench-many- | wc -l)
    [ "$n" = "$2" ] || { echo "$1: $n volumes where $2 were expected" >&2; exit 1; }
  }
  declare -A took
  for mode in sequential parallel; do
    clients=1; [ "$mode" = parallel ] && clients=$P
    for e in berth docker; do
      took[$mode-$e-create]=$(batch $e create $clients); check $e $N
      took[$mode-$e-rm]=$(batch $e rm $clients); check $e 0
    done
  done
  python3 - "$N" "$P" "${took[sequential-berth-create]}" "${took[sequential-berth-rm]}" "${took[sequential-docker-create]}" "${took[sequential-docker-rm]}" \
    "${took[parallel-berth-create]}" "${took[parallel-berth-rm]}" "${took[parallel-docker-create]}" "${took[parallel-docker-rm]}" <<'PY'
import sys
n, p = int(sys.argv[1]), int(sys.argv[2])
t = [int(x) for x in sys.argv[3:]]
rate = lambda ns: n / (ns / 1e9)
for label, (bc, br, dc, dr) in (("sequential, 1 client", t[0:4]), (f"parallel, {p} clients", t[4:8])):
    print(f"{label}:")
    print(f"  create: berth {rate(bc):7.0f}/s, docker {rate(dc):7.0f}/s, ratio {dc / bc:.1f}x")
    print(f"  remove: berth {rate(br):7.0f}/s, docker {rate(dr):7.0f}/s, ratio {dr / br:.1f}x")
    ratio = (dc + dr) / (bc + br)
    print(f"  create + remove: {ratio:.1f}x Docker's rate (goal >= 3x): {'PASS' if ratio >= 3 else 'FAIL'}")
PY
  left=$(find "$W/berth-data/volumes" -mindepth 1 -maxdepth 1 2>/dev/null | grep -c bench-many- || true)
  echo "berth: $left volume directories left behind; mounts under the data root: $(grep -c " $W/berth-data/volumes" /proc/mounts || true)"
fi
