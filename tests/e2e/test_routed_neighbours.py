"""Routed mode's neighbour resolution end to end (issue #13): the routed rig (routed_rig.py)
without a single fixed MAC. The hosts find the appliance's inside and outside addresses by ARP and
neighbour solicitation (answered by the worker), and the appliance finds the client and the
server (its default route's next hop) the same way (the control thread's neighbour manager),
so curl crosses over IPv4 and IPv6 with no static neighbour configured."""

import os
import re
import subprocess
from pathlib import Path

import pytest

import daemon
import rig
import routed_rig as rr
from test_routed import Appliance, curl, run_in, scrape, wait_for_server


def without_static_neighbours(config_text):
    return "\n".join(line for line in config_text.splitlines() if "static_neighbours" not in line) + "\n"


class ResolvingAppliance(Appliance):
    def __init__(self, workdir, workers=1):
        super().__init__(workdir, workers)
        self.config.write_text(without_static_neighbours(self.config.read_text()))


def forget_fixed_macs():
    """routed_rig gives each host a permanent entry for its gateway: remove them, so the hosts
    must ask."""
    for ns, addresses in ((rr.NS_CLIENT, (rr.INSIDE4, rr.INSIDE6)), (rr.NS_SERVER, (rr.OUTSIDE4, rr.OUTSIDE6))):
        for address in addresses:
            rig.sh(*rig.in_ns(ns, "ip", "neigh", "del", address, "dev", "eth0"), check=False)


# With one worker and with two (ARP and ND go to worker 0, every worker reports the next hops it
# misses on its own ring).
@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def resolving(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet)", pytrace=False)
    if not daemon.SLUICED.exists():
        pytest.fail(f"{daemon.SLUICED} is not built (set SLUICE_BUILD_DIR)", pytrace=False)
    lock = rr.Lock()
    lock.acquire()
    workdir = Path(tmp_path_factory.mktemp("routed-neighbours"))
    appliance = None
    server = None
    try:
        rr.destroy()
        rr.create()
        forget_fixed_macs()
        (workdir / "www").mkdir()
        (workdir / "www" / "index.html").write_text("routed hello\n")
        server = subprocess.Popen(rig.in_ns(rr.NS_SERVER, "/usr/bin/python3", "-m", "http.server", "80",
                                            "--bind", "::", "--directory", workdir / "www"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        appliance = ResolvingAppliance(workdir, request.param)
        assert "static_neighbours" not in appliance.config.read_text()
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


def neighbour_entry(ns, address):
    return run_in(ns, "ip", "neigh", "show", address, "dev", "eth0").stdout.strip()


@pytest.mark.parametrize("address", [rr.SERVER4, rr.SERVER6])
def test_curl_crosses_with_every_mac_resolved(resolving, address):
    wait_for_server()
    # The first packets may wait for resolution on either side (and be dropped
    # neighbour_unresolved while the appliance asks); curl's own retries carry the connection.
    result = curl(rr.ALLOWED_NAME, address, timeout=15)
    assert result.returncode == 0 and "routed hello" in result.stdout, result.stderr + resolving.describe()
    metrics = scrape()
    assert metrics.get("sluice_neighbour_resolutions_total", result="resolved") >= 1
    assert metrics.get("sluice_neighbour_requests_sent_total") >= 1
    # The client learned the appliance's inside MAC from the worker's answer, not from a fixed entry.
    gateway = rr.INSIDE6 if ":" in address else rr.INSIDE4
    entry = neighbour_entry(rr.NS_CLIENT, gateway)
    assert rr.MAC["inside"] in entry and "PERMANENT" not in entry, entry


def test_announcements_were_sent_at_start(resolving):
    metrics = scrape()
    assert metrics.get("sluice_neighbour_announcements_sent_total") == 4  # 2 addresses × 2 ports


def test_the_server_resolved_the_outside_address_by_asking(resolving):
    wait_for_server()
    curl(rr.ALLOWED_NAME, rr.SERVER4, timeout=15)
    entry = neighbour_entry(rr.NS_SERVER, rr.OUTSIDE4)
    assert rr.MAC["outside"] in entry and "PERMANENT" not in entry, entry
    assert re.search(r"REACHABLE|STALE|DELAY|PROBE", entry), entry
