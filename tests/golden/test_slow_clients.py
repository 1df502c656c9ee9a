"""Slow, silent and idle clients of a running sluiced delay nobody else.

Measured before: a client sending its admin request a byte every 0.9 s held the control loop
30 s (the loop served one client at a time with a blocking wait); eight silent admin clients
made `stats` take 7.9 s; one idle TCP connection to the metrics port blocked /metrics for 12 s
(one server thread). The daemon loops a small capture (net_pcap infinite_rx) so that it is busy
the way a live one is. The latency bounds are liveness bounds: a client that waits behind
another waits a whole second or more, one that does not waits a few milliseconds.
"""

import threading
import time

import pytest

from probes import admin_request, http_request, idle_tcp, silent_admin
from scrape import metric
from test_reload import Daemon, tls_flow_packets

# A few ms typically; the bound allows a scheduling delay on a loaded 2-core machine. A client
# that waits behind another waits a second or more.
ANSWER_BOUND_S = 0.25


@pytest.fixture
def daemon(tmp_path):
    started = Daemon(tmp_path / "d", tls_flow_packets("pypi.org"))
    yield started
    started.stop()


def max_latency(probe, count=10, gap_s=0.05):
    worst = 0.0
    for _ in range(count):
        seconds = probe()
        worst = max(worst, seconds)
        time.sleep(gap_s)
    return worst


def stats_seconds(daemon):
    seconds, answer = admin_request(daemon.socket, "stats", timeout=30)
    assert answer.startswith("ok\n"), answer
    return seconds


def test_an_admin_client_sending_a_byte_every_900_ms_delays_no_other(daemon):
    trickled = []

    def trickle():  # "stats\n", one byte every 0.9 s: 5.4 s for the line
        with silent_admin(daemon.socket) as sock:
            for byte in b"stats\n":
                time.sleep(0.9)
                try:
                    sock.sendall(bytes([byte]))
                except OSError:  # closed at its request deadline
                    trickled.append("dropped")
                    break
            try:
                trickled.append(sock.recv(100))
            except OSError:
                pass

    slow = threading.Thread(target=trickle)
    slow.start()
    try:
        time.sleep(0.3)
        assert max_latency(lambda: stats_seconds(daemon), count=20) < ANSWER_BOUND_S
    finally:
        slow.join()  # it fails to send its second byte: dropped at its deadline
    # The trickling client itself was given up on after its request deadline, not served late.
    assert trickled[:1] == ["dropped"], trickled


def test_eight_silent_admin_clients_delay_no_other(daemon):
    silent = [silent_admin(daemon.socket) for _ in range(8)]
    try:
        time.sleep(0.1)
        assert max_latency(lambda: stats_seconds(daemon)) < ANSWER_BOUND_S
        # Each silent client is answered and closed at its deadline, not held forever.
        for sock in silent:
            sock.settimeout(5)
            assert sock.recv(100).startswith(b"error\nno request line")
    finally:
        for sock in silent:
            sock.close()


def test_many_admin_clients_are_refused_not_queued(daemon):
    silent = [silent_admin(daemon.socket) for _ in range(20)]
    try:
        time.sleep(0.2)
        seconds, answer = admin_request(daemon.socket, "stats")
        assert answer.startswith("error\nbusy:"), answer
        assert seconds < ANSWER_BOUND_S
    finally:
        for sock in silent:
            sock.close()
    time.sleep(1.2)  # the silent ones reach their deadline and are dropped
    assert stats_seconds(daemon) < ANSWER_BOUND_S


def test_an_idle_tcp_connection_to_the_metrics_port_delays_no_scrape(daemon):
    idle = [idle_tcp(daemon.metrics) for _ in range(2)]
    try:
        time.sleep(0.1)

        def scrape_seconds():
            seconds, status, body = http_request(daemon.metrics, "/metrics")
            assert status == 200 and metric(body, "sluice_ready") == 1
            return seconds

        assert max_latency(scrape_seconds) < ANSWER_BOUND_S
    finally:
        for sock in idle:
            sock.close()


def test_idle_tcp_connections_to_the_health_port_delay_no_probe(daemon):
    idle = [idle_tcp(daemon.health) for _ in range(8)]
    try:
        time.sleep(0.1)

        def probe_seconds():
            seconds, status, body = http_request(daemon.health, "/readyz")
            assert (status, body) == (200, "ready\n")
            return seconds

        assert max_latency(probe_seconds) < ANSWER_BOUND_S
    finally:
        for sock in idle:
            sock.close()
