#!/bin/bash
# Builds tcplab twice (build/ plain, build-asan/ with AddressSanitizer and
# UBSan) and runs every test in both: unit tests and, as root, the
# integration tests. Prints each test's result and ends with one line
# "N passed, M failed" (plus ", K skipped"). Exits non-zero on any failure.
# Needs no terminal: works with stdin closed and under CI=true (where the
# integration tests refuse to skip).
set -uo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

build_failures=0
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# run_build DIR [MESON OPTIONS...]
run_build() {
	local dir=$1
	shift
	echo "== $dir: configure and build"
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi || { echo "$dir configure FAILED" >>"$results"; build_failures=$((build_failures + 1)); return; }
	if ! ninja -C "$dir"; then
		echo "$dir build FAILED" >>"$results"
		build_failures=$((build_failures + 1))
		return
	fi
	echo "== $dir: meson test"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs
	if [ ! -f "$dir/meson-logs/testlog.json" ]; then
		echo "$dir meson-test FAILED" >>"$results"
		return
	fi
	python3 - "$dir" >>"$results" <<'PY'
import json, sys
d = sys.argv[1]
for line in open(d + "/meson-logs/testlog.json"):
    t = json.loads(line)
    # name is "project:suite / test"; print "suite/test" as one word
    name = t["name"].split(":", 1)[-1].replace(" / ", "/").replace(" ", "_")
    print(f"{d} {name} {t['result']}")
PY
}

run_build build
run_build build-asan -Dsanitize=true

echo
echo "== results"
passed=0 failed=0 skipped=0
while read -r dir name result; do
	printf '  %-11s %-34s %s\n' "$dir" "$name" "$result"
	case $result in
	OK | EXPECTEDFAIL) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done <"$results"

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$build_failures" -eq 0 ]
