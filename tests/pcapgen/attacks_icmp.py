"""ICMP errors both ways, and their controls (part of the corpus of tests/pcapgen/attacks.py,
scored the same way by tests/golden/test_attacks.py).

From the inside, an ICMP error is the exfiltrator's side: its quote is bytes the workload chooses.
It is judged like any packet to its destination (the policy's ICMP rules for that address), so
neither a quote full of data nor a forged quote naming an allowed flow takes it to an address the
policy does not open to ICMP. (An address learned for an allowed name whose rule has no ports is
open to ICMP, as POLICY.md says: bytes to it are bytes to an allowed destination.) From the outside, a router's error (fragmentation needed, time
exceeded) about a packet of an allowed flow reaches the client (path MTU discovery, traceroute),
and one quoting no flow of the inside host is dropped (icmp_error_no_flow). The outside frames
enter the outside port in replay (`--outside-mac`); sluiced's capture has them on its inside port,
where they are judged as packets of an outside address and dropped, so that control is replay only.
"""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6PacketTooBig, ICMPv6TimeExceeded, IPv6

from pcapgen import frames
from pcapgen.attacks import (ATTACKER, ATTACKER_V6, CLIENT, CLIENT_MAC, CLIENT_V6, TLS_SERVER, V6_MAC, Attack,
                             Control, _ether, marker)
from pcapgen.tls import client_hello

ROUTER = "198.19.200.1"   # a router beyond the appliance
TLS_SERVER_V6 = "2001:db8:ff::443"


def _frag_needed(src, dst, quoted, src_mac=CLIENT_MAC, dst_mac=frames.GATEWAY_MAC, mtu=1280):
    return frames.finish(_ether(src_mac, dst_mac) / IP(src=src, dst=dst, ttl=64)
                         / ICMP(type=3, code=4, nexthopmtu=mtu) / bytes(quoted)[:548])


def _ip_of(frame):
    """The IP packet of an Ethernet frame (what an error quotes)."""
    return bytes(frame)[14:]


def attacks():
    cases = []
    # A forged quote "about" the allowed HTTPS control's flow, sent to the attacker's address.
    m = marker("icmp_error_forged_quote")
    forged = IP(src=TLS_SERVER, dst=CLIENT) / UDP(sport=443, dport=45020) / (m * 8)
    cases.append(Attack("icmp_error_forged_quote", [_frag_needed(CLIENT, ATTACKER, forged)], "ip_not_allowed", m,
                        "an error to a denied address quoting an allowed flow: judged on its own destination"))
    m = marker("icmp_time_exceeded_quote_data")
    quote = IP(src=ATTACKER, dst=CLIENT) / UDP(sport=53, dport=40000) / (m * 8)
    cases.append(Attack("icmp_time_exceeded_quote_data", [frames.finish(
        _ether() / IP(src=CLIENT, dst=ATTACKER, ttl=64) / ICMP(type=11, code=0) / bytes(quote))],
        "flow_denied", m, "a quote that is nothing but data; the ICMP flow to the attacker is denied already"))
    m = marker("icmpv6_too_big_to_attacker")
    quote6 = IPv6(src=TLS_SERVER_V6, dst=CLIENT_V6) / UDP(sport=443, dport=45020) / (m * 8)
    cases.append(Attack("icmpv6_too_big_to_attacker", [frames.finish(
        _ether(V6_MAC) / IPv6(src=CLIENT_V6, dst=ATTACKER_V6, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / bytes(quote6))],
        "flow_denied", m, "ICMPv6 to the attacker: denied (ip_not_allowed) since nd_off_link, earlier in the corpus"))
    m = marker("icmpv6_time_exceeded_to_attacker")
    quote6 = IPv6(src=ATTACKER_V6, dst=CLIENT_V6) / UDP(sport=53, dport=45020) / (m * 8)
    cases.append(Attack("icmpv6_time_exceeded_to_attacker", [frames.finish(
        _ether(V6_MAC) / IPv6(src=CLIENT_V6, dst=ATTACKER_V6, hlim=64) / ICMPv6TimeExceeded() / bytes(quote6))],
        "flow_denied", m, "the same ICMPv6 flow as the case above"))
    # From outside: an error quoting a packet the client never sent (no flow has its tuple).
    m = marker("icmp_error_quoting_no_flow")
    unsent = IP(src=CLIENT, dst=TLS_SERVER) / UDP(sport=45031, dport=443) / (m * 8)
    cases.append(Attack("icmp_error_quoting_no_flow", [_frag_needed(ROUTER, CLIENT, unsent, frames.UPSTREAM_MAC,
                                                                    CLIENT_MAC)],
                        "icmp_error_no_flow", m,
                        "inbound: replay drops it icmp_error_no_flow; sluiced (inside port) ip_not_allowed"))
    return cases


def controls():
    flow = frames.TcpFlow(CLIENT, 45030, TLS_SERVER, 443)
    packets = [flow.syn(), flow.ack()]
    hello = flow.data(client_hello("pypi.org"))
    packets.append(hello)
    error = _frag_needed(ROUTER, CLIENT, _ip_of(hello), frames.UPSTREAM_MAC, CLIENT_MAC)
    return [
        Control("icmp_frag_needed_about_allowed_flow", packets + [error],
                "a router beyond the appliance answers the allowed ClientHello with fragmentation needed: "
                "the error reaches the client (path MTU discovery)", extra={"replay_only": True}),
    ]
