"""/metrics and /healthz of a running sluiced, scraped with curl over HTTP, against the summary
the same run prints when it stops: the counts must be equal, not merely present."""

import re
import signal
import subprocess
import time

import pytest

from conftest import DEMO_ANSWERS, DEMO_PCAP, DEMO_POLICY, SLUICED, SOURCE_DIR, _require
from scrape import free_port, http_get, metric
from scapy.utils import rdpcap



def flows_with_verdict(text, verdict):
    return sum(float(v) for v in re.findall(r'^sluice_flows_total\{[^}]*verdict="' + verdict + r'"\} (\S+)$',
                                             text, re.MULTILINE))


@pytest.fixture(scope="module")
def scraped_run(tmp_path_factory):
    """Runs sluiced on the demo pcap without idle exit, scrapes it once the input is consumed,
    then stops it with SIGTERM and keeps its summary."""
    _require(SLUICED)
    workdir = tmp_path_factory.mktemp("metrics")
    port = free_port()
    address = f"127.0.0.1:{port}"
    demo_packets = len(rdpcap(str(DEMO_PCAP)))
    command = [str(SLUICED), "--policy", str(DEMO_POLICY), "--log-dir", str(workdir / "logs"),
               "--inside", f"net_pcap0,rx_pcap={DEMO_PCAP},tx_pcap={workdir / 'inside-tx.pcap'}",
               "--outside", f"net_pcap1,rx_pcap={DEMO_ANSWERS},tx_pcap={workdir / 'outside-tx.pcap'}",
               "--metrics-address", address, "--exit-on-idle-ms", "0",
               "--health-address", "", "--admin-socket", str(workdir / "admin.sock")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline:
            status, text = http_get(address, "/metrics") if process.poll() is None else (0, "")
            if status == 200 and f'sluice_port_rx_packets_total{{port="inside"}} {demo_packets}' in text:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        else:
            pytest.fail(f"sluiced never reported {demo_packets} inside packets; last scrape:\n{text[:2000]}")
        time.sleep(0.3)  # let the control thread write the last records
        _, metrics = http_get(address, "/metrics")
        health = http_get(address, "/healthz")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return {"metrics": metrics, "health": health, "summary": stdout, "packets": demo_packets}


def summary_figure(summary, pattern):
    match = re.search(pattern, summary)
    assert match, f"{pattern!r} not in the summary:\n{summary}"
    return [int(group) for group in match.groups()]


def test_healthz_answers_while_running(scraped_run):
    status, body = scraped_run["health"]
    assert status == 200
    assert "sluice_up 1" in body


def test_every_metric_is_sluice_prefixed(scraped_run):
    """Ours all carry the sluice_ prefix; prometheus-cpp adds its own scrape statistics
    (exposer_*), documented in docs/METRICS.md."""
    names = {line.split("{")[0].split(" ")[0] for line in scraped_run["metrics"].splitlines()
             if line and not line.startswith("#")}
    ours = {name for name in names if not name.startswith("exposer_")}
    assert len(ours) >= 10, sorted(names)
    assert all(name.startswith("sluice_") for name in ours), sorted(ours)


def test_port_packet_counts_match_the_summary(scraped_run):
    metrics, summary = scraped_run["metrics"], scraped_run["summary"]
    inside_in, inside_out = summary_figure(summary, r"inside:\s+in (\d+), out (\d+)")
    outside_in, outside_out = summary_figure(summary, r"outside: in (\d+), out (\d+)")
    assert inside_in == scraped_run["packets"]
    assert metric(metrics, "sluice_port_rx_packets_total", port="inside") == inside_in
    assert metric(metrics, "sluice_port_tx_packets_total", port="inside") == inside_out
    assert metric(metrics, "sluice_port_rx_packets_total", port="outside") == outside_in
    assert metric(metrics, "sluice_port_tx_packets_total", port="outside") == outside_out


def test_flow_verdict_counts_match_the_summary(scraped_run):
    metrics, summary = scraped_run["metrics"], scraped_run["summary"]
    allowed, denied, dry_run = summary_figure(summary, r"allowed (\d+), denied (\d+), dry-run-denied (\d+)")
    assert min(allowed, denied, dry_run) > 0
    assert flows_with_verdict(metrics, "ALLOW") == allowed
    assert flows_with_verdict(metrics, "DROP") == denied
    assert flows_with_verdict(metrics, "DRY_RUN_DENIAL") == dry_run


def test_records_and_resets_match_the_summary(scraped_run):
    metrics, summary = scraped_run["metrics"], scraped_run["summary"]
    (records,) = summary_figure(summary, r"records\s+(\d+) denial records")
    (resets,) = summary_figure(summary, r"resets\s+(\d+) sent")
    assert metric(metrics, "sluice_denial_records_written_total") == records
    assert metric(metrics, "sluice_tcp_resets_sent_total") == resets
    assert metric(metrics, "sluice_policy_generation") == 1


def test_metrics_catalogue_lists_exactly_the_exported_metrics(scraped_run):
    families = set(re.findall(r"^# TYPE (sluice_\w+) ", scraped_run["metrics"], re.MULTILINE))
    catalogue = (SOURCE_DIR / "docs" / "METRICS.md").read_text()
    # Sections whose heading says "(routed mode)" list metrics only routed mode exports; this run
    # is bridge mode, so none of them may appear.
    sections = re.split(r"^## ", catalogue, flags=re.MULTILINE)
    routed = "".join(section for section in sections if section.split("\n", 1)[0].endswith("(routed mode)"))
    bridge = "".join(section for section in sections if not section.split("\n", 1)[0].endswith("(routed mode)"))
    documented = set(re.findall(r"^\| `(sluice_\w+)`", bridge, re.MULTILINE))
    documented.discard("sluice_up")  # served on /healthz, not /metrics
    assert families == documented
    routed_only = set(re.findall(r"^\| `(sluice_\w+)`", routed, re.MULTILINE))
    assert routed_only and not (routed_only & families)


def test_reasons_catalogue_is_generated_from_the_code():
    result = subprocess.run(["/usr/bin/python3", str(SOURCE_DIR / "scripts" / "gen_reasons_doc.py"), "--check"])
    assert result.returncode == 0, "docs/REASONS.md is stale: run scripts/gen_reasons_doc.py"


def test_driver_statistics_and_flow_gauge_agree_with_the_workers(scraped_run):
    metrics = scraped_run["metrics"]
    # The pcap PMD's own counters saw what the worker received and sent.
    assert metric(metrics, "sluice_ethdev_rx_packets_total", port="inside") == scraped_run["packets"]
    assert metric(metrics, "sluice_ethdev_tx_packets_total", port="outside") == \
        metric(metrics, "sluice_port_tx_packets_total", port="outside")
    assert metric(metrics, "sluice_ethdev_missed_packets_total", port="inside") == 0
    assert metric(metrics, "sluice_flows_active", worker="0") == metric(metrics, "sluice_flows_created_total") == 26
    assert metric(metrics, "sluice_flow_table_capacity", worker="0") == 1048576  # flow_capacity's default
    assert metric(metrics, "sluice_packet_parse_errors_total", error="truncated_ipv4") == 0
    assert 0 <= metric(metrics, "sluice_worker_busy_ratio", worker="0") <= 1


def test_denial_record_latency_lands_in_finite_buckets(scraped_run):
    """The histogram of verdict-to-disk latency after real denials. It once put every record in
    +Inf: the denial log read the TSC rate before the EAL had started (0), so each latency was
    cycles / 0. A finite bucket (le < +Inf) must hold records, as many as were written."""
    metrics = scraped_run["metrics"]
    buckets = {le: float(count) for le, count in re.findall(
        r'^sluice_denial_record_latency_seconds_bucket\{le="([^"]+)"\} (\S+)$', metrics, re.MULTILINE)}
    assert "+Inf" in buckets and len(buckets) > 1, metrics
    count = metric(metrics, "sluice_denial_record_latency_seconds_count")
    assert count > 0
    assert count == metric(metrics, "sluice_denial_records_written_total")
    assert buckets["+Inf"] == count
    finite = {float(le): n for le, n in buckets.items() if le != "+Inf"}
    assert max(finite.values()) > 0, f"every record in +Inf: {buckets}"
    total = metric(metrics, "sluice_denial_record_latency_seconds_sum")
    assert total == total and total != float("inf")  # neither NaN nor infinite


def test_build_info_names_the_version_and_commit_of_sluiced_version(scraped_run):
    from test_version import version_of
    _, version, commit = version_of(SLUICED)
    assert metric(scraped_run["metrics"], "sluice_build_info", version=version, commit=commit) == 1


def test_oldest_pending_flow_age_grows_while_a_flow_waits_for_its_verdict(tmp_path):
    """A TLS flow whose client keeps sending ACKs but never a ClientHello stays pending (the
    inside capture loops, so the flow never goes idle). Its age counts from its first packet;
    the aging sweep reports it, lagging by up to one pass over the table."""
    from pcapgen import frames
    from test_reload import CLIENT, SERVER, Daemon, wait_for
    flow = frames.TcpFlow(CLIENT, 41700, SERVER, 443)
    started = time.monotonic()
    daemon = Daemon(tmp_path / "pending", [flow.syn(), flow.ack()])
    try:
        def age():
            return metric(daemon.scrape(), "sluice_oldest_pending_flow_age_seconds", worker="0")
        wait_for(lambda: age() >= 1.5, "the pending flow's age to pass 1.5 s")
        assert age() <= time.monotonic() - started + 1  # not older than the run (a tick of slack)
        metrics = daemon.scrape()
        assert metric(metrics, "sluice_flows_active", worker="0") == 1
        assert sum(float(v) for v in re.findall(r'^sluice_flows_total\{[^}]*\} (\S+)$', metrics, re.MULTILINE)) == 0
    finally:
        daemon.stop()
