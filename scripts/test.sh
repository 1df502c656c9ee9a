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

# Rollout: lint, syntax and variable checks always; SLUICE_ROLLOUT_APPLY=1 adds the real apply
# (a .deb applied with Ansible to a debootstrapped Debian 12 root). It writes rollout.xml.
bash scripts/test-rollout.sh > build/test-results/rollout.log 2>&1 || tail -n 60 build/test-results/rollout.log

# libFuzzer (clang, ASan + UBSan): every parser for a bounded time on its regression corpus.
fuzz_status=0
bash scripts/fuzz.sh build/test-results > build/test-results/fuzz.log 2>&1 || fuzz_status=1
grep -E '^fuzz_' build/test-results/fuzz.log || true
[ $fuzz_status -eq 0 ] || tail -n 40 build/test-results/fuzz.log

# AddressSanitizer + LeakSanitizer: the reload (100 generations) and packet-path tests again.
asan_status=0
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address -Db_lundef=false -Dgolden_tests=false > /dev/null || asan_status=1
fi
if [ $asan_status -eq 0 ] && ninja -C build-asan tests/unit/unit_policy_publisher tests/unit/unit_packet_processor tests/unit/unit_flow_admission > build/test-results/asan-build.log 2>&1; then
  for name in policy_publisher packet_processor flow_admission; do
    xml=build/test-results/asan_$name.xml
    if ! ASAN_OPTIONS=detect_leaks=1 build-asan/tests/unit/unit_$name --gtest_output=xml:$xml > build/test-results/asan_$name.log 2>&1; then
      asan_status=1
      tail -n 30 build/test-results/asan_$name.log
      # A sanitizer report ends the process before gtest writes its XML: count it as a failure.
      [ -f "$xml" ] || printf '<testsuites><testsuite name="asan"><testcase name="asan_%s"><failure message="sanitizer report"/></testcase></testsuite></testsuites>\n' "$name" > "$xml"
    fi
    echo "asan / $name: $( [ -f "$xml" ] && grep -c '<testcase' "$xml") cases"
  done
else
  echo "ASan build failed"; tail -n 30 build/test-results/asan-build.log
  printf '<testsuites><testsuite name="asan"><testcase name="asan_build"><failure message="build failed"/></testcase></testsuite></testsuites>\n' > build/test-results/asan_build.xml
  asan_status=1
fi

/usr/bin/python3 scripts/count_test_cases.py build/test-results build/meson-logs/testlog.json
count_status=$?
[ $meson_status -eq 0 ] && [ $count_status -eq 0 ] && [ $asan_status -eq 0 ] && [ $fuzz_status -eq 0 ]
