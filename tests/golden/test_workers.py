"""Several workers (docs/ARCHITECTURE.md, "Several workers"): the same input through sluiced with
one worker and with two (lcores 1 and 2, mapped onto this machine's CPUs) gives the same verdicts,
records and frames, flow for flow. The pcap ports have one queue each, so two workers steer in
software: the worker polling the queue hands each frame to the worker owning its flow (a
symmetric hash of the addresses) and sends for the others through the port's transmit ring."""

import json
import re
from collections import defaultdict

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from conftest import GOLDEN_POLICY, bindings_for, run_sluiced
from pcapgen import frames
from scenarios import BOUND_SERVERS, INSIDE_CASES

WORKER_SHIFT = 40  # flow ids: the worker's index above bit 40 (flow_lifecycle.cc)
VOLATILE = {"flow_id", "event_id", "event_time"}  # differ between runs by construction


def stable(record):
    return json.dumps({k: v for k, v in record.items() if k not in VOLATILE}, sort_keys=True)


def by_flow(raw_frames):
    """Frames grouped by flow, in the order each flow's frames left."""
    grouped = defaultdict(list)
    for raw in raw_frames:
        pkt = Ether(raw)
        try:
            key = frames.flow_key(pkt)
        except Exception:  # noqa: BLE001 - a frame without a flow (ARP) groups under None
            key = None
        if key is None and IP in pkt:  # a later IPv4 fragment (no ports): by its datagram
            key = ("fragment", pkt[IP].src, pkt[IP].dst, pkt[IP].id)
        grouped[key].append(raw)
    return dict(grouped)


def run_both(tmp_path_factory, name, packets, learned=()):
    runs = {}
    for workers in ([1], [1, 2]):
        run = run_sluiced(tmp_path_factory.mktemp(f"{name}-{len(workers)}w"), GOLDEN_POLICY, packets,
                          learned=learned, worker_lcores=workers)
        assert run.returncode == 0, run.describe()
        runs[len(workers)] = run
    return runs


@pytest.fixture(scope="module")
def golden_runs(tmp_path_factory):
    packets = [p for case in INSIDE_CASES for p in case.packets]
    return run_both(tmp_path_factory, "golden", packets, bindings_for(GOLDEN_POLICY, BOUND_SERVERS))


def many_flow_packets():
    """250 clients (198.18.1.1-250: the restricted policy, the bastion's /28 FULL access), each
    a TCP flow to the metastore (allowed network) in three packets, a UDP flow to a network no
    rule allows, and a UDP datagram to the metastore in two IPv4 fragments."""
    packets = []
    for host in range(1, 251):
        client = f"198.18.1.{host}"
        tcp = frames.TcpFlow(client, 40000 + host, "198.19.0.5", 5432)
        packets += [tcp.syn(), tcp.ack(), tcp.data(b"metastore query")]
        packets.append(frames.udp_packet(client, 50000 + host, f"198.19.{host % 7 + 100}.9", 9999, b"denied"))
        packets += frames.ipv4_fragments(client, 51000 + host, "198.19.0.5", 5432, b"F" * 64, 32,
                                         fragment_id=0x4000 + host)
    return packets


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory):
    return run_both(tmp_path_factory, "many", many_flow_packets())


def assert_same(runs):
    one, two = runs[1], runs[2]
    assert "2 workers" in two.stdout and "steered in software" in two.stdout, two.stdout
    assert sorted(stable(f) for f in two.flows) == sorted(stable(f) for f in one.flows)
    assert sorted(stable(d) for d in two.denials) == sorted(stable(d) for d in one.denials)
    # Flow for flow, the same frames in the same order (flows interleave differently).
    assert by_flow(two.outside_tx) == by_flow(one.outside_tx)
    assert by_flow(two.inside_tx) == by_flow(one.inside_tx)


def test_golden_scenarios_judged_alike_by_one_and_two_workers(golden_runs):
    assert_same(golden_runs)
    assert len(golden_runs[2].flows) == len(golden_runs[1].flows) > 0


def test_many_flows_judged_alike_by_one_and_two_workers(many_runs):
    assert_same(many_runs)
    # Every fragment followed its flow: nothing dropped for a missing first fragment.
    assert "fragment_without_first" not in many_runs[2].stdout, many_runs[2].stdout


def test_both_workers_own_flows_and_no_flow_is_judged_twice(many_runs):
    two = many_runs[2]
    tuples = [(f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"], f["protocol"]) for f in two.flows]
    assert len(tuples) == len(set(tuples)) == 750, "a flow judged by two workers has two lines"
    owners = defaultdict(int)
    for flow in two.flows:
        owners[flow["flow_id"] >> WORKER_SHIFT] += 1
    assert set(owners) == {0, 1}, owners
    assert min(owners.values()) > 750 // 4, owners  # a hash spreads 250 address pairs roughly evenly
    # The flows of one address pair (a client and the metastore: TCP and fragmented UDP) share a worker.
    pair_owner = {}
    for flow in two.flows:
        pair = frozenset((flow["src_ip"], flow["dst_ip"]))
        assert pair_owner.setdefault(pair, flow["flow_id"] >> WORKER_SHIFT) == flow["flow_id"] >> WORKER_SHIFT
    # The summary shows each worker's share; the handoffs are counted.
    rows = [line for line in two.stdout.splitlines() if line.strip().startswith("worker ")]
    assert len(rows) == 2, two.stdout
    handed = [tuple(map(int, re.search(r"handed over (\d+), taken over (\d+)", row).groups())) for row in rows]
    assert sum(h for h, _ in handed) == sum(t for _, t in handed) > 0, rows
    owns = [int(re.search(r"owns (\d+) flows", row).group(1)) for row in rows]
    assert owns == [owners[0], owners[1]], rows


def test_reloads_under_traffic_on_two_workers(tmp_path):
    """RCU with two readers: 20 reloads while both workers judge looping traffic (16 clients, an
    allowed network flow each, the inside capture replayed forever); every reload is published,
    no flow is refused or re-judged to a denial, and nothing is dropped: the worker polling the
    capture reads no faster than the worker it hands to takes (backpressure, worker_loop.cc)."""
    from scrape import free_port, http_get, metric, wait_for
    from conftest import SLUICECTL, SLUICED, _require
    import shutil
    import signal
    import subprocess
    _require(SLUICED)
    packets = []
    for host in range(1, 17):
        flow = frames.TcpFlow(f"198.18.1.{host * 10}", 41700 + host, "198.19.0.5", 5432)
        packets += [flow.syn(), flow.ack()] + [flow.data(b"q" * 64) for _ in range(4)]
    inside_rx = tmp_path / "inside_rx.pcap"
    frames.write_pcap(inside_rx, packets)
    policy = tmp_path / "policy.textproto"
    shutil.copy(GOLDEN_POLICY, policy)
    health, metrics = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = tmp_path / "appliance.textproto"
    config.write_text(
        f'ports {{ device: "net_pcap0,rx_pcap={inside_rx},infinite_rx=1" role: INSIDE }}\n'
        'ports { device: "net_null0,no-rx=1" role: OUTSIDE }\n'
        'worker_lcores: [1, 2]\nflow_capacity: 65536\nmbuf_count: 8191\n'
        f'policy_path: "{policy}"\nlog_dir: "{tmp_path / "log"}"\nadmin_socket: "{tmp_path / "admin.sock"}"\n'
        f'metrics_address: "{metrics}"\nhealth_address: "{health}"\nwatch_policy_file: false\n'
        'eal_args: ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry"]\n')
    process = subprocess.Popen([str(SLUICED), "--config", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: process.poll() is not None or http_get(health, "/readyz")[0] == 200, "/readyz")
        assert process.poll() is None, process.communicate()
        for _ in range(20):
            result = subprocess.run([str(SLUICECTL), "reload", "--socket", str(tmp_path / "admin.sock")],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
        scraped = http_get(metrics, "/metrics")[1]
        assert metric(scraped, "sluice_policy_generation") == 21
        for worker in ("0", "1"):
            assert metric(scraped, "sluice_worker_flows_created_total", worker=worker) > 0, worker
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "flows     allowed 16, denied 0" in stdout, stdout
    inside_in = int(re.search(r"inside:\s+in (\d+),", stdout).group(1))
    outside_out = int(re.search(r"outside: in \d+, out (\d+)", stdout).group(1))
    dropped = re.search(r"dropped   (.*)", stdout).group(1)
    assert dropped == "none", stdout
    handed = sum(int(h) for h in re.findall(r"handed over (\d+),", stdout))
    assert inside_in > 10_000 and handed > 0, stdout  # the reloads happened under load, on both workers
    assert outside_out == inside_in, stdout  # every frame a worker judged was forwarded
