#!/usr/bin/env bash
# bench/dns.sh: the embedded DNS of a user-defined network, Berth (berthd) against Docker 20.10 in one run.
#
#   bench/dns.sh [latency|many|all]      (default: all)
#
#   latency  a container's name looked up from another container on the same user-defined network: 2000 A
#            queries over UDP to 127.0.0.11, one at a time, from a probe in the client's network namespace
#            (bench/dns-probe.py through nsenter: no process start in the measure); p50 and p95 in microseconds,
#            3 rounds per engine taking turns (the machine is shared), the median round reported
#   many     200 containers on one network; from 10 sampled ones, every one of the 200 names looked up once:
#            resolved/asked per engine (goal: all)
#
# Needs root, python3, nsenter and out/bin from scripts/build.sh (dockerd from Debian's docker.io; see lib.sh).
# Lookups stay inside the containers' namespaces (container names only: nothing is forwarded out).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -x out/bin/berthd ] || { echo "out/bin/berthd missing: run scripts/build.sh first" >&2; exit 1; }
command -v dockerd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
source bench/lib.sh

echo "# $(date -u +%F) $(nproc) cores, kernel $(uname -r), $($D version --format 'Docker {{.Server.Version}}'), berthd $($B version --format '{{.Server.Version}}')"
probe() { # engine-cli container args...
  local pid; pid=$($1 inspect -f '{{.State.Pid}}' "$2"); shift 2
  nsenter --net="/proc/$pid/ns/net" python3 bench/dns-probe.py "$@"
}

if [ "$what" = latency ] || [ "$what" = all ]; then
  for e in B D; do
    ${!e} network create benchdns >/dev/null
    ${!e} run -d --name dns-srv --network benchdns busybox sleep 600 >/dev/null
    ${!e} run -d --name dns-cli --network benchdns busybox sleep 600 >/dev/null
  done
  declare -A rounds
  for r in 1 2 3; do
    for e in B D; do rounds[$e]+="$(probe "${!e}" dns-cli latency dns-srv 2000)"$'\n'; done
  done
  for e in B D; do
    name=$([ $e = B ] && echo berth || echo docker)
    # the round with the median p50
    line=$(printf '%s' "${rounds[$e]}" | sort -n | sed -n 2p)
    echo "dns lookup by name ($name): p50 $(echo "$line" | cut -d' ' -f1) us, p95 $(echo "$line" | cut -d' ' -f2) us, answered $(echo "$line" | cut -d' ' -f3)"
    ${!e} rm -f dns-srv dns-cli >/dev/null
    ${!e} network rm benchdns >/dev/null
  done
fi

if [ "$what" = many ] || [ "$what" = all ]; then
  for e in B D; do
    name=$([ $e = B ] && echo berth || echo docker)
    ${!e} network create benchmany >/dev/null
    names=()
    for i in $(seq 1 200); do
      ${!e} run -d --name "m$i" --network benchmany busybox sleep 900 >/dev/null
      names+=("m$i")
    done
    ok=0 asked=0
    for i in $(shuf -i 1-200 -n 10); do
      res=$(probe "${!e}" "m$i" all "${names[@]}")
      ok=$((ok + ${res%/*})); asked=$((asked + ${res#*/}))
    done
    echo "200 containers on one network ($name): $ok/$asked names resolved from 10 sampled containers"
    ${!e} rm -f "${names[@]}" >/dev/null
    ${!e} network rm benchmany >/dev/null
  done
fi
