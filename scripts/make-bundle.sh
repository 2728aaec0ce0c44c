#!/bin/sh
# make-bundle.sh DIR [-- ARGS...]
#
# Creates an OCI bundle: DIR/rootfs (busybox, via make-busybox-rootfs.sh) and
# DIR/config.json from `berth-runtime spec` (the same default spec as `runc spec`; runc's
# own is used when berth-runtime is not built) with
# "terminal": false and process.args = ARGS (default: sh).
# If tests/probe/build/berth-probe exists it is copied to DIR/rootfs/probe.
set -eu

usage() { echo "usage: $0 DIR [-- ARGS...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DIR=$1; shift
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || usage
    shift
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

SPEC_TOOL=""
if [ -x "$REPO/out/bin/berth-runtime" ]; then SPEC_TOOL="$REPO/out/bin/berth-runtime"
elif command -v berth-runtime >/dev/null 2>&1; then SPEC_TOOL=berth-runtime
elif command -v runc >/dev/null 2>&1; then SPEC_TOOL=runc
else echo "$0: error: neither berth-runtime (scripts/build.sh) nor runc found" >&2; exit 1; fi
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "$0: error: python3 not found" >&2; exit 1; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
"$HERE/make-busybox-rootfs.sh" "$DIR/rootfs" >/dev/null

PROBE="$REPO/tests/probe/build/berth-probe"
if [ -x "$PROBE" ]; then
    cp -f "$PROBE" "$DIR/rootfs/probe"
    chmod 0755 "$DIR/rootfs/probe"
fi

rm -f "$DIR/config.json"
(cd "$DIR" && "$SPEC_TOOL" spec)

"$PY" - "$DIR/config.json" "$@" <<'PYEOF'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
with open(path) as f:
    cfg = json.load(f)
cfg["process"]["terminal"] = False
cfg["process"]["args"] = args if args else ["sh"]
with open(path, "w") as f:
    json.dump(cfg, f, indent="\t")
    f.write("\n")
PYEOF
echo "bundle ready: $DIR"
