#!/usr/bin/env bash
# The benchmark command: builds Sluice, runs every profile against its same-run baselines (the
# stateful baseline, one 5-tuple lookup a packet: the floor of the job; the pass-through: the
# harness's own cost), runs the nDPI peer over the same packets, profiles the hot path, and
# writes JSON, Markdown and PNG plots (among them cycles a packet against flow-table size and
# new connections a second against allow-list size).
#
#   bench/run.sh            full run (~10 min on a quiet machine, an estimate: established traffic
#                           at 10k/100k/1M/4M flows, allow-lists of 100 to 1M names, each with
#                           both baselines, the 1M-name compile ~2 min of it): bench/results/,
#                           and the figures in docs/PERFORMANCE.md
#   bench/run.sh --quick    seconds, into build/bench-quick/ (no profile, docs untouched)
#   bench/run.sh --section quic
#                           only the new-QUIC-connection profiles and the new-TLS ones they are
#                           compared with (65,536 TLS connections a run, SLUICE_BENCH_CONNECTIONS
#                           changes it), into bench/results-quic/; refreshes only the QUIC block
#                           of docs/PERFORMANCE.md
#   bench/run.sh --section routed
#                           only routed and routed+SNAT profiles and the bridge-mode ones on the
#                           same traffic, into bench/results-routed/; refreshes only the routed
#                           table of docs/PERFORMANCE.md
#   bench/run.sh --section compile
#                           only the policy compiles (2,500 to 1M names, 100k under one suffix)
#                           and the start / restart / ten-name reload of the 100k and 1M lists,
#                           into bench/results-compile/; refreshes only the compile block
#   bench/run.sh --section workers
#                           1 and 2 workers on the same established traffic (1M flows, preloaded
#                           rx rings: no feeder shares the two vCPUs), the scaling ratio and an
#                           estimate for 4/8/16 workers, into bench/results-workers/; refreshes only
#                           the workers block of docs/PERFORMANCE.md (--quick: 100k flows, no doc)
#
# The harness's own tests (packets in = packets out) run with the others: meson test --suite bench.
#
# Options: --out DIR (results), --no-perf, --no-doc, --wait-quiet SECONDS (wait for the 1-minute
# load average to drop below 0.5 first, default 600; benchmarks on a busy machine say little).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 perf=1 doc=1 wait_quiet=600 out="" section=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-perf) perf=0 ;;
    --no-doc) doc=0 ;;
    --out) out="$2"; shift ;;
    --wait-quiet) wait_quiet="$2"; shift ;;
    --section) section="$2"; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--section quic|routed|compile|workers] [--out DIR] [--no-perf] [--no-doc] [--wait-quiet SECONDS]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  out=${out:-build/bench-quick} perf=0 doc=0 wait_quiet=0
  bench_args=(--quick)
  [ "$section" = workers ] && bench_args+=(--only workers)
elif [ "$section" = quic ]; then
  out=${out:-bench/results-quic} perf=0
  # Fewer connections than the full run (runs of ~0.1 s on a quiet machine), five repetitions.
  bench_args=(--only new_quic_,new_tls_typical_100_domains,new_tls_typical_100000_domains --reps 5
              --connections "${SLUICE_BENCH_CONNECTIONS:-65536}")
elif [ "$section" = routed ]; then
  out=${out:-bench/results-routed} perf=0
  # Routed and routed+SNAT profiles with the bridge-mode profiles on the same traffic.
  bench_args=(--only routed_,established_1000000_flows,new_tls_typical_100000_domains --reps 5)
elif [ "$section" = compile ]; then
  out=${out:-bench/results-compile} perf=0
  # No packet profile: compiles, then start / restart / reload of the typical and largest lists.
  bench_args=(--only compile,restart --reps 1)
elif [ "$section" = workers ]; then
  out=${out:-bench/results-workers} perf=0
  # Only the several-worker runs (bench/worker_scaling.h), five repetitions.
  bench_args=(--only workers --reps 5)
elif [ -n "$section" ]; then
  echo "bench: unknown section $section (known: quic, routed, compile, workers)" >&2; exit 2
else
  out=${out:-bench/results}
  bench_args=()
fi
scratch=build/bench-scratch  # pcap, names, perf data: not results

# Debian packages the benchmarks need beyond the build's: plots, the nDPI peer, perf.
scripts/bootstrap.sh
missing=()
for package in python3-matplotlib libndpi-bin linux-perf; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi
# SLUICE_BUILD_DIR: another meson build directory than ./build (configured already).
build=${SLUICE_BUILD_DIR:-build}
if [ "$build" = build ] && [ -z "$section" ]; then scripts/build.sh >/dev/null; else ninja -C "$build" bench/sluice_bench >/dev/null; fi
mkdir -p "$out" "$scratch"

# Two busy-polling lcores measure nothing useful while a compiler shares the machine.
waited=0
while [ "$waited" -lt "$wait_quiet" ] && awk '{exit !($1 >= 0.5)}' /proc/loadavg; do
  [ "$waited" = 0 ] && echo "bench: waiting for the machine to go quiet (load $(cut -d' ' -f1 /proc/loadavg))"
  sleep 10
  waited=$((waited + 10))
done
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
cut -d' ' -f1-3 /proc/loadavg > "$out/load.txt"  # the report names it: a busy machine's figures say less
# Which code was measured (git reads; the refresh only updates the index's stat cache).
if revision=$(git rev-parse --short HEAD 2>/dev/null); then
  # Results this script writes (load.txt above) are not source changes.
  git update-index -q --refresh >/dev/null 2>&1 || true
  git diff-index --quiet HEAD -- dataplane controlplane cli bench ':!bench/results' ':!bench/results-quic' ':!bench/results-compile' ':!bench/results-workers' 2>/dev/null ||
    revision="$revision + uncommitted changes"
  echo "$revision ($(date -u +%Y-%m-%dT%H:%MZ))" > "$out/source.txt"
fi

"$build/bench/sluice_bench" "${bench_args[@]}" --out "$out/results.json" --scratch "$scratch"
[ -z "$section" ] && /usr/bin/python3 bench/ndpi_peer.py --scratch "$scratch" --out "$out/ndpi.json"

# The hot path of the goal profiles: cpu-clock samples of the worker thread only.
if [ "$perf" = 1 ] && command -v perf >/dev/null; then
  rm -f "$out"/perf-*.txt
  for profile in established_1000000_flows new_tls_typical_100000_domains; do
    echo "bench: profiling $profile"
    perf record -q -e cpu-clock -o "$scratch/perf.data" -- \
      "$build/bench/sluice_bench" --only "$profile" --reps 2 --sluice-only --out "$scratch/perf-$profile.json" \
      --scratch "$scratch" >/dev/null 2>&1
    # Every thread's samples; report.py keeps the worker's (rte-worker-1).
    perf report -i "$scratch/perf.data" --no-children --sort comm,dso,sym --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+% +rte-worker-1 ' | head -n 300 > "$out/perf-$profile.txt" || true
  done
fi

doc_args=()
[ "$doc" = 1 ] && doc_args=(--doc docs/PERFORMANCE.md)
[ -n "$section" ] && doc_args+=(--section "$section")
/usr/bin/python3 bench/report.py --dir "$out" "${doc_args[@]}"
echo "bench: results in $out (results.json, results.md, *.png)"
