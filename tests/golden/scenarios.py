"""The golden scenarios: flows and the outcome tests/golden/policies/golden.textproto must give
them, written down from the policy contract (docs/POLICY.md, "The contract").

INSIDE_CASES all go through one sluiced run (inside port only, outside rx empty), one flow after
another, so flow ids are 1, 2, 3... in list order. Each test case asserts its own flow's packets
and record; test_inside_port_totals asserts nothing else came out.
"""

import itertools

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP

from pcapgen import frames
from pcapgen.cases import (Case, Source, dns_case, tcp_payload_case, tcp_syn_case,
                           udp_case)
from pcapgen.tls import client_hello

APPLIANCE = "golden-appliance"

PROD = Source("restricted", "spark-prod", enforce=True)
STAGING = Source("restricted", "spark-staging", enforce=False)      # enforcement_override
DEV = Source("restricted-dry", "spark-dev", enforce=False)          # DRY_RUN policy
BASTION = Source("full-access", "ops-bastion", enforce=True)        # longest prefix
UNATTACHED = Source("baseline", "unattached", enforce=True)         # default policy
PROD_V6 = Source("restricted", "spark-prod-v6", enforce=True)

PROD_HOST = "198.18.1.10"
STAGING_HOST = "198.18.2.10"
DEV_HOST = "198.18.4.10"
BASTION_HOST = "198.18.1.250"
UNATTACHED_HOST = "198.18.3.10"
V6_HOST = "2001:db8:1::10"
V6_SERVER = "2001:db8:ff::443"
TLS_SERVER = "198.19.10.1"
HTTP_SERVER = "198.19.20.1"
RESOLVER, OTHER_RESOLVER = "198.19.255.53", "198.19.254.53"
DB, OTHER_DB = "198.19.0.5", "198.19.1.5"
UNBOUND_SERVER = "198.19.10.99"  # no DNS answer ever gave this address
# The servers the clients resolved before the run: bound for every policy through sluiced's
# learned-address state file (conftest.bindings_for), as answers the appliance saw would bind them.
BOUND_SERVERS = (TLS_SERVER, HTTP_SERVER, V6_SERVER)
VLAN = 100
QINQ = (200, 300)  # 802.1ad outer tag, 802.1Q inner tag

_ports = itertools.count(41001)


def tls(name, sni_for_hello, reason, destination, *, source=PROD, client=PROD_HOST,
        hello=None, segments=None, server=TLS_SERVER, vlan=None, dtype="SNI", note=""):
    """A flow to port 443; `destination` is the expected record/flow-log destination."""
    payloads = segments or [hello if hello is not None else client_hello(sni_for_hello)]
    return tcp_payload_case(name, source, client, next(_ports), server, 443, payloads, reason,
                            dtype, destination, vlan=vlan, note=note)


def http(name, request, reason, destination, *, source=PROD, client=PROD_HOST, segments=None,
         server=HTTP_SERVER, note=""):
    return tcp_payload_case(name, source, client, next(_ports), server, 80,
                            segments or [request], reason, "HTTP_HOST", destination, note=note)


def _big_hello():
    return client_hello("pypi.org", pad_to=1800)


def _arp_case():
    request = frames.arp_request(PROD_HOST, "198.18.1.1")
    case = Case("arp_request_passes", [request], [request], [], note="ARP passes: sluice_infrastructure_packets_total")
    case.extra["match"] = lambda pkt: ARP in pkt
    return case


def _fragment_case():
    """A UDP datagram in two IPv4 fragments from a full-access host: the first (with the UDP
    header) is judged, the second follows its verdict. (Not DNS: a fragmented query to a
    resolver is denied dns_query_malformed, since its name would be judged on one piece.)"""
    sport = next(_ports)
    frags = frames.ipv4_fragments(BASTION_HOST, sport, HTTP_SERVER, 9000, bytes(64), 32)
    case = udp_case("ip_fragments_follow_first", BASTION, frags, "allowed_full_access", "IP",
                    HTTP_SERVER, note="first fragment judged, the second follows it")
    case.extra["match"] = lambda pkt: IP in pkt and pkt[IP].id == 0x4242
    return case


def _orphan_fragment_case():
    """A later fragment whose first fragment never came: dropped, no flow, no record."""
    frags = frames.ipv4_fragments(PROD_HOST, next(_ports), RESOLVER, 53, bytes(64), 32,
                                  fragment_id=0x4343)
    case = Case("ip_fragment_without_first_dropped", frags[1:], [], [],
                note="fragment_without_first, no record")
    case.extra["match"] = lambda pkt: IP in pkt and pkt[IP].id == 0x4343
    return case


def _build():
    fragmented_hello = _big_hello()
    cases = [
        # --- TLS: SNI against allowed domains -------------------------------------------
        ("tls", tls("tls_allowed", "pypi.org", "allowed_domain", "pypi.org")),
        ("tls", tls("tls_denied_enforce", "evil.example.org", "domain_not_allowed",
                    "evil.example.org")),
        ("tls", tls("tls_denied_dry_run_override", "evil.example.org", "domain_not_allowed",
                    "evil.example.org", source=STAGING, client=STAGING_HOST)),
        ("tls", tls("tls_denied_dry_run_policy", "evil.example.org", "domain_not_allowed",
                    "evil.example.org", source=DEV, client=DEV_HOST)),
        ("tls", tls("tls_upper_case_sni_allowed", "PyPI.ORG", "allowed_domain", "pypi.org")),
        ("tls", tls("tls_trailing_dot_sni_allowed", "pypi.org.", "allowed_domain", "pypi.org")),
        ("tls", tls("tls_upper_case_trailing_dot_denied_normalised", "Evil.Example.ORG.",
                    "domain_not_allowed", "evil.example.org")),
        ("tls", tls("tls_exact_does_not_cover_subdomain", "www.pypi.org", "domain_not_allowed",
                    "www.pypi.org")),
        ("tls", tls("tls_star_below_allowed", "acct.blob.core.windows.net", "allowed_domain",
                    "acct.blob.core.windows.net", dtype="STORAGE")),  # a storage account's name
        ("tls", tls("tls_star_two_below_allowed", "a.b.blob.core.windows.net", "allowed_domain",
                    "a.b.blob.core.windows.net")),
        ("tls", tls("tls_star_apex_denied", "blob.core.windows.net", "domain_not_allowed",
                    "blob.core.windows.net")),
        ("tls", tls("tls_dot_apex_allowed", "github.com", "allowed_domain", "github.com")),
        ("tls", tls("tls_dot_below_allowed", "api.github.com", "allowed_domain",
                    "api.github.com")),
        ("tls", tls("tls_dot_label_boundary_denied", "notgithub.com", "domain_not_allowed",
                    "notgithub.com")),
        # --- TLS: ClientHellos the appliance refuses to judge by name ------------------
        # `destination` when no single valid name was judged (docs/RECORDS.md): the name as
        # read (the outer SNI of an ECH hello, the first of two, raw invalid bytes), else the
        # destination address.
        ("tls", tls("tls_no_sni", None, "tls_no_sni", TLS_SERVER, hello=client_hello(None))),
        ("tls", tls("tls_ech_with_allowed_outer_sni", None, "tls_ech", "pypi.org",
                    hello=client_hello("pypi.org", ech=True))),
        ("tls", tls("tls_two_sni_entries", None, "tls_multiple_sni", "pypi.org",
                    hello=client_hello(sni_names=["pypi.org", "github.com"]))),
        ("tls", tls("tls_invalid_sni_bytes", None, "tls_invalid_sni", "pypi .org",
                    hello=client_hello(b"pypi .org"))),
        ("tls", tls("tls_not_tls_on_443", None, "tls_not_client_hello", TLS_SERVER,
                    hello=frames.http_get("pypi.org"))),
        ("tls", tls("tls_client_hello_in_two_segments", None, "allowed_domain", "pypi.org",
                    segments=[fragmented_hello[:1000], fragmented_hello[1000:]])),
        # --- TLS: the name must match the destination (docs/POLICY.md) ---------------------
        ("tls", tls("tls_allowed_name_unbound_address_denied", "pypi.org", "name_address_mismatch",
                    "pypi.org", server=UNBOUND_SERVER,
                    note="allowed SNI to an address no DNS answer bound: name_address_mismatch")),
        ("tls", tls("tls_allowed_name_unbound_address_dry_run", "pypi.org",
                    "name_address_mismatch", "pypi.org", source=STAGING, client=STAGING_HOST,
                    server=UNBOUND_SERVER)),
        ("tls", tls("tls_denied_name_unbound_address_keeps_its_reason", "evil.example.org",
                    "domain_not_allowed", "evil.example.org", server=UNBOUND_SERVER)),
        # --- HTTP: Host against allowed domains ------------------------------------------
        ("http", http("http_allowed", frames.http_get("pypi.org"), "allowed_domain",
                      "pypi.org")),
        ("http", http("http_upper_case_host_allowed", frames.http_get("GitHub.COM"),
                      "allowed_domain", "github.com")),
        ("http", http("http_denied_enforce", frames.http_get("evil.example.org"),
                      "domain_not_allowed", "evil.example.org")),
        ("http", http("http_denied_dry_run", frames.http_get("evil.example.org"),
                      "domain_not_allowed", "evil.example.org", source=STAGING,
                      client=STAGING_HOST)),
        # As for TLS: without one valid Host read, `destination` is the server's address.
        ("http", http("http_missing_host", frames.http_get(None), "http_missing_host",
                      HTTP_SERVER)),
        ("http", http("http_duplicate_host",
                      frames.http_get("pypi.org", extra_headers=["Host: evil.example.org"]),
                      "http_duplicate_host", HTTP_SERVER)),
        ("http", http("http_not_request", client_hello("pypi.org"), "http_not_request",
                      HTTP_SERVER)),
        ("http", http("http_allowed_host_unbound_address_denied", frames.http_get("pypi.org"),
                      "name_address_mismatch", "pypi.org", server=UNBOUND_SERVER)),
        ("http", http("http_head_in_two_segments", None, "allowed_domain", "pypi.org",
                      segments=[b"GET / HTTP/1.1\r\nHost: pypi.org\r\nUser-Agent: sluice-golden/1\r\n",
                                b"Accept: */*\r\n\r\n"])),
        # --- source selection ----------------------------------------------------------
        ("source", tls("default_policy_allows_its_domain", "pypi.org", "allowed_domain",
                       "pypi.org", source=UNATTACHED, client=UNATTACHED_HOST)),
        ("source", tls("default_policy_denies_other_domain", "api.github.com",
                       "domain_not_allowed", "api.github.com", source=UNATTACHED,
                       client=UNATTACHED_HOST)),
        # FULL decides on the first packet, before any name: judged as an IP flow.
        ("source", tls("longest_prefix_full_access", "evil.example.org", "allowed_full_access",
                       TLS_SERVER, source=BASTION, client=BASTION_HOST, dtype="IP")),
        # --- IP rules and DNS ----------------------------------------------------------
        ("ip", tcp_syn_case("network_allowed_port", PROD, PROD_HOST, next(_ports), DB, 5432,
                            "allowed_network", payload=b"\x00\x00\x00\x08\x04\xd2\x16\x2f")),
        ("ip", tcp_syn_case("network_other_port_denied", PROD, PROD_HOST, next(_ports), DB,
                            5433, "ip_not_allowed")),
        ("ip", tcp_syn_case("network_other_ip_denied", PROD, PROD_HOST, next(_ports), OTHER_DB,
                            5432, "ip_not_allowed")),
        ("ip", tcp_syn_case("network_other_ip_dry_run", STAGING, STAGING_HOST, next(_ports),
                            OTHER_DB, 5432, "ip_not_allowed")),
        ("ip", udp_case("network_rule_is_tcp_only", PROD,
                        [frames.udp_packet(PROD_HOST, next(_ports), DB, 5432, b"ping")],
                        "ip_not_allowed", "IP")),
        ("ip", dns_case("dns_allowed_resolver", PROD, PROD_HOST, next(_ports), RESOLVER,
                        "pypi.org", "allowed_dns_resolver")),
        ("ip", dns_case("dns_other_resolver_denied", PROD, PROD_HOST, next(_ports),
                        OTHER_RESOLVER, "pypi.org", "dns_resolver_not_allowed")),
        ("ip", dns_case("dns_other_resolver_dry_run", STAGING, STAGING_HOST, next(_ports),
                        OTHER_RESOLVER, "pypi.org", "dns_resolver_not_allowed")),
        ("ip", tcp_syn_case("dns_over_tcp_other_resolver_denied", PROD, PROD_HOST,
                            next(_ports), OTHER_RESOLVER, 53, "dns_resolver_not_allowed", "DNS")),
        # --- IPv6 and 802.1Q -----------------------------------------------------------
        ("l2", tls("ipv6_tls_allowed", "pypi.org", "allowed_domain", "pypi.org",
                   source=PROD_V6, client=V6_HOST, server=V6_SERVER)),
        ("l2", tls("ipv6_tls_denied_enforce", "evil.example.org", "domain_not_allowed",
                   "evil.example.org", source=PROD_V6, client=V6_HOST, server=V6_SERVER)),
        ("l2", tls("vlan_tls_allowed", "pypi.org", "allowed_domain", "pypi.org", vlan=VLAN)),
        ("l2", tls("vlan_tls_denied_enforce", "evil.example.org", "domain_not_allowed",
                   "evil.example.org", vlan=VLAN)),
        ("l2", tls("qinq_tls_allowed", "pypi.org", "allowed_domain", "pypi.org", vlan=QINQ)),
        ("l2", tls("qinq_tls_denied_enforce", "evil.example.org", "domain_not_allowed",
                   "evil.example.org", vlan=QINQ)),
        # No flow: last, so they cannot shift the flow ids above.
        ("l2", _arp_case()),
        ("l2", _fragment_case()),
        ("l2", _orphan_fragment_case()),
    ]
    return cases


INSIDE_GROUPED = _build()
INSIDE_CASES = [case for _, case in INSIDE_GROUPED]


def cases_of(group):
    return [case for g, case in INSIDE_GROUPED if g == group]
