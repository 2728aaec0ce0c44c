#!/usr/bin/env bash
# Installs the Debian packages Berth needs to build, run and test (idempotent). conntrack: the network leak test
# reads the flow table; docker.io: the Docker coexistence test and the benches start a private dockerd (the
# package's own service is not used); docker-registry, apache2-utils: the pull tests' registry and its htpasswd.
set -euo pipefail
need=()
for pkg in busybox-static runc gcc make libc6-dev python3 python3-docker procps iproute2 util-linux e2fsprogs nftables tini conntrack iptables docker.io docker-registry apache2-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
