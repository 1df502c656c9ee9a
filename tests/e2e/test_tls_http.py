"""Names judged on the TLS SNI and the HTTP Host, by four real clients, over IPv4 and IPv6:
allowed names reach nginx; a denied name is reset at once with one DROP record; the DRY_RUN
subnet reaches it with one DRY_RUN_DENIAL record; an unattached source gets the default policy."""

import pytest

import clients
import rig
import services
from conftest import Mark, check_record, client_ip, expected_record, flows_series, note_denial_time

TOOLS = list(clients.TOOLS)
FAMILIES = [4, 6]
RESET_WITHIN_S = 1.0


def web(family):
    return rig.WEB6 if family == 6 else rig.WEB4


def run(tool, client, name, family, cafile):
    return clients.TOOLS[tool](client, name, family, cafile)


def check_served(result, name, tool):
    assert result.ok, result.describe()
    if tool in ("curl-https", "curl-http", "python-ssl"):
        scheme = "http" if tool == "curl-http" else "https"
        assert f"e2e {name} {scheme}" in result.body, result.describe()


def is_flow(client, family, tool, name, verdict):
    def match(line):
        return (line["src_ip"] == client_ip(client, family) and line["dst_port"] == clients.port_of(tool)
                and line["verdict"] == verdict and line["destination"] == name)
    return match


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", [services.WWW, services.API, services.API_SUB])
def test_allowed_name(sluice, cafile, tool, family, name):
    mark = Mark(sluice)
    result = run(tool, "c1", name, family, cafile)
    check_served(result, name, tool)

    lines = mark.new_flows(1, where=is_flow("c1", family, tool, name, "ALLOW"))
    assert len(lines) == 1, lines
    flow = lines[0]
    assert flow["reason"] == "allowed_domain", flow
    assert flow["policy"] == "e2e-enforce" and flow["source_label"] == "e2e-prod", flow
    assert flow["destination_type"] == clients.destination_type_of(tool), flow
    assert flow["sni" if tool != "curl-http" else "http_host"] == name, flow
    if result.local_port:
        assert flow["src_port"] == result.local_port, flow

    assert mark.new_denials(0) == []
    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series("e2e-enforce", "ALLOW"): 1})
    d.expect("sluice_flow_verdicts_total", {(("reason", "allowed_domain"),): 1})
    assert d("sluice_flows_created_total") == 1
    assert d("sluice_tcp_resets_sent_total") == 0
    assert d("sluice_denial_records_written_total") == 0


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("tool", TOOLS)
def test_denied_name_is_reset_at_once(sluice, cafile, tool, family):
    mark = Mark(sluice)
    result = run(tool, "c1", services.EVIL, family, cafile)
    assert not result.ok, result.describe()
    note_denial_time(f"{tool} v{family}", result.elapsed)
    assert result.elapsed < RESET_WITHIN_S, f"denial took {result.elapsed:.3f} s\n" + result.describe()
    assert clients.saw_reset(result), "no reset seen\n" + result.describe()
    if tool == "curl-https":
        assert result.rc == 35, result.describe()   # SSL connect error: reset in the handshake
    if tool == "curl-http":
        assert result.rc == 56, result.describe()   # receive failure: reset after the request
    if tool == "python-ssl":
        assert result.detail["errno"] == "ECONNRESET", result.detail

    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", family, dst_ip=web(family), dst_port=clients.port_of(tool), protocol="TCP",
        destination_type=clients.destination_type_of(tool), destination=services.EVIL,
        reason="domain_not_allowed"), src_port=result.local_port or None)

    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series("e2e-enforce", "DROP"): 1})
    d.expect("sluice_flow_verdicts_total", {(("reason", "domain_not_allowed"),): 1})
    assert d("sluice_tcp_resets_sent_total") == 1
    assert d("sluice_flows_created_total") == 1
    assert d("sluice_denial_records_written_total") == 1
    assert d("sluice_dropped_packets_total", reason="domain_not_allowed") == 1


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("tool", TOOLS)
def test_dry_run_subnet_reaches_denied_name(sluice, cafile, tool, family):
    mark = Mark(sluice)
    result = run(tool, "c2", services.EVIL, family, cafile)
    check_served(result, services.EVIL, tool)

    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c2", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c2", family, dst_ip=web(family), dst_port=clients.port_of(tool), protocol="TCP",
        destination_type=clients.destination_type_of(tool), destination=services.EVIL,
        reason="domain_not_allowed"), src_port=result.local_port or None)
    assert records[0]["access_type"] == "DRY_RUN_DENIAL"

    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series("e2e-enforce", "DRY_RUN_DENIAL"): 1})
    d.expect("sluice_flow_verdicts_total", {(("reason", "domain_not_allowed"),): 1})
    assert d("sluice_tcp_resets_sent_total") == 0
    assert d("sluice_dropped_packets_total", reason="domain_not_allowed") == 0


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("tool", ["curl-https", "curl-http"])
def test_dry_run_subnet_allowed_name_has_no_record(sluice, cafile, tool, family):
    mark = Mark(sluice)
    check_served(run(tool, "c2", services.WWW, family, cafile), services.WWW, tool)
    assert mark.new_denials(0) == []
    mark.deltas().expect("sluice_flows_total", {flows_series("e2e-enforce", "ALLOW"): 1})


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
@pytest.mark.parametrize("tool", TOOLS)
def test_unattached_source_gets_default_policy(sluice, cafile, tool, family):
    mark = Mark(sluice)
    # The default policy allows public.e2e.example ...
    check_served(run(tool, "c3", services.PUBLIC, family, cafile), services.PUBLIC, tool)
    # ... and not what e2e-enforce allows.
    denied = run(tool, "c3", services.WWW, family, cafile)
    assert not denied.ok and denied.elapsed < RESET_WITHIN_S, denied.describe()
    assert clients.saw_reset(denied), denied.describe()

    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c3", family))
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c3", family, dst_ip=web(family), dst_port=clients.port_of(tool), protocol="TCP",
        destination_type=clients.destination_type_of(tool), destination=services.WWW,
        reason="domain_not_allowed", policy="e2e-default", label="e2e-unattached"),
        src_port=denied.local_port or None)

    d = mark.deltas()
    d.expect("sluice_flows_total", {flows_series("e2e-default", "ALLOW"): 1,
                                    flows_series("e2e-default", "DROP"): 1})
    assert d("sluice_tcp_resets_sent_total") == 1


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_new_connection_from_the_port_of_a_denied_one_is_judged_afresh(sluice, cafile, family):
    # Below the ephemeral range (32768-60999): no earlier client's connection (or its TIME_WAIT)
    # can hold it, so bind() never fails; the flow table is fresh for every session's sluiced.
    port = 20100 + family
    mark = Mark(sluice)
    denied = clients.curl("c1", services.EVIL, family=family, cafile=cafile, local_port=port)
    assert not denied.ok and clients.saw_reset(denied), denied.describe()
    again = clients.curl("c1", services.WWW, family=family, cafile=cafile, local_port=port)
    assert again.ok, again.describe()
    lines = mark.new_flows(2, where=lambda f: f["src_ip"] == client_ip("c1", family) and f["src_port"] == port)
    assert [(f["verdict"], f["destination"]) for f in lines] == [("DROP", services.EVIL), ("ALLOW", services.WWW)]


@pytest.mark.parametrize("tool", ["curl-https", "curl-http"])
def test_spoofed_name_to_a_server_dns_never_gave_for_it_is_reset(sluice, cafile, tool):
    """An allowed name (www.e2e.example, which dnsmasq answers with WEB4) sent to another server
    (nginx listens on ROGUE4 too; no answer names ROGUE4): name_address_mismatch, reset at once,
    one DROP record naming the name. The same client reaches the name at WEB4 (test_allowed_name)."""
    mark = Mark(sluice)
    scheme = "http" if tool == "curl-http" else "https"
    result = clients.curl("c1", services.WWW, scheme=scheme, family=4, cafile=cafile, addr=rig.ROGUE4)
    assert not result.ok, result.describe()
    assert result.elapsed < RESET_WITHIN_S, f"denial took {result.elapsed:.3f} s\n" + result.describe()
    assert clients.saw_reset(result), "no reset seen\n" + result.describe()

    records = mark.new_denials(1, where=lambda r: r["dst_ip"] == rig.ROGUE4)
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", 4, dst_ip=rig.ROGUE4, dst_port=clients.port_of(tool), protocol="TCP",
        destination_type=clients.destination_type_of(tool), destination=services.WWW,
        reason="name_address_mismatch"), src_port=result.local_port or None)
    d = mark.deltas()
    d.expect("sluice_flow_verdicts_total", {(("reason", "name_address_mismatch"),): 1})
    assert d("sluice_dropped_packets_total", reason="name_address_mismatch") == 1
