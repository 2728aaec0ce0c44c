#!/bin/sh
# make-sqlite-rootfs.sh DIR
#
# A busybox rootfs (make-busybox-rootfs.sh) plus Debian's sqlite3 and the shared libraries it needs (from ldd),
# for the storage tests' persistence scenario: a real database file on a volume outlives its container.
# Installs sqlite3 with apt when it is missing.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
command -v sqlite3 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
"$(dirname "$0")/make-busybox-rootfs.sh" "$DIR"
SQLITE=$(command -v sqlite3)
mkdir -p "$DIR/usr/bin"
cp "$SQLITE" "$DIR/usr/bin/sqlite3"
# Every library ldd names (resolved paths, and the loader), copied to the same path inside the rootfs.
ldd "$SQLITE" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
    real=$(readlink -f "$lib")
    mkdir -p "$DIR$(dirname "$lib")"
    cp "$real" "$DIR$lib"
done
