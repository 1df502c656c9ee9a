#!/usr/bin/env bash
# Captures real client traffic for tests/golden/test_real_clients.py: headless chromium, curl
# and python's ssl talking to nginx across a veth pair between two network namespaces.
#
#   sudo bash scripts/capture-real-clients.sh [OUT.pcap]   # default tests/golden/pcaps/real_clients.pcap
#
# Needs root, iproute2, ethtool, nginx (nginx-light), openssl, tcpdump, tshark (editcap), curl,
# chromium and /usr/bin/python3. Addresses: 198.18.0.0/15 and 2001:db8::/32 only. Everything it
# creates (namespaces, veth, nginx, tcpdump, temp dir) is removed on exit, failure included.
#
# The client veth keeps MTU 1500 and has segmentation and checksum offloads off, so the capture
# holds wire-sized segments with real checksums: chromium's post-quantum ClientHello (~1.8-2.1 KB)
# spans two TCP segments, as it does on a real network.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-tests/golden/pcaps/real_clients.pcap}
MAX_PACKETS_PER_FLOW=${MAX_PACKETS_PER_FLOW:-30}

[[ $(id -u) == 0 ]] || { echo "capture-real-clients: run as root" >&2; exit 1; }
for tool in ip ethtool nginx openssl tcpdump tshark editcap curl chromium; do
  command -v "$tool" >/dev/null || { echo "capture-real-clients: $tool is missing" >&2; exit 1; }
done

TAG=$$
NS_CLI=sluice-cap-cli-$TAG
NS_SRV=sluice-cap-srv-$TAG
VETH_CLI=scap${TAG}c
VETH_SRV=scap${TAG}s
CLI4=198.18.7.10
SRV4=198.19.7.20
CLI6=2001:db8:7::10
SRV6=2001:db8:7::20
# Names the server's certificate holds; the clients use them (tests/golden/policies/real_clients.textproto).
NAMES=(www.real.example api.real.example real.example cdn.other.example static.other.example
       ads.tracker.example)

WORK=$(mktemp -d /tmp/sluice-capture.XXXXXX)
RIG_NAME=capture-real-clients
# shellcheck source=scripts/lib/capture_rig.sh
source "$(dirname "$0")/lib/capture_rig.sh"

# --- namespaces and the veth pair -----------------------------------------------------------
capture_rig_up
ip -n "$NS_CLI" addr add "$CLI4/15" dev "$VETH_CLI"
ip -n "$NS_CLI" addr add "$CLI6/64" dev "$VETH_CLI" nodad
ip -n "$NS_SRV" addr add "$SRV4/15" dev "$VETH_SRV"
ip -n "$NS_SRV" addr add "$SRV6/64" dev "$VETH_SRV" nodad

# --- certificate and nginx ------------------------------------------------------------------
san=$(printf 'DNS:%s,' "${NAMES[@]}"); san=${san%,}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
  -subj "/CN=${NAMES[0]}" -addext "subjectAltName=$san" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  default_type text/html;
  server {
    listen $SRV4:80;
    listen [$SRV6]:80;
    listen $SRV4:443 ssl;
    listen [$SRV6]:443 ssl;
    server_name _;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    location = /favicon.ico { return 204; }
    location / { return 200 "<html><body>\$host \$request_uri</body></html>\n"; }
  }
}
EOF
# `ip netns exec` execs its command, so $! is nginx's own pid, as the cleanup needs.
ip netns exec "$NS_SRV" nginx -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log" &
RIG_EXTRA_PID=$!
ready=0
for _ in $(seq 50); do
  if in_cli curl -s -o /dev/null --max-time 1 "http://$SRV4/" &&
     in_cli curl -s -o /dev/null --max-time 1 "http://[$SRV6]/"; then ready=1; break; fi
  sleep 0.1
done
(( ready )) || { echo "capture-real-clients: nginx does not answer on v4 and v6" >&2; cat "$WORK/nginx/error.log" >&2; exit 1; }

# --- capture --------------------------------------------------------------------------------
capture_start "$WORK/raw.pcap" tcp

# --- clients --------------------------------------------------------------------------------
# Every client runs once per flow, one at a time, so the flows follow each other in the capture.
chrome() {  # chrome SERVER-ADDRESS URL [CHROMIUM-FLAG...]
  local address=$1 url=$2 profile
  shift 2
  profile=$(mktemp -d "$WORK/chrome.XXXXXX")
  # MAP * sends every name to the server; --disable-background-networking and friends keep
  # chromium's own services quiet, and what still comes (update.googleapis.com,
  # accounts.google.com, ...) is filtered out below.
  in_cli timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
    --host-resolver-rules="MAP * $address" --ignore-certificate-errors \
    --user-data-dir="$profile" --no-first-run --no-default-browser-check \
    --disable-background-networking --disable-component-update --disable-sync \
    "$@" --dump-dom "$url" >"$WORK/chrome.out" 2>>"$WORK/chrome.err" || {
      echo "capture-real-clients: chromium $url failed:" >&2; tail -n 20 "$WORK/chrome.err" >&2; return 1; }
  grep -q "<body>" "$WORK/chrome.out" || { echo "capture-real-clients: chromium $url: no page" >&2; return 1; }
  sleep 0.3
}
# http:// stays http:// (no HTTPS-Upgrades / HTTPS-First attempt on 443 first).
NO_UPGRADE=--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable
# Chromium (156) sends a GREASE Encrypted Client Hello extension (0xfe0d) in every ClientHello;
# --disable-features=EncryptedClientHello no longer exists, only the managed policy
# EncryptedClientHelloEnabled=false (/etc/chromium/policies/managed) turns it off, and this
# script changes nothing outside its own namespaces and temp dir. So the capture has chromium
# as shipped.
chrome "$SRV4" https://www.real.example/ "$NO_UPGRADE"
chrome "$SRV4" https://cdn.other.example/index.html "$NO_UPGRADE"
chrome "$SRV4" http://api.real.example/chromium-http "$NO_UPGRADE"
chrome "$SRV4" http://ads.tracker.example/chromium-http "$NO_UPGRADE"
chrome "[$SRV6]" https://static.other.example/v6 "$NO_UPGRADE"
chrome "[$SRV6]" http://real.example/v6 "$NO_UPGRADE"

CURL=(curl -sS --fail -o /dev/null --max-time 10 -k)
to4=(--connect-to "::$SRV4:")
to6=(--connect-to "::[$SRV6]:")
in_cli "${CURL[@]}" "${to4[@]}" https://api.real.example/curl
in_cli "${CURL[@]}" "${to4[@]}" --http1.1 https://ads.tracker.example/curl-http1.1
in_cli "${CURL[@]}" "${to4[@]}" http://www.real.example/curl
in_cli "${CURL[@]}" "${to4[@]}" --http1.1 -H "Host: STATIC.Other.EXAMPLE" http://static.other.example/upper-case-host
in_cli "${CURL[@]}" "${to4[@]}" --request-target http://cdn.other.example/absolute-form http://cdn.other.example/
in_cli "${CURL[@]}" --proxy "http://$SRV4:80" http://api.real.example/proxy-style
in_cli "${CURL[@]}" "${to4[@]}" http://api.real.example./trailing-dot
in_cli "${CURL[@]}" "${to6[@]}" https://www.real.example/curl-v6
in_cli "${CURL[@]}" "${to6[@]}" --http1.1 -H "Host: Cdn.Other.Example" http://cdn.other.example/curl-v6

pyssl() {  # pyssl SERVER-ADDRESS SNI
  in_cli /usr/bin/python3 - "$1" "$2" <<'EOF'
import socket, ssl, sys
address, name = sys.argv[1], sys.argv[2]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with socket.create_connection((address, 443), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(f"GET /python-ssl HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        while tls.recv(4096):
            pass
EOF
}
pyssl "$SRV4" WWW.Real.Example
pyssl "$SRV4" cdn.other.example
pyssl "$SRV6" api.real.example

capture_stop

# --- keep the test flows, the first packets of each -----------------------------------------
# A flow is kept when its client is ours, its server is ours on 80 or 443, and every name tshark
# reads in it (SNI, Host, an absolute-form target's host) is one of NAMES, or it has none.
tshark -r "$WORK/raw.pcap" -T fields -E separator='|' \
  -e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
  -e tls.handshake.extensions_server_name -e http.host -e http.request.uri >"$WORK/frames.txt"
/usr/bin/python3 - "$WORK/frames.txt" "$MAX_PACKETS_PER_FLOW" "$CLI4" "$CLI6" "$SRV4" "$SRV6" \
  "${NAMES[*]}" >"$WORK/keep.txt" <<'EOF'
import sys
from collections import defaultdict
from urllib.parse import urlsplit
frames_file, limit, cli4, cli6, srv4, srv6, names = sys.argv[1:]
limit, names = int(limit), set(names.split())
clients, servers = {cli4, cli6}, {srv4, srv6}
frames, named, endpoints = defaultdict(list), defaultdict(set), {}
for line in open(frames_file):
    number, stream, s4, s6, sport, d4, d6, dport, sni, host, uri = line.rstrip("\n").split("|")
    if not stream:
        continue
    frames[stream].append(int(number))
    endpoints.setdefault(stream, (s4 or s6, d4 or d6, dport))
    for name in (sni, host, urlsplit(uri).hostname if "://" in uri else ""):
        if name:
            named[stream].add(name.split(",")[0].lower().rstrip(".").split(":")[0])
kept = []
for stream, numbers in frames.items():
    client, server, port = endpoints[stream]
    # Named flows must name one of ours; unnamed ones (chromium's spare connections that never
    # carried a request) stay: they show what a flow without payload becomes.
    ours = named[stream] <= names if named[stream] else True
    if client in clients and server in servers and port in ("80", "443") and ours:
        kept += numbers[:limit]
    else:
        print(f"dropping tcp.stream {stream}: {client} -> {server}:{port} {sorted(named[stream])}",
              file=sys.stderr)
ranges, kept = [], sorted(kept)  # editcap takes ranges: one short command line
for number in kept:
    if ranges and ranges[-1][1] == number - 1:
        ranges[-1][1] = number
    else:
        ranges.append([number, number])
print(" ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges))
EOF
mkdir -p "$(dirname "$OUT")"
# -r: keep the listed frames; pcap (not pcapng), as tcpdump wrote it.
# shellcheck disable=SC2046  # one argument a range
editcap -F pcap -r "$WORK/raw.pcap" "$OUT" $(cat "$WORK/keep.txt")

echo "capture-real-clients: wrote $OUT ($(tshark -r "$OUT" 2>/dev/null | wc -l) packets)"
echo "ClientHellos (stream, client, port, SNI, record bytes, TCP segments):"
tshark -r "$OUT" -Y "tls.handshake.type == 1" -T fields -E separator=' ' \
  -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e tls.handshake.extensions_server_name \
  -e tls.record.length -e tcp.segment.count 2>/dev/null
two_segment=$(tshark -r "$OUT" -Y "tls.handshake.type == 1 && tcp.segment.count >= 2" 2>/dev/null | wc -l)
echo "two-segment ClientHellos: $two_segment"
(( two_segment > 0 )) || { echo "capture-real-clients: no ClientHello spans two segments" >&2; exit 1; }
