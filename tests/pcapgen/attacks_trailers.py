"""Attacks on the bytes outside every layer the appliance reads, and their controls (part of the
corpus of tests/pcapgen/attacks.py, scored the same way by tests/golden/test_attacks.py).

An Ethernet frame may carry bytes after its IP packet (after the IPv4 total length, after the
IPv6 header and payload length): padding of a short frame, or a trailer of any length. No layer
reads them, so a hostile workload fills them with data on flows that pass: allowed ones, DRY_RUN
denials, DNS to the allowed resolver, fragments, ICMP, ND/MLD on the link. The appliance cuts
every frame it forwards to its L2 header and L3 packet: each trailer case is stopped when the
frame comes out without its trailer (`forwarded`: the frames as they must leave, proving the
case was trimmed, not dropped). An IPv4 packet whose header checksum is wrong never reaches the
server (the next router drops it), so it is dropped unjudged: a decoy with such a header cannot
be judged in place of the request that follows it.
"""

from scapy.layers.inet import ICMP, IP, TCP, IPOption
from scapy.layers.inet6 import HBHOptUnknown, ICMPv6MLDMultAddrRec, ICMPv6MLReport2, ICMPv6ND_NS, \
    ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, RouterAlert

from pcapgen import frames
from pcapgen.attacks import (ATTACKER, ATTACKER_V6, CLIENT, CLIENT_V6, HTTP_SERVER, LINK_LOCAL, MLDV2_ROUTERS, RESOLVER,
                             RESOLVER_V6, ROUTER_LINK_LOCAL, SOLICITED_NODE, TLS_SERVER, V6_MAC, Attack, Control,
                             _ether, _tcp_decoy, marker)
from pcapgen.tls import client_hello

DRY_RUN_CLIENT = "198.18.3.10"  # attachment "prod-dry-run" of attacks.textproto: denials pass


def _trailed(packets, m):
    """`packets` with the marker twice after each IP packet: (frames sent, frames that must leave)."""
    clean = [bytes(p) for p in packets]
    return [c + m * 2 for c in clean], clean


def _trailer_case(name, packets, note):
    m = marker(name)
    sent, clean = _trailed(packets, m)
    return Attack(name, sent, "", m, note, forwarded=clean)


def _bad_ip_checksum(pkt):
    pkt = pkt.copy()
    pkt[IP].chksum = pkt[IP].chksum ^ 0x5a5a
    return frames.finish(pkt)


def attacks():
    cases = []
    tls = frames.TcpFlow(CLIENT, 45040, TLS_SERVER, 443)
    cases.append(_trailer_case("trailer_allowed_tls", [
        tls.syn(), tls.ack(), tls.data(client_hello("pypi.org")),
        tls.data(b"\x17\x03\x03\x00\x05hello")], "an allowed HTTPS connection, a trailer on every frame"))
    http = frames.TcpFlow(CLIENT, 45041, HTTP_SERVER, 80)
    cases.append(_trailer_case("trailer_allowed_http", [
        http.syn(), http.ack(), http.data(frames.http_get("pypi.org"))], "an allowed HTTP request"))
    cases.append(_trailer_case("trailer_dns_query", [
        frames.dns_query(CLIENT, 45042, RESOLVER, "pypi.org", query_id=0x4542)], "an allowed DNS query"))
    cases.append(_trailer_case("trailer_dns_query_v6", [
        frames.dns_query(CLIENT_V6, 45043, RESOLVER_V6, "pypi.org", query_id=0x4543)],
        "an allowed DNS query over IPv6 (the payload length governs)"))
    cases.append(_trailer_case("trailer_dry_run_udp", [
        frames.udp_packet(DRY_RUN_CLIENT, 45044, ATTACKER, 9999, b"nothing in here")],
        "a DRY_RUN denial is forwarded: its trailer is not"))
    cases.append(_trailer_case("trailer_dry_run_fragments", frames.ipv4_fragments(
        DRY_RUN_CLIENT, 45045, ATTACKER, 9999, b"f" * 64, 32, fragment_id=0x4545),
        "both IPv4 fragments of a forwarded datagram, the later one without an L4 header"))
    cases.append(_trailer_case("trailer_dry_run_icmp", [frames.finish(
        frames.l2(frames.host_mac(DRY_RUN_CLIENT), frames.GATEWAY_MAC)
        / IP(src=DRY_RUN_CLIENT, dst=ATTACKER, id=0x4546) / ICMP(type=8, id=0x4546, seq=1) / b"ping")],
        "an ICMP echo of a DRY_RUN source"))
    cases.append(_trailer_case("trailer_nd_solicitation", [frames.finish(
        _ether(V6_MAC, "33:33:ff:00:00:01") / IPv6(src=LINK_LOCAL, dst=SOLICITED_NODE, hlim=255)
        / ICMPv6ND_NS(tgt=ROUTER_LINK_LOCAL) / ICMPv6NDOptSrcLLAddr(lladdr=V6_MAC))],
        "a well-formed ND solicitation on the link, passed without a flow"))
    cases.append(_trailer_case("trailer_mld_report", [frames.finish(
        _ether(V6_MAC, "33:33:00:00:00:16") / IPv6(src=LINK_LOCAL, dst=MLDV2_ROUTERS, hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=SOLICITED_NODE)]))],
        "a well-formed MLDv2 report"))
    # The minimum-frame padding of a short packet (42 bytes of ICMP echo: 18 bytes to 60).
    m = marker("pad_icmp_dry_run")
    echo = frames.finish(frames.l2(frames.host_mac(DRY_RUN_CLIENT), frames.GATEWAY_MAC)
                         / IP(src=DRY_RUN_CLIENT, dst=ATTACKER, id=0x4547) / ICMP(type=8, id=0x4547, seq=1))
    pad = m[:60 - len(bytes(echo))]
    cases.append(Attack("pad_icmp_dry_run", [bytes(echo) + pad], "", pad,
                        "the marker in the padding a NIC would add", forwarded=[bytes(echo)]))

    bad = _tcp_decoy("decoy_bad_ip_checksum", 45048, _bad_ip_checksum)
    bad.reason = "ipv4_header_checksum_bad"
    cases.append(bad)
    m = marker("ip_checksum_bad_on_allowed_flow")
    flow = frames.TcpFlow(CLIENT, 45049, HTTP_SERVER, 80)
    cases.append(Attack("ip_checksum_bad_on_allowed_flow", [
        flow.syn(), flow.ack(), flow.data(frames.http_get("pypi.org")),
        _bad_ip_checksum(flow.data(frames.http_get("pypi.org", "/" + m.decode())))],
        "ipv4_header_checksum_bad", m, "a later request no router would carry: dropped on an allowed flow too"))
    cases += _ip_option_cases()
    return cases


def _with_ipv4_option(pkt, m):
    """`pkt` (a finished IPv4 frame) with an unknown, copied IPv4 option holding `m`."""
    pkt = pkt.copy()
    pkt[IP].options = [IPOption(bytes([0x9e, 2 + len(m)]) + m)]
    del pkt[IP].ihl, pkt[IP].len, pkt[IP].chksum
    return frames.finish(pkt)


def _ip_option_cases():
    """A SYN to any address on a TLS port passes before its verdict (the name is read after it):
    IPv4 options or IPv6 extension headers on it would carry bytes to the attacker's server."""
    cases = []
    m = marker("ipv4_options_on_syn")
    flow = frames.TcpFlow(CLIENT, 45050, ATTACKER, 443)
    cases.append(Attack("ipv4_options_on_syn", [_with_ipv4_option(flow.syn(), m)], "ip_options_before_verdict", m,
                        "the marker in an IPv4 option of a SYN to the attacker's address"))
    m = marker("ipv6_destination_options_on_syn")
    syn = frames.TcpFlow(CLIENT_V6, 45051, ATTACKER_V6, 443).syn()
    tcp = syn[TCP].copy()
    del tcp.chksum
    packet = (_ether(syn.src, syn.dst) / IPv6(src=CLIENT_V6, dst=ATTACKER_V6, hlim=64)
              / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x1e, optdata=m)]) / tcp)
    cases.append(Attack("ipv6_destination_options_on_syn", [frames.finish(packet)], "ip_options_before_verdict", m,
                        "the marker in a destination option of a SYN to the attacker's IPv6 address"))
    m = marker("ipv4_options_on_hello")
    flow = frames.TcpFlow(CLIENT, 45052, ATTACKER, 443)
    cases.append(Attack("ipv4_options_on_hello", [
        flow.syn(), flow.ack(), _with_ipv4_option(flow.data(client_hello("pypi.org") + m), m)],
        "ip_options_before_verdict", m,
        "an allowed name's hello to the attacker's address, an IPv4 option carrying the marker"))
    return cases


def controls():
    # A short frame from a NIC, padded with zeros to the 60-byte minimum: it leaves as its IP
    # packet (the sending NIC pads it again), and the flow is unharmed.
    padded_flow = frames.TcpFlow(CLIENT, 45050, HTTP_SERVER, 80)
    syn, ack = padded_flow.syn(), padded_flow.ack()
    request = padded_flow.data(frames.http_get("pypi.org"))
    padded_ack = bytes(ack) + b"\x00" * (60 - len(bytes(ack)))
    return [
        Control("nic_padded_short_frame", [syn, padded_ack, request],
                "zero padding to the 60-byte minimum is cut like any trailer",
                extra={"expected": [bytes(syn), bytes(ack), bytes(request)]}),
    ]
