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
build/controlplane/sluiced
echo "--- the first denial records ---"
head -n 3 sluice-demo-out/denials.jsonl
