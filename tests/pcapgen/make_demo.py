#!/usr/bin/python3
"""Writes configs/demo/demo.pcap: what the appliance's INSIDE port receives in the demo.

    /usr/bin/python3 tests/pcapgen/make_demo.py            # writes configs/demo/demo.pcap
    /usr/bin/python3 tests/pcapgen/make_demo.py OUT.pcap   # writes elsewhere
    /usr/bin/python3 tests/pcapgen/make_demo.py --table    # the flow table of the README

Packets from inside hosts only (no server replies), one flow after another. The outcome of each
flow under configs/demo/policy.textproto is written next to it; tests/golden/test_demo.py checks
the appliance against these outcomes and that this script reproduces the committed file.

Name-address binding: an allowed name passes only to an address a DNS answer gave for it, so the
capture opens with the clients' queries to the policy's resolver for the names they then use,
and configs/demo/answers.pcap (the OUTSIDE port's input, also written here) holds the resolver's
answers to them, query for query (same id, ports and question). The worker reads a burst of up
to 32 packets from the inside port, then one from the outside port: the first 32 inside packets
hold the queries and flows that need no answer, so every answer is read before the first
ClientHello or request that needs it (checked by deciding_after_first_burst()).

    /usr/bin/python3 tests/pcapgen/make_demo.py            # also writes configs/demo/answers.pcap
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pcapgen import frames  # noqa: E402
from pcapgen.cases import (Source, dns_case, tcp_payload_case, tcp_syn_case)  # noqa: E402
from pcapgen.tls import client_hello  # noqa: E402

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUTPUT = os.path.join(SOURCE_ROOT, "configs", "demo", "demo.pcap")
ANSWERS_OUTPUT = os.path.join(SOURCE_ROOT, "configs", "demo", "answers.pcap")
BURST = 32  # packets a worker takes from one port before it polls the other

PROD = Source("spark-egress", "spark-prod", enforce=True)
STAGING = Source("spark-egress", "spark-staging", enforce=False)
UNATTACHED = Source("baseline", "unattached", enforce=True)

PROD_HOST, PROD_HOST_2 = "198.18.1.21", "198.18.1.22"
STAGING_HOST = "198.18.2.21"
UNATTACHED_HOST = "198.18.3.21"

# Where the names "are": any address works, the appliance judges the name.
SERVER = {
    "pypi.org": "198.19.10.1",
    "files.pythonhosted.org": "198.19.10.2",
    "myacct.blob.core.windows.net": "198.19.10.3",
    "blob.core.windows.net": "198.19.10.4",
    "api.github.com": "198.19.10.5",
    "github.com": "198.19.10.6",
    "downloads.example.net": "198.19.10.7",
}
RESOLVER, OTHER_RESOLVER = "198.19.255.53", "198.19.254.53"
METASTORE, SSH_HOST = "198.19.0.10", "198.19.7.7"


def tls(name, source, client, sport, sni, reason, note, dtype="SNI"):
    return tcp_payload_case(name, source, client, sport, SERVER[sni], 443, [client_hello(sni)],
                            reason, dtype, sni, note=note)


def http(name, source, client, sport, host, reason, note):
    return tcp_payload_case(name, source, client, sport, SERVER[host], 80, [frames.http_get(host)],
                            reason, "HTTP_HOST", host, note=note)


# (client, name): the queries the clients make before they connect; the answers bind the names'
# addresses for the clients' policy (spark-egress for prod and staging, baseline unattached).
# files.pythonhosted.org is not allowed: its answer teaches nothing (until a policy allows it).
RESOLVED = [(PROD_HOST, "pypi.org"), (PROD_HOST, "files.pythonhosted.org"),
            (PROD_HOST, "myacct.blob.core.windows.net"),
            (PROD_HOST_2, "api.github.com"), (PROD_HOST_2, "github.com"),
            (UNATTACHED_HOST, "pypi.org")]


def _query(i, client, name):
    return frames.dns_query(client, 50100 + i, RESOLVER, name, query_id=50100 + i)  # as dns_case


def resolution_cases():
    """One allowed DNS flow a name; the answer comes back out of the inside port."""
    cases = []
    for i, (client, name) in enumerate(RESOLVED):
        source = UNATTACHED if client == UNATTACHED_HOST else PROD
        case = dns_case(f"resolve-{name}-{client}", source, client, 50100 + i,
                        RESOLVER, name, "allowed_dns_resolver",
                        note=f"the client resolves {name} first: the answer binds {SERVER[name]}"
                        if name != "files.pythonhosted.org" else
                        "resolved too, but the policy does not allow the name: its answer teaches nothing")
        assert bytes(case.packets[0]) == bytes(_query(i, client, name))
        case.resets = [answers()[i]]  # what leaves the inside port: the resolver's answer
        cases.append(case)
    return cases


def answers():
    return [frames.dns_answer(_query(i, client, name), SERVER[name])
            for i, (client, name) in enumerate(RESOLVED)]


def build_cases():
    cases = _flows()
    needs_answer = [c for c in cases if c.flow["reason"] == "allowed_domain"]
    first = [c for c in cases if c not in needs_answer]
    return resolution_cases() + first + needs_answer


def deciding_after_first_burst(cases):
    """True when no flow that needs an answer (an allowed name) has its deciding packet (its
    third: SYN, ACK, the message) among the first BURST, and every query is among them."""
    seen = 0
    for case in cases:
        for i, _ in enumerate(case.packets):
            seen += 1
            if case.flow["reason"] == "allowed_domain" and i == 2 and seen <= BURST:
                return False
            if case.name.startswith("resolve-") and seen > BURST:
                return False
    return True


def _flows():
    return [
        tls("prod-tls-pypi", PROD, PROD_HOST, 50001, "pypi.org", "allowed_domain",
            "exact name on the list"),
        tls("prod-tls-pythonhosted", PROD, PROD_HOST, 50002, "files.pythonhosted.org",
            "domain_not_allowed", "not on the list: ClientHello dropped, RST to the client"),
        tls("prod-tls-blob", PROD, PROD_HOST, 50003, "myacct.blob.core.windows.net",
            "allowed_domain", "below *.blob.core.windows.net", dtype="STORAGE"),  # an account's name
        tls("prod-tls-blob-apex", PROD, PROD_HOST, 50004, "blob.core.windows.net",
            "domain_not_allowed", "*.x does not cover the apex x"),
        tls("prod-tls-github-api", PROD, PROD_HOST_2, 50005, "api.github.com", "allowed_domain",
            "below .github.com"),
        http("prod-http-github", PROD, PROD_HOST_2, 50006, "github.com", "allowed_domain",
             ".github.com covers the apex too"),
        http("prod-http-example", PROD, PROD_HOST_2, 50007, "downloads.example.net",
             "domain_not_allowed", "Host not on the list: request dropped, RST"),
        dns_case("prod-dns-resolver", PROD, PROD_HOST, 50008, RESOLVER, "pypi.org",
                 "allowed_dns_resolver", note="the policy's resolver"),
        dns_case("prod-dns-other", PROD, PROD_HOST, 50009, OTHER_RESOLVER, "pypi.org",
                 "dns_resolver_not_allowed", note="another resolver: query dropped"),
        tcp_syn_case("prod-postgres", PROD, PROD_HOST_2, 50010, METASTORE, 5432,
                     "allowed_network", "IP", note="allowed network 198.19.0.0/24 TCP 5432"),
        tcp_syn_case("prod-ssh", PROD, PROD_HOST_2, 50011, SSH_HOST, 22, "ip_not_allowed", "IP",
                     note="no rule: SYN dropped, RST; the retransmitted SYN dropped"),
        tls("staging-tls-pypi", STAGING, STAGING_HOST, 50012, "pypi.org", "allowed_domain",
            "allowed"),
        tls("staging-tls-pythonhosted", STAGING, STAGING_HOST, 50013, "files.pythonhosted.org",
            "domain_not_allowed", "DRY_RUN: passes, recorded"),
        http("staging-http-example", STAGING, STAGING_HOST, 50014, "downloads.example.net",
             "domain_not_allowed", "DRY_RUN: passes, recorded"),
        dns_case("staging-dns-other", STAGING, STAGING_HOST, 50015, OTHER_RESOLVER, "pypi.org",
                 "dns_resolver_not_allowed", note="DRY_RUN: passes, recorded"),
        tcp_syn_case("staging-ssh", STAGING, STAGING_HOST, 50016, SSH_HOST, 22, "ip_not_allowed",
                     "IP", note="DRY_RUN: passes, recorded"),
        tls("unattached-tls-pypi", UNATTACHED, UNATTACHED_HOST, 50017, "pypi.org",
            "allowed_domain", "default policy allows pypi.org"),
        tls("unattached-tls-github", UNATTACHED, UNATTACHED_HOST, 50018, "api.github.com",
            "domain_not_allowed", "default policy does not list github: dropped, RST"),
        http("unattached-http-pypi", UNATTACHED, UNATTACHED_HOST, 50019, "pypi.org",
             "allowed_domain", "default policy, HTTP"),
        dns_case("unattached-dns-resolver", UNATTACHED, UNATTACHED_HOST, 50020, RESOLVER,
                 "pypi.org", "allowed_dns_resolver", note="the default policy's resolver"),
    ]


def packets(cases):
    return [p for case in cases for p in case.packets]


def table(cases):
    lines = ["| # | flow | source | destination | verdict | reason | what happens |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, case in enumerate(cases, 1):
        f = case.flow
        dest = f"{f['dst_ip']}:{f['dst_port']}/{f['protocol']}"
        if f.get("destination_type") in ("SNI", "HTTP_HOST", "STORAGE"):
            dest = f"{f['destination_type']} {f['destination']} ({dest})"
        lines.append(f"| {i} | {case.name} | {f['src_ip']} ({f['source_label']}) | {dest} | "
                     f"{f['verdict']} | {f['reason']} | {case.note} |")
    return "\n".join(lines)


def main(argv):
    cases = build_cases()
    if argv[1:2] == ["--table"]:
        print(table(cases))
        return 0
    assert deciding_after_first_burst(cases), "a hello would be judged before its answer"
    output = argv[1] if len(argv) > 1 else DEFAULT_OUTPUT
    frames.write_pcap(output, packets(cases))
    print(f"{output}: {len(cases)} flows, {len(packets(cases))} packets")
    if len(argv) <= 1:
        frames.write_pcap(ANSWERS_OUTPUT, answers())
        print(f"{ANSWERS_OUTPUT}: {len(answers())} answers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
