"""End-to-end tests: real clients through the real sluiced on net_af_packet ports.

The rig (namespaces, veths, bridge, nginx, dnsmasq, echo server, sluiced) is built once per
session and removed at the end, also on failure, Ctrl-C or SIGTERM; a rig a killed run left
behind is removed first. SLUICE_BUILD_DIR (default: build/) holds controlplane/daemon/sluiced and
cli/sluicectl. Root only. See README.md.
"""

import atexit
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import daemon  # noqa: E402
import policies  # noqa: E402
import rig  # noqa: E402
import services  # noqa: E402

RECORD_FIELDS = ["event_time", "access_type", "policy", "source_label", "src_ip", "src_port",
                 "dst_ip", "dst_port", "protocol", "destination_type", "destination", "reason",
                 "flow_id", "appliance", "count", "event_id"]
EVENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SETTLE_S = 0.3  # after the records a scenario expects are there: time for any extra to show


def _terminate(signum, frame):
    # meson test (timeout) and CI stop a run with SIGTERM: unwind like Ctrl-C, so the
    # session fixture's teardown removes the rig.
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _terminate)
signal.signal(signal.SIGHUP, _terminate)


@dataclass
class Rig:
    workdir: Path
    services: services.Services
    sluice: daemon.Sluiced

    @property
    def cafile(self):
        return self.services.cafile


_cleanup_needed = []

# How long clients took to learn of a denial (seconds, by tool), printed at the end of the run.
DENIAL_TIMES = {}


def note_denial_time(tool, seconds):
    DENIAL_TIMES.setdefault(tool, []).append(seconds)


def pytest_terminal_summary(terminalreporter):
    if WORKDIR:
        terminalreporter.write_line(f"e2e: logs, configs and records of this run: {WORKDIR[0]}")
    if not DENIAL_TIMES:
        return
    terminalreporter.section("e2e: time from a denied client's start to its failure (wall clock, "
                             "incl. ip netns exec and the client's start-up)")
    for tool, times in sorted(DENIAL_TIMES.items()):
        times = sorted(times)
        terminalreporter.write_line(f"{tool:24} n={len(times):3}  min {times[0]*1000:6.1f} ms  "
                                    f"median {times[len(times)//2]*1000:6.1f} ms  max {times[-1]*1000:6.1f} ms")


@atexit.register
def _last_resort_cleanup():
    # Only if the fixture's own teardown did not run (an exception outside pytest's control).
    if _cleanup_needed:
        rig.destroy()


def pytest_configure(config):
    config.addinivalue_line("markers", "dns_learning: needs DNS learning in sluiced (issue #6)")
    config.addinivalue_line("markers", "icmp_unreachable: needs ICMP unreachable for denied UDP (issue #6)")
    config.addinivalue_line("markers", "soak: the long soak (SLUICE_E2E_SOAK=1)")


# Not pytest's tmp dir: pytest keeps only its last three, and other suites on a shared machine
# run pytest too, so a failed run's logs would vanish within minutes.
WORK_BASE = Path(os.environ.get("SLUICE_E2E_WORKDIR") or "/tmp/sluice-e2e")
KEEP_RUNS = 5
WORKDIR = []


def _new_workdir():
    WORK_BASE.mkdir(parents=True, exist_ok=True)
    runs = sorted(WORK_BASE.glob("run-*"))
    for old in runs[:max(0, len(runs) - (KEEP_RUNS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    workdir = WORK_BASE / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    workdir.mkdir()
    WORKDIR.append(workdir)
    return workdir


@pytest.fixture(scope="session")
def e2e():
    if os.geteuid() != 0:
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet)", pytrace=False)
    lock = rig.RigLock()
    lock.acquire()
    workdir = _new_workdir()  # under the lock: pruning never removes a running rig's dir
    _cleanup_needed.append(True)
    svc = sluice = None
    try:
        rig.destroy()  # whatever a killed run left
        rig.create()
        svc = services.Services(workdir / "server")
        svc.start()
        sluice = daemon.Sluiced(workdir / "sluiced", policies.policy_text())
        sluice.start()
        yield Rig(workdir, svc, sluice)
    finally:
        try:
            if sluice is not None:
                sluice.stop()
        finally:
            if svc is not None:
                svc.stop()
            rig.destroy()
            _cleanup_needed.clear()
            lock.release()


# Name-address binding: a name passes only to an address the appliance saw a DNS answer give
# for it. The clients resolve the names they use through the allowed resolver (dnsmasq), as a
# stub resolver would, before a test marks its logs and counters; again when the answers near
# their end (dnsmasq's TTL of 2 s is raised to dns_learning's default minimum of 30 s, plus 60 s
# of grace) and whenever sluiced was started anew without its state file having them.
RESOLVE_EVERY_S = 45
_resolved = {"at": 0.0, "sluiced": None}


def resolve_web_names(e2e):
    for family in (4, 6):
        for client, names in (("c1", (services.WWW, services.API, services.API_SUB)),
                              ("c3", (services.PUBLIC,))):
            for name in names:
                result = clients.dig(client, rig.resolver(family), name, "AAAA" if family == 6 else "A")
                assert result.ok, result.describe()
    _resolved.update(at=time.monotonic(), sluiced=(id(e2e.sluice), e2e.sluice.starts))


@pytest.fixture
def sluice(e2e):
    """The running sluiced; started again if an earlier test left it stopped."""
    if not e2e.sluice.alive():
        e2e.sluice.start()
    e2e.services.check_alive()
    if (time.monotonic() - _resolved["at"] > RESOLVE_EVERY_S
            or _resolved["sluiced"] != (id(e2e.sluice), e2e.sluice.starts)):
        resolve_web_names(e2e)
    yield e2e.sluice
    assert e2e.sluice.alive(), "sluiced died during the test\n" + e2e.sluice.describe()


@pytest.fixture
def cafile(e2e):
    return e2e.cafile


# --- expectations -----------------------------------------------------------------------------

class Mark:
    """What the logs and counters held before a scenario, to read only what it added."""

    def __init__(self, sluice):
        self.sluice = sluice
        self.denials = len(sluice.denials())
        self.flows = len(sluice.flows())
        self.metrics = sluice.scrape()

    def new_denials(self, expected, *, where=None, timeout=5.0):
        """The records added since the mark (matching `where`), once `expected` are there and
        SETTLE_S passed without more."""
        def read():
            records = self.sluice.denials()[self.denials:]
            return [r for r in records if where is None or where(r)]
        daemon.wait_for(lambda: len(read()) >= expected,
                        lambda: f"{expected} new denial record(s); have {read()}", timeout)
        time.sleep(SETTLE_S)
        return read()

    def new_flows(self, expected, *, where=None, timeout=5.0):
        def read():
            lines = self.sluice.flows()[self.flows:]
            return [f for f in lines if where is None or where(f)]
        daemon.wait_for(lambda: len(read()) >= expected,
                        lambda: f"{expected} new flow-log line(s); have {read()}", timeout)
        return read()

    def deltas(self, after=None):
        after = after or self.sluice.scrape()
        return Deltas(self.metrics, after)


class Deltas:
    def __init__(self, before, after):
        self.before, self.after = before, after

    def __call__(self, name, **labels):
        return self.after.get(name, **labels) - self.before.get(name, **labels)

    def family(self, name):
        keys = set(self.before.family(name)) | set(self.after.family(name))
        out = {}
        for labels in keys:
            d = self.after.samples.get((name, labels), 0.0) - self.before.samples.get((name, labels), 0.0)
            if d:
                out[tuple(sorted(labels))] = d
        return out

    def expect(self, name, expected_by_labels):
        """Every series of `name` that changed, changed by exactly this (the rest by 0).
        `expected_by_labels`: {(("label", "value"), ...): delta}."""
        wanted = {tuple(sorted(k)): v for k, v in expected_by_labels.items() if v}
        assert self.family(name) == wanted, f"{name}: changed {self.family(name)}, expected {wanted}"


def client_ip(client, family):
    c = rig.CLIENTS[client]
    return c.v6 if family == 6 else c.v4


def expected_record(client, family, *, dst_ip, dst_port, protocol, destination_type,
                    destination, reason, access_type=None, policy=None, label=None):
    return {"access_type": access_type or policies.ACCESS_TYPE_OF[client],
            "policy": policy or policies.POLICY_OF[client],
            "source_label": label or policies.LABELS[client],
            "src_ip": client_ip(client, family), "dst_ip": dst_ip, "dst_port": dst_port,
            "protocol": protocol, "destination_type": destination_type,
            "destination": destination, "reason": reason,
            "appliance": policies.APPLIANCE_NAME, "count": 1}


def check_record(record, expected, *, src_port=None):
    """Every field of the record, in the documented order (docs/RECORDS.md)."""
    assert list(record) == RECORD_FIELDS, f"fields/order: {list(record)}"
    assert EVENT_TIME.match(record["event_time"]), record["event_time"]
    assert EVENT_ID.match(record["event_id"]), record["event_id"]
    assert isinstance(record["flow_id"], int) and record["flow_id"] >= 0, record
    assert isinstance(record["src_port"], int) and 0 < record["src_port"] < 65536, record
    if src_port:
        assert record["src_port"] == src_port, (record, src_port)
    got = {k: v for k, v in record.items() if k not in ("event_time", "flow_id", "src_port", "event_id")}
    assert got == expected


def flows_series(policy, verdict):
    return (("policy", policy), ("verdict", verdict))
