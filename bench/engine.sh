#!/usr/bin/env bash
# bench/engine.sh: Berth (berthd) against Docker 20.10 (Debian's docker.io: dockerd + containerd + runc), both
# driven by the same docker CLI, in one run on this machine, with --network none on both sides.
#
#   bench/engine.sh [all|run|many|mem]      (default: all)
#
#   run   `docker run --rm --network none busybox true` (hyperfine, 30 runs each)
#   cli   the berth CLI against the docker CLI, both on berthd: `run --rm busybox true` and `ps`
#   many  50 x `docker run -d --network none busybox sleep 300` per engine (5 rounds of 10, the engines taking
#         turns; the ratio is the median of the rounds), then `docker rm -f` of the 50 (2 x 25, taking turns)
#   podman  Podman 4.3 through its own CLI (podman run: conmon + runc, cgroupfs) against berthd through the docker
#         CLI: run --rm, 50 x run -d in rounds, memory per idle container, conmon's PSS (part of all when podman is
#         installed; `podman` installs it)
#   mem   with those 50 idle containers: container cgroups' memory + helper (monitor / shim) PSS + daemon RSS
#         growth, divided by 50; the helper's PSS alone; the daemon's RSS idle and with 50 containers
#
# Needs root and out/bin from scripts/build.sh. Installs docker.io and hyperfine with apt when missing (the
# package's service is not started: policy-rc.d). Each daemon runs on its own socket and roots under
# /tmp/berth-bench; everything started is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -x out/bin/berthd ] || { echo "out/bin/berthd missing: run scripts/build.sh first" >&2; exit 1; }
need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ "$what" = podman ] && ! command -v podman >/dev/null && need+=(podman)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
source bench/lib.sh

echo "# $(date -u +%F) $(nproc) cores, kernel $(uname -r), $($D version --format 'Docker {{.Server.Version}}'), berthd $($B version --format '{{.Server.Version}}')"

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }
sum_pss() { local t=0 p; for p in "$@"; do t=$((t + $(pss_kb "$p"))); done; echo $t; }
cg_mem_kb() { # cgroup parent dir (v1 memory or v2), container ids
  local parent=$1 t=0 id f; shift
  for id in "$@"; do
    f=/sys/fs/cgroup/memory/$parent/$id/memory.usage_in_bytes
    [ -f "$f" ] || f=/sys/fs/cgroup/$parent/$id/memory.current
    [ -f "$f" ] && t=$((t + $(cat "$f") / 1024))
  done
  echo $t
}
daemon_rss_kb() { # engine: berth | docker
  if [ "$1" = berth ]; then rss_kb "$(cat "$W/berthd.pid")"
  else local t=$(rss_kb "$(cat "$W/docker.pid")") c; for c in $(pgrep -f "containerd --config $W/docker-exec" || pgrep -x containerd); do t=$((t + $(rss_kb "$c"))); done; echo $t; fi
}

declare -A fresh
fresh[berth]=$(daemon_rss_kb berth); fresh[docker]=$(daemon_rss_kb docker)

# take_turns NAME CMD: 5 rounds of 10 `run -d --network none busybox sleep 300`, berthd (through $B) and CMD taking
# turns: the machine's speed drifts (it is shared), so the ratio is taken round by round. Sets turn_ns[berth] and
# turn_ns[NAME] (total nanoseconds) and turn_ratios (NAME's time / berth's, per round).
declare -A turn_ns
turn_ratios=()
take_turns() {
  local other=$1 cmd=$2 round e c s i
  local -A took
  turn_ns=([berth]=0 [$other]=0)
  turn_ratios=()
  for round in 1 2 3 4 5; do
    for e in berth "$other"; do
      c=$B; [ "$e" = "$other" ] && c=$cmd
      s=$(date +%s%N)
      for i in $(seq 10); do $c run -d --network none busybox sleep 300 >/dev/null; done
      took[$e]=$(( $(date +%s%N) - s ))
      turn_ns[$e]=$(( turn_ns[$e] + took[$e] ))
    done
    turn_ratios+=("$(python3 -c "print(f'{${took[$other]} / ${took[berth]}:.2f}')")")
  done
}

if [ "$what" = all ] || [ "$what" = run ]; then
  echo
  echo "## docker run --rm --network none busybox true"
  sync
  hyperfine -N -w 3 -r 30 --export-json "$W/run.json" \
    -n berth "$B run --rm --network none busybox true" -n docker "$D run --rm --network none busybox true" >/dev/null
  python3 - "$W/run.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
b, d = r["berth"]["median"] * 1000, r["docker"]["median"] * 1000
print(f"berth  median {b:7.1f} ms\ndocker median {d:7.1f} ms\nratio berth/docker {b/d:.3f}  (goal <= 0.2, aim 0.125): {'PASS' if b/d <= 0.2 else 'FAIL'}")
EOF
fi

if [ "$what" = all ] || [ "$what" = cli ]; then
  echo
  echo "## berth CLI vs docker CLI, same berthd"
  BC="$PWD/out/bin/berth -H unix://$W/berth.sock"
  hyperfine -N -w 3 -r 30 --export-json "$W/cli.json" \
    -n "berth run" "$BC run --rm --network none busybox true" -n "docker run" "$B run --rm --network none busybox true" \
    -n "berth ps" "$BC ps" -n "docker ps" "$B ps" >/dev/null
  python3 - "$W/cli.json" <<'EOF2'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for v in ("run", "ps"):
    b, d = r[f"berth {v}"], r[f"docker {v}"]
    print(f"{v}: berth {b:.1f} ms, docker CLI {d:.1f} ms, ratio {b/d:.2f} (goal <= 1): {'PASS' if b <= d else 'FAIL'}")
EOF2
fi

if [ "$what" = all ] || [ "$what" = many ] || [ "$what" = mem ]; then
  echo
  echo "## 50 x docker run -d --network none busybox sleep 300, then docker rm -f of the 50"
  # In 5 rounds of 10 per engine, taking turns (berth, docker, berth, ...): the machine's speed drifts (it is
  # shared), so the ratio is taken round by round and its median quoted.
  declare -A rate rm idle
  sync; sleep 3 # idle: settled after the runs before (and their writeback: fsync latency depends on it)
  for e in berth docker; do idle[$e]=$(daemon_rss_kb $e); done
  take_turns docker "$D"
  ratios=("${turn_ratios[@]}")
  for e in berth docker; do rate[$e]=$(python3 -c "print(f'{50 / (${turn_ns[$e]} / 1e9):.1f}')"); done
  sleep 3
  declare -A allids
  for e in berth docker; do
    c=$B; [ $e = docker ] && c=$D
    ids=$($c ps -q --no-trunc)
    allids[$e]=$ids
    if [ "$what" != many ]; then
      if [ $e = berth ]; then
        helpers=$(pgrep -f "berth-monitor --id" | xargs -r -n1 sh -c 'grep -q "'$W'" /proc/$0/cmdline && echo $0')
        cg=$(cg_mem_kb berth $ids)
      else
        helpers=$(pgrep -f containerd-shim | xargs -r -n1 sh -c 'grep -q "'$W'\|moby" /proc/$0/cmdline && echo $0')
        cg=$(cg_mem_kb docker $ids)
      fi
      nh=$(echo $helpers | wc -w)
      hp=$(sum_pss $helpers)
      grow=$(( $(daemon_rss_kb $e) - ${idle[$e]} ))
      echo "$e: $nh helpers, helper PSS $hp kB total ($((hp / (nh > 0 ? nh : 1))) kB each), container cgroups $cg kB, daemon RSS idle ${idle[$e]} kB, +$grow kB with 50"
      echo "$e: memory per idle container $(python3 -c "print(f'{($cg + $hp + $grow) / 50 / 1024:.2f}')") MiB"
      echo "$e: daemon RSS idle after start $(( ${fresh[$e]} / 1024 )) MiB, idle after load $(( ${idle[$e]} / 1024 )) MiB, with 50 containers $(( $(daemon_rss_kb $e) / 1024 )) MiB"
    fi
  done
  # rm -f in 2 halves of 25 per engine, taking turns too (each engine's removal sees some of the other's containers).
  sync; sleep 1
  for e in berth docker; do rm[$e]=0; done
  for round in 0 1; do
    for e in berth docker; do
      c=$B; [ $e = docker ] && c=$D
      batch=$(echo ${allids[$e]} | tr ' ' '\n' | sed -n "$((round * 25 + 1)),$((round * 25 + 25))p")
      s=$(date +%s%N)
      $c rm -f $batch >/dev/null
      rm[$e]=$(( rm[$e] + ($(date +%s%N) - s) / 1000000 ))
    done
  done
  for e in berth docker; do echo "$e: run -d rate ${rate[$e]}/s, rm -f of 50 (2 x 25): ${rm[$e]} ms"; done
  python3 -c "
import statistics
r = sorted([$(IFS=,; echo "${ratios[*]}")])
m = statistics.median(r)
print(f'run -d rate ratio berth/docker, median of 5 rounds of 10: {m:.1f}x (rounds {r[0]:.1f}-{r[-1]:.1f}x) (goal >= 5x): ' + ('PASS' if m >= 5 else 'FAIL'))
rb, rd = ${rm[berth]}, ${rm[docker]}
print(f'rm -f speed ratio {rd/rb:.1f}x (goal >= 3x): ' + ('PASS' if rd/rb >= 3 else 'FAIL'))"
fi

if { [ "$what" = all ] && command -v podman >/dev/null; } || [ "$what" = podman ]; then
  mkdir -p "$W/podman"
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" >"$CONTAINERS_CONF"
  echo
  echo "## Podman $(podman version --format '{{.Client.Version}}') (podman CLI; conmon + runc, cgroupfs) against berthd (docker CLI)"
  $PODMAN import -q --change 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null
  $PODMAN run --rm --network none busybox true
  sync
  hyperfine -N -w 3 -r 20 --export-json "$W/prun.json" \
    -n berth "$B run --rm --network none busybox true" -n podman "$PODMAN run --rm --network none busybox true" >/dev/null
  python3 - "$W/prun.json" <<'EOF3'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"run --rm: berth {r['berth']:.1f} ms, podman {r['podman']:.1f} ms, ratio {r['berth'] / r['podman']:.3f}")
EOF3
  sync; sleep 3
  take_turns podman "$PODMAN"
  sleep 3
  pids=$($PODMAN ps -q --no-trunc)
  conmons=$(pgrep -x conmon | xargs -r -n1 sh -c 'grep -q "'$W'/podman" /proc/$0/cmdline && echo $0')
  np=$(echo $conmons | wc -w)
  cpss=$(sum_pss $conmons)
  pcg=0
  for id in $pids; do f=/sys/fs/cgroup/memory/libpod_parent/libpod-$id/memory.usage_in_bytes; [ -f "$f" ] || f=/sys/fs/cgroup/machine.slice/libpod-$id.scope/memory.current; [ -f "$f" ] && pcg=$((pcg + $(cat "$f") / 1024)); done
  echo "podman: $np conmons, PSS $cpss kB total ($((cpss / (np > 0 ? np : 1))) kB each), container cgroups $pcg kB (no daemon)"
  echo "podman: memory per idle container $(python3 -c "print(f'{($pcg + $cpss) / 50 / 1024:.2f}')") MiB"
  python3 -c "
import statistics
r = sorted([$(IFS=,; echo "${turn_ratios[*]}")])
b, p = 50 / (${turn_ns[berth]} / 1e9), 50 / (${turn_ns[podman]} / 1e9)
print(f'run -d rate: berth {b:.1f}/s, podman {p:.1f}/s, ratio median of 5 rounds of 10: {statistics.median(r):.1f}x (rounds {r[0]:.1f}-{r[-1]:.1f}x)')"
  $PODMAN rm -af -t 0 >/dev/null
  ids=$($B ps -aq); [ -n "$ids" ] && $B rm -f $ids >/dev/null
fi
