#!/usr/bin/env bash
# Installs the Debian packages Berth needs to build, run and test (idempotent).
set -euo pipefail
need=()
for pkg in busybox-static runc gcc make libc6-dev python3 python3-docker procps iproute2 util-linux e2fsprogs nftables tini docker.io; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
