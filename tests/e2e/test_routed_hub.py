"""Routed mode as a hub's next hop (issue #13), end to end: a spoke client whose default route
leads to the appliances, SNAT to a server whose router knows nothing of the spoke, the DNS
forwarder (a denied name answered from the forwarder's address), the data-path health probe,
and two appliances behind a hash router with one killed. The rig: hub_rig.py; its processes:
hub_processes.py. Routing itself (TTL, path MTU, jumbo frames, IPv6) is test_routed.py's."""

import os
import subprocess
from pathlib import Path

import pytest

import daemon
import hub_processes
import hub_rig as hub
import rig
from rig import nsh


@pytest.fixture(scope="module")
def hub_rig():
    if os.geteuid() != 0:
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet)", pytrace=False)
    with hub_processes.running_hub("hub") as appliances:
        yield appliances


def client(*cmd, timeout=20):
    return nsh(hub.NS_CLIENT, *cmd, check=False, timeout=timeout)


def dig(name, server=None):
    server = server or hub.APPLIANCES["fw1"].inside4
    return client("dig", "+short", "+time=2", "+tries=2", f"@{server}", name, "A").stdout.split()


def curl_host(host, timeout=5):
    return client("curl", "-sS", "--max-time", str(timeout), "-H", f"Host: {host}",
                  f"http://{hub.SERVER4}:{hub.HTTP_PORT}/", timeout=timeout + 5)


def test_dns_forwarder_answers_allowed_names_from_the_policy_resolver(hub_rig):
    assert dig(hub.ALLOWED_NAME) == [hub.SERVER4]
    # A name the spoke's policy does not allow gets no address: the DNS guard's NXDOMAIN, sent
    # from the address the client asked (not the resolver's), so the client takes it at once.
    denied = client("dig", "+time=2", "+tries=1", f"@{hub.APPLIANCES['fw1'].inside4}", hub.DENIED_NAME, "A")
    assert denied.returncode == 0, denied.stdout
    assert "status: NXDOMAIN" in denied.stdout, denied.stdout
    assert dig(hub.DENIED_NAME) == []


def test_http_leaves_with_the_snat_address(hub_rig):
    assert dig(hub.ALLOWED_NAME) == [hub.SERVER4]  # the answer binds the name to the address
    result = curl_host(hub.ALLOWED_NAME)
    assert result.returncode == 0, result.stderr
    seen_source, seen_port, host = result.stdout.split()
    # The server's router has no route to the spoke: the answer came back only because the
    # source was the appliance's outside address.
    assert seen_source == hub.APPLIANCES["fw1"].outside4
    assert host == hub.ALLOWED_NAME
    assert 1024 <= int(seen_port) <= 65535


def test_denied_host_is_reset_and_recorded_with_the_workload_source(hub_rig):
    fw1 = hub_rig["fw1"]
    before = len(fw1.denials())
    result = curl_host(hub.DENIED_NAME)
    assert result.returncode != 0, result.stdout
    records = daemon.wait_for(lambda: fw1.denials()[before:], "a denial record", timeout=5)
    record = records[-1]
    assert record["src_ip"] == hub.CLIENT4
    assert record["dst_ip"] == hub.SERVER4
    assert record["destination"] == hub.DENIED_NAME
    assert record["access_type"] == "DROP"


# ICMP errors from beyond the appliance (issue #13): the outside router's errors come back to the
# SNAT address, are translated back and reach the client because they quote its own packet.
def _hops(traceroute_output):
    """The first address that answered each hop ("*" when none did)."""
    hops = []
    for line in traceroute_output.splitlines()[1:]:
        fields = line.split()
        addresses = [f for f in fields[1:] if f.count(".") == 3 and f.replace(".", "").isdigit()]
        hops.append(addresses[0] if addresses else "*")
    return hops


@pytest.mark.skipif(not any(Path(d, "traceroute").exists() for d in ("/usr/sbin", "/usr/bin")),
                    reason="needs traceroute")
def test_traceroute_shows_the_hops_beyond_the_appliance(hub_rig):
    nsh(hub.NS_ROUTER, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    before = hub_rig["fw1"].scrape()
    # ICMP echo probes (-I): the spoke's policy allows ICMP to the server.
    result = client("traceroute", "-4", "-I", "-n", "-q", "2", "-w", "2", "-m", "6", hub.SERVER4, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    hops = _hops(result.stdout)
    # The hash router, the appliance (its own time exceeded), the outside router (its error came
    # back to the SNAT address), then the server.
    assert hops[:4] == [hub.LB_SPOKE4, hub.APPLIANCES["fw1"].inside4, hub.ROUTER4, hub.SERVER4], result.stdout
    after = hub_rig["fw1"].scrape()
    assert after.get("sluice_icmp_errors_forwarded_total") > before.get("sluice_icmp_errors_forwarded_total")


# Sends BYTES on a connection to the echo port with DF set (Linux's default: path MTU discovery)
# and reads them back; prints the number of bytes that came back.
UPLOADER = r'''
import socket, sys
data = bytes(range(256)) * (int(sys.argv[3]) // 256)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO (python has no names for them)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
received = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    received += chunk
print(len(received) if bytes(received) == data else -1)
'''
NARROW_MTU = 1280


def test_path_mtu_discovery_through_a_narrower_link_beyond_the_appliance(hub_rig, tmp_path):
    """The outside router's link to the server carries at most 1280 bytes, but the server
    advertises an MSS for 1500: the client's full-size segments fit the appliance's outside MTU
    (1500) and die at the router, whose "fragmentation needed" must reach the client for the
    upload to complete (else a TCP black hole)."""
    nsh(hub.NS_ROUTER, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    nsh(hub.NS_ROUTER, "ip", "link", "set", "s0", "mtu", NARROW_MTU)
    nsh(hub.NS_SERVER, "ip", "link", "set", "eth0", "mtu", NARROW_MTU)
    nsh(hub.NS_SERVER, "ip", "route", "replace", "default", "via", hub.ROUTER_SERVER_SIDE4, "advmss", "1460")
    nsh(hub.NS_CLIENT, "ip", "route", "flush", "cache")
    try:
        before = hub_rig["fw1"].scrape()
        script = tmp_path / "uploader.py"
        script.write_text(UPLOADER)
        size = 200 * 1024
        result = client("/usr/bin/python3", script, hub.SERVER4, hub.ECHO_PORT, size, timeout=30)
        assert result.returncode == 0 and result.stdout.strip() == str(size), result.stdout + result.stderr
        after = hub_rig["fw1"].scrape()
        assert after.get("sluice_icmp_errors_forwarded_total") > before.get("sluice_icmp_errors_forwarded_total")
        # The client's kernel took the router's word.
        route = client("ip", "-4", "route", "get", hub.SERVER4)
        assert f"mtu {NARROW_MTU}" in route.stdout, route.stdout
    finally:
        nsh(hub.NS_SERVER, "ip", "route", "replace", "default", "via", hub.ROUTER_SERVER_SIDE4)
        nsh(hub.NS_SERVER, "ip", "link", "set", "eth0", "mtu", hub.OUTSIDE_MTU)
        nsh(hub.NS_ROUTER, "ip", "link", "set", "s0", "mtu", hub.OUTSIDE_MTU)
        nsh(hub.NS_CLIENT, "ip", "route", "flush", "cache")


def test_denied_host_record_carries_the_snat_source_the_flow_left_with(hub_rig):
    # The SYN left translated before the Host was judged: the record names both the workload
    # and the SNAT address and port the server saw, so either side's logs lead to the other.
    fw1 = hub_rig["fw1"]
    before = len(fw1.denials())
    result = curl_host(hub.DENIED_NAME)
    assert result.returncode != 0, result.stdout
    records = daemon.wait_for(lambda: fw1.denials()[before:], "a denial record", timeout=5)
    record = records[-1]
    assert record["src_ip"] == hub.CLIENT4
    assert record["translated_src_ip"] == fw1.appliance.outside4
    assert 1024 <= int(record["translated_src_port"]) <= 65535  # routing.snat's default range


def probe_answered(appliance):
    return nsh(hub.NS_PROBE, "nc", "-z", "-w", "2", appliance.inside4, hub.PROBE_PORT, check=False).returncode == 0


def test_the_health_probe_is_answered_while_ready_and_not_while_drained(hub_rig):
    fw1 = hub_rig["fw1"]
    assert probe_answered(hub.APPLIANCES["fw1"])
    assert fw1.sluicectl("drain").returncode == 0
    try:
        daemon.wait_for(lambda: not probe_answered(hub.APPLIANCES["fw1"]), "the probe to go unanswered", timeout=10)
    finally:
        assert fw1.sluicectl("undrain").returncode == 0
    daemon.wait_for(lambda: probe_answered(hub.APPLIANCES["fw1"]), "the probe to be answered again", timeout=10)


# A client that holds N echo connections open and sends a line on each when told: prints one
# line a round, "port:ok" for each connection.
HOLDER = r'''
import socket, sys
connections = []
for _ in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    connections.append(s)
for line in sys.stdin:
    results = []
    for s in connections:
        try:
            s.sendall(b"ping\n")
            ok = s.recv(16) == b"ping\n"
        except OSError:
            ok = False
        results.append(f"{s.getsockname()[1]}:{int(ok)}")
    print(" ".join(results), flush=True)
'''


def test_two_appliances_share_the_spoke_and_one_killed_leaves_the_others_flows_unharmed(hub_rig, tmp_path):
    fw1, fw2 = hub_rig["fw1"], hub_rig["fw2"]
    fw2.start()
    try:
        hub.route_through("fw1", "fw2")
        script = tmp_path / "holder.py"
        script.write_text(HOLDER)
        holder = subprocess.Popen(rig.in_ns(hub.NS_CLIENT, "/usr/bin/python3", script, hub.SERVER4, hub.ECHO_PORT, 16),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            def round_trip():
                holder.stdin.write("go\n")
                holder.stdin.flush()
                return dict(item.split(":") for item in holder.stdout.readline().split())

            first = round_trip()
            assert len(first) == 16 and all(ok == "1" for ok in first.values()), first
            on_fw1 = {str(f["src_port"]) for f in fw1.flows() if f.get("dst_port") == hub.ECHO_PORT}
            on_fw2 = {str(f["src_port"]) for f in fw2.flows() if f.get("dst_port") == hub.ECHO_PORT}
            mine = set(first)
            assert mine & on_fw1 and mine & on_fw2, f"fw1 {on_fw1 & mine}, fw2 {on_fw2 & mine}"
            assert not (on_fw1 & on_fw2 & mine), "a flow was judged by both appliances"

            fw2.kill9()
            after = round_trip()
            for port in mine & on_fw1:
                assert after[port] == "1", f"connection {port} through fw1 broke when fw2 died: {after}"
        finally:
            holder.stdin.close()
            holder.kill()
            holder.wait()
        # The load balancer takes the dead appliance out; new flows all go through fw1.
        hub.route_through("fw1")
        result = client("nc", "-z", "-w", "2", hub.SERVER4, hub.ECHO_PORT)
        assert result.returncode == 0
    finally:
        fw2.stop()
        hub.route_through("fw1")
