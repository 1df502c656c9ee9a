# shellcheck shell=bash
# Shared by scripts/capture-real-clients.sh and scripts/capture-quic-clients.sh: a client and a
# server network namespace joined by one veth pair, a tcpdump on the client end, and a cleanup
# that removes all of it (on success, failure and interrupt alike).
#
# The sourcing script sets, before calling capture_rig_up:
#   RIG_NAME   its own name, for messages
#   NS_CLI NS_SRV VETH_CLI VETH_SRV   namespace and veth names (unique to the run)
#   WORK       its temp dir (removed by the cleanup)
# and may set RIG_EXTRA_PID (a server process, stopped with SIGQUIT before the namespaces go).

TCPDUMP_PID=
RIG_EXTRA_PID=

capture_rig_cleanup() {
  local rc=$?
  set +e
  if [[ -n $TCPDUMP_PID ]] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null
  fi
  if [[ -n $RIG_EXTRA_PID ]] && kill -0 "$RIG_EXTRA_PID" 2>/dev/null; then
    kill -QUIT "$RIG_EXTRA_PID"; wait "$RIG_EXTRA_PID" 2>/dev/null
  fi
  # Chromium helpers left behind, if any (only processes of our namespaces).
  for ns in "$NS_CLI" "$NS_SRV"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  ip netns del "$NS_CLI" 2>/dev/null   # takes the veth pair with it
  ip netns del "$NS_SRV" 2>/dev/null
  ip link del "$VETH_CLI" 2>/dev/null
  rm -rf "$WORK"
  if (( rc != 0 )); then echo "$RIG_NAME: failed (exit $rc); everything removed" >&2; fi
  exit "$rc"
}

in_cli() { ip netns exec "$NS_CLI" "$@"; }

# Both namespaces and the veth pair, up, MTU 1500, without offloads: the capture holds
# wire-sized frames with their checksums filled in (no TSO/GSO/GRO, no checksum offload).
capture_rig_up() {
  trap capture_rig_cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$NS_CLI"
  ip netns add "$NS_SRV"
  ip link add "$VETH_CLI" type veth peer name "$VETH_SRV"
  ip link set "$VETH_CLI" netns "$NS_CLI"
  ip link set "$VETH_SRV" netns "$NS_SRV"
  local dev_ns dev ns
  for dev_ns in "$VETH_CLI:$NS_CLI" "$VETH_SRV:$NS_SRV"; do
    dev=${dev_ns%%:*} ns=${dev_ns#*:}
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$dev" mtu 1500
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null
    ip -n "$ns" link set "$dev" up
  done
}

# capture_start FILE FILTER...: tcpdump on the client's veth end, returning once it listens.
capture_start() {
  local file=$1
  shift
  # `ip netns exec` execs its command, so $! is tcpdump's own pid, as the cleanup needs.
  ip netns exec "$NS_CLI" tcpdump -i "$VETH_CLI" -s 0 -U -n -Z root -w "$file" "$@" \
    2>"$WORK/tcpdump.err" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
  sleep 0.5
}

# capture_stop: lets the last frames land, then ends tcpdump.
capture_stop() {
  sleep 1
  kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
}
