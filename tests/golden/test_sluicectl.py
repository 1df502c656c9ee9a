"""sluicectl validate, compile and explain, and every command's --help, through the real binary:
exact answers for tests/golden/policies/golden.textproto and configs/demo/policy.textproto,
documented exit codes, errors on stderr, one JSON object on stdout for --json. Expectations are
written from the policy files and the contract (docs/POLICY.md), and explain is checked to agree
with the dataplane itself (sluicectl replay) on the same flows."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (DEMO_PCAP, DEMO_POLICY, GOLDEN_POLICY, bindings_for, demo_capture, run_replay,
                      run_sluicectl)
from pcapgen import frames
from pcapgen.tls import client_hello
from scenarios import (BASTION_HOST, BOUND_SERVERS, DB, DEV_HOST, OTHER_DB, OTHER_RESOLVER, PROD_HOST, RESOLVER,
                       STAGING_HOST, TLS_SERVER, UNATTACHED_HOST, V6_HOST, V6_SERVER)

PROBE_PORT = 49152   # explain's client port
STAND_IN = "192.0.2.1"  # where explain sends a name's probe: no golden network holds it
COMMANDS = ["validate", "compile", "explain", "replay", "reload", "stats", "denials", "suggest", "diff",
            "help"]


def run_many(arg_lists):
    """sluicectl once per argument list, a few at a time: every explain is its own process with
    its own EAL, and most of its time is spent setting that up."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda args: run_sluicectl(*args), arg_lists)
        return {tuple(map(str, args)): result for args, result in zip(arg_lists, results)}


def answer(source, attachment, policy, enforcement, destination, probe, verdict, because):
    return "".join(f"{label:<13}{value}\n" for label, value in [
        ("source:", source), ("attachment:", attachment), ("policy:", policy),
        ("enforcement:", enforcement), ("destination:", destination), ("probe:", probe),
        ("verdict:", verdict), ("because:", because)])


PROD_ATTACHMENT = "198.18.1.0/24, label spark-prod"
RESTRICTED = "restricted (RESTRICTED)"
POLICYS_OWN = "ENFORCE (the policy's)"


def tls_destination(name, port=443):
    return f"{name}, TCP port {port} (TLS: judged on the ClientHello's SNI)"


def tls_probe(source, name, port=443):
    return f"TCP SYN, then a ClientHello with SNI {name}, {source}:{PROBE_PORT} -> {STAND_IN}:{port}"


def prod_name(name, verdict, because):
    """A name asked from spark-prod (policy restricted, ENFORCE) on port 443."""
    return answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, tls_destination(name),
                  tls_probe(PROD_HOST, name), verdict, because)


DENIED_NAME = "DROP domain_not_allowed (the client gets a TCP reset)"


def none_of_3(name):
    return f'"{name}" matches none of the 3 allowed domains of policy restricted'


EXPLAIN_CASES = {
    # allowed_domains: "pypi.org" (exact), "*.blob.core.windows.net", ".github.com"
    "exact_pattern_matches_its_name": (
        [GOLDEN_POLICY, PROD_HOST, "pypi.org"],
        prod_name("pypi.org", "ALLOW allowed_domain",
                  '"pypi.org" matches allowed_domains[0] "pypi.org" of policy restricted')),
    "exact_pattern_matches_no_subdomain": (
        [GOLDEN_POLICY, PROD_HOST, "www.pypi.org"],
        prod_name("www.pypi.org", DENIED_NAME, none_of_3("www.pypi.org"))),
    "name_is_normalised_before_matching": (
        [GOLDEN_POLICY, PROD_HOST, "PyPI.ORG."],
        prod_name("PyPI.ORG.", "ALLOW allowed_domain",
                  '"pypi.org" matches allowed_domains[0] "pypi.org" of policy restricted')),
    "star_pattern_matches_below": (
        [GOLDEN_POLICY, PROD_HOST, "acct.blob.core.windows.net"],
        prod_name("acct.blob.core.windows.net", "ALLOW allowed_domain",
                  '"acct.blob.core.windows.net" matches allowed_domains[1] "*.blob.core.windows.net"'
                  " of policy restricted")),
    "star_pattern_does_not_match_its_apex": (
        [GOLDEN_POLICY, PROD_HOST, "blob.core.windows.net"],
        prod_name("blob.core.windows.net", DENIED_NAME, none_of_3("blob.core.windows.net"))),
    "dot_pattern_matches_its_apex": (
        [GOLDEN_POLICY, PROD_HOST, "github.com"],
        prod_name("github.com", "ALLOW allowed_domain",
                  '"github.com" matches allowed_domains[2] ".github.com" of policy restricted')),
    "dot_pattern_matches_below": (
        [GOLDEN_POLICY, PROD_HOST, "api.github.com"],
        prod_name("api.github.com", "ALLOW allowed_domain",
                  '"api.github.com" matches allowed_domains[2] ".github.com" of policy restricted')),
    "http_port_judges_the_host": (
        [GOLDEN_POLICY, PROD_HOST, "evil.example.org", "--port", "80"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN,
               "evil.example.org, TCP port 80 (HTTP: judged on the request's Host)",
               f"TCP SYN, then an HTTP request with Host evil.example.org, {PROD_HOST}:{PROBE_PORT} -> "
               f"{STAND_IN}:80",
               DENIED_NAME, none_of_3("evil.example.org"))),
    "uncovered_source_gets_the_default_policy": (
        [GOLDEN_POLICY, UNATTACHED_HOST, "github.com"],
        answer(UNATTACHED_HOST, f"none covers {UNATTACHED_HOST}: the default policy, label unattached",
               "baseline (RESTRICTED)", POLICYS_OWN, tls_destination("github.com"),
               tls_probe(UNATTACHED_HOST, "github.com"), DENIED_NAME,
               '"github.com" matches none of the 1 allowed domains of policy baseline')),
    "longest_prefix_attachment_wins": (
        [GOLDEN_POLICY, BASTION_HOST, "evil.example.org"],
        answer(BASTION_HOST, "198.18.1.240/28, label ops-bastion", "full-access (FULL)", POLICYS_OWN,
               tls_destination("evil.example.org"), tls_probe(BASTION_HOST, "evil.example.org"),
               "ALLOW allowed_full_access",
               "policy full-access has access mode FULL: every destination is allowed")),
    "shorter_prefix_outside_the_longer_one": (
        [GOLDEN_POLICY, "198.18.1.239", "evil.example.org"],
        answer("198.18.1.239", PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN,
               tls_destination("evil.example.org"), tls_probe("198.18.1.239", "evil.example.org"),
               DENIED_NAME, none_of_3("evil.example.org"))),
    "enforcement_override_gives_dry_run_denial": (
        [GOLDEN_POLICY, STAGING_HOST, "evil.example.org"],
        answer(STAGING_HOST, "198.18.2.0/24, label spark-staging", RESTRICTED,
               "DRY_RUN (the attachment's enforcement_override; the policy's is ENFORCE)",
               tls_destination("evil.example.org"), tls_probe(STAGING_HOST, "evil.example.org"),
               "DRY_RUN_DENIAL domain_not_allowed", none_of_3("evil.example.org"))),
    "dry_run_policy_without_override": (
        [GOLDEN_POLICY, DEV_HOST, "evil.example.org"],
        answer(DEV_HOST, "198.18.4.0/24, label spark-dev", "restricted-dry (RESTRICTED)",
               "DRY_RUN (the policy's)", tls_destination("evil.example.org"),
               tls_probe(DEV_HOST, "evil.example.org"), "DRY_RUN_DENIAL domain_not_allowed",
               '"evil.example.org" matches none of the 1 allowed domains of policy restricted-dry')),
    "allowed_network_on_its_port": (
        [GOLDEN_POLICY, PROD_HOST, DB, "--port", "5432"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{DB}, TCP port 5432",
               f"TCP SYN {PROD_HOST}:{PROBE_PORT} -> {DB}:5432", "ALLOW allowed_network",
               f'{DB} TCP port 5432 is allowed by allowed_networks[0] 198.19.0.0/24 TCP port 5432 '
               '"metastore" of policy restricted')),
    "allowed_network_on_another_port": (
        [GOLDEN_POLICY, PROD_HOST, DB, "--port", "22"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{DB}, TCP port 22",
               f"TCP SYN {PROD_HOST}:{PROBE_PORT} -> {DB}:22",
               "DROP ip_not_allowed (the client gets a TCP reset)",
               f'{DB} is in allowed_networks[0] 198.19.0.0/24 TCP port 5432 "metastore" of policy '
               "restricted, but not for TCP port 22")),
    "allowed_network_port_over_udp": (
        [GOLDEN_POLICY, PROD_HOST, DB, "--port", "5432", "--protocol", "udp"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{DB}, UDP port 5432",
               f"UDP datagram {PROD_HOST}:{PROBE_PORT} -> {DB}:5432",
               "DROP ip_not_allowed (the client gets an ICMP administratively-prohibited error)",
               f'{DB} is in allowed_networks[0] 198.19.0.0/24 TCP port 5432 "metastore" of policy '
               "restricted, but not for UDP port 5432")),
    "address_outside_every_network": (
        [GOLDEN_POLICY, PROD_HOST, OTHER_DB, "--port", "5432"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{OTHER_DB}, TCP port 5432",
               f"TCP SYN {PROD_HOST}:{PROBE_PORT} -> {OTHER_DB}:5432",
               "DROP ip_not_allowed (the client gets a TCP reset)",
               f"no allowed network of policy restricted holds {OTHER_DB}")),
    "dns_to_a_listed_resolver": (
        [GOLDEN_POLICY, PROD_HOST, RESOLVER, "--port", "53", "--protocol", "udp"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{RESOLVER}, UDP port 53",
               f"UDP datagram {PROD_HOST}:{PROBE_PORT} -> {RESOLVER}:53", "ALLOW allowed_dns_resolver",
               f"{RESOLVER} is a DNS resolver policy restricted lists")),
    "dns_over_tcp_to_a_listed_resolver": (
        [GOLDEN_POLICY, PROD_HOST, RESOLVER, "--port", "53"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{RESOLVER}, TCP port 53",
               f"TCP SYN {PROD_HOST}:{PROBE_PORT} -> {RESOLVER}:53", "ALLOW allowed_dns_resolver",
               f"{RESOLVER} is a DNS resolver policy restricted lists")),
    "dns_to_another_resolver": (
        [GOLDEN_POLICY, PROD_HOST, OTHER_RESOLVER, "--port", "53", "--protocol", "udp"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{OTHER_RESOLVER}, UDP port 53",
               f"UDP datagram {PROD_HOST}:{PROBE_PORT} -> {OTHER_RESOLVER}:53",
               "DROP dns_resolver_not_allowed (the client gets an ICMP administratively-prohibited error)",
               f"{OTHER_RESOLVER} is not a DNS resolver of policy restricted (it lists {RESOLVER})")),
    "address_on_a_tls_port_waits_for_its_name": (
        [GOLDEN_POLICY, PROD_HOST, TLS_SERVER],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{TLS_SERVER}, TCP port 443",
               f"TCP SYN {PROD_HOST}:{PROBE_PORT} -> {TLS_SERVER}:443", "PENDING (judged on the first payload)",
               f"no allowed network of policy restricted holds {TLS_SERVER}, and 443 is a TLS port: the "
               "dataplane waits for the ClientHello and judges its SNI (ask again with the host name)")),
    "icmp_is_judged_by_address": (
        [GOLDEN_POLICY, PROD_HOST, DB, "--protocol", "icmp"],
        answer(PROD_HOST, PROD_ATTACHMENT, RESTRICTED, POLICYS_OWN, f"{DB}, ICMP",
               f"ICMP echo request {PROD_HOST} -> {DB}", "DROP ip_not_allowed",
               f'{DB} is in allowed_networks[0] 198.19.0.0/24 TCP port 5432 "metastore" of policy '
               "restricted, but not for ICMP")),
    "ipv6_source_attachment": (
        [GOLDEN_POLICY, V6_HOST, V6_SERVER, "--port", "8443"],
        answer(V6_HOST, "2001:db8:1::/48, label spark-prod-v6", RESTRICTED, POLICYS_OWN,
               f"{V6_SERVER}, TCP port 8443", f"TCP SYN [{V6_HOST}]:{PROBE_PORT} -> [{V6_SERVER}]:8443",
               "DROP ip_not_allowed (the client gets a TCP reset)",
               f"no allowed network of policy restricted holds {V6_SERVER}")),
    "demo_staging_is_dry_run": (
        [DEMO_POLICY, "198.18.2.20", "example.com"],
        answer("198.18.2.20", "198.18.2.0/24, label spark-staging", "spark-egress (RESTRICTED)",
               "DRY_RUN (the attachment's enforcement_override; the policy's is ENFORCE)",
               tls_destination("example.com"), tls_probe("198.18.2.20", "example.com"),
               "DRY_RUN_DENIAL domain_not_allowed",
               '"example.com" matches none of the 3 allowed domains of policy spark-egress')),
    "demo_metastore_network": (
        [DEMO_POLICY, "198.18.1.20", "198.19.0.9", "--port", "5432"],
        answer("198.18.1.20", PROD_ATTACHMENT, "spark-egress (RESTRICTED)", POLICYS_OWN,
               "198.19.0.9, TCP port 5432", f"TCP SYN 198.18.1.20:{PROBE_PORT} -> 198.19.0.9:5432",
               "ALLOW allowed_network",
               "198.19.0.9 TCP port 5432 is allowed by allowed_networks[0] 198.19.0.0/24 TCP port 5432 "
               '"Hive metastore (PostgreSQL)" of policy spark-egress')),
    "demo_unattached_source": (
        [DEMO_POLICY, "198.18.3.7", "pypi.org"],
        answer("198.18.3.7", "none covers 198.18.3.7: the default policy, label unattached",
               "baseline (RESTRICTED)", POLICYS_OWN, tls_destination("pypi.org"),
               tls_probe("198.18.3.7", "pypi.org"), "ALLOW allowed_domain",
               '"pypi.org" matches allowed_domains[0] "pypi.org" of policy baseline')),
}


@pytest.fixture(scope="module")
def explained():
    return run_many([["explain", *args] for args, _ in EXPLAIN_CASES.values()])


@pytest.mark.parametrize("name", list(EXPLAIN_CASES))
def test_explain(explained, name):
    args, expected = EXPLAIN_CASES[name]
    result = explained[tuple(map(str, ["explain", *args]))]
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout == expected


def parse_json_answer(result):
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.count("\n") == 1, "one JSON object, one line"
    return json.loads(result.stdout)


def explain_json(*args):
    return parse_json_answer(run_sluicectl("explain", *args, "--json"))


def test_explain_json_for_a_matched_pattern():
    assert explain_json(GOLDEN_POLICY, STAGING_HOST, "api.github.com") == {
        "policy_file": str(GOLDEN_POLICY), "source": STAGING_HOST, "destination": "api.github.com",
        "destination_kind": "name", "protocol": "TCP", "dst_port": 443, "dst_ip": STAND_IN,
        "inspection": "TLS",
        "attachment": {"source_cidr": "198.18.2.0/24", "source_label": "spark-staging", "default": False},
        "policy": {"name": "restricted", "access_mode": "RESTRICTED", "enforcement": "ENFORCE"},
        "enforcement": "DRY_RUN", "enforcement_overridden": True,
        "verdict": "ALLOW", "reason": "allowed_domain", "destination_type": "SNI",
        "judged_name": "api.github.com",
        "matched_domain": {"index": 2, "pattern": ".github.com"}, "matched_network": None,
        "covering_networks": [], "dns_resolvers": [RESOLVER], "tcp_reset": False, "icmp_unreachable": False,
        "because": '"api.github.com" matches allowed_domains[2] ".github.com" of policy restricted'}


def test_explain_json_for_an_address_on_another_port():
    metastore = {"index": 0, "cidr": "198.19.0.0/24", "protocol": "TCP", "ports": ["5432"],
                 "description": "metastore"}
    assert explain_json(GOLDEN_POLICY, UNATTACHED_HOST, DB, "--port", "22") == {
        "policy_file": str(GOLDEN_POLICY), "source": UNATTACHED_HOST, "destination": DB,
        "destination_kind": "ip", "protocol": "TCP", "dst_port": 22, "dst_ip": DB, "inspection": "NONE",
        "attachment": {"source_cidr": "default", "source_label": "unattached", "default": True},
        "policy": {"name": "baseline", "access_mode": "RESTRICTED", "enforcement": "ENFORCE"},
        "enforcement": "ENFORCE", "enforcement_overridden": False,
        "verdict": "DROP", "reason": "ip_not_allowed", "destination_type": "IP", "judged_name": None,
        "matched_domain": None, "matched_network": None, "covering_networks": [],
        "dns_resolvers": [RESOLVER], "tcp_reset": True, "icmp_unreachable": False,
        "because": f"no allowed network of policy baseline holds {DB}"}
    # The same address from spark-prod: the rule that covers it, and the one that allows it.
    prod = explain_json(GOLDEN_POLICY, PROD_HOST, DB, "--port", "5432")
    assert (prod["verdict"], prod["reason"]) == ("ALLOW", "allowed_network")
    assert prod["matched_network"] == metastore
    assert prod["covering_networks"] == [metastore]


def test_explain_json_pending_has_no_reason():
    pending = explain_json(GOLDEN_POLICY, PROD_HOST, TLS_SERVER)
    assert (pending["verdict"], pending["reason"], pending["destination_type"]) == ("PENDING", None, "SNI")


# --- explain agrees with the dataplane ---------------------------------------------------------

def _agreement_flows():
    """(explain arguments, the packets a real client sends for that question)."""
    flows, sport = [], 45001

    def tls(client, name, port=443):
        nonlocal sport
        f = frames.TcpFlow(client, sport, TLS_SERVER, port)
        sport += 1
        flows.append(([client, name, "--port", str(port)],
                      [f.syn(), f.syn_ack(), f.ack(), f.data(client_hello(name))]))

    def http(client, name):
        nonlocal sport
        f = frames.TcpFlow(client, sport, "198.19.20.1", 80)
        sport += 1
        flows.append(([client, name, "--port", "80"],
                      [f.syn(), f.syn_ack(), f.ack(), f.data(frames.http_get(name))]))

    def syn(client, server, port):
        nonlocal sport
        f = frames.TcpFlow(client, sport, server, port)
        sport += 1
        flows.append(([client, server, "--port", str(port)], [f.syn()]))

    def dns(client, resolver):
        nonlocal sport
        flows.append(([client, resolver, "--port", "53", "--protocol", "udp"],
                      [frames.dns_query(client, sport, resolver, "pypi.org")]))
        sport += 1

    # Every reason explain can give, every kind of attachment; each question is a process.
    for name in ("pypi.org", "www.pypi.org", "a.blob.core.windows.net", "blob.core.windows.net",
                 "github.com", "api.github.com"):
        tls(PROD_HOST, name)
    http(PROD_HOST, "github.com")
    syn(PROD_HOST, DB, 5432)
    syn(PROD_HOST, DB, 22)
    syn(PROD_HOST, OTHER_DB, 5432)
    syn(PROD_HOST, TLS_SERVER, 443)
    dns(PROD_HOST, RESOLVER)
    dns(PROD_HOST, OTHER_RESOLVER)
    tls(STAGING_HOST, "evil.example.org")
    tls(STAGING_HOST, "pypi.org")
    tls(DEV_HOST, "evil.example.org")
    tls(BASTION_HOST, "evil.example.org")
    syn(BASTION_HOST, DB, 22)
    tls(UNATTACHED_HOST, "pypi.org")
    tls(UNATTACHED_HOST, "github.com")
    dns(UNATTACHED_HOST, OTHER_RESOLVER)
    return flows


def test_explain_agrees_with_replay_of_the_same_flows(tmp_path):
    flows = _agreement_flows()
    # explain answers for a client that resolved its name to the server it asks about: the
    # replay's servers are bound the same way (docs/POLICY.md, "The name must match the destination").
    run = run_replay(tmp_path, GOLDEN_POLICY, [p for _, packets in flows for p in packets],
                     learned=bindings_for(GOLDEN_POLICY, BOUND_SERVERS))
    assert run.returncode == 0, run.describe()
    assert len(run.flows) == len(flows), run.flows
    by_flow = {(f["src_ip"], f["src_port"]): f for f in run.flows}
    questions = [["explain", GOLDEN_POLICY, *args, "--json"] for args, _ in flows]
    answers = run_many(questions)
    mismatches = []
    for question, (args, packets) in zip(questions, flows):
        line = by_flow[(args[0], packets[0].sport)]
        said = parse_json_answer(answers[tuple(map(str, question))])
        dataplane = (line["policy"], line["source_label"], line["verdict"],
                     None if line["verdict"] == "PENDING" else line["reason"])
        explained = (said["policy"]["name"], said["attachment"]["source_label"], said["verdict"],
                     said["reason"])
        if dataplane != explained:
            mismatches.append(f"{' '.join(args)}: replay {dataplane}, explain {explained}")
    assert not mismatches, "\n".join(mismatches)


# --- compile -----------------------------------------------------------------------------------

# Per policy: access, enforcement, domain patterns, networks, resolvers (from the policy files).
GOLDEN_FIGURES = {
    "restricted": ("RESTRICTED", "ENFORCE", 3, 1, 1),
    "restricted-dry": ("RESTRICTED", "DRY_RUN", 1, 0, 1),
    "full-access": ("FULL", "ENFORCE", 0, 0, 0),
    "baseline": ("RESTRICTED", "ENFORCE", 1, 0, 1),
}
DEMO_FIGURES = {
    "spark-egress": ("RESTRICTED", "ENFORCE", 3, 1, 1),
    "baseline": ("RESTRICTED", "ENFORCE", 1, 0, 1),
}


@pytest.mark.parametrize("policy, figures, set_name, attachments, default", [
    (GOLDEN_POLICY, GOLDEN_FIGURES, "golden", 5, "baseline"),
    (DEMO_POLICY, DEMO_FIGURES, "demo", 2, "baseline"),
], ids=["golden", "demo"])
def test_compile_text(policy, figures, set_name, attachments, default):
    result = run_sluicectl("compile", policy)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    lines = result.stdout.splitlines()
    head = f"{policy}: policy set {set_name} compiled in "
    assert lines[0].startswith(head) and lines[0].endswith(" s"), lines[0]
    assert float(lines[0][len(head):-2]) >= 0
    assert lines[1].split() == ["policy", "access", "enforcement", "domains", "database_bytes", "networks",
                                "resolvers"]
    rows = [line.split() for line in lines[2:2 + len(figures)]]
    assert [row[0] for row in rows] == list(figures)
    total_bytes = 0
    for row in rows:
        access, enforcement, domains, networks, resolvers = figures[row[0]]
        assert row[1:4] == [access, enforcement, str(domains)], row
        assert row[5:] == [str(networks), str(resolvers)], row
        assert (int(row[4]) > 0) == (domains > 0), f"{row[0]}: database bytes {row[4]}"
        total_bytes += int(row[4])
    total = lines[2 + len(figures)].split()
    assert total == ["total", str(len(figures)), "policies",
                     str(sum(f[2] for f in figures.values())), str(total_bytes),
                     str(sum(f[3] for f in figures.values())), str(sum(f[4] for f in figures.values()))]
    assert lines[3 + len(figures):] == [
        f"attachments: {attachments}, default policy {default} (label unattached)",
        "tls ports: 443; http ports: 80; quic ports: 443"]


def test_compile_json():
    result = run_sluicectl("compile", GOLDEN_POLICY, "--json")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    report = json.loads(result.stdout)
    assert list(report) == ["policy_file", "set_name", "compile_seconds", "policies", "totals", "attachments",
                            "default_policy", "default_source_label", "tls_ports", "http_ports",
                            "quic_ports"]
    assert report["compile_seconds"] >= 0
    for row in report["policies"]:
        access, enforcement, domains, networks, resolvers = GOLDEN_FIGURES[row["name"]]
        assert (row["access_mode"], row["enforcement"], row["domain_patterns"], row["networks"],
                row["dns_resolvers"]) == (access, enforcement, domains, networks, resolvers)
        assert (row["database_bytes"] > 0) == (domains > 0), row
    assert [row["name"] for row in report["policies"]] == list(GOLDEN_FIGURES)
    assert report["totals"] == {
        "policies": 4, "domain_patterns": 5,
        "database_bytes": sum(row["database_bytes"] for row in report["policies"]),
        "networks": 1, "dns_resolvers": 3}
    assert (report["policy_file"], report["set_name"], report["attachments"], report["default_policy"],
            report["default_source_label"], report["tls_ports"], report["http_ports"], report["quic_ports"]) == (
        str(GOLDEN_POLICY), "golden", 5, "baseline", "unattached", [443], [80], [443])


# --- validate --json ---------------------------------------------------------------------------

BAD_POLICY = 'name: "bad"\npolicies { name: "x" access_mode: FULL enforcement: ENFORCE }\ndefault_policy: "nope"\n'


def test_validate_json_of_a_valid_policy():
    result = run_sluicectl("validate", DEMO_POLICY, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "policy_file": str(DEMO_POLICY), "valid": True, "set_name": "demo", "policies": 2,
        "attachments": 2, "default_policy": "baseline", "errors": []}


def test_validate_json_of_an_invalid_policy_lists_every_error(tmp_path):
    bad = tmp_path / "bad.textproto"
    bad.write_text(BAD_POLICY)
    result = run_sluicectl("validate", bad, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert (report["policy_file"], report["valid"]) == (str(bad), False)
    assert report["errors"] and all(e["file"] == str(bad) for e in report["errors"])
    assert any(e["field"] == "default_policy" for e in report["errors"]), report
    assert str(bad) in result.stderr  # errors still go to stderr


@pytest.mark.parametrize("command", [["compile"], ["explain", "<POLICY>", PROD_HOST, "pypi.org"]],
                         ids=["compile", "explain"])
def test_invalid_policy_is_refused_as_validate_refuses_it(tmp_path, command):
    bad = tmp_path / "bad.textproto"
    bad.write_text(BAD_POLICY)
    validated = run_sluicectl("validate", bad)
    args = [bad if a == "<POLICY>" else a for a in command]
    if command == ["compile"]:
        args.append(bad)
    result = run_sluicectl(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == validated.stderr


# --- help and bad arguments --------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_prints_its_usage(command, flag):
    result = run_sluicectl(command, flag)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"usage: sluicectl {command}")
    assert "exit codes:" in result.stdout
    assert run_sluicectl("help", command).stdout == result.stdout


def test_help_lists_every_command_and_exit_code():
    result = run_sluicectl("help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n  {command} " in result.stdout, command
    for command in COMMANDS[:-1]:
        assert f"{command}:" in result.stdout.split("exit codes:")[1], command


@pytest.mark.parametrize("args, message", [
    (["explain", GOLDEN_POLICY, "198.18.1", "pypi.org"], 'SRC_IP "198.18.1" is not an IPv4 or IPv6 address'),
    (["explain", GOLDEN_POLICY, PROD_HOST, "bad_host!"],
     'DEST "bad_host!" is neither an IP address nor a host name (invalid_byte)'),
    (["explain", GOLDEN_POLICY, PROD_HOST, "198.18.0.256"],
     'DEST "198.18.0.256" is not a valid IP address, and a number is not a host name'),
    (["explain", GOLDEN_POLICY, PROD_HOST, V6_SERVER], "are not of the same IP family"),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--port", "0"],
     '--port needs a number from 1 to 65535, not "0"'),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--port", "https"],
     '--port needs a number from 1 to 65535, not "https"'),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--port"], "explain: --port needs a value"),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--protocol", "sctp"],
     '--protocol must be tcp, udp or icmp, not "sctp"'),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--protocol", "icmp"],
     "a host name is only judged over TCP (TLS SNI or HTTP Host) or QUIC (UDP)"),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--protocol", "udp", "--port", "53"],
     "UDP port 53 is not a QUIC port of this policy set (quic_ports)"),
    (["explain", GOLDEN_POLICY, PROD_HOST, DB, "--protocol", "icmp", "--port", "7"],
     "ICMP has no ports: --port does not apply"),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--port", "22"],
     "TCP port 22 is neither a TLS nor an HTTP port of this policy set"),
    (["explain", GOLDEN_POLICY, PROD_HOST], "explain takes POLICY SRC_IP DEST"),
    (["explain", GOLDEN_POLICY, PROD_HOST, "pypi.org", "--verbose"], 'explain: unknown argument "--verbose"'),
    (["compile"], "compile takes exactly one policy file"),
    (["compile", GOLDEN_POLICY, DEMO_POLICY], "compile takes exactly one policy file"),
    (["compile", GOLDEN_POLICY, "--yaml"], 'compile: unknown argument "--yaml"'),
    (["validate", GOLDEN_POLICY, "--yaml"], 'validate: unknown argument "--yaml"'),
    (["help", "frobnicate"], 'help: unknown command "frobnicate"'),
])
def test_bad_arguments_exit_2_with_the_reason_on_stderr(args, message):
    result = run_sluicectl(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_replay_json_summary_counts_the_demo(tmp_path):
    result = run_sluicectl("replay", "--policy", DEMO_POLICY, "--pcap", demo_capture(tmp_path),
                           "--outside-mac", frames.UPSTREAM_MAC, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert list(summary)[:3] == ["packets", "flows", "resets_sent"]
    assert summary["flows"] == {"allowed": 16, "denied": 6, "dry_run_denied": 4, "pending": 0}
    assert summary["packets"]["inside"]["in"] == 70
