"""Routed mode end to end (issue #13): sluiced is the client's default gateway and the server's
route back to the client; HTTP allowed and denied by name, ping across it with the TTL
decremented, ICMP time exceeded for an expiring TTL and fragmentation needed over the outside
port's MTU, both from the appliance's own address. Its own namespaces (routed_rig.py)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import daemon
import rig
import routed_rig as rr

HEALTH, METRICS = "127.0.0.1:9618", "127.0.0.1:9617"
BIG_FILE_BYTES = 4 << 20


def run_in(ns, *cmd, timeout=20):
    return subprocess.run(rig.in_ns(ns, *cmd), capture_output=True, text=True, timeout=timeout)


def scrape():
    result = run_in(rr.NS_FW, "curl", "-sS", "--max-time", "5", f"http://{METRICS}/metrics")
    assert result.returncode == 0, result.stderr
    return daemon.Metrics(result.stdout)


def dropped(metrics, reason):
    return metrics.get("sluice_dropped_packets_total", reason=reason)


class Appliance:
    def __init__(self, workdir, workers=1):
        self.dir = workdir
        (workdir / "log").mkdir(parents=True, exist_ok=True)
        (workdir / "policy.textproto").write_text(rr.policy_text())
        self.config = workdir / "appliance.textproto"
        self.config.write_text(rr.appliance_config(workdir, f"{rig.PREFIX}routed-{os.getpid()}", workers))
        self.proc = None

    def start(self):
        self.out = open(self.dir / "sluiced.out", "w")
        self.err = open(self.dir / "sluiced.err", "w")
        self.proc = subprocess.Popen(rig.in_ns(rr.NS_FW, daemon.SLUICED, "--config", self.config),
                                     stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + daemon.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited with {self.proc.returncode}\n{self.describe()}")
            ready = run_in(rr.NS_FW, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", "1", f"http://{HEALTH}/readyz")
            if ready.stdout.strip() == "200":
                return
            time.sleep(0.1)
        raise RuntimeError("sluiced did not become ready\n" + self.describe())

    def describe(self):
        return "\n".join(f"--- {name}\n{(self.dir / name).read_text()[-3000:]}"
                         for name in ("sluiced.out", "sluiced.err") if (self.dir / name).exists())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (getattr(self, "out", None), getattr(self, "err", None)):
            if stream:
                stream.close()


# Every test runs against one worker and against two (routed mode's several workers, steered
# in software: af_packet's fanout puts frames on either queue).
@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def routed(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet)", pytrace=False)
    if not daemon.SLUICED.exists():
        pytest.fail(f"{daemon.SLUICED} is not built (set SLUICE_BUILD_DIR)", pytrace=False)
    lock = rr.Lock()
    lock.acquire()
    workdir = Path(tmp_path_factory.mktemp("routed"))
    appliance = None
    server = None
    try:
        rr.destroy()
        rr.create()
        (workdir / "www").mkdir()
        (workdir / "www" / "index.html").write_text("routed hello\n")
        (workdir / "www" / "big.bin").write_bytes(os.urandom(BIG_FILE_BYTES))
        server = subprocess.Popen(rig.in_ns(rr.NS_SERVER, "/usr/bin/python3", "-m", "http.server", "80",
                                            "--bind", "::", "--directory", workdir / "www"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        appliance = Appliance(workdir, request.param)
        appliance.start()
        yield appliance
    finally:
        if appliance:
            appliance.stop()
        if server and server.poll() is None:
            server.kill()
            server.wait()
        rr.destroy()
        lock.release()


def curl(name, address, timeout=5):
    """GET http://name/ from the client, with `name` resolved to `address`."""
    return run_in(rr.NS_CLIENT, "curl", "-sS", "--max-time", str(timeout), "--resolve",
                  f"{name}:80:{address}", f"http://{name}/", timeout=timeout + 5)


def wait_for_server():
    daemon.wait_for(lambda: run_in(rr.NS_SERVER, "curl", "-s", "--max-time", "1",
                                   f"http://{rr.SERVER4}/").returncode == 0, "the HTTP server", 10)


@pytest.mark.parametrize("address", [rr.SERVER4, rr.SERVER6])
def test_http_to_an_allowed_name_is_routed(routed, address):
    wait_for_server()
    before = scrape()
    result = curl(rr.ALLOWED_NAME, address)
    assert result.returncode == 0 and "routed hello" in result.stdout, result.stderr + routed.describe()
    after = scrape()
    assert after.get("sluice_routed_packets_total") > before.get("sluice_routed_packets_total")


@pytest.mark.parametrize("address", [rr.SERVER4, rr.SERVER6])
def test_http_to_a_denied_name_is_refused(routed, address):
    wait_for_server()
    before = scrape()
    result = curl(rr.DENIED_NAME, address)
    assert result.returncode != 0, result.stdout
    assert "routed hello" not in result.stdout
    after = scrape()
    assert dropped(after, "domain_not_allowed") > dropped(before, "domain_not_allowed")


@pytest.mark.parametrize("address,family", [(rr.SERVER4, "-4"), (rr.SERVER6, "-6")])
def test_ping_crosses_with_the_ttl_decremented(routed, address, family):
    result = run_in(rr.NS_CLIENT, "ping", family, "-c", "1", "-W", "3", address)
    assert result.returncode == 0, result.stdout + result.stderr
    # The server answers with 64; the appliance is one hop on the way back.
    assert re.search(r"(ttl|hlim)=63\b", result.stdout), result.stdout


@pytest.mark.parametrize("address,family,source", [(rr.SERVER4, "-4", rr.INSIDE4),
                                                   (rr.SERVER6, "-6", rr.INSIDE6)])
def test_an_expiring_ttl_is_answered_with_time_exceeded(routed, address, family, source):
    before = scrape()
    result = run_in(rr.NS_CLIENT, "ping", family, "-c", "1", "-W", "3", "-t", "1", address)
    assert result.returncode != 0
    assert f"From {source}" in result.stdout, result.stdout
    assert re.search(r"[Tt]ime to live exceeded|Time exceeded", result.stdout), result.stdout
    after = scrape()
    assert dropped(after, "ttl_expired") > dropped(before, "ttl_expired")
    assert after.get("sluice_icmp_time_exceeded_sent_total") > before.get("sluice_icmp_time_exceeded_sent_total")


@pytest.mark.parametrize("address", [rr.SERVER4, rr.SERVER6])
def test_jumbo_frames_are_received_whole_and_routed(routed, address):
    """The server sends 9000-byte frames to the client (its MSS allows 8960 bytes): they arrive
    on the outside port in one receive buffer each and leave by the inside port (mtu 9000)."""
    wait_for_server()
    before = scrape()
    result = run_in(rr.NS_CLIENT, "curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{size_download}",
                    "--resolve", f"{rr.ALLOWED_NAME}:80:{address}", f"http://{rr.ALLOWED_NAME}/big.bin", timeout=30)
    assert result.returncode == 0 and result.stdout == str(BIG_FILE_BYTES), result.stderr + routed.describe()
    after = scrape()
    packets = (after.get("sluice_port_rx_packets_total", port="outside")
               - before.get("sluice_port_rx_packets_total", port="outside"))
    received = (after.get("sluice_port_rx_bytes_total", port="outside")
                - before.get("sluice_port_rx_bytes_total", port="outside"))
    assert packets > 0 and received / packets > 4000, (packets, received)  # 1514-byte frames: ~1500
    assert dropped(after, "malformed_packet") == dropped(before, "malformed_packet")


@pytest.mark.parametrize("address,family,source,payload", [
    (rr.SERVER4, "-4", rr.INSIDE4, rr.OUTSIDE_MTU - 28 + 1),
    (rr.SERVER6, "-6", rr.INSIDE6, rr.OUTSIDE_MTU - 48 + 1)])
def test_over_the_outside_mtu_is_answered_with_fragmentation_needed(routed, address, family, source, payload):
    run_in(rr.NS_CLIENT, "ip", family, "route", "flush", "cache")
    before = scrape()
    result = run_in(rr.NS_CLIENT, "ping", family, "-c", "1", "-W", "3", "-M", "do", "-s", str(payload), address)
    assert result.returncode != 0, result.stdout
    after = scrape()
    assert dropped(after, "packet_too_big") > dropped(before, "packet_too_big")
    assert after.get("sluice_icmp_too_big_sent_total") > before.get("sluice_icmp_too_big_sent_total")
    # The client's kernel took the appliance's word: the path MTU to the server is now 1400.
    route = run_in(rr.NS_CLIENT, "ip", family, "route", "get", address)
    assert f"mtu {rr.OUTSIDE_MTU}" in route.stdout, route.stdout + result.stdout
    # … and a packet that fits still crosses.
    fits = run_in(rr.NS_CLIENT, "ping", family, "-c", "1", "-W", "3", "-M", "do", "-s", str(payload - 1), address)
    assert fits.returncode == 0, fits.stdout + fits.stderr


@pytest.mark.skipif(not any(Path(d, "traceroute").exists() for d in ("/usr/sbin", "/usr/bin")),
                    reason="needs traceroute")
@pytest.mark.parametrize("address,family,first_hop", [(rr.SERVER4, "-4", rr.INSIDE4),
                                                      (rr.SERVER6, "-6", rr.INSIDE6)])
def test_traceroute_sees_the_appliance_then_the_server(routed, address, family, first_hop):
    # ICMP echo probes (-I): the policy allows ICMP to the server's prefix.
    result = run_in(rr.NS_CLIENT, "traceroute", family, "-I", "-n", "-q", "1", "-w", "2", "-m", "4", address,
                    timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    hops = [line.split()[1] for line in result.stdout.splitlines()[1:] if line.split()[:1] != []]
    assert hops[:2] == [first_hop, address], result.stdout
