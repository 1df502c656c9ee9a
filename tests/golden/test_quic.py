"""QUIC through `sluicectl replay` (the worker's own PacketProcessor): UDP to a QUIC port is
judged on the SNI of the ClientHello in the client's Initial packets (docs/QUIC.md), with the
same rules as TLS over TCP, and recorded as QUIC_SNI.

The Initials are built by tests/pcapgen/quic.py with Debian's python3-cryptography, split over
1-3 datagrams in every order, coalesced, with PING and PADDING; all flows go through one replay.
Expectations come from tests/golden/policies/quic.textproto and the contract (docs/POLICY.md,
docs/REASONS.md, docs/QUIC.md), never from the program's output:

- an Initial datagram of an undecided flow is held until the verdict, which the datagram that
  completes the ClientHello carries;
- allowed: the held datagrams leave in arrival order ahead of the deciding one, later ones pass;
  denied in ENFORCE: none leaves, the deciding datagram is answered with an ICMP
  administratively-prohibited error; DRY_RUN: all pass;
- one flow-log line a flow and one denial record a denied flow, `destination_type: QUIC_SNI`.
"""

import itertools
import subprocess
from pathlib import Path

import pytest

from checks import assert_flow_line, assert_frames, assert_record, denial_fields, frames_of
from conftest import SLUICECTL, SOURCE_DIR, bindings_for, read_jsonl, write_learned_state
from pcapgen import frames, quic
from pcapgen.cases import Case, Source, _judgement
from pcapgen.tls import client_hello

POLICY = Path(__file__).resolve().parent / "policies" / "quic.textproto"
DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")
PROD = Source("restricted", "spark-prod", True)
STAGING = Source("watch", "spark-staging", False)
DESKTOPS = Source("browsers", "desktops", True)
SOURCES = {"198.18.1": PROD, "198.18.2": STAGING, "198.18.9": DESKTOPS}
SERVER = "198.19.10.1"
UNBOUND = "198.19.10.99"  # no DNS answer gave this address
DCID = bytes.fromhex("51756963dc1d0001")


def message(sni="pypi.org", **options):
    """A bare ClientHello handshake message (QUIC carries no TLS record): pcapgen.tls's
    record without its 5-byte header."""
    return client_hello(sni, alpn=("h3",), **options)[5:]


def quic_case(name, client, sport, datagrams, reason, destination, *, dport=443, after=(), dtype="QUIC_SNI",
              server=SERVER):
    """A QUIC flow of `datagrams` (UDP payloads), the last of which decides, then `after`
    (payloads the client sends once the flow is decided)."""
    source = SOURCES[client.rsplit(".", 1)[0]]
    packets = [frames.udp_packet(client, sport, server, dport, d) for d in datagrams]
    later = [frames.udp_packet(client, sport, server, dport, d) for d in after]
    verdict, record, flow_fields = _judgement(client, reason, dtype, destination, source,
                                              sport, server, dport, "UDP")
    if verdict == "DROP":
        forwarded = []  # the held Initials are freed with the deciding one
        replies = [frames.expected_icmp_unreachable(p) for p in packets[-1:] + later]
    else:
        forwarded, replies = packets + later, []
    return Case(name, packets + later, forwarded, replies, record, flow_fields, frames.flow_key(packets[0]))


def _cases():
    cases = []
    client, port = "198.18.1.10", 50000
    for sni, reason in (("pypi.org", "allowed_domain"), ("evil.example.org", "domain_not_allowed")):
        hello = message(sni, pad_to=905)  # 900 bytes of message: one padded Initial holds it
        for count in (1, 2, 3):
            cuts = [len(hello) * k // count for k in range(1, count)]
            parts = quic.split_hello(hello, cuts, dcid=DCID)
            for order in itertools.permutations(range(count)):
                port += 1
                name = f"{sni}_in_{count}_order_{''.join(map(str, order))}"
                cases.append(quic_case(name, client, port, [parts[i] for i in order], reason, sni))

    hello = message("pypi.org", pad_to=905)
    second = quic.initial(quic.crypto_frame(450, hello[450:]), dcid=DCID, packet_number=1)
    first = quic.initial(quic.crypto_frame(0, hello[:450]), dcid=DCID, packet_number=0,
                         pad_to=1200 - len(second))
    cases.append(quic_case("coalesced_second_half_first", client, 50100, [second + first],
                           "allowed_domain", "pypi.org"))
    pinged = quic.split_hello(hello, [300], dcid=DCID, extra_frames=quic.PING + bytes(24))
    cases.append(quic_case("ping_and_padding_before_crypto", client, 50101, pinged[::-1],
                           "allowed_domain", "pypi.org"))
    v2 = [quic.initial(quic.crypto_frame(0, hello), dcid=DCID, version=quic.V2, pad_to=1200)]
    cases.append(quic_case("quic_v2", client, 50102, v2, "allowed_domain", "pypi.org"))
    # Once allowed, 1-RTT (short-header) datagrams pass.
    cases.append(quic_case("short_header_after_the_verdict", client, 50103,
                           quic.split_hello(hello, [], dcid=DCID), "allowed_domain", "pypi.org",
                           after=[b"\x41" + bytes(range(40))]))
    cases.append(quic_case("denied_then_retried", client, 50104,
                           quic.split_hello(message("evil.example.org"), [], dcid=DCID),
                           "domain_not_allowed", "evil.example.org",
                           after=[quic.initial(quic.crypto_frame(0, message("evil.example.org")),
                                               dcid=DCID, packet_number=1, pad_to=1200)]))

    def one(sni=None, **options):
        return quic.split_hello(message(sni, **options), [], dcid=DCID)

    cases.append(quic_case("no_sni", client, 50110, one(None), "tls_no_sni", SERVER))
    cases.append(quic_case("ech", client, 50111, one("pypi.org", ech=True), "tls_ech", "pypi.org"))
    cases.append(quic_case("ech_outer_sni_judged", "198.18.9.10", 50112, one("pypi.org", ech=True),
                           "allowed_domain", "pypi.org"))
    cases.append(quic_case("several_names", client, 50113, one(sni_names=["pypi.org", "evil.example.org"]),
                           "tls_multiple_sni", "pypi.org"))
    cases.append(quic_case("dry_run_denied", "198.18.2.10", 50114, one("evil.example.org"),
                           "domain_not_allowed", "evil.example.org"))
    cases.append(quic_case("second_quic_port", client, 50115, one("evil.example.org"),
                           "domain_not_allowed", "evil.example.org", dport=8443))

    tampered = bytearray(one("pypi.org")[0])
    tampered[-1] ^= 1  # the AEAD tag
    cases.append(quic_case("undecryptable", client, 50120, [bytes(tampered)], "quic_undecryptable", SERVER))
    other_version = bytearray(one("pypi.org")[0])
    other_version[1:5] = bytes.fromhex("0a1a2a3a")
    cases.append(quic_case("unknown_version", client, 50121, [bytes(other_version)], "quic_unknown_version",
                           SERVER))
    small = [quic.initial(quic.crypto_frame(0, message("pypi.org")), dcid=DCID)]
    cases.append(quic_case("initial_under_1200_bytes", client, 50122, small, "quic_initial_too_small", SERVER))
    cases.append(quic_case("short_header_first", client, 50123, [b"\x41" + bytes(1199)], "quic_not_initial",
                           SERVER))
    # Not a QUIC port: judged on the address, as every UDP flow (one no DNS answer gave: SERVER
    # is bound to pypi.org, whose rule allows every port).
    cases.append(quic_case("udp_other_port", client, 50124, one("pypi.org"), "ip_not_allowed", UNBOUND,
                           dport=8444, dtype="IP", server=UNBOUND))
    # An allowed name to an address no DNS answer gave for it.
    cases.append(quic_case("allowed_name_unbound_address", client, 50125, one("pypi.org"),
                           "name_address_mismatch", "pypi.org", server=UNBOUND))
    return cases


CASES = _cases()


class Replay:
    def __init__(self, workdir, proc):
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.forwarded = frames.read_pcap_frames(workdir / "forwarded.pcap")
        self.replies = frames.read_pcap_frames(workdir / "replies.pcap")
        self.flows = read_jsonl(workdir / "flows.jsonl") or []
        self.denials = read_jsonl(workdir / "denials.jsonl") or []


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    quic.self_check()
    workdir = tmp_path_factory.mktemp("quic")
    frames.write_pcap(workdir / "in.pcap", [p for c in CASES for p in c.packets])
    cmd = [str(SLUICECTL), "replay", "--policy", str(POLICY), "--pcap", str(workdir / "in.pcap"),
           "--flows", str(workdir / "flows.jsonl"), "--denials", str(workdir / "denials.jsonl"),
           "--forwarded", str(workdir / "forwarded.pcap"), "--replies", str(workdir / "replies.pcap"),
           # the clients resolved SERVER first (name-address binding, docs/POLICY.md)
           "--learned-state", str(write_learned_state(workdir / "learned.state", bindings_for(POLICY, [SERVER])))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    (workdir / "stdout.txt").write_text(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    return Replay(workdir, proc)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_quic_flow(run, case):
    assert_frames(frames_of(case, run.forwarded), case.forwarded, "forwarded")
    assert_frames(frames_of(case, run.replies), case.resets, "replies")
    flow_id = CASES.index(case) + 1
    assert_flow_line(run.flows, case, flow_id)
    assert_record(run.denials, case, flow_id, None, DENIAL_FIELDS)


def test_quic_flow_log_names_the_sni(run):
    """The flow log's `sni` holds the QUIC ClientHello's name, with its ALPN and version."""
    line = next(f for f in run.flows if f["src_port"] == 50102)
    assert (line["sni"], line["tls_alpn"], line["tls_version"]) == ("pypi.org", "h3", "TLS1.3"), line


def test_nothing_else_comes_out(run):
    assert len(run.forwarded) == sum(len(c.forwarded) for c in CASES)
    assert len(run.replies) == sum(len(c.resets) for c in CASES)
    assert len(run.flows) == len(CASES)
