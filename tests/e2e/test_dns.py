"""DNS through the appliance with dig: the listed resolver answers; a resolver the policy does
not list is denied (dns_resolver_not_allowed), passed with a record in DRY_RUN; a denied UDP
datagram gets an ICMP unreachable back at once, so the client fails fast instead of timing out."""

import pytest

import clients
import rig
import services
from conftest import Mark, check_record, client_ip, expected_record, flows_series, note_denial_time

FAMILIES = [4, 6]


def rogue(family):
    return rig.ROGUE6 if family == 6 else rig.ROGUE4


def web(family):
    return rig.WEB6 if family == 6 else rig.WEB4


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("client", ["c1", "c3"])
def test_listed_resolver_answers(sluice, client, family):
    mark = Mark(sluice)
    # Each client asks for a name its own policy allows (queries are judged by name).
    name = services.WWW if client == "c1" else services.PUBLIC
    answer = clients.dig(client, rig.resolver(family), name, rig.qtype(family))
    assert answer.ok and answer.body == web(family), answer.describe()

    lines = mark.new_flows(1, where=lambda f: f["src_ip"] == client_ip(client, family)
                           and f["dst_port"] == 53)
    assert len(lines) == 1, lines
    assert lines[0]["verdict"] == "ALLOW" and lines[0]["reason"] == "allowed_dns_resolver", lines
    assert lines[0]["protocol"] == "UDP" and lines[0]["dst_ip"] == rig.resolver(family), lines
    assert mark.new_denials(0) == []
    policy = "e2e-enforce" if client == "c1" else "e2e-default"
    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series(policy, "ALLOW"): 1})
    d.expect("sluice_flow_verdicts_total", {(("reason", "allowed_dns_resolver"),): 1})


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_unlisted_resolver_is_denied(sluice, family):
    mark = Mark(sluice)
    # One try, one second: this test is about the record; test_udp_denial_fails_fast is about time.
    answer = clients.dig("c1", rogue(family), services.WWW, rig.qtype(family), wait_s=1)
    assert not answer.ok, answer.describe()

    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", family, dst_ip=rogue(family), dst_port=53, protocol="UDP", destination_type="DNS",
        destination=rogue(family), reason="dns_resolver_not_allowed"))
    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series("e2e-enforce", "DROP"): 1})
    d.expect("sluice_flow_verdicts_total", {(("reason", "dns_resolver_not_allowed"),): 1})
    assert d("sluice_dropped_packets_total", reason="dns_resolver_not_allowed") == 1
    assert d("sluice_tcp_resets_sent_total") == 0


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_dry_run_subnet_reaches_unlisted_resolver(sluice, family):
    mark = Mark(sluice)
    answer = clients.dig("c2", rogue(family), services.WWW, rig.qtype(family))
    assert answer.ok and answer.body == web(family), answer.describe()
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c2", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c2", family, dst_ip=rogue(family), dst_port=53, protocol="UDP", destination_type="DNS",
        destination=rogue(family), reason="dns_resolver_not_allowed"))
    mark.deltas().expect("sluice_flows_total", {flows_series("e2e-enforce", "DRY_RUN_DENIAL"): 1})


# --- ICMP unreachable for denied UDP (issue #6, with DNS learning) ---------------------------

FAST_S = 1.0


@pytest.mark.icmp_unreachable
@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_udp_denial_fails_fast_dig(sluice, family):
    """dig to an unlisted resolver gets an ICMP unreachable: it fails within a second with a
    communications error, not after its 3 s timeout."""
    mark = Mark(sluice)
    answer = clients.dig("c1", rogue(family), services.WWW, rig.qtype(family), wait_s=3)
    output = answer.stdout + answer.stderr
    assert not answer.ok, answer.describe()
    note_denial_time(f"dig (ICMP) v{family}", answer.elapsed)
    assert answer.elapsed < FAST_S, f"dig took {answer.elapsed:.2f} s (no ICMP unreachable?)\n" + answer.describe()
    assert "timed out" not in output, answer.describe()
    assert "communications error" in output or "unreachable" in output or "refused" in output, answer.describe()
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert [r["reason"] for r in records] == ["dns_resolver_not_allowed"], records


@pytest.mark.icmp_unreachable
@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_udp_denial_fails_fast_socket(sluice, family):
    """Any denied UDP datagram (here to the echo host, ip_not_allowed): the connected socket's
    next receive fails at once with the ICMP error's errno."""
    mark = Mark(sluice)
    addr = rig.DB6 if family == 6 else rig.DB4
    result = clients.udp("c1", addr, rig.DB_PORT)
    assert not result.ok, result.describe()
    assert result.detail["errno"] in ("EHOSTUNREACH", "ECONNREFUSED", "ENETUNREACH", "EACCES"), result.describe()
    assert result.detail["elapsed"] < FAST_S, result.describe()
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", family, dst_ip=addr, dst_port=rig.DB_PORT, protocol="UDP", destination_type="IP",
        destination=addr, reason="ip_not_allowed"), src_port=result.local_port)
