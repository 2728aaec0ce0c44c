#!/usr/bin/env bash
# Runs every test: native C tests, unit tests, privileged tests against the real kernel and runc.
# Needs root (CI runs as root). Ends with one "N passed, M failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh || exit 1
./scripts/build.sh || exit 1
export BERTH_RUNTIME="$PWD/out/bin/berth-runtime"
passed=0; failed=0
count() { # name, log: adds the counts of a dotnet test log
  local p f
  p=$(grep -oE 'Passed: +[0-9]+' "$2" | awk '{s+=$2} END {print s+0}')
  f=$(grep -oE 'Failed: +[0-9]+' "$2" | awk '{s+=$2} END {print s+0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}
status=0
echo "== native tests"
if make -s -C src/native test > /tmp/berth-native-test.log 2>&1; then :; else status=1; fi
cat /tmp/berth-native-test.log
np=$(grep -E '^ok ' /tmp/berth-native-test.log | grep -vc ' # SKIP'); nf=$(grep -cE '^not ok ' /tmp/berth-native-test.log)
ns=$(grep -E '^ok ' /tmp/berth-native-test.log | grep -c ' # SKIP'); echo "native tests: $np passed, $nf failed, $ns skipped"
passed=$((passed + np)); failed=$((failed + nf))
echo "== monitor tests"
if make -s -C src/monitor test > /tmp/berth-monitor-test.log 2>&1; then :; else status=1; fi
cat /tmp/berth-monitor-test.log
np=$(grep -E '^ok ' /tmp/berth-monitor-test.log | grep -vc ' # SKIP'); nf=$(grep -cE '^not ok ' /tmp/berth-monitor-test.log)
ns=$(grep -E '^ok ' /tmp/berth-monitor-test.log | grep -c ' # SKIP'); echo "monitor tests: $np passed, $nf failed, $ns skipped"
passed=$((passed + np)); failed=$((failed + nf))
for proj in tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  log=/tmp/berth-$name.log
  # Summary lines, and for each failed test its message and stack (so CI logs say why).
  dotnet test "$proj" -c Release --nologo 2>&1 | tee "$log" \
    | awk '/^  Failed /{n=25} /Passed!|Failed!|Skipped |error/{print; next} n>0{print; n--}' | head -300
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  if grep -q "No test is available" "$log"; then echo "$name: no tests ran"; status=1; failed=$((failed + 1)); fi
  count "$name" "$log"
done
echo "$passed passed, $failed failed"
exit $status
