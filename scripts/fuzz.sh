#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ and runs each for a bounded time on a copy of its
# regression corpus (tests/fuzz/corpus/<target>/). A crash, a sanitizer report or a broken
# invariant fails the target.
#
#   scripts/fuzz.sh [RESULTS_DIR]     # JUnit XML per target there (default build/test-results)
#   SLUICE_FUZZ_SECONDS=300 scripts/fuzz.sh   # longer runs (default 25 s a target)
#   SLUICE_FUZZ_TARGETS="dns_message_parser" scripts/fuzz.sh   # only some targets
#
# The parsers are pure (no DPDK), so each target is compiled straight from its sources with
# clang; nothing here needs the meson build. Binaries go to build-fuzz/, crash inputs to
# build-fuzz/artifacts/<target>/ (see tests/fuzz/README.md to add one to the corpus).
set -uo pipefail
cd "$(dirname "$0")/.."

results_dir=${1:-build/test-results}
seconds=${SLUICE_FUZZ_SECONDS:-25}
targets=(${SLUICE_FUZZ_TARGETS:-packet_parser tls_client_hello_parser http_request_parser dns_message_parser dns_query_parser hostname quic_initial http_stream_follower tls_record_follower fragment_reassembler azure_service_tags aws_ip_ranges icmp_router_error health_probe_reply neighbour_messages snat domain_matcher icmp_error_quote flow_owner routed_owner denial_record_json})
build_dir=build-fuzz
cxx=${SLUICE_FUZZ_CXX:-clang++}
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.)

# The parser sources each target links.
declare -A sources=(
  [packet_parser]="dataplane/parse/packet_parser.cc dataplane/parse/link_local_icmpv6.cc dataplane/parse/tcp_checksum.cc dataplane/parse/tcp_options.cc"
  [tls_client_hello_parser]="dataplane/parse/tls_client_hello_parser.cc"
  [http_request_parser]="dataplane/parse/http_request_parser.cc dataplane/policy/storage_host.cc"
  [dns_message_parser]="dataplane/parse/dns_message_parser.cc dataplane/domain/hostname.cc"
  [dns_query_parser]="dataplane/parse/dns_query_parser.cc dataplane/domain/hostname.cc"
  [hostname]="dataplane/domain/hostname.cc"
  [domain_matcher]="dataplane/domain/domain_matcher.cc dataplane/domain/literal_name_matcher.cc dataplane/domain/name_suffix_table.cc dataplane/domain/hyperscan_cache.cc dataplane/domain/hostname.cc"
  [fragment_reassembler]="dataplane/flow/fragment_reassembler.cc"
  [neighbour_messages]="dataplane/parse/packet_parser.cc dataplane/parse/link_local_icmpv6.cc dataplane/parse/tcp_checksum.cc dataplane/route/arp.cc dataplane/route/neighbour_discovery.cc dataplane/route/neighbour_responder.cc dataplane/route/routing_tables.cc"
  [quic_initial]="dataplane/quic/quic_status.cc dataplane/quic/quic_packet_header.cc dataplane/quic/quic_hmac_sha256.cc dataplane/quic/quic_initial_decryptor.cc dataplane/quic/quic_crypto_stream.cc dataplane/quic/quic_initial_frames.cc dataplane/quic/quic_initial_reader.cc dataplane/parse/tls_client_hello_parser.cc"
  [http_stream_follower]="dataplane/flow/http_stream_follower.cc dataplane/parse/http_request_parser.cc"
  [tls_record_follower]="dataplane/flow/tls_record_follower.cc"
  [azure_service_tags]="controlplane/policy/service_tag_file.cc controlplane/policy/cidr.cc dataplane/parse/ip_address.cc"
  [snat]="dataplane/nat/snat_table.cc dataplane/nat/snat_destinations.cc dataplane/nat/snat_translator.cc dataplane/parse/icmp_error_quote.cc dataplane/parse/packet_parser.cc dataplane/parse/tcp_checksum.cc dataplane/parse/link_local_icmpv6.cc dataplane/parse/tcp_options.cc dataplane/parse/ip_address.cc"
  [aws_ip_ranges]="controlplane/policy/service_tag_file.cc controlplane/policy/cidr.cc dataplane/parse/ip_address.cc"
  [icmp_router_error]="dataplane/verdict/icmp_router_error.cc"
  [icmp_error_quote]="dataplane/parse/icmp_error_quote.cc"
  [flow_owner]="dataplane/flow/flow_owner.cc"
  [routed_owner]="dataplane/route/routed_owner.cc dataplane/route/routing_tables.cc"
  [denial_record_json]="controlplane/records/denial_record_format.cc controlplane/records/json_appender.cc"
  [health_probe_reply]="dataplane/parse/packet_parser.cc dataplane/parse/tcp_checksum.cc dataplane/verdict/tcp_reply_segment.cc dataplane/verdict/tcp_syn_ack.cc dataplane/local/kernel_service_filter.cc"
)
# Libraries a target links beyond the C++ runtime (Debian's OpenSSL for the QUIC Initial keys).
declare -A libraries=(
  [quic_initial]="-lcrypto"
  [domain_matcher]="-lhs"
)

mkdir -p "$build_dir/logs" "$results_dir"

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<< "$1"; }

# One JUnit file a target, so scripts/count_test_cases.py counts each target as one case.
write_result() {  # target, failure message ("" when it passed)
  local file="$results_dir/fuzz_$1.xml"
  if [ -z "$2" ]; then
    printf '<testsuites><testsuite name="fuzz" tests="1" failures="0"><testcase name="fuzz_%s"/></testsuite></testsuites>\n' "$1" > "$file"
  else
    printf '<testsuites><testsuite name="fuzz" tests="1" failures="1"><testcase name="fuzz_%s"><failure message="%s"/></testcase></testsuite></testsuites>\n' \
      "$1" "$(xml_escape "$2")" > "$file"
  fi
}

# Rebuilt only when a source it may include changed since the last build.
needs_build() {  # binary
  [ -x "$1" ] || return 0
  [ -n "$(find dataplane/parse dataplane/nat dataplane/route dataplane/domain dataplane/quic dataplane/flow dataplane/verdict dataplane/local controlplane/policy controlplane/records dataplane/policy/storage_host.cc tests/fuzz tests/unit/quic_initial_builder.h -newer "$1" \( -name '*.cc' -o -name '*.h' \) -print -quit)" ]
}

build() {  # target
  local binary="$build_dir/fuzz_$1"
  needs_build "$binary" || return 0
  "$cxx" "${flags[@]}" "tests/fuzz/fuzz_$1.cc" ${sources[$1]} ${libraries[$1]:-} -o "$binary.tmp" > "$build_dir/logs/build_$1.log" 2>&1 &&
    mv "$binary.tmp" "$binary"
}

# Builds two at a time: the machine is small and shared.
declare -A build_failed=()
pending=()
for target in "${targets[@]}"; do
  if [ -z "${sources[$target]:-}" ]; then echo "unknown fuzz target: $target"; exit 2; fi
  build "$target" &
  pending+=("$!:$target")
  if [ ${#pending[@]} -eq 2 ]; then
    for entry in "${pending[@]}"; do wait "${entry%%:*}" || build_failed[${entry#*:}]=1; done
    pending=()
  fi
done
for entry in "${pending[@]}"; do wait "${entry%%:*}" || build_failed[${entry#*:}]=1; done

# Runs one target; leaves its summary in $build_dir/logs/summary_<target> and its JUnit file.
run() {  # target
  local target=$1 summary="$build_dir/logs/summary_$1"
  if [ -n "${build_failed[$target]:-}" ]; then
    { echo "fuzz_$target: build FAILED"; tail -n 20 "$build_dir/logs/build_$target.log"; } > "$summary"
    write_result "$target" "build failed"
    return 1
  fi
  # A copy of the regression corpus: what a run discovers stays out of the checkout.
  local work
  work=$(mktemp -d)
  mkdir -p "$work/corpus" "$work/artifacts"
  [ -d "tests/fuzz/corpus/$target" ] && cp -r "tests/fuzz/corpus/$target/." "$work/corpus/"
  local options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                 -artifact_prefix="$work/artifacts/")
  [ -f "tests/fuzz/$target.dict" ] && options+=(-dict="tests/fuzz/$target.dict")
  local log="$build_dir/logs/run_$target.log"
  # libFuzzer stops itself after max_total_time; the outer timeout only catches a hang around it.
  UBSAN_OPTIONS=print_stacktrace=1 timeout $((seconds + 120)) "$build_dir/fuzz_$target" "${options[@]}" \
    "$work/corpus" > "$log" 2>&1
  local status=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  if [ $status -eq 0 ]; then
    echo "fuzz_$target: ${execs:-?} execs in ${seconds}s, ok" > "$summary"
    write_result "$target" ""
  else
    local reason
    reason=$(grep -m1 -E 'invariant broken|runtime error|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer|UndefinedBehaviorSanitizer)' "$log" ||
             echo "exit status $status")
    mkdir -p "$build_dir/artifacts/$target"
    cp "$work"/artifacts/* "$build_dir/artifacts/$target/" 2>/dev/null
    {
      echo "fuzz_$target: ${execs:-?} execs, FAILED: $reason"
      echo "  log: $log; inputs: $build_dir/artifacts/$target/"
      grep -E -A 8 'invariant broken|runtime error|ERROR: ' "$log" | head -n 12 | sed 's/^/  /'
    } > "$summary"
    write_result "$target" "$reason"
  fi
  rm -rf "$work"
  return $status
}

# Two targets at a time, so that the whole run stays within a few minutes.
rm -f "$build_dir"/logs/summary_*
failures=0
pending=()
for target in "${targets[@]}"; do
  run "$target" &
  pending+=("$!")
  if [ ${#pending[@]} -eq 2 ]; then
    for pid in "${pending[@]}"; do wait "$pid" || failures=$((failures + 1)); done
    pending=()
  fi
done
for pid in "${pending[@]}"; do wait "$pid" || failures=$((failures + 1)); done
for target in "${targets[@]}"; do cat "$build_dir/logs/summary_$target"; done

[ $failures -eq 0 ]
