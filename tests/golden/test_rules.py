"""Named groups and numbered ALLOW/DENY rules (docs/POLICY.md): sluicectl validate's errors and
shadowing warnings, explain naming the deciding rule with file:line and the group member that
matched, and replay through the dataplane: a DENY rule wins over an allow list and over an
ALLOW rule by priority, for flows and for DNS queries alike, names and addresses in one
priority order, and a name only a numbered ALLOW rule allows is resolved, learned from the
answer and bound (tests/golden/policies/rules.textproto)."""

import json
from pathlib import Path

import pytest

from conftest import run_replay, run_sluicectl
from pcapgen import frames
from pcapgen.tls import client_hello
from scenarios import PROD_HOST, RESOLVER, TLS_SERVER, UNBOUND_SERVER

RULES_POLICY = Path(__file__).resolve().parent / "policies" / "rules.textproto"
LINE_QUARANTINE, LINE_NO_PASTE, LINE_COMPANY_STORAGE = 25, 26, 28
PARTNER_DB, QUARANTINED_DB = "198.19.40.7", "198.19.40.200"
BLOCKED_SERVER = "198.19.60.1"
LAB_SERVER, LISTED_SERVER = "198.19.70.5", "198.19.71.5"  # in rule "lab"; in allowed_networks


def test_rules_policy_validates_without_warnings():
    proc = run_sluicectl("validate", RULES_POLICY)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, proc.stderr


UNKNOWN_GROUPS = """\
name: "x"
policies {
  name: "main" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domain_groups: "no-such-group"
  rules { name: "r" priority: 10 action: DENY ip_groups: "nowhere" }
}
default_policy: "main"
"""


def test_unknown_groups_are_refused_with_file_line_and_field(tmp_path):
    path = tmp_path / "groups.textproto"
    path.write_text(UNKNOWN_GROUPS)
    proc = run_sluicectl("validate", path)
    assert proc.returncode == 1, proc
    assert (f'{path}:4: policies[0].allowed_domain_groups[0]: unknown domain group "no-such-group"'
            in proc.stderr), proc.stderr
    assert f'{path}:5: policies[0].rules[0].ip_groups[0]: unknown ip group "nowhere"' in proc.stderr, proc.stderr


SHADOWED = """\
name: "x"
domain_groups { name: "spare" domains: "spare.example.com" }
policies {
  name: "main" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: "api.example.com"
  rules { name: "deny-example" priority: 10 action: DENY domains: ".example.com" }
  rules { name: "allow-files" priority: 20 action: ALLOW domains: "files.example.com" protocol: TCP }
  rules { name: "deny-paste" priority: 30 action: DENY domains: "*.pastebin.com" protocol: TCP }
  rules { name: "deny-paste-443" priority: 40 action: DENY domains: "a.pastebin.com:443" protocol: TCP }
}
default_policy: "main"
"""


def test_validate_prints_shadowing_warnings_naming_both_lines(tmp_path):
    path = tmp_path / "shadowed.textproto"
    path.write_text(SHADOWED)
    proc = run_sluicectl("validate", path)
    assert proc.returncode == 0, proc.stderr  # warnings never refuse a policy
    lines = [line for line in proc.stderr.splitlines() if ": warning: " in line]
    assert lines == [
        f'{path}:2: warning: domain_groups[0].name: domain group "spare" is used by no policy',
        f'{path}:5: warning: policies[0].allowed_domains[0]: allowed_domains entry "api.example.com" never '
        f'allows anything: DENY rule "deny-example" (priority 10) at line 6 denies everything it matches first',
        f'{path}:7: warning: policies[0].rules[1]: ALLOW rule "allow-files" (priority 20) never allows '
        f'anything: DENY rule "deny-example" (priority 10) at line 6 denies everything it matches first',
        f'{path}:9: warning: policies[0].rules[3]: DENY rule "deny-paste-443" (priority 40) never decides '
        f'anything: DENY rule "deny-paste" (priority 30) at line 8 matches everything it matches first',
    ], proc.stderr
    as_json = json.loads(run_sluicectl("validate", path, "--json").stdout)
    assert as_json["valid"] is True
    assert [w["line"] for w in as_json["warnings"]] == [2, 5, 7, 9]


def _explain(destination, port, protocol="tcp"):
    proc = run_sluicectl("explain", RULES_POLICY, PROD_HOST, destination, "--port", port,
                         "--protocol", protocol, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_explain_names_the_deny_rule_its_line_and_the_group_member():
    answer = _explain("paste.example.org", "443")
    assert answer["verdict"] == "DROP" and answer["reason"] == "denied_by_rule", answer
    assert answer["rule"] == {"name": "no-paste", "priority": 100, "action": "DENY", "file": str(RULES_POLICY),
                              "line": LINE_NO_PASTE, "group": "paste-sites", "member": "paste.example.org"}
    text = run_sluicectl("explain", RULES_POLICY, PROD_HOST, "paste.example.org", "--port", "443").stdout
    assert f'rule:        DENY rule "no-paste" (priority 100) at {RULES_POLICY}:{LINE_NO_PASTE}\n' in text, text
    assert 'member "paste.example.org" of domain group "paste-sites"' in text, text


def test_explain_names_the_allow_rule_of_a_rule_only_name():
    answer = _explain("data.example.com", "443")
    assert answer["verdict"] == "ALLOW" and answer["reason"] == "allowed_domain", answer
    assert answer["rule"]["name"] == "company-storage" and answer["rule"]["line"] == LINE_COMPANY_STORAGE
    assert answer["rule"]["member"] == ".example.com" and answer["rule"]["group"] == ""
    # The rule is TCP 443 only: port 80 is judged by no rule.
    assert _explain("data.example.com", "80")["reason"] == "domain_not_allowed"


def test_explain_address_rules_by_priority_and_group_members():
    quarantined = _explain(QUARANTINED_DB, "5432")
    assert quarantined["reason"] == "denied_by_rule", quarantined
    assert quarantined["rule"]["name"] == "quarantine" and quarantined["rule"]["line"] == LINE_QUARANTINE
    assert quarantined["rule"]["member"] == "198.19.40.128/25"
    partner = _explain(PARTNER_DB, "5432")
    assert partner["reason"] == "allowed_network" and "rule" not in partner, partner
    assert 'member "198.19.40.0/24" of ip group "partners"' in partner["because"], partner
    indexes = _explain("files.pythonhosted.org", "443")
    assert indexes["reason"] == "allowed_domain", indexes
    assert 'of domain group "package-indexes"' in indexes["because"], indexes


def _tls(sport, sni, server=TLS_SERVER):
    flow = frames.TcpFlow(PROD_HOST, sport, server, 443)
    return [flow.syn(), flow.syn_ack(), flow.ack(), flow.data(client_hello(sni))]


@pytest.fixture(scope="module")
def replay_run(tmp_path_factory):
    packets = []
    # A rule-only name: the query passes, the answer teaches TLS_SERVER, the hello is bound.
    query = frames.dns_query(PROD_HOST, 44001, RESOLVER, "data.example.com", query_id=0x4401)
    packets += [query, frames.dns_answer(query, TLS_SERVER)]
    packets += _tls(44002, "data.example.com")
    # DENY rules for DNS: a group member, and a name the allow list below the rule covers.
    packets.append(frames.dns_query(PROD_HOST, 44003, RESOLVER, "x.pastebin.com", query_id=0x4403))
    packets.append(frames.dns_query(PROD_HOST, 44004, RESOLVER, "paste.example.org", query_id=0x4404))
    # A DENY rule beats the ALLOW rule below it (no-uploads 110 over company-storage 200).
    packets += _tls(44005, "upload.example.com")
    # A DENY rule beats allowed_domains (.example.org) by name, bound address or not.
    packets += _tls(44006, "paste.example.org")
    # A rule-only name never resolved through the appliance is not bound.
    packets += _tls(44007, "other.example.com", server=UNBOUND_SERVER)
    # An answer for a name a DENY rule takes off every port teaches nothing, although
    # resolvable_names lets the query through and allowed_domains (.example.org) matches it.
    query = frames.dns_query(PROD_HOST, 44008, RESOLVER, "blocked.example.org", query_id=0x4408)
    packets += [query, frames.dns_answer(query, BLOCKED_SERVER)]
    packets.append(frames.udp_packet(PROD_HOST, 44009, BLOCKED_SERVER, 9999, b"x" * 8))
    # One order over names and addresses: the name rule partner-api (150) before lab (300).
    query = frames.dns_query(PROD_HOST, 44010, RESOLVER, "api.partner.example.net", query_id=0x4410)
    packets += [query, frames.dns_answer(query, LAB_SERVER)]
    packets += _tls(44011, "api.partner.example.net", server=LAB_SERVER)
    packets += _tls(44012, "pypi.org", server=LAB_SERVER)  # allowed_domains is below lab
    packets.append(frames.udp_packet(PROD_HOST, 44013, LAB_SERVER, 9999, b"x" * 8))  # no name
    # no-paste (100) before the allowed network below every rule; another name passes on it.
    packets += _tls(44014, "paste.example.org", server=LISTED_SERVER)
    packets += _tls(44015, "unknown.example.net", server=LISTED_SERVER)
    return run_replay(tmp_path_factory.mktemp("rules"), RULES_POLICY, packets,
                      outside_mac=frames.UPSTREAM_MAC)


def _flow(run, sport):
    mine = [f for f in run.flows if f["src_port"] == sport]
    assert len(mine) == 1, run.flows
    return mine[0]


def _denials(run, sport):
    return [d for d in run.denials if d["src_port"] == sport]


def test_rule_only_name_is_resolved_learned_and_bound(replay_run):
    assert replay_run.returncode == 0, replay_run.stderr
    assert _denials(replay_run, 44001) == []
    flow = _flow(replay_run, 44002)
    assert (flow["verdict"], flow["reason"], flow["rule"]) == ("ALLOW", "allowed_domain", "company-storage"), flow


@pytest.mark.parametrize("sport,name", [(44003, "x.pastebin.com"), (44004, "paste.example.org")])
def test_dns_query_for_a_deny_rule_name_is_refused(replay_run, sport, name):
    denials = _denials(replay_run, sport)
    assert len(denials) == 1, replay_run.denials
    record = denials[0]
    assert record["reason"] == "dns_name_denied_by_rule" and record["rule"] == "no-paste", record
    assert record["dns_event"] == {"domain_name": name, "rcode": 3}, record


@pytest.mark.parametrize("sport,name,rule", [(44005, "upload.example.com", "no-uploads"),
                                             (44006, "paste.example.org", "no-paste")])
def test_deny_rule_wins_by_priority(replay_run, sport, name, rule):
    denials = _denials(replay_run, sport)
    assert len(denials) == 1, replay_run.denials
    record = denials[0]
    assert (record["access_type"], record["reason"], record["destination"], record["rule"]) == (
        "DROP", "denied_by_rule", name, rule), record
    assert _flow(replay_run, sport)["rule"] == rule


def test_rule_only_name_needs_its_binding(replay_run):
    record = _denials(replay_run, 44007)
    assert [(r["reason"], "rule" in r) for r in record] == [("name_address_mismatch", False)], record


def test_answer_for_a_deny_rule_name_teaches_nothing(replay_run):
    assert _denials(replay_run, 44008) == []  # resolvable_names: the query passes
    # Learned, the datagram would be judged on the name (denied_by_rule); unlearned, on its address.
    record = _denials(replay_run, 44009)
    assert [(r["reason"], r["destination"]) for r in record] == [("ip_not_allowed", BLOCKED_SERVER)], record


@pytest.mark.parametrize("sport,verdict,reason,rule", [
    (44011, "ALLOW", "allowed_domain", "partner-api"),  # the name's rule comes first, bound
    (44012, "DROP", "denied_by_rule", "lab"),            # the address's rule comes first
    (44013, "DROP", "denied_by_rule", "lab"),            # no name: the address alone
    (44014, "DROP", "denied_by_rule", "no-paste"),       # before the allowed network
    (44015, "ALLOW", "allowed_network", None),           # the allowed network, no binding needed
])
def test_names_and_addresses_in_one_priority_order(replay_run, sport, verdict, reason, rule):
    flow = _flow(replay_run, sport)
    assert (flow["verdict"], flow["reason"], flow.get("rule")) == (verdict, reason, rule), flow
    assert len(_denials(replay_run, sport)) == (verdict == "DROP"), replay_run.denials
