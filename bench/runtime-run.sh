#!/usr/bin/env bash
# berth-runtime run vs runc run on the same busybox bundle running `true`, in one session,
# alternating the two (hyperfine), so the ratio holds when the machine's speed drifts.
# Usage: bench/runtime-run.sh [runs]   (root; builds nothing: run scripts/build.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
command -v runc >/dev/null || { apt-get install -y -qq runc >/dev/null; }
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
./scripts/make-bundle.sh "$work/bundle" -- true >/dev/null
berth="$PWD/out/bin/berth-runtime"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/result.json" \
  -n berth-runtime "$berth --root $work/berth-state run -b $work/bundle bench-berth" \
  -n runc "runc --root $work/runc-state run -b $work/bundle bench-runc"
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
b, c = r["berth-runtime"], r["runc"]
print(f"median: berth-runtime {b['median']*1000:.1f} ms, runc {c['median']*1000:.1f} ms, ratio {b['median']/c['median']:.2f}")
PY
