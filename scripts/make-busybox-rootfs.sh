#!/bin/sh
# make-busybox-rootfs.sh DIR
#
# Builds a minimal rootfs in DIR from Debian's busybox-static (/bin/busybox):
#   DIR/bin/busybox + a symlink for every applet (`busybox --list-full`),
#   /etc/passwd (root, nobody 65534, berth 1000:1000), /etc/group,
#   empty mount-point dirs /proc /sys /dev /tmp(1777) /root /home/berth /etc /usr/bin /usr/sbin /sbin /var /run.
# Idempotent: re-running on an existing DIR refreshes it in place.
set -eu

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
DIR=$1

BUSYBOX=
for c in /bin/busybox /usr/bin/busybox; do
    [ -x "$c" ] && { BUSYBOX=$c; break; }
done
if [ -z "$BUSYBOX" ]; then
    echo "$0: error: /bin/busybox not found; install it with: apt-get install -y busybox-static" >&2
    exit 1
fi
# Must be the static build: the rootfs has no libc.
if ! file_out=$(LC_ALL=C readelf -l "$BUSYBOX" 2>/dev/null); then file_out=; fi
if printf '%s' "$file_out" | grep -q 'Requesting program interpreter'; then
    echo "$0: error: $BUSYBOX is dynamically linked; install busybox-static (apt-get install -y busybox-static)" >&2
    exit 1
fi

mkdir -p "$DIR"
cd "$DIR"
for d in bin sbin usr/bin usr/sbin etc proc sys dev root home home/berth var run tmp; do
    mkdir -p "$d"
done
chmod 0755 bin sbin usr usr/bin usr/sbin etc proc sys dev home var run
chmod 0700 root
chmod 1777 tmp
chown 1000:1000 home/berth
chmod 0755 home/berth

# Copy (not link) the binary so the rootfs is self-contained.
cp -f "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox

# One symlink per applet, at the path busybox itself reports (bin/ls, usr/bin/env, sbin/ip...).
"$BUSYBOX" --list-full | while IFS= read -r applet; do
    [ -n "$applet" ] || continue
    case "$applet" in bin/busybox) continue ;; esac
    mkdir -p "$(dirname "$applet")"
    # Relative target so the link works from inside and outside the container.
    depth=$(printf '%s' "$applet" | awk -F/ '{print NF-1}')
    i=1
    prefix=
    while [ "$i" -lt "$depth" ]; do prefix="../$prefix"; i=$((i + 1)); done
    case "$applet" in
        bin/*) target=busybox ;;
        */*) target="${prefix}../bin/busybox" ;;
        *) target=bin/busybox ;;
    esac
    ln -sfn "$target" "$applet"
done

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
berth:x:1000:1000:berth test user:/home/berth:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
berth:x:1000:
users:x:100:berth
nogroup:x:65534:
GROUP
chmod 0644 etc/passwd etc/group
# Empty files some tools expect; runc bind-mounts nothing over them by default.
: > etc/hosts
: > etc/resolv.conf

echo "rootfs ready: $DIR ($("$BUSYBOX" --list-full | wc -l) applets)"
