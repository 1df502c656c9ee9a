"""Attacks on the bytes before a TLS/HTTP flow's verdict, and their controls (part of the corpus of
tests/pcapgen/attacks.py, scored the same way by tests/golden/test_attacks.py).

While a flow is undecided nothing may leave but the message being judged, and its pieces only
with the verdict: a ClientHello split into pieces whose early pieces carry the marker, segments
before the message or beyond a gap, data on the SYN (TCP Fast Open), TCP options the appliance
cannot read. Each case names a host the policy does not allow unless it says otherwise.
"""

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from pcapgen import frames
from pcapgen.attacks import ATTACKER, ATTACKER_V6, CLIENT, CLIENT_V6, TLS_SERVER, Attack, Control, marker
from pcapgen.tls import client_hello

DENIED = "exfil.example"


def _marked_hello(sni, m, size=600):
    """A ClientHello whose padding extension (the record's last bytes) is the marker repeated."""
    hello = bytearray(client_hello(sni, pad_to=size))
    fill = (m * (size // len(m) + 1))[:size // 2]
    hello[-len(fill):] = fill
    return bytes(hello)


def _pieces(data, cuts):
    bounds = [0, *cuts, len(data)]
    return [(bounds[i], data[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)]


def _segment(flow, offset, payload, **kwargs):
    """A client segment at `offset` bytes into the stream, leaving the flow's next sequence alone."""
    return flow._client("PA", payload, seq=flow.isn + 1 + offset, ack=flow._server_ack(), **kwargs)


def _with_raw_options(pkt, raw):
    """`pkt` (IPv4, no TCP options) as frame bytes with `raw` as its TCP options, NOPs before them
    to a multiple of 4 bytes."""
    assert IP in pkt and not pkt[TCP].options
    raw = b"\x01" * (-len(raw) % 4) + raw
    whole = bytes(pkt)
    tcp_at = len(whole) - len(bytes(pkt[TCP]))
    header = bytearray(whole[tcp_at:tcp_at + 20])
    header[12] = ((20 + len(raw)) // 4) << 4
    frame = bytearray(whole[:tcp_at] + bytes(header) + raw + whole[tcp_at + 20:])
    total = int.from_bytes(frame[16:18], "big") + len(raw)  # IPv4 only
    frame[16:18] = total.to_bytes(2, "big")
    # Checksums by hand: scapy would re-encode the options (and drop what follows an EOL).
    frame[24:26] = b"\0\0"
    frame[24:26] = _checksum(bytes(frame[14:34])).to_bytes(2, "big")
    segment = bytes(frame[tcp_at:])
    frame[tcp_at + 16:tcp_at + 18] = _checksum(bytes(frame[26:34]) + bytes([0, 6]) + len(segment).to_bytes(2, "big")
                                               + segment).to_bytes(2, "big")
    return bytes(frame)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip_fragments(pkt, cuts, fragment_id):
    """The TCP segment `pkt` split by IP fragmentation: its L4 bytes cut at `cuts` (multiples of
    8), IPv4 fragments or IPv6 fragment headers, each frame finished."""
    v6 = IPv6 in pkt
    ip = pkt[IPv6] if v6 else pkt[IP]
    l4 = bytes(ip.payload)
    bounds = [0, *cuts, len(l4)]
    out = []
    for i in range(len(bounds) - 1):
        begin, end = bounds[i], bounds[i + 1]
        more = i + 2 < len(bounds)
        ether = Ether(src=pkt[Ether].src, dst=pkt[Ether].dst)
        if v6:
            frame = (ether / IPv6(src=ip.src, dst=ip.dst, hlim=64, nh=44)
                     / IPv6ExtHdrFragment(nh=6, offset=begin // 8, m=int(more), id=fragment_id) / Raw(l4[begin:end]))
        else:
            frame = (ether / IP(src=ip.src, dst=ip.dst, ttl=64, id=fragment_id, flags="MF" if more else 0,
                                frag=begin // 8, proto=6) / Raw(l4[begin:end]))
        out.append(frames.finish(frame))
    return out


def attacks():
    cases = []

    # The early pieces of a denied hello carry the marker in its padding; held, then freed.
    m = marker("hello_pieces_held")
    flow = frames.TcpFlow(CLIENT, 46001, ATTACKER, 443)
    hello = _marked_hello(DENIED, m)
    pieces = _pieces(hello, [300, 450])
    cases.append(Attack("hello_pieces_held", [flow.syn(), flow.ack()]
                        + [_segment(flow, off, part) for off, part in (pieces[1], pieces[2], pieces[0])],
                        "domain_not_allowed", m, "the later pieces first, so the early ones wait for the gap"))

    # A segment beyond a gap (past the hello's end, inside the reassembly bound), then the hello.
    m = marker("segment_beyond_gap")
    flow = frames.TcpFlow(CLIENT, 46002, ATTACKER, 443)
    hello = client_hello(DENIED)
    beyond = _segment(flow, len(hello) + 200, m * 8)
    cases.append(Attack("segment_beyond_gap", [flow.syn(), flow.ack(), beyond,
                                               _segment(flow, 0, hello[:100]), _segment(flow, 100, hello[100:])],
                        "domain_not_allowed", m))

    # Data before the message (in the SYN's sequence space, out of the window the server takes):
    # it holds no byte of the message, so it has nothing it may carry.
    m = marker("segment_before_message")
    flow = frames.TcpFlow(CLIENT, 46003, TLS_SERVER, 443)
    before = flow._client("PA", m * 8, seq=(flow.isn - 5000) & 0xFFFFFFFF, ack=flow._server_ack())
    hello = client_hello(DENIED)
    cases.append(Attack("segment_before_message", [flow.syn(), flow.ack(), _segment(flow, 0, hello[:50]), before,
                                                   _segment(flow, 50, hello[50:])],
                        "tcp_segment_outside_message", m))

    # TCP Fast Open: data on the SYN, and a cookie option carrying the marker.
    m = marker("syn_data")
    flow = frames.TcpFlow(CLIENT, 46004, ATTACKER, 443)
    syn = flow._client("S", m * 4, seq=flow.isn, ack=0, options=frames.SYN_OPTIONS)
    cases.append(Attack("syn_data", [syn], "tcp_syn_payload", m,
                        "a SYN carrying data, standard options"))
    m = marker("tfo_cookie")
    flow = frames.TcpFlow(CLIENT, 46005, ATTACKER, 443)
    syn = flow._client("S", seq=flow.isn, ack=0)
    cookie = m[:16]  # a cookie is 4 to 16 bytes (RFC 7413)
    cases.append(Attack("tfo_cookie", [_with_raw_options(syn, bytes([34, 2 + len(cookie)]) + cookie)],
                        "tcp_option_not_allowed", cookie, "TCP Fast Open cookie option (kind 34)"))

    # An option the appliance cannot read on a flow that would be allowed: the option never leaves.
    m = marker("unknown_option")
    flow = frames.TcpFlow(CLIENT, 46006, TLS_SERVER, 443)
    option = m
    cases.append(Attack("unknown_option", [flow.syn(), _with_raw_options(flow.ack(), bytes([254, 2 + len(option)]) + option),
                                           flow.data(client_hello("pypi.org"))],
                        "tcp_option_not_allowed", option, "experimental kind 254 before the verdict"))
    m = marker("bytes_after_eol")
    flow = frames.TcpFlow(CLIENT, 46007, TLS_SERVER, 443)
    after_eol = m
    cases.append(Attack("bytes_after_eol", [flow.syn(), _with_raw_options(flow.ack(), b"\x00" + after_eol)],
                        "tcp_option_malformed", after_eol, "EOL, then bytes no stack reads"))

    # A denied hello (marker in its padding) split by IP fragmentation: reassembled and judged.
    for name, client, server, sport in (("fragments_of_denied_hello", CLIENT, ATTACKER, 46008),
                                        ("fragments_of_denied_hello_v6", CLIENT_V6, ATTACKER_V6, 46009)):
        m = marker(name)
        flow = frames.TcpFlow(client, sport, server, 443)
        hello = _marked_hello(DENIED, m)
        cases.append(Attack(name, [flow.syn(), flow.ack(), *_ip_fragments(_segment(flow, 0, hello), [240, 480], 0x5100 + sport % 256)],
                            "domain_not_allowed", m))

    # Overlapping fragments that disagree: the second rewrites the hello's padding with the marker.
    m = marker("fragment_overlap")
    flow = frames.TcpFlow(CLIENT, 46010, TLS_SERVER, 443)
    hello = client_hello("pypi.org", pad_to=600)
    honest = _ip_fragments(_segment(flow, 0, hello), [576], 0x5200)  # L4: 20 + 600 bytes
    forged_hello = hello[:-len(m) * 2] + m * 2                       # the last 48 bytes
    forged = _ip_fragments(_segment(flow, 0, forged_hello), [568], 0x5200)[1]  # overlaps 568-575
    cases.append(Attack("fragment_overlap", [flow.syn(), flow.ack(), honest[0], forged, honest[1]],
                        "fragment_overlap_conflict", m, "an allowed name; the overlap decides which bytes the server keeps"))

    cases += _later_message_pieces()
    return cases


def _marked_second_hello(m):
    """A hello to the denied host with the marker in its ALPN (near its start) and padding (its end)."""
    hello = bytearray(client_hello(DENIED, alpn=(m.decode(),), pad_to=600))
    fill = (m * (300 // len(m) + 1))[:300]
    hello[-len(fill):] = fill
    return bytes(hello)


def _later_message_pieces():
    """A later message of a connection allowed for pypi.org, spread over three segments that each
    carry the marker: held until it is complete and judged, so its first pieces never leave."""
    from pcapgen.attacks import HTTP_SERVER, _exfil_request  # attacks imports this module
    cases = []
    m = marker("keepalive_other_host_in_pieces")
    flow = frames.TcpFlow(CLIENT, 46030, HTTP_SERVER, 80)
    request = _exfil_request(m)
    first = request.index(m) + len(m)
    second = request.index(m, first) + len(m)
    cases.append(Attack("keepalive_other_host_in_pieces",
                        [flow.syn(), flow.ack(), flow.data(frames.http_get("pypi.org"))]
                        + [flow.data(part) for _, part in _pieces(request, [first, second])],
                        "http_host_changed", m, "a second request to another host, its head over three segments"))
    m = marker("second_hello_in_pieces")
    flow = frames.TcpFlow(CLIENT, 46031, TLS_SERVER, 443)
    hello = _marked_second_hello(m)
    first = hello.index(m) + len(m)
    assert first < len(hello) - 300
    cases.append(Attack("second_hello_in_pieces",
                        [flow.syn(), flow.ack(), flow.data(client_hello("pypi.org")), flow.data(b"\x14\x03\x03\x00\x01\x01")]
                        + [flow.data(part) for _, part in _pieces(hello, [first, len(hello) - 200])],
                        "tls_second_hello_mismatch", m, "a second ClientHello naming another server, over three segments"))
    return cases


def controls():
    hello = client_hello("pypi.org")
    flow = frames.TcpFlow(CLIENT, 46020, TLS_SERVER, 443)
    pieces = [flow.syn(), flow.ack()] + [flow.data(part) for _, part in _pieces(hello, [60, 140])]
    fragmented = frames.TcpFlow(CLIENT, 46021, TLS_SERVER, 443)
    fragmented_pieces = [fragmented.syn(), fragmented.ack(),
                         *_ip_fragments(_segment(fragmented, 0, client_hello("pypi.org", pad_to=600)), [240, 480], 0x5300)]
    from pcapgen.attacks import HTTP_SERVER  # attacks imports this module
    keepalive = frames.TcpFlow(CLIENT, 46032, HTTP_SERVER, 80)
    second = frames.http_get("pypi.org", "/simple/pip/")
    keepalive_pieces = [keepalive.syn(), keepalive.ack(), keepalive.data(frames.http_get("pypi.org", "/simple/"))] + [
        keepalive.data(part) for _, part in _pieces(second, [10, 30])]
    retry = frames.TcpFlow(CLIENT, 46033, TLS_SERVER, 443)
    again = client_hello("pypi.org", key_share=False)
    retry_pieces = [retry.syn(), retry.ack(), retry.data(client_hello("pypi.org")), retry.data(b"\x14\x03\x03\x00\x01\x01")] + [
        retry.data(part) for _, part in _pieces(again, [60, 140])]
    return [Control("keepalive_same_host_in_pieces", keepalive_pieces,
                    "a second request to the allowed host over three segments: held, then all leave"),
            Control("hello_retry_second_hello_in_pieces", retry_pieces,
                    "after a HelloRetryRequest, the hello again over three segments: held, then all leave"),
            Control("hello_in_three_segments", pieces, "held until the third completes it, then all leave"),
            Control("fragmented_allowed_hello", fragmented_pieces, "three IPv4 fragments, judged whole, all forwarded")]
