#!/usr/bin/env bash
# Captures headless chromium's QUIC Initials for tests/golden/test_real_quic.py: chromium forced
# onto QUIC (HTTP/3) for a few names, sending to a server address in a second network namespace
# that drops everything. No QUIC server is needed: the client's Initials (the first one and
# chromium's retransmissions) are what the test replays.
#
#   sudo bash scripts/capture-quic-clients.sh [OUT.pcap]   # default tests/golden/pcaps/real_quic.pcap
#
# Needs root, iproute2, ethtool, tcpdump, tshark (editcap), chromium and /usr/bin/python3.
# Addresses: 198.18.0.0/15 and 2001:db8::/32 only. Everything it creates (namespaces, veth,
# tcpdump, temp dir) is removed on exit, failure included.
#
# The server namespace holds neither address nor service: the client knows the server's MAC
# from a permanent neighbour entry, and the server side, which forwards nothing, drops every
# datagram silently (no ICMP port unreachable, which would make chromium give up at once).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-tests/golden/pcaps/real_quic.pcap}
MAX_DATAGRAMS_PER_FLOW=${MAX_DATAGRAMS_PER_FLOW:-4}
CHROME_SECONDS=${CHROME_SECONDS:-6}

[[ $(id -u) == 0 ]] || { echo "capture-quic-clients: run as root" >&2; exit 1; }
for tool in ip ethtool tcpdump tshark editcap chromium; do
  command -v "$tool" >/dev/null || { echo "capture-quic-clients: $tool is missing" >&2; exit 1; }
done

TAG=$$
NS_CLI=sluice-qcap-cli-$TAG
NS_SRV=sluice-qcap-srv-$TAG
VETH_CLI=sqcap${TAG}c
VETH_SRV=sqcap${TAG}s
CLI4=198.18.8.10
SRV4=198.19.8.20
CLI6=2001:db8:8::10
SRV6=2001:db8:8::20
# The names chromium asks for (tests/golden/policies/real_quic.textproto judges them):
# IPv4 for the first four, IPv6 for the last two.
NAMES4=(www.quic.example static.other.example cdn.other.example ads.tracker.example)
NAMES6=(quic.example cdn.other.example)

WORK=$(mktemp -d /tmp/sluice-qcapture.XXXXXX)
RIG_NAME=capture-quic-clients
# shellcheck source=scripts/lib/capture_rig.sh
source "$(dirname "$0")/lib/capture_rig.sh"

# --- namespaces and the veth pair -----------------------------------------------------------
capture_rig_up
ip netns exec "$NS_SRV" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
ip -n "$NS_CLI" addr add "$CLI4/15" dev "$VETH_CLI"
ip -n "$NS_CLI" addr add "$CLI6/64" dev "$VETH_CLI" nodad
srv_mac=$(ip -n "$NS_SRV" -br link show "$VETH_SRV" | awk '{print $3}')
ip -n "$NS_CLI" neigh replace "$SRV4" lladdr "$srv_mac" dev "$VETH_CLI" nud permanent
ip -n "$NS_CLI" neigh replace "$SRV6" lladdr "$srv_mac" dev "$VETH_CLI" nud permanent

# --- capture --------------------------------------------------------------------------------
capture_start "$WORK/raw.pcap" udp port 443

# --- chromium, one name at a time -----------------------------------------------------------
chrome() {  # chrome SERVER-ADDRESS NAME
  local address=$1 name=$2 profile
  profile=$(mktemp -d "$WORK/chrome.XXXXXX")
  # Only NAME resolves (no DNS in the namespace): chromium's own services fail before sending.
  # --origin-to-force-quic-on: QUIC at once, no TCP first and no fallback. The page never loads:
  # timeout ends chromium after a few retransmissions.
  in_cli timeout "$CHROME_SECONDS" chromium --headless=new --no-sandbox --disable-gpu \
    --host-resolver-rules="MAP $name $address" --enable-quic --origin-to-force-quic-on="$name:443" \
    --user-data-dir="$profile" --no-first-run --no-default-browser-check \
    --disable-background-networking --disable-component-update --disable-sync \
    --dump-dom "https://$name/" >/dev/null 2>>"$WORK/chrome.err" || true
  sleep 0.3
}
for name in "${NAMES4[@]}"; do chrome "$SRV4" "$name"; done
for name in "${NAMES6[@]}"; do chrome "[$SRV6]" "$name"; done

capture_stop

# --- keep the test flows, the first datagrams of each ---------------------------------------
# A flow is kept when it goes from our client to our server's port 443 and the SNI tshark reads
# in it is one of ours.
tshark -r "$WORK/raw.pcap" -T fields -E separator='|' -E occurrence=f \
  -e frame.number -e udp.stream -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e udp.dstport \
  -e tls.handshake.extensions_server_name >"$WORK/frames.txt"
/usr/bin/python3 - "$WORK/frames.txt" "$MAX_DATAGRAMS_PER_FLOW" "$CLI4" "$CLI6" "$SRV4" "$SRV6" \
  "${NAMES4[*]} ${NAMES6[*]}" >"$WORK/keep.txt" <<'EOF'
import sys
from collections import defaultdict
frames_file, limit, cli4, cli6, srv4, srv6, names = sys.argv[1:]
limit, names = int(limit), set(names.split())
frames, named, endpoints = defaultdict(list), defaultdict(set), {}
for line in open(frames_file):
    number, stream, s4, s6, d4, d6, dport, sni = line.rstrip("\n").split("|")
    if not stream:
        continue
    frames[stream].append(int(number))
    endpoints.setdefault(stream, (s4 or s6, d4 or d6, dport))
    if sni:
        named[stream].add(sni.lower())
kept = []
for stream, numbers in frames.items():
    client, server, port = endpoints[stream]
    if client in (cli4, cli6) and server in (srv4, srv6) and port == "443" and \
            named[stream] and named[stream] <= names:
        kept += numbers[:limit]
    else:
        print(f"dropping udp.stream {stream}: {client} -> {server}:{port} {sorted(named[stream])}",
              file=sys.stderr)
print(" ".join(str(n) for n in sorted(kept)))
EOF
[[ -s $WORK/keep.txt ]] || { echo "capture-quic-clients: no QUIC flow with our names" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
# shellcheck disable=SC2046  # one argument a frame
editcap -F pcap -r "$WORK/raw.pcap" "$OUT" $(cat "$WORK/keep.txt")

echo "capture-quic-clients: wrote $OUT ($(tshark -r "$OUT" 2>/dev/null | wc -l) datagrams)"
echo "datagrams (udp.stream, client port, UDP length, QUIC version, packet types, SNI):"
tshark -r "$OUT" -T fields -E separator=' ' -e udp.stream -e udp.srcport -e udp.length \
  -e quic.version -e quic.long.packet_type -e tls.handshake.extensions_server_name 2>/dev/null
