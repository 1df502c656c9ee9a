"""Policy reload through the real daemon: SIGHUP, a change of the policy file (inotify) and
`sluicectl reload`, while traffic flows. The inside port loops a capture forever (net_pcap
infinite_rx), the outside port discards what it is sent (net_null), so the flows stay open
across the reload the way long-lived connections do."""

import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import GOLDEN_POLICY, SLUICECTL, SLUICED, _require, read_jsonl
from conftest import bindings_for, write_learned_state
from checks import pop_event_id
from scrape import free_port, http_get, metric, wait_for
from pcapgen import frames
from pcapgen.tls import client_hello

CLIENT, SERVER = "198.18.1.10", "198.19.10.1"
DB = "198.19.0.5"  # in the golden policy's allowed network, TCP 5432


class Daemon:
    """sluiced looping `packets` on its inside port, with its policy in a writable copy."""

    def __init__(self, workdir, packets):
        _require(SLUICED)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True)
        self.policy = self.workdir / "policy.textproto"
        shutil.copy(GOLDEN_POLICY, self.policy)
        self.inside_rx = self.workdir / "inside_rx.pcap"
        frames.write_pcap(self.inside_rx, packets)
        self.inside_tx = self.workdir / "inside_tx.pcap"
        self.log_dir = self.workdir / "log"
        self.socket = self.workdir / "admin.sock"
        self.metrics = f"127.0.0.1:{free_port()}"
        self.health = f"127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [str(SLUICED), "--policy", str(self.policy),
             "--inside", f"net_pcap0,rx_pcap={self.inside_rx},tx_pcap={self.inside_tx},infinite_rx=1",
             "--outside", "net_null0,no-rx=1", "--log-dir", str(self.log_dir),
             "--metrics-address", self.metrics, "--health-address", self.health,
             "--admin-socket", str(self.socket), "--exit-on-idle-ms", "0",
             # the client resolved its server first (name-address binding, docs/POLICY.md)
             "--learned-state", str(write_learned_state(self.workdir / "learned.state",
                                                        bindings_for(GOLDEN_POLICY, [SERVER])))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout = self.stderr = ""
        wait_for(lambda: self.process.poll() is not None or http_get(self.health, "/readyz")[0] == 200,
                 "/readyz")
        assert self.process.poll() is None, self.process.communicate()

    def scrape(self):
        status, text = http_get(self.metrics, "/metrics")
        assert status == 200
        return text

    def generation(self):
        return metric(self.scrape(), "sluice_policy_generation")

    def edit_policy(self, old, new):
        text = self.policy.read_text()
        assert old in text
        # Written beside and renamed into place, as configuration management does.
        staged = self.workdir / "policy.textproto.new"
        staged.write_text(text.replace(old, new))
        staged.rename(self.policy)

    def records(self):
        return read_jsonl(self.log_dir / "denials.jsonl") or []

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.stdout, self.stderr = self.process.communicate(timeout=30)
        return self.process.returncode


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def start(packets):
        daemon = Daemon(tmp_path / f"d{len(started)}", packets)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


def tls_flow_packets(sni, sport=41500):
    flow = frames.TcpFlow(CLIENT, sport, SERVER, 443)
    # After the hello, a TLS application-data record (the connection is followed record by record).
    return [flow.syn(), flow.ack(), flow.data(client_hello(sni)), flow.data(b"\x17\x03\x03\x00\xc3" + b"x" * 195)]


def test_sighup_revoking_a_domain_resets_its_open_flow(daemon_factory):
    packets = tls_flow_packets("pypi.org")
    daemon = daemon_factory(packets)
    wait_for(lambda: metric(daemon.scrape(), "sluice_port_tx_packets_total", port="outside") > 1000,
             "the allowed flow to carry traffic")
    assert daemon.records() == []

    daemon.edit_policy('allowed_domains: "pypi.org"                 # exact\n', "")
    # The file watcher may reload too; SIGHUP must work on its own either way.
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.generation() >= 2, "generation 2")
    records = wait_for(daemon.records, "a denial record")
    assert daemon.stop() == 0, daemon.stderr

    assert len(records) == 1  # one record for the flow, however many packets it kept sending
    record = records[0]
    record.pop("event_time")
    record.pop("appliance")
    pop_event_id(record)
    assert record == {"access_type": "DROP", "policy": "restricted", "source_label": "spark-prod",
                      "src_ip": CLIENT, "src_port": 41500, "dst_ip": SERVER, "dst_port": 443,
                      "protocol": "TCP", "destination_type": "SNI", "destination": "pypi.org",
                      "reason": "domain_not_allowed", "flow_id": 1, "count": 1}
    resets = frames.read_pcap_frames(daemon.inside_tx)
    # The packet the new generation judged is reset; the looping capture then repeats the flow's
    # SYN, a retransmission of a denied flow, which is reset again (within the reply rate).
    assert resets and resets[0] in {bytes(frames.expected_reset(p)) for p in packets}
    assert set(resets[1:]) <= {bytes(frames.expected_reset(p)) for p in packets if p["TCP"].flags == "S"}
    assert "reload (SIGHUP): generation" in daemon.stderr or "reload (policy file changed)" in daemon.stderr


def test_sluicectl_reload_of_a_broken_policy_changes_nothing(daemon_factory):
    daemon = daemon_factory(tls_flow_packets("pypi.org"))
    before = daemon.scrape()
    daemon.edit_policy('policy: "restricted"', 'policy: "no-such-policy"')
    result = subprocess.run([str(SLUICECTL), "reload", "--socket", str(daemon.socket)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert re.search(r"policy\.textproto:\d+: attachments\[\d+\]\.policy: unknown policy \"no-such-policy\"",
                     result.stderr), result.stderr
    after = daemon.scrape()
    assert metric(after, "sluice_policy_generation") == 1
    assert metric(after, "sluice_policy_reload_failures_total") >= 1
    # Service as it was: the allowed flow still flows, nothing was dropped or recorded.
    sent_before = metric(before, "sluice_port_tx_packets_total", port="outside")
    wait_for(lambda: metric(daemon.scrape(), "sluice_port_tx_packets_total", port="outside") > sent_before + 1000,
             "traffic to keep flowing")
    assert daemon.records() == []
    assert daemon.stop() == 0
    assert "refused; generation 1 keeps running" in daemon.stderr


def test_a_changed_policy_file_is_reloaded_without_a_signal(daemon_factory):
    daemon = daemon_factory(tls_flow_packets("pypi.org"))
    daemon.edit_policy('name: "golden"', 'name: "golden-v2"')
    wait_for(lambda: daemon.generation() == 2, "the file watcher to reload")
    scrape = daemon.scrape()
    assert metric(scrape, "sluice_policy_reloads_total") == 1
    assert metric(scrape, "sluice_hyperscan_cache_total", result="hit") >= 1
    assert daemon.stop() == 0
    assert "reload (policy file changed): generation 2" in daemon.stderr
    # Only the set's name changed: every domain database came from the on-disk cache.
    assert re.search(r"generation 2 \(.*, (\d+) of \1 Hyperscan databases from the cache\)", daemon.stderr), daemon.stderr


def test_readyz_and_healthz_answer_on_the_health_address(daemon_factory):
    daemon = daemon_factory(tls_flow_packets("pypi.org"))
    assert http_get(daemon.health, "/readyz") == (200, "ready\n")
    assert http_get(daemon.health, "/healthz") == (200, "alive\n")
    assert http_get(daemon.health, "/nothing")[0] == 404
    assert metric(daemon.scrape(), "sluice_ready") == 1


def test_drain_makes_readyz_answer_503_while_traffic_flows(daemon_factory):
    """`sluicectl drain` (docs/OPERATIONS.md: before a restart): /readyz says draining, the
    traffic keeps passing, and undrain ends it."""
    daemon = daemon_factory(tls_flow_packets("pypi.org"))
    ctl = lambda command: subprocess.run([str(SLUICECTL), command, "--socket", str(daemon.socket)],
                                         capture_output=True, text=True, timeout=30)
    drained = ctl("drain")
    assert drained.returncode == 0, drained.stderr
    assert drained.stdout.startswith("draining: /readyz answers 503")
    assert http_get(daemon.health, "/readyz") == (503, "draining\n")
    assert http_get(daemon.health, "/healthz") == (200, "alive\n")
    scrape = daemon.scrape()
    assert metric(scrape, "sluice_draining") == 1 and metric(scrape, "sluice_ready") == 1
    before = metric(scrape, "sluice_port_tx_packets_total", port="outside")
    wait_for(lambda: metric(daemon.scrape(), "sluice_port_tx_packets_total", port="outside") > before + 100,
             "traffic to keep flowing while draining")
    undrained = ctl("undrain")
    assert undrained.returncode == 0, undrained.stderr
    assert http_get(daemon.health, "/readyz") == (200, "ready\n")
    assert metric(daemon.scrape(), "sluice_draining") == 0
    assert daemon.stop() == 0, daemon.stderr
    gone = ctl("drain")
    assert gone.returncode == 2 and "sluicectl drain:" in gone.stderr


def test_fifty_reloads_during_traffic_lose_no_packet(daemon_factory):
    flow = frames.TcpFlow(CLIENT, 41600, DB, 5432)  # allowed by network: every packet passes
    daemon = daemon_factory([flow.syn(), flow.ack()] + [flow.data(b"q" * 64) for _ in range(30)])
    for _ in range(50):
        result = subprocess.run([str(SLUICECTL), "reload", "--socket", str(daemon.socket)],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
    final = daemon.scrape()
    assert metric(final, "sluice_policy_generation") == 51
    assert daemon.stop() == 0
    inside_in = int(re.search(r"inside:\s+in (\d+),", daemon.stdout).group(1))
    outside_out = int(re.search(r"outside: in \d+, out (\d+)", daemon.stdout).group(1))
    assert inside_in > 100_000, daemon.stdout  # the reloads happened under load
    assert outside_out == inside_in  # every packet received was forwarded
    assert "dropped   none" in daemon.stdout
