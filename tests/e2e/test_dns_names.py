"""DNS judged by name with dig through the rig's dnsmasq: a name the policy allows resolves; a
tunnel of TXT queries with data in hex labels under a zone the policy does not allow gets
NXDOMAIN from the appliance itself at once, each query with its own DNS denial record
(`dns_event`), and none of them reaches dnsmasq."""

import pytest

import clients
import rig
import services
from conftest import EVENT_ID, Mark, client_ip, expected_record

FAMILIES = [4, 6]
TUNNEL_ZONE = "x.attacker.example"


def dig_status(client, server, name, qtype, wait_s=2):
    """One query, one try; the header's status (NOERROR, NXDOMAIN, ...) or None without answer."""
    result = clients.run_in(client, ["dig", f"@{server}", name, qtype, "+tries=1", f"+time={wait_s}"],
                            tool="dig", timeout=wait_s + 10)
    for line in result.stdout.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip(), result
    return None, result


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_allowed_name_resolves(sluice, family):
    mark = Mark(sluice)
    answer = clients.dig("c1", rig.resolver(family), services.API_SUB, rig.qtype(family))
    assert answer.ok and answer.body == (rig.WEB6 if family == 6 else rig.WEB4), answer.describe()
    assert mark.new_denials(0) == []
    assert mark.deltas()("sluice_dns_queries_allowed_total") >= 1


@pytest.mark.parametrize("family", FAMILIES, ids=["v4", "v6"])
def test_txt_tunnel_gets_nxdomain_and_records(sluice, family):
    mark = Mark(sluice)
    names = [f"{('chunk-%d-' % i).encode().hex()}{'ab' * 20}.{TUNNEL_ZONE}" for i in range(5)]
    for name in names:
        status, result = dig_status("c1", rig.resolver(family), name, "TXT")
        assert status == "NXDOMAIN", result.describe()
        assert result.elapsed < 1.0, f"the appliance's answer took {result.elapsed:.2f} s\n" + result.describe()

    records = mark.new_denials(len(names), where=lambda r: r["src_ip"] == client_ip("c1", family))
    assert [r["destination"] for r in records] == names, records
    for record, name in zip(records, names):
        dns_event = record.pop("dns_event")
        assert dns_event == {"domain_name": name, "rcode": 3}, record
        assert EVENT_ID.match(record["event_id"]), record["event_id"]
        got = {k: v for k, v in record.items() if k not in ("event_time", "flow_id", "src_port", "event_id")}
        assert got == expected_record("c1", family, dst_ip=rig.resolver(family), dst_port=53, protocol="UDP",
                                      destination_type="DNS", destination=name, reason="dns_name_not_allowed")
    d = mark.deltas()
    assert d("sluice_dns_queries_denied_total") == len(names)
    assert d("sluice_dns_refusals_sent_total") == len(names)
    assert d("sluice_dropped_packets_total", reason="dns_name_not_allowed") == len(names)
