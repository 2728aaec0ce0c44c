#!/usr/bin/env bash
# bench/ports.sh: throughput host → container through a port published on 127.0.0.1 (`-p 127.0.0.1:P:5001`),
# Berth (the kernel's NAT: nftables DNAT in the output hook) against Docker 20.10 (its userland proxy,
# docker-proxy, which copies every byte in user space). Goal: Berth >= 1.5x Docker.
#
#   bench/ports.sh            (BENCH_PORTS_MIB=2048 bytes per transfer, 5 rounds, engines taking turns; medians)
#
# The sink is busybox `nc -l -p 5001 >/dev/null` (in a loop) in a container; the source is the host's busybox nc fed by dd.
# Docker runs on a bridge of its own (bdbench0, 10.213.0.1/24, made and removed here) with --iptables=false:
# no rule is added to the host's tables, and a published port is served by docker-proxy alone (the path
# Docker takes for 127.0.0.1 anyway). Needs root and out/bin from scripts/build.sh; installs docker.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x out/bin/berthd ] || { echo "out/bin/berthd missing: run scripts/build.sh first" >&2; exit 1; }
command -v dockerd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
BB=$(command -v busybox || echo /bin/busybox)
[ -x "$BB" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
MIB=${BENCH_PORTS_MIB:-2048}
ROUNDS=${BENCH_PORTS_ROUNDS:-5}
W=/tmp/berth-bench-ports
ip link del bdbench0 2>/dev/null || true
ip link add bdbench0 type bridge
ip addr add 10.213.0.1/24 dev bdbench0
ip link set bdbench0 up
DOCKERD_NET="--bridge bdbench0 --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --userland-proxy=true"
source bench/lib.sh
trap 'cleanup; ip link del bdbench0 2>/dev/null || true' EXIT

echo "# $(date -u +%F) $(nproc) cores, kernel $(uname -r), $($D version --format 'Docker {{.Server.Version}}'), berthd $($B version --format '{{.Server.Version}}')"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
free_port() { for p in $(seq 20000 20999); do ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }

# One transfer: a fresh sink container, $MIB MiB from the host's nc to 127.0.0.1:P; prints MiB/s.
transfer() {
  local engine=$1 p c t
  p=$(free_port)
  c=$(${!engine} run -d -p "127.0.0.1:$p:5001" busybox sh -c 'while true; do nc -l -p 5001 >/dev/null; done')
  # Ready when a connection goes through (the sink then listens again).
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
  t=$( { /usr/bin/time -f %e sh -c "dd if=/dev/zero bs=1M count=$MIB 2>/dev/null | $BB nc 127.0.0.1 $p"; } 2>&1 | tail -1)
  ${!engine} rm -f "$c" >/dev/null
  awk -v m="$MIB" -v t="$t" 'BEGIN { printf "%.0f", m / (t > 0 ? t : 0.01) }'
}

echo
echo "## host -> container through 127.0.0.1:P published, ${MIB} MiB per transfer, MiB/s (median of $ROUNDS)"
b=(); d=()
for _ in $(seq "$ROUNDS"); do b+=("$(transfer B)"); d+=("$(transfer D)"); done
mb=$(median "${b[@]}"); md=$(median "${d[@]}")
echo "| engine | MiB/s | rounds |"
echo "|---|---|---|"
echo "| Berth (nftables DNAT) | $mb | ${b[*]} |"
echo "| Docker 20.10 (docker-proxy) | $md | ${d[*]} |"
awk -v b="$mb" -v d="$md" 'BEGIN { printf "Berth/Docker: %.2fx (goal >= 1.5x)\n", (d > 0 ? b / d : 0) }'
