#!/usr/bin/env bash
# The README's first command: installs what Berth needs (apt), builds it, installs berth-runtime on the
# PATH, prepares a busybox bundle and runs a container from it.  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
install -m 0755 out/bin/berth-runtime /usr/local/bin/berth-runtime
bundle=/var/lib/berth/bundles/busybox
./scripts/make-bundle.sh "$bundle" -- sh -c \
  'echo "hello from $(hostname): pid $$, $(id -u):$(id -g), caps $(grep CapEff /proc/self/status | cut -f2)"; ls /'
echo "+ berth-runtime run --bundle $bundle hello"
berth-runtime delete --force hello >/dev/null 2>&1 || true
berth-runtime run --bundle "$bundle" hello
