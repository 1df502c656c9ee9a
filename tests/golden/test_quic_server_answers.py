"""A server's Retry and Version Negotiation on an undecided QUIC flow, through `sluicectl replay
--outside-mac` (server frames come from the upstream router's MAC, so they enter on the outside
port). RFC 9000 says when a client acts on them (6.2, 17.2.1, 17.2.5.2; RFC 9001 5.8); the flow
must follow exactly the answers the client follows, so that what is judged is the ClientHello the
server will read:

- a valid Retry: the client's next Initials go to the Retry's SCID with keys derived from it and
  carry the ClientHello from offset 0; that ClientHello (here another name) is the one judged;
- a Retry whose integrity tag does not verify: the client discards it and completes its
  ClientHello on its first DCID, which is judged;
- a Version Negotiation listing the client's version: discarded likewise;
- a Version Negotiation listing only v2: the client starts again in v2 with a new DCID, judged;
- the client's Initials are held until the verdict, and those of an attempt the client abandons
  are freed: what the server gets is only the ClientHello judged.

Expectations come from tests/golden/policies/quic.textproto (pypi.org allowed, ENFORCE) and the
contract (docs/QUIC.md), never from the program's output."""

import json
import subprocess
from pathlib import Path

import pytest

from checks import assert_frames
from conftest import RUN_TIMEOUT_S, SLUICECTL, read_jsonl, write_learned_state
from pcapgen import frames, quic
from pcapgen.tls import client_hello

POLICY = Path(__file__).resolve().parent / "policies" / "quic.textproto"
SERVER = "198.19.10.1"

CLIENT = "198.18.1.10"  # policy "restricted": pypi.org only, ENFORCE
CLIENT_SCID = b"\xc1\x1e\x47"  # quic.initial()'s default SCID
DCID = bytes.fromhex("5e4e4e4e4e4e0001")
NEW_DCID = bytes.fromhex("a0b0c0d0e0")  # a Retry's may be shorter than 8 bytes
V2_DCID = bytes.fromhex("7676767676760002")


def hello(sni):
    return client_hello(sni, alpn=("h3",), pad_to=905)[5:]


def to_server(port, payload):
    return frames.udp_packet(CLIENT, port, SERVER, 443, payload)


def to_client(port, payload):
    return frames.udp_packet(SERVER, 443, CLIENT, port, payload, src_mac=frames.UPSTREAM_MAC)


def v2_hello(message, dcid):
    return [quic.initial(quic.crypto_frame(a, message[a:b]), dcid=dcid, version=quic.V2, packet_number=i,
                         pad_to=1200) for i, (a, b) in enumerate(((0, 450), (450, len(message))))]


def _cases():
    """(name, port, packets, index of the deciding datagram, judged name, reason)."""
    first, second = quic.split_hello(hello("pypi.org"), [450], dcid=DCID)
    cases = []
    # A valid Retry, then the ClientHello again on its SCID: this ClientHello names evil.
    retried = quic.split_hello(hello("evil.example.org"), [450], dcid=NEW_DCID)
    packets = [to_server(51001, first),
               to_client(51001, quic.retry(client_scid=CLIENT_SCID, new_scid=NEW_DCID, token=b"tk",
                                           original_dcid=DCID)),
               to_server(51001, retried[0]), to_server(51001, retried[1])]
    cases.append(("valid_retry", 51001, packets, 3, "evil.example.org", "domain_not_allowed"))
    # A forged Retry (its tag does not verify): the client goes on with its first DCID.
    packets = [to_server(51002, first),
               to_client(51002, quic.retry(client_scid=CLIENT_SCID, new_scid=NEW_DCID, token=b"tk",
                                           original_dcid=DCID, break_tag=True)),
               to_server(51002, second)]
    cases.append(("forged_retry", 51002, packets, 2, "pypi.org", "allowed_domain"))
    # A Version Negotiation that lists the client's version: discarded.
    packets = [to_server(51003, first),
               to_client(51003, quic.version_negotiation(client_scid=CLIENT_SCID, client_dcid=DCID,
                                                         versions=[quic.V2, quic.V1])),
               to_server(51003, second)]
    cases.append(("negotiation_listing_v1", 51003, packets, 2, "pypi.org", "allowed_domain"))
    # A Version Negotiation listing only v2: the client starts again in v2 (evil this time).
    restarted = v2_hello(hello("evil.example.org"), V2_DCID)
    packets = [to_server(51004, first),
               to_client(51004, quic.version_negotiation(client_scid=CLIENT_SCID, client_dcid=DCID,
                                                         versions=[quic.V2])),
               to_server(51004, restarted[0]), to_server(51004, restarted[1])]
    cases.append(("negotiation_to_v2", 51004, packets, 3, "evil.example.org", "domain_not_allowed"))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    quic.self_check()
    quic.retry_self_check()
    workdir = tmp_path_factory.mktemp("quic_server_answers")
    pcap = workdir / "in.pcap"
    frames.write_pcap(pcap, [p for case in CASES for p in case[2]])
    forwarded, replies, flows = workdir / "forwarded.pcap", workdir / "replies.pcap", workdir / "flows.jsonl"
    proc = subprocess.run([str(SLUICECTL), "replay", "--policy", str(POLICY), "--pcap", str(pcap),
                           "--forwarded", str(forwarded), "--replies", str(replies), "--flows", str(flows),
                           "--outside-mac", frames.UPSTREAM_MAC, "--json",
                           # The client resolved pypi.org to SERVER first (name-address binding).
                           "--learned-state", str(write_learned_state(workdir / "learned.state",
                                                                      [("restricted", SERVER, "pypi.org")]))],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return (frames.read_pcap_frames(forwarded), frames.read_pcap_frames(replies), read_jsonl(flows),
            json.loads(proc.stdout))


def test_frames_out_are_exactly_the_contracts(replayed):
    forwarded, replies, _, _ = replayed
    expected_forwarded, expected_replies = [], []
    for _, _, packets, deciding, _, reason in CASES:
        # The server's answer (every case's second frame) reaches the client at once. The client's
        # Initials are held until the verdict: an answer the client acts on frees those of the
        # attempt it ends; an allow releases the rest in arrival order, a deny frees them.
        expected_forwarded.append(packets[1])
        if reason == "allowed_domain":
            expected_forwarded += packets[:1] + packets[2:]
        else:
            expected_replies.append(frames.expected_icmp_unreachable(packets[deciding]))
    assert_frames(forwarded, expected_forwarded, "forwarded")
    assert_frames(replies, expected_replies, "replies")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_clienthello_the_client_sent_last_is_judged(replayed, case):
    _, _, flows, _ = replayed
    name, port, _, _, judged, reason = case
    lines = [f for f in flows if f["src_port"] == port]
    assert len(lines) == 1, lines
    line = lines[0]
    assert (line["protocol"], line["destination_type"], line["reason"], line["destination"]) == \
        ("UDP", "QUIC_SNI", reason, judged), line
    assert line["verdict"] == ("ALLOW" if reason == "allowed_domain" else "DROP"), line
