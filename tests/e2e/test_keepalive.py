"""Every request on a keep-alive connection is judged (issue 12): python's http.client makes two
requests to an allowed host on one connection and both are served; a later request on such a
connection to another host fails at once with a DROP record naming that host
(`http_host_changed`). The client first resolves the name through the allowed resolver, as a
real client would."""

import json
import sys

import clients
import rig
import services
from conftest import Mark, check_record, client_ip, expected_record

KEEPALIVE = clients.HERE / "keepalive_client.py"


def session(client, *hosts):
    # Resolve first (a real client's order; the appliance may bind names to addresses).
    answer = clients.dig(client, rig.resolver(4), hosts[0])
    assert answer.ok, answer.describe()
    result = clients.run_in(client, [sys.executable, str(KEEPALIVE), rig.WEB4, 80, *hosts], tool="keepalive")
    lines = [json.loads(l) for l in result.stdout.splitlines() if l.startswith("{")]
    return result, lines


def test_two_requests_to_the_allowed_host_on_one_connection(sluice):
    mark = Mark(sluice)
    result, lines = session("c1", services.WWW, services.WWW)
    assert len(lines) == 2 and all(l["ok"] for l in lines), result.describe()
    assert all(f"e2e {services.WWW} http" in l["body"] for l in lines), lines
    assert lines[0]["local_port"] == lines[1]["local_port"]
    assert mark.new_denials(0) == []


def test_second_request_to_another_host_is_denied_with_its_record(sluice):
    mark = Mark(sluice)
    result, lines = session("c1", services.WWW, services.EVIL)
    assert len(lines) == 2, result.describe()
    assert lines[0]["ok"], lines
    assert not lines[1]["ok"] and lines[1]["error"], lines
    assert services.EVIL not in lines[1]["body"], lines

    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", 4) and r["dst_port"] == 80)
    assert len(records) == 1, records
    check_record(records[0], expected_record(
        "c1", 4, dst_ip=rig.WEB4, dst_port=80, protocol="TCP", destination_type="HTTP_HOST",
        destination=services.EVIL, reason="http_host_changed"), src_port=lines[0]["local_port"])
    d = mark.deltas()
    # The resolver flow, the connection allowed on its first request, then denied on its second.
    d.expect("sluice_flow_verdicts_total", {(("reason", "allowed_dns_resolver"),): 1,
                                            (("reason", "allowed_domain"),): 1,
                                            (("reason", "http_host_changed"),): 1})
    assert d("sluice_dropped_packets_total", reason="http_host_changed") == 1
