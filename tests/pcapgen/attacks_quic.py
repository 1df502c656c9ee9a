"""Attacks on the datagrams of a QUIC flow before its verdict, and their control (part of the
corpus of tests/pcapgen/attacks.py, scored the same way by tests/golden/test_attacks.py).

A ClientHello too long for one Initial (a post-quantum key share) arrives in two or more; until
the last one the flow is undecided. Whatever the client sends meanwhile must not reach the server:
the Initials wait for the verdict (and are freed on a deny), anything else is dropped. Initial
payloads are encrypted with keys anyone can derive, so the marker rides where the wire shows it
as is: the Initial's token (a cleartext header field) and bytes coalesced after the Initial
(which a reader takes for a 1-RTT packet); it is also in the ClientHello's padding.
"""

from pcapgen import frames, quic
from pcapgen.attacks import ATTACKER, CLIENT, TLS_SERVER, Attack, Control, marker
from pcapgen.tls import client_hello

DENIED = "exfil.example"
DCID = bytes.fromhex("a77ac4e5d0c1d001")
HELD_BOUND = 16  # kMaxHeldSegments: Initials a flow may hold before it is denied


def _message(sni, m=b""):
    """A ClientHello handshake message of 2000 bytes (post-quantum sized: two Initials), its
    padding extension ending in the marker."""
    hello = bytearray(client_hello(sni, alpn=("h3",), pad_to=2005)[5:])
    fill = (m * (400 // len(m) + 1))[:400] if m else b""
    if fill:
        hello[-len(fill):] = fill
    return bytes(hello)


def _marked_initials(message, m, dcid):
    """`message` in two Initials whose token is the marker, the first with the marker coalesced
    after it."""
    half = len(message) // 2
    first = quic.initial(quic.crypto_frame(0, message[:half]), dcid=dcid, packet_number=0, pad_to=1200,
                         token=m * 3) + m * 8
    second = quic.initial(quic.crypto_frame(half, message[half:]), dcid=dcid, packet_number=1, pad_to=1200,
                          token=m * 3)
    return first, second


def attacks():
    cases = []
    # The first Initial of a denied name carries the marker; it waits for the verdict and is freed.
    m = marker("quic_initials_held")
    first, second = _marked_initials(_message(DENIED, m), m, DCID)
    cases.append(Attack("quic_initials_held", [frames.udp_packet(CLIENT, 47001, ATTACKER, 443, d)
                                               for d in (first, second)],
                        "domain_not_allowed", m, "a post-quantum-sized hello in two Initials, the first marked"))

    # 0-RTT and 1-RTT datagrams before the verdict, on a flow its ClientHello then allows.
    m = marker("quic_data_before_verdict")
    message = _message("pypi.org")
    half = len(message) // 2
    first = quic.initial(quic.crypto_frame(0, message[:half]), dcid=DCID, packet_number=0, pad_to=1200)
    second = quic.initial(quic.crypto_frame(half, message[half:]), dcid=DCID, packet_number=1, pad_to=1200)
    zero_rtt = (bytes([0xD3]) + quic.V1.to_bytes(4, "big") + bytes([len(DCID)]) + DCID + b"\x00"
                + quic.varint(4 + len(m) * 4) + b"\x00\x00\x00\x02" + m * 4)
    one_rtt = b"\x43" + DCID + m * 4
    cases.append(Attack("quic_data_before_verdict",
                        [frames.udp_packet(CLIENT, 47002, TLS_SERVER, 443, d) for d in (first, zero_rtt, one_rtt, second)],
                        "quic_not_initial", m, "an allowed name: only its Initials leave, with the verdict"))

    # More Initials than a flow may hold, each marked, before the ClientHello completes.
    m = marker("quic_hold_overflow")
    first, second = _marked_initials(_message(DENIED, m), m, DCID)
    cases.append(Attack("quic_hold_overflow", [frames.udp_packet(CLIENT, 47003, ATTACKER, 443, first)]
                        * (HELD_BOUND + 1), "quic_held_datagrams_full", m,
                        "the same first Initial again and again: the flow is denied at the bound"))
    return cases


def controls():
    message = _message("pypi.org")
    half = len(message) // 2
    datagrams = [quic.initial(quic.crypto_frame(0, message[:half]), dcid=DCID, packet_number=0, pad_to=1200),
                 quic.initial(quic.crypto_frame(half, message[half:]), dcid=DCID, packet_number=1, pad_to=1200)]
    return [Control("quic_hello_in_two_initials", [frames.udp_packet(CLIENT, 47020, TLS_SERVER, 443, d)
                                                   for d in datagrams],
                    "held until the second completes it, then both leave")]
