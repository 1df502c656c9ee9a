#!/usr/bin/env bash
# README command 2: set up, build and run the whole test suite (unit + golden pcap tests), then
# print one line "N passed, N failed" counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh || exit 1
scripts/build.sh >/dev/null || { echo "build failed"; scripts/build.sh | tail -n 40; exit 1; }

rm -rf build/test-results
mkdir -p build/test-results
meson test -C build --print-errorlogs --num-processes 2 > build/test-results/meson-test.log 2>&1
meson_status=$?
grep -E '^ *[0-9]+/[0-9]+ ' build/test-results/meson-test.log || true
[ $meson_status -eq 0 ] || tail -n 80 build/test-results/meson-test.log

/usr/bin/python3 scripts/count_test_cases.py build/test-results build/meson-logs/testlog.json
count_status=$?
[ $meson_status -eq 0 ] && [ $count_status -eq 0 ]
