#!/usr/bin/env bash
# README command 1: set up, build, and run sluiced on its embedded default — two pcap-backed
# ports (the inside port reads configs/demo/demo.pcap), the demo policy, --no-huge, no NIC —
# until the input is consumed; it then prints its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh >/dev/null
echo "--- sluiced (embedded default) ---"
rm -rf sluice-demo-out
build/controlplane/daemon/sluiced
log=sluice-demo-out/denials.jsonl
echo "--- denial log: $(grep -c '"access_type":"DROP"' "$log") DROP and $(grep -c '"access_type":"DRY_RUN_DENIAL"' "$log") DRY_RUN_DENIAL records; one of each ---"
grep -m 1 '"access_type":"DROP"' "$log"
grep -m 1 '"access_type":"DRY_RUN_DENIAL"' "$log"
