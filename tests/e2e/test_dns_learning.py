"""DNS learning (issue #6): an address is reachable on a domain rule's ports only while a DNS
answer from an allowed resolver vouches for it (TTL, clamped, plus grace).

This module runs its own sluiced: the appliance config gets
`dns_learning { min_ttl_seconds: 1 max_ttl_seconds: 3600 grace_seconds: 0 }` and the ENFORCE
policy gets `allowed_domains: "db.e2e.example:5432"`. dnsmasq answers db.e2e.example with the
echo server's addresses and a TTL of services.DNS_TTL (2 s). The main sluiced is stopped for the
module (two appliances on one pair of veths would both forward) and started again after it.
"""

import time

import pytest

import clients
import daemon
import policies
import rig
import services
from conftest import Mark, check_record, client_ip, expected_record, flows_series

pytestmark = pytest.mark.dns_learning

FAMILIES = [4, 6]
GAUGE, EXPIRED = "sluice_dns_learned_addresses", "sluice_dns_learned_expired_total"
POLICY = policies.ENFORCE_POLICY
FAST_S = 1.0
OTHER_PORT = 6543  # not in the rule's ports


class Learning:
    def __init__(self, sluice=None, error=None):
        self.sluice, self.error = sluice, error

    def require(self):
        if self.error:
            pytest.fail(f"sluiced with dns_learning did not start: {self.error}", pytrace=False)
        return self.sluice


@pytest.fixture(scope="module")
def learning(e2e):
    e2e.sluice.stop()
    learner = daemon.Sluiced(e2e.workdir / "sluiced-learning", policies.learning_policy_text(),
                             extra_config=policies.DNS_LEARNING_BLOCK, tag="learn")
    try:
        try:
            learner.start()
            state = Learning(learner)
        except RuntimeError as error:
            state = Learning(error=str(error))
        yield state
    finally:
        learner.stop()
        e2e.sluice.start()


def nothing_learned(sluice):
    """Each test starts from an empty table: what an earlier one learned has expired."""
    daemon.wait_for(lambda: sluice.scrape().get(GAUGE, policy=POLICY) == 0,
                    "earlier learned addresses to expire", timeout=services.DNS_TTL + 5)


def db(family):
    return rig.DB6 if family == 6 else rig.DB4


def refused(result):
    # The appliance resets the SYN: the client sees "connection refused" at once.
    return (not result.ok and result.detail.get("errno") in ("ECONNREFUSED", "ECONNRESET")
            and result.detail["elapsed"] < FAST_S)


def expect_ip_denial(mark, family, port=rig.DB_PORT, *, src_port=None):
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", family, dst_ip=db(family), dst_port=port, protocol="TCP", destination_type="IP",
        destination=db(family), reason="ip_not_allowed"), src_port=src_port)


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_learned_address_lives_for_its_ttl(learning, family):
    sluice = learning.require()
    nothing_learned(sluice)
    addr = db(family)

    # 1. Before any answer: the address is in no allowed network: reset, ip_not_allowed.
    mark = Mark(sluice)
    before = clients.tcp("c1", addr, rig.DB_PORT)
    assert refused(before), before.describe()
    expect_ip_denial(mark, family, src_port=before.local_port)

    # 2. Resolve through the listed resolver; the answer teaches the appliance the address.
    mark = Mark(sluice)
    answer = clients.dig("c1", rig.resolver(family), services.DB, rig.qtype(family))
    assert answer.ok and answer.body == addr, answer.describe()
    answered_at = time.monotonic()
    daemon.wait_for(lambda: sluice.scrape().get(GAUGE, policy=POLICY) > mark.metrics.get(GAUGE, policy=POLICY),
                    f"{GAUGE}{{policy={POLICY}}} to go up", timeout=1.0, interval=0.02)
    after = clients.tcp("c1", addr, rig.DB_PORT, "learned")
    assert after.ok and after.body == "learned", after.describe()

    lines = mark.new_flows(1, where=lambda f: f["src_ip"] == client_ip("c1", family)
                           and f["dst_ip"] == addr and f["dst_port"] == rig.DB_PORT)
    assert len(lines) == 1 and lines[0]["verdict"] == "ALLOW", lines
    assert lines[0]["reason"] == "allowed_dns_learned", lines
    assert lines[0]["policy"] == POLICY, lines

    # 3. Only on the rule's ports.
    other = clients.tcp("c1", addr, OTHER_PORT)
    assert refused(other), other.describe()
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert len(records) == 1, records
    assert (records[0]["access_type"], records[0]["dst_port"]) == ("DROP", OTHER_PORT), records

    d = mark.deltas()
    assert d(GAUGE, policy=POLICY) == 1
    d.expect("sluice_flows_total", {flows_series(POLICY, "ALLOW"): 2,  # the DNS query, the echo
                                    flows_series(POLICY, "DROP"): 1})  # the other port
    assert d("sluice_flow_verdicts_total", reason="allowed_dns_learned") == 1

    # 4. TTL (2 s, within the 1..3600 clamp) plus grace 0: forgotten, refused again.
    mark = Mark(sluice)
    daemon.wait_for(lambda: sluice.scrape().get(EXPIRED, policy=POLICY) > mark.metrics.get(EXPIRED, policy=POLICY),
                    f"{EXPIRED}{{policy={POLICY}}} to go up", timeout=services.DNS_TTL + 5)
    waited = time.monotonic() - answered_at
    gone = clients.tcp("c1", addr, rig.DB_PORT)
    assert refused(gone), gone.describe()
    expect_ip_denial(mark, family, src_port=gone.local_port)
    d = mark.deltas()
    assert d(EXPIRED, policy=POLICY) == 1
    assert d(GAUGE, policy=POLICY) == -1
    assert services.DNS_TTL - 0.5 < waited < services.DNS_TTL + 3, f"expired {waited:.1f} s after the answer"


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_connect_right_after_the_answer(learning, family):
    """A real client resolves and sends its SYN in the same breath: the learned address must
    be in force by the time the answer reaches the client."""
    sluice = learning.require()
    nothing_learned(sluice)
    mark = Mark(sluice)
    result = clients.resolve_connect("c1", rig.resolver(family), services.DB, rig.qtype(family),
                                     rig.DB_PORT, "at once")
    assert result.ok and result.body == "at once", result.describe()
    assert mark.new_denials(0, where=lambda r: r["src_ip"] == client_ip("c1", family)) == []


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_unlisted_resolver_teaches_nothing(learning, family):
    sluice = learning.require()
    nothing_learned(sluice)
    rogue = rig.ROGUE6 if family == 6 else rig.ROGUE4
    mark = Mark(sluice)
    answer = clients.dig("c1", rogue, services.DB, rig.qtype(family), wait_s=1)
    assert not answer.ok and answer.elapsed < FAST_S, answer.describe()
    connect = clients.tcp("c1", db(family), rig.DB_PORT)
    assert refused(connect), connect.describe()
    records = mark.new_denials(2, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert [r["reason"] for r in records] == ["dns_resolver_not_allowed", "ip_not_allowed"], records
    assert mark.deltas()(GAUGE, policy=POLICY) == 0
