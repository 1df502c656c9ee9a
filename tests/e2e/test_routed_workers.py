"""Routed mode with two workers end to end (docs/ARCHITECTURE.md, "Several workers"): the hub
rig (hub_rig.py) with fw1's sluiced on `worker_lcores: [1, 2]` and both af_packet ports opened
with `qpairs=2`. Routed mode always steers in software by its owner rule (routed_owner.h): a
flow belongs to the worker of its inside host, and a SNAT answer to the worker whose slice of
the port range holds its destination port (with two workers and the default range 1024–65535:
worker 0 hands out 1024–33279, worker 1 33280–65535).

The spoke client takes several addresses so that both workers own inside hosts: every
connection through SNAT must pass, the ports the server saw must come from both slices and
each host's from one, the DNS forwarder must answer, ping and traceroute must cross, a denied
Host must be refused and recorded, and a denied Host's bytes must never leave (byte-scored)."""

import signal
import subprocess
import time

import pytest

import daemon
import hub_processes
import hub_rig as hub
import rig
from rig import nsh

# The spoke client's extra addresses (its own is hub.CLIENT4).
HOSTS = [f"198.18.16.{n}" for n in range(20, 36)]
FIRST_SLICE_END = 1024 + (65535 - 1024 + 1) // 2 - 1  # worker 0's last SNAT port


@pytest.fixture(scope="module")
def routed_workers():
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet)", pytrace=False)
    with hub_processes.running_hub("hub-workers", workers=2) as appliances:
        for address in HOSTS:
            nsh(hub.NS_CLIENT, "ip", "addr", "add", address + "/24", "dev", "eth0")
        yield appliances["fw1"]


def client(*cmd, timeout=20):
    return nsh(hub.NS_CLIENT, *cmd, check=False, timeout=timeout)


def dig_from(source, name):
    return client("dig", "+short", "+time=2", "+tries=2", "-b", source, f"@{hub.APPLIANCES['fw1'].inside4}",
                  name, "A").stdout.split()


def curl_from(source, host, path="/", timeout=5, extra=()):
    return client("curl", "-sS", "--max-time", str(timeout), "--interface", source, "-H", f"Host: {host}", *extra,
                  f"http://{hub.SERVER4}:{hub.HTTP_PORT}{path}", timeout=timeout + 5)


def worker_of_port(port):
    return 0 if port <= FIRST_SLICE_END else 1


def test_routed_mode_runs_two_workers_steered_by_inside_host(routed_workers):
    out = routed_workers.out.read_text()
    assert "2 workers; inside port 2 rx/2 tx queues, outside port 2 rx/2 tx queues" in out, out
    assert "steered in software by inside host and SNAT port slice" in out, out


def test_dns_forwarder_answers_every_host(routed_workers):
    for source in HOSTS[:8]:
        assert dig_from(source, hub.ALLOWED_NAME) == [hub.SERVER4], source
    denied = client("dig", "+time=2", "+tries=1", "-b", HOSTS[0], f"@{hub.APPLIANCES['fw1'].inside4}",
                    hub.DENIED_NAME, "A")
    assert "status: NXDOMAIN" in denied.stdout, denied.stdout


def test_connections_through_snat_all_pass_and_both_workers_own_some(routed_workers):
    before = routed_workers.scrape()
    ports_of = {}
    for source in HOSTS:
        assert dig_from(source, hub.ALLOWED_NAME) == [hub.SERVER4], source
        for _ in range(2):
            result = curl_from(source, hub.ALLOWED_NAME)
            assert result.returncode == 0, (source, result.stderr)
            seen_source, seen_port, host = result.stdout.split()
            assert seen_source == hub.APPLIANCES["fw1"].outside4 and host == hub.ALLOWED_NAME, result.stdout
            ports_of.setdefault(source, []).append(int(seen_port))
    assert sum(len(ports) for ports in ports_of.values()) == 2 * len(HOSTS)
    # Each host's connections were translated by one worker (its owner) from that worker's slice.
    owners = {}
    for source, ports in ports_of.items():
        slices = {worker_of_port(port) for port in ports}
        assert len(slices) == 1, (source, ports)
        owners[source] = slices.pop()
    assert set(owners.values()) == {0, 1}, owners
    after = routed_workers.scrape()
    for worker in ("0", "1"):
        created = after.get("sluice_worker_flows_created_total", worker=worker) - \
            before.get("sluice_worker_flows_created_total", worker=worker)
        assert created > 0, (worker, owners)
    # Frames handed between workers (af_packet's fanout puts frames on either queue) are all
    # taken by their owner once the last segments of the connections are through.
    def handoffs():
        metrics = routed_workers.scrape()
        return [sum(metrics.get("sluice_worker_handoff_packets_total", worker=w, direction=d) for w in ("0", "1"))
                for d in ("sent", "received")]

    def balanced():
        sent, received = handoffs()
        return sent == received > 0

    daemon.wait_for(balanced, lambda: f"as many handoffs taken as sent (sent, taken: {handoffs()})", timeout=5)
    # The SNAT metrics add up the workers' tables: every translation of this test is held.
    held = after.get("sluice_snat_translations", state="active") + after.get("sluice_snat_translations", state="quarantined")
    assert held >= 2 * len(HOSTS), held
    assert after.get("sluice_snat_ports_in_use", address=hub.APPLIANCES["fw1"].outside4) >= 1


def test_denied_host_is_reset_and_recorded_on_either_worker(routed_workers):
    before = len(routed_workers.denials())
    for source in HOSTS[:8]:
        result = curl_from(source, hub.DENIED_NAME)
        assert result.returncode != 0, (source, result.stdout)
        assert "reset" in result.stderr.lower(), (source, result.stderr)
    def new_records():
        return [r for r in routed_workers.denials()[before:] if r.get("destination") == hub.DENIED_NAME]

    daemon.wait_for(lambda: {r["src_ip"] for r in new_records()} == set(HOSTS[:8]), "a record for every host", timeout=5)
    records = new_records()
    for record in records:
        assert record["src_ip"] in HOSTS[:8]
        assert record["dst_ip"] == hub.SERVER4
        assert record["translated_src_ip"] == hub.APPLIANCES["fw1"].outside4


def test_ping_and_traceroute_cross_two_workers(routed_workers):
    for source in HOSTS[:6]:
        result = client("ping", "-c", "2", "-W", "2", "-I", source, hub.SERVER4)
        assert result.returncode == 0, (source, result.stdout)
    if not any(subprocess.run(["test", "-x", d + "/traceroute"]).returncode == 0 for d in ("/usr/sbin", "/usr/bin")):
        pytest.skip("needs traceroute")
    nsh(hub.NS_ROUTER, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    for source in HOSTS[:4]:
        result = client("traceroute", "-4", "-I", "-n", "-q", "2", "-w", "2", "-m", "6", "-s", source, hub.SERVER4,
                        timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        hops = []
        for line in result.stdout.splitlines()[1:]:
            fields = [f for f in line.split()[1:] if f.count(".") == 3 and f.replace(".", "").isdigit()]
            hops.append(fields[0] if fields else "*")
        # The hash router, the appliance, the outside router (its error came back to the SNAT
        # address and found the worker that translated the probe), the server.
        assert hops[:4] == [hub.LB_SPOKE4, hub.APPLIANCES["fw1"].inside4, hub.ROUTER4, hub.SERVER4], result.stdout


def test_the_health_probe_is_answered(routed_workers):
    for _ in range(4):  # new source ports each time: af_packet's fanout spreads them over the queues
        assert nsh(hub.NS_PROBE, "nc", "-z", "-w", "2", hub.APPLIANCES["fw1"].inside4, hub.PROBE_PORT,
                   check=False).returncode == 0


MARKER = "sluice-r18-marker"


def test_attack_denied_host_bytes_never_leave_through_either_worker(routed_workers, tmp_path):
    """A marker in every byte a denied request wants out (its Host, path, a header, a body), sent
    from every host (so through both workers): no frame on the appliance's outside link carries
    it. An allowed request with its own marker is the control."""
    capture = tmp_path / "outside.pcap"
    tcpdump = subprocess.Popen(rig.in_ns(hub.NS_ROUTER, "tcpdump", "-i", "f1", "-U", "-n", "-s", "0", "-w", capture),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        time.sleep(1.0)
        for source in HOSTS:
            curl_from(source, f"{MARKER}.{hub.DENIED_NAME}", path=f"/{MARKER}", timeout=3,
                      extra=("-H", f"X-Carry: {MARKER}"))
            curl_from(source, hub.DENIED_NAME, path=f"/{MARKER}", timeout=3,
                      extra=("--data-binary", MARKER * 50, "-H", f"X-Carry: {MARKER}"))
        for source in (HOSTS[0], HOSTS[-1]):
            assert dig_from(source, hub.ALLOWED_NAME) == [hub.SERVER4]
            control = curl_from(source, hub.ALLOWED_NAME, path="/control-r18-marker")
            assert control.returncode == 0, control.stderr
        time.sleep(1.0)
    finally:
        tcpdump.send_signal(signal.SIGINT)
        tcpdump.wait(timeout=10)
    data = capture.read_bytes()
    assert b"control-r18-marker" in data, "the control never reached the outside link: the capture proves nothing"
    assert MARKER.encode() not in data, "a denied request's bytes left the appliance"
