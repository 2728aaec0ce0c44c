#!/usr/bin/env bash
# bench/network.sh: the networking figures of issue 10, Berth (berthd) against Docker 20.10 (Debian's dockerd) in
# one run, the engines taking turns (the machine is shared: medians of rounds).
#
#   bench/network.sh [ports|run|c2c|all]      (default: all)
#
#   ports  host -> container through a port published on 127.0.0.1 (`-p 127.0.0.1:P:5001`): Berth's nftables
#          DNAT (output hook) against Docker's userland proxy (docker-proxy copies every byte; Docker takes that
#          path for 127.0.0.1 even with its iptables on). Goal: Berth >= 1.5x Docker.
#   run    `docker run --rm busybox true` on the default bridge (veth, address, route, rules), and the same with
#          --network none for reference. Goal: Berth <= 1/5 of Docker's time.
#   c2c    TCP throughput container -> container on one user-defined bridge network. Goal: >= 95 % of Docker's.
#
# A transfer is bench/tcp-xfer.py: a sink in the server container's network namespace (nsenter --net; the busybox
# image has no fast sink, and the path measured is the namespace's: veth, bridge, NAT) and a sender on the host
# (ports) or in the client container's namespace (c2c). The sink answers the number of bytes it read; a transfer
# whose count is not what was sent stops the bench (exit 1): no figure is printed for a transfer that did not
# happen. BENCH_NET_MIB (default 1024) MiB per transfer, BENCH_NET_ROUNDS (default 5) transfers per engine,
# BENCH_NET_RUNS (default 20) `run --rm` per engine.
#
# Docker runs with a default bridge of its own (bdbench0, 10.213.0.1/24, made and removed here) and
# --iptables=false: no rule in the host's tables and no FORWARD policy change (other daemons share this host);
# published ports then go through docker-proxy alone. Needs root, python3, nsenter, out/bin (scripts/build.sh);
# installs docker.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -x out/bin/berthd ] || { echo "out/bin/berthd missing: run scripts/build.sh first" >&2; exit 1; }
command -v dockerd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
MIB=${BENCH_NET_MIB:-1024}
ROUNDS=${BENCH_NET_ROUNDS:-5}
RUNS=${BENCH_NET_RUNS:-20}
W=${W:-/tmp/berth-bench-net}
XFER="$PWD/bench/tcp-xfer.py"
ip link del bdbench0 2>/dev/null || true
ip link add bdbench0 type bridge
ip addr add 10.213.0.1/24 dev bdbench0
ip link set bdbench0 up
DOCKERD_NET="--bridge bdbench0 --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --userland-proxy=true"
source bench/lib.sh
trap 'cleanup; ip link del bdbench0 2>/dev/null || true' EXIT

echo "# $(date -u '+%F %H:%M UTC') $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)," \
  "$($D version --format 'Docker {{.Server.Version}}'), berthd $($B version --format '{{.Server.Version}}')"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
name_of() { [ "$1" = B ] && echo berth || echo docker; }
free_port() { for p in $(shuf -i 20000-29999 -n 200); do ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }
pid_of() { ${!1} inspect -f '{{.State.Pid}}' "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# One transfer: a sink in the namespace of container $2 (engine $1) on port 5001, a sender in namespace $3 (a
# path, or "host") to $4:$5. Prints MiB/s; stops the bench when the byte counts differ.
transfer() {
  local engine=$1 server=$2 from=$3 host=$4 port=$5 out spid res
  out=$(mktemp -p "$W")
  nsenter --net="/proc/$(pid_of "$engine" "$server")/ns/net" python3 "$XFER" sink 5001 >"$out" 2>&1 &
  spid=$!
  for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.05; done
  grep -q ready "$out" || fail "$(name_of "$engine"): the sink did not start: $(cat "$out")"
  if [ "$from" = host ]; then res=$(python3 "$XFER" send "$host" "$port" "$MIB") || { kill $spid 2>/dev/null; fail "$(name_of "$engine"): $res"; }
  else res=$(nsenter --net="$from" python3 "$XFER" send "$host" "$port" "$MIB") || { kill $spid 2>/dev/null; fail "$(name_of "$engine"): $res"; }; fi
  wait $spid || true
  local got; got=$(sed -n 2p "$out")
  [ "$got" = $((MIB * 1048576)) ] || fail "$(name_of "$engine"): sent $((MIB * 1048576)) bytes, the sink read ${got:-nothing}"
  [ "${res%% *}" = "$got" ] || fail "$(name_of "$engine"): the sender's count ${res%% *} is not the sink's $got"
  rm -f "$out"
  echo "$res" | awk '{print $3}'
}

if [ "$what" = ports ] || [ "$what" = all ]; then
  echo
  echo "## host -> container through 127.0.0.1:P published, $MIB MiB per transfer, MiB/s (median of $ROUNDS, taking turns)"
  declare -A port
  for e in B D; do
    port[$e]=$(free_port)
    ${!e} run -d --name xfer-srv -p "127.0.0.1:${port[$e]}:5001" busybox sleep 3600 >/dev/null
  done
  b=(); d=()
  for _ in $(seq "$ROUNDS"); do
    r=$(transfer B xfer-srv host 127.0.0.1 "${port[B]}") || exit 1; b+=("$r")
    r=$(transfer D xfer-srv host 127.0.0.1 "${port[D]}") || exit 1; d+=("$r")
  done
  mb=$(median "${b[@]}"); md=$(median "${d[@]}")
  echo "| engine | MiB/s | rounds |"
  echo "|---|---|---|"
  echo "| Berth (nftables DNAT) | $mb | ${b[*]} |"
  echo "| Docker 20.10 (docker-proxy) | $md | ${d[*]} |"
  awk -v b="$mb" -v d="$md" 'BEGIN { printf "ports: Berth/Docker %.2fx (goal >= 1.5x)\n", (d > 0 ? b / d : 0) }'
  for e in B D; do ${!e} rm -f xfer-srv >/dev/null; done
fi

if [ "$what" = run ] || [ "$what" = all ]; then
  echo
  echo "## docker run --rm busybox true, ms (median of $RUNS, taking turns)"
  ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null || fail "$*"; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
  for e in B D; do ${!e} run --rm busybox true; done # the bridges made, warm
  declare -A runs
  for _ in $(seq "$RUNS"); do
    for e in B D; do
      r=$(ms ${!e} run --rm busybox true) || exit 1; runs[$e.bridge]+=" $r"
      r=$(ms ${!e} run --rm --network none busybox true) || exit 1; runs[$e.none]+=" $r"
    done
  done
  echo "| network | Berth | Docker 20.10 | Berth/Docker |"
  echo "|---|---|---|---|"
  for net in bridge none; do
    # shellcheck disable=SC2086
    mb=$(median ${runs[B.$net]}); md=$(median ${runs[D.$net]})
    awk -v n="$net" -v b="$mb" -v d="$md" 'BEGIN { printf "| %s | %d ms | %d ms | %.2f |\n", n, b, d, b / d }'
  done
  # shellcheck disable=SC2086
  awk -v b="$(median ${runs[B.bridge]})" -v d="$(median ${runs[D.bridge]})" \
    'BEGIN { printf "run --rm on the default bridge: Berth/Docker %.2f (goal <= 0.20)\n", b / d }'
fi

if [ "$what" = c2c ] || [ "$what" = all ]; then
  echo
  echo "## container -> container on one user-defined bridge, $MIB MiB per transfer, MiB/s (median of $ROUNDS, taking turns)"
  declare -A ip cli
  for e in B D; do
    ${!e} network create benchc2c >/dev/null
    ${!e} run -d --name c2c-srv --network benchc2c busybox sleep 3600 >/dev/null
    ${!e} run -d --name c2c-cli --network benchc2c busybox sleep 3600 >/dev/null
    ip[$e]=$(${!e} inspect -f '{{(index .NetworkSettings.Networks "benchc2c").IPAddress}}' c2c-srv)
    cli[$e]=/proc/$(pid_of "$e" c2c-cli)/ns/net
  done
  b=(); d=()
  for _ in $(seq "$ROUNDS"); do
    r=$(transfer B c2c-srv "${cli[B]}" "${ip[B]}" 5001) || exit 1; b+=("$r")
    r=$(transfer D c2c-srv "${cli[D]}" "${ip[D]}" 5001) || exit 1; d+=("$r")
  done
  mb=$(median "${b[@]}"); md=$(median "${d[@]}")
  echo "| engine | MiB/s | rounds |"
  echo "|---|---|---|"
  echo "| Berth | $mb | ${b[*]} |"
  echo "| Docker 20.10 | $md | ${d[*]} |"
  awk -v b="$mb" -v d="$md" 'BEGIN { printf "c2c: Berth/Docker %.2f (goal >= 0.95)\n", (d > 0 ? b / d : 0) }'
  for e in B D; do ${!e} rm -f c2c-srv c2c-cli >/dev/null; ${!e} network rm benchc2c >/dev/null; done
fi
