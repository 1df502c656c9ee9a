"""Dataplane depth through `sluicectl replay` (the worker's own PacketProcessor) on captures
with timestamps: ClientHello and request-head reassembly, resets to both ends, DNS learning
with its TTL, flow aging, a full flow table, TLS exceptions.

Replay reads one capture holding both directions in order, so a scenario fixes exactly when
the server's SYN-ACK arrives relative to the client's segments; --forwarded and --replies
give the exact frames out. Expectations come from tests/golden/policies/depth.textproto and
the contract (docs/POLICY.md, docs/REASONS.md), never from the program's output.
"""

import json
import subprocess
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP

from conftest import SLUICECTL, bindings_for, read_jsonl, write_learned_state
from checks import assert_frames
from pcapgen import frames
from pcapgen.tls import client_hello

POLICY = Path(__file__).resolve().parent / "policies" / "depth.textproto"
PROD_HOST, DESKTOP, V6_HOST = "198.18.1.10", "198.18.9.10", "2001:db8:1::10"
TLS_SERVER, HTTP_SERVER = "198.19.10.1", "198.19.20.1"
RESOLVER, V6_RESOLVER = "198.19.255.53", "2001:db8:ff::53"
LEARNED_DB, OFF_CHAIN, UNALLOWED_ADDRESS = "198.19.50.5", "198.19.60.6", "198.19.70.7"
LEARNED_V6 = "2001:db8:50::5"
MSS = 1448


class Replay:
    def __init__(self, workdir, proc):
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.forwarded = frames.read_pcap_frames(workdir / "forwarded.pcap")
        self.replies = frames.read_pcap_frames(workdir / "replies.pcap")
        self.flows = read_jsonl(workdir / "flows.jsonl") or []
        self.denials = read_jsonl(workdir / "denials.jsonl") or []
        self.summary = json.loads(proc.stdout) if proc.returncode == 0 else {}

    def flow(self, sport):
        found = [f for f in self.flows if f["src_port"] == sport]
        assert len(found) == 1, (sport, self.flows)
        return found[0]

    def dropped(self, reason):
        return sum(d["packets"] for d in self.summary.get("dropped", []) if d["reason"] == reason)


def replay(tmp_path, timed, *, config_text=None, flow_capacity=None):
    pcap = tmp_path / "in.pcap"
    frames.write_timed_pcap(pcap, timed)
    cmd = [str(SLUICECTL), "replay", "--policy", str(POLICY), "--pcap", str(pcap), "--json",
           "--flows", str(tmp_path / "flows.jsonl"), "--denials", str(tmp_path / "denials.jsonl"),
           "--forwarded", str(tmp_path / "forwarded.pcap"), "--replies", str(tmp_path / "replies.pcap"),
           # the clients resolved the servers first (name-address binding, docs/POLICY.md)
           "--learned-state", str(write_learned_state(tmp_path / "learned.state",
                                                      bindings_for(POLICY, [TLS_SERVER, HTTP_SERVER])))]
    if config_text is not None:
        config = tmp_path / "appliance.textproto"
        config.write_text('ports { device: "net_null0" role: INSIDE }\n'
                          'ports { device: "net_null1" role: OUTSIDE }\n' + config_text)
        cmd += ["--config", str(config)]
    if flow_capacity is not None:
        cmd += ["--flow-capacity", str(flow_capacity)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    result = Replay(tmp_path, proc)
    assert proc.returncode == 0, proc.stderr
    return result


def at(start, packets, step=0.0001):
    """Timestamps `step` apart from `start`: packets of one moment."""
    return [(start + i * step, p) for i, p in enumerate(packets)]


def handshake(sport, server=TLS_SERVER, dport=443, client=PROD_HOST):
    flow = frames.TcpFlow(client, sport, server, dport)
    syn = flow.syn()
    syn_ack = flow.syn_ack()
    ack = flow.ack()
    return flow, [syn, syn_ack, ack]


def segments_of(flow, message, sizes):
    """The client's segments of `message`, cut at the given sizes (the last takes the rest)."""
    out, offset = [], 0
    for size in sizes:
        out.append(flow.data(message[offset:offset + size]))
        offset += size
    if offset < len(message):
        out.append(flow.data(message[offset:]))
    return out


def assert_flow(result, sport, verdict, reason, destination_type, destination):
    flow = result.flow(sport)
    assert (flow["verdict"], flow["reason"], flow["destination_type"], flow["destination"]) == \
        (verdict, reason, destination_type, destination), flow


# --- ClientHello reassembly ------------------------------------------------------------------

@pytest.mark.parametrize("sni, allowed", [("pypi.org", True), ("evil.example.org", False)])
def test_client_hello_in_one_byte_segments(tmp_path, sni, allowed):
    flow, opening = handshake(43001)
    hello = client_hello(sni)
    data = segments_of(flow, hello, [1] * (len(hello) - 1))
    assert len(data) == len(hello)
    result = replay(tmp_path, at(0, opening + data))
    # Pieces are held until the verdict, at most 16 a flow: the 17th denies the flow at once,
    # allowed name or not (fail closed, with a record); nothing of the hello leaves, the server
    # is reset at its first byte and the rest is dropped as the denied flow's.
    assert_frames(result.forwarded, opening + [frames.expected_onward_reset(data[16], seq=data[0][TCP].seq)],
                  "forwarded")
    assert_frames(result.replies, [frames.expected_reset(data[16])], "replies")
    assert result.dropped("held_segments_full") == 17
    assert result.dropped("flow_denied") == len(data) - 17
    assert [d["reason"] for d in result.denials] == ["held_segments_full"]


@pytest.mark.parametrize("sni, allowed", [("pypi.org", True), ("evil.example.org", False)])
def test_post_quantum_sized_client_hello_in_two_segments(tmp_path, sni, allowed):
    """X25519MLKEM768 key shares make browsers' hellos about 2 KB: two segments at MSS 1448."""
    flow, opening = handshake(43002)
    hello = client_hello(sni, pad_to=2000)
    data = segments_of(flow, hello, [MSS])
    assert len(data) == 2
    result = replay(tmp_path, at(0, opening + data))
    assert result.dropped("tls_client_hello_too_large") == 0
    if allowed:
        assert_frames(result.forwarded, opening + data, "forwarded")
        assert_flow(result, 43002, "ALLOW", "allowed_domain", "SNI", sni)
    else:
        # The first segment was held, then freed: the server's reset points at it.
        assert_frames(result.forwarded, opening + [frames.expected_onward_reset(data[1], seq=data[0][TCP].seq)],
                      "forwarded")
        assert_frames(result.replies, [frames.expected_reset(data[1])], "replies")
        assert_flow(result, 43002, "DROP", "domain_not_allowed", "SNI", sni)


@pytest.mark.parametrize("sni, allowed", [("pypi.org", True), ("evil.example.org", False)])
def test_out_of_order_segments(tmp_path, sni, allowed):
    flow, opening = handshake(43003)
    first, second = segments_of(flow, client_hello(sni, pad_to=2000), [MSS])
    result = replay(tmp_path, at(0, opening + [second, first]))
    if allowed:
        assert_frames(result.forwarded, opening + [second, first], "forwarded")
        assert_flow(result, 43003, "ALLOW", "allowed_domain", "SNI", sni)
    else:
        # The second segment was held, then freed: the server's reset points at the first.
        assert_frames(result.forwarded, opening + [frames.expected_onward_reset(first, seq=first[TCP].seq)],
                      "forwarded")
        assert_frames(result.replies, [frames.expected_reset(first)], "replies")


def test_retransmitted_segment_is_harmless(tmp_path):
    flow, opening = handshake(43004)
    first, second = segments_of(flow, client_hello("pypi.org", pad_to=2000), [MSS])
    result = replay(tmp_path, at(0, opening + [first, first, second]))
    # The repeat brings nothing the hold lacks: dropped; the held first leaves with the verdict.
    assert_frames(result.forwarded, opening + [first, second], "forwarded")
    assert result.dropped("tcp_segment_outside_message") == 1
    assert_flow(result, 43004, "ALLOW", "allowed_domain", "SNI", "pypi.org")


def test_overlapping_segments_that_disagree_are_denied(tmp_path):
    flow, opening = handshake(43005)
    hello = client_hello("pypi.org", pad_to=2000)
    base = flow.client_next
    first = flow.data(hello[:1000])
    # Bytes 500-1500 again, one of them (inside the overlap) rewritten: which copy would the
    # server keep? Neither is judged: the flow is denied.
    forged = bytearray(hello[500:1500])
    forged[100] ^= 0x20
    overlap = flow._client("PA", bytes(forged), seq=base + 500, ack=flow._server_ack())
    rest = flow._client("PA", hello[1000:], seq=base + 1000, ack=flow._server_ack())
    result = replay(tmp_path, at(0, opening + [first, overlap, rest]))
    assert_frames(result.forwarded,
                  opening + [frames.expected_onward_reset(overlap, seq=base)], "forwarded")
    assert_frames(result.replies, [frames.expected_reset(overlap)], "replies")
    assert_flow(result, 43005, "DROP", "tcp_overlap_conflict", "SNI", TLS_SERVER)
    assert result.dropped("flow_denied") == 1  # the honest rest arrives too late


def test_client_hello_over_several_tls_records(tmp_path):
    """RFC 8446 5.1 lets a client fragment the handshake message across records."""
    flow, opening = handshake(43006)
    record = client_hello("pypi.org")
    body = record[5:]
    split = len(body) // 2
    two_records = (b"\x16\x03\x01" + split.to_bytes(2, "big") + body[:split]
                   + b"\x16\x03\x01" + (len(body) - split).to_bytes(2, "big") + body[split:])
    data = segments_of(flow, two_records, [split + 7])
    result = replay(tmp_path, at(0, opening + data))
    assert_frames(result.forwarded, opening + data, "forwarded")
    assert_flow(result, 43006, "ALLOW", "allowed_domain", "SNI", "pypi.org")


def test_http_head_in_segments_and_too_large(tmp_path):
    flow, opening = handshake(43007, HTTP_SERVER, 80)
    head = b"GET / HTTP/1.1\r\nHost: pypi.org\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n"
    ok = segments_of(flow, head, [10, 10, 10])
    big_flow, big_opening = handshake(43008, HTTP_SERVER, 80)
    endless = b"GET / HTTP/1.1\r\nHost: pypi.org\r\n" + b"X-Filler: " + b"a" * 9000
    big = segments_of(big_flow, endless, [MSS] * 6)
    result = replay(tmp_path, at(0, opening + ok) + at(1, big_opening + big))
    assert_flow(result, 43007, "ALLOW", "allowed_domain", "HTTP_HOST", "pypi.org")
    # The bound is 8 KiB: the segment reaching past it is denied; nothing after it passes.
    crossing = next(i for i in range(len(big)) if (i + 1) * MSS > 8192)
    assert_flow(result, 43008, "DROP", "http_head_too_large", "HTTP_HOST", HTTP_SERVER)
    assert_frames(result.forwarded,
                  opening + ok + big_opening + [frames.expected_onward_reset(big[crossing], seq=big[0][TCP].seq)],
                  "forwarded")


def test_http_connect_needs_a_named_proxy(tmp_path):
    """The depth policy names no proxy: a CONNECT is a tunnel request to a server that is none,
    denied by its own reason whatever its target (a CONNECT to a named proxy, judged on its
    target: test_attacks.py and the unit tests)."""
    allowed, allowed_open = handshake(43009, HTTP_SERVER, 80)
    denied, denied_open = handshake(43010, HTTP_SERVER, 80)
    connect_ok = allowed.data(b"CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n")
    connect_bad = denied.data(b"CONNECT evil.example.org:443 HTTP/1.1\r\nHost: evil.example.org:443\r\n\r\n")
    result = replay(tmp_path, at(0, allowed_open + [connect_ok] + denied_open + [connect_bad]))
    assert_flow(result, 43009, "DROP", "http_connect_not_allowed", "HTTP_HOST", "pypi.org")
    assert_flow(result, 43010, "DROP", "http_connect_not_allowed", "HTTP_HOST", "evil.example.org")


def test_reassembly_slots_exhausted_fail_closed(tmp_path):
    one, one_open = handshake(43011)
    two, two_open = handshake(43012)
    one_first, one_second = segments_of(one, client_hello("pypi.org", pad_to=2000), [MSS])
    two_first, _ = segments_of(two, client_hello("pypi.org", pad_to=2000), [MSS])
    result = replay(tmp_path, at(0, one_open + two_open + [one_first, two_first, one_second]),
                    config_text="inspection { reassembly_slots: 1 }\n")
    assert_flow(result, 43011, "ALLOW", "allowed_domain", "SNI", "pypi.org")
    assert_flow(result, 43012, "DROP", "reassembly_capacity_exhausted", "SNI", TLS_SERVER)


# --- TLS exceptions --------------------------------------------------------------------------

@pytest.mark.parametrize("client, sni, verdict, reason", [
    (PROD_HOST, "pypi.org", "DROP", "tls_ech"),                   # no exception: denied
    (DESKTOP, "pypi.org", "ALLOW", "allowed_domain"),             # outer SNI judged
    (DESKTOP, "evil.example.org", "DROP", "domain_not_allowed"),
])
def test_ech_is_denied_unless_the_policy_judges_the_outer_sni(tmp_path, client, sni, verdict, reason):
    flow, opening = handshake(43013, client=client)
    hello = flow.data(client_hello(sni, ech=True))
    result = replay(tmp_path, at(0, opening + [hello]))
    assert_flow(result, 43013, verdict, reason, "SNI", sni)


# --- DNS learning ----------------------------------------------------------------------------

LEARNING = "dns_learning { min_ttl_seconds: 1 max_ttl_seconds: 3600 grace_seconds: 5 }\n"


def syn_to(sport, server, dport, client=PROD_HOST):
    return frames.TcpFlow(client, sport, server, dport).syn()


def test_dns_cname_chain_learned_used_then_expired(tmp_path):
    query = frames.dns_query(PROD_HOST, 53001, RESOLVER, "db.learn.example")
    answer = frames.dns_cname_answer(query, ["db.learn.example", "edge.provider.example", "e1.provider.example"],
                                     [LEARNED_DB], ttl=30, cname_ttl=600,
                                     extra=[("unrelated.example", OFF_CHAIN)])
    other_query = frames.dns_query(PROD_HOST, 53002, RESOLVER, "evil.example.org")
    other_answer = frames.dns_answer(other_query, UNALLOWED_ADDRESS)
    before = syn_to(44000, LEARNED_DB, 5432)
    learned = frames.TcpFlow(PROD_HOST, 44001, LEARNED_DB, 5432)
    learned_syn = learned.syn()
    learned_data_late = None
    wrong_port = syn_to(44002, LEARNED_DB, 22)
    off_chain = syn_to(44003, OFF_CHAIN, 5432)
    unallowed = syn_to(44004, UNALLOWED_ADDRESS, 5432)
    expired = syn_to(44005, LEARNED_DB, 5432)
    learned_syn_ack = learned.syn_ack()
    learned_ack = learned.ack()
    learned_data_late = learned.data(b"still open")
    timed = ([(0.0, before), (0.5, query), (0.51, answer), (0.6, other_query), (0.61, other_answer),
              (1.0, learned_syn), (1.01, learned_syn_ack), (1.02, learned_ack), (1.1, wrong_port), (1.2, off_chain), (1.3, unallowed),
              # TTL 30 s (the CNAMEs' 600 s do not extend it) + 5 s grace: gone at 35.51 s.
              (36.0, expired), (36.1, learned_data_late)])
    result = replay(tmp_path, timed, config_text=LEARNING)
    assert_flow(result, 44000, "DROP", "ip_not_allowed", "IP", LEARNED_DB)          # not yet learned
    assert_flow(result, 44001, "ALLOW", "allowed_dns_learned", "IP", "db.learn.example")
    assert_flow(result, 44002, "DROP", "ip_not_allowed", "IP", LEARNED_DB)          # rule allows 5432 only
    assert_flow(result, 44003, "DROP", "ip_not_allowed", "IP", OFF_CHAIN)           # not on the chain
    assert_flow(result, 44004, "DROP", "ip_not_allowed", "IP", UNALLOWED_ADDRESS)   # name not allowed
    assert_flow(result, 44005, "DROP", "ip_not_allowed", "IP", LEARNED_DB)          # expired
    assert_flow(result, 53001, "ALLOW", "allowed_dns_resolver", "DNS", RESOLVER)
    # The flow opened while the address was learned outlives the answer.
    forwarded = result.forwarded
    assert bytes(learned_data_late) in forwarded
    # The query for a name the policy does not allow never left: the appliance answered it
    # NXDOMAIN, and the answer that came anyway answers nothing the appliance forwarded.
    assert bytes(answer) in forwarded and bytes(other_query) not in forwarded
    assert_frames(result.replies, [frames.expected_reset(before), frames.expected_dns_refusal(other_query)]
                  + [frames.expected_reset(p) for p in (wrong_port, off_chain, unallowed, expired)], "replies")
    assert [(d["reason"], d["destination"], d.get("dns_event")) for d in result.denials
            if d["destination_type"] == "DNS"] == [
        ("dns_name_not_allowed", "evil.example.org", {"domain_name": "evil.example.org", "rcode": 3})]


def test_learned_aaaa_allows_ipv6(tmp_path):
    query = frames.udp_packet(V6_HOST, 53003, V6_RESOLVER, 53,
                              DNS(id=7, rd=1, qd=DNSQR(qname="api.cdn.learn.example", qtype="AAAA")))
    answer = frames.dns_cname_answer(query, ["api.cdn.learn.example"], [LEARNED_V6], ttl=300)
    syn = syn_to(44010, LEARNED_V6, 8080, client=V6_HOST)
    result = replay(tmp_path, [(0, query), (0.01, answer), (0.02, syn)], config_text=LEARNING)
    assert_flow(result, 44010, "ALLOW", "allowed_dns_learned", "IP", "api.cdn.learn.example")


def test_answers_from_a_resolver_the_policy_does_not_allow_teach_nothing(tmp_path):
    query = frames.dns_query(PROD_HOST, 53004, "198.19.254.53", "db.learn.example")
    answer = frames.dns_answer(query, LEARNED_DB)
    syn = syn_to(44011, LEARNED_DB, 5432)
    result = replay(tmp_path, [(0, query), (0.01, answer), (0.02, syn)], config_text=LEARNING)
    assert_flow(result, 53004, "DROP", "dns_resolver_not_allowed", "DNS", "198.19.254.53")
    assert_flow(result, 44011, "DROP", "ip_not_allowed", "IP", LEARNED_DB)
    assert_frames(result.replies, [frames.expected_icmp_unreachable(query), frames.expected_reset(syn)],
                  "replies")


# --- flow table ------------------------------------------------------------------------------

def test_idle_udp_flow_ages_out_and_is_judged_again(tmp_path):
    first = frames.dns_query(PROD_HOST, 53010, RESOLVER, "pypi.org")
    again = frames.dns_query(PROD_HOST, 53010, RESOLVER, "pypi.org", query_id=2)
    result = replay(tmp_path, [(0, first), (3, first), (20, again)],
                    config_text="flow_timeouts { udp_seconds: 10 }\n")
    # Two flows on one 5-tuple: the idle gap of 17 s outlived the 10 s UDP timeout.
    assert sorted(f["flow_id"] for f in result.flows if f["src_port"] == 53010) == [1, 2]


def test_full_flow_table_refuses_new_flows_and_keeps_old_ones(tmp_path):
    a = frames.dns_query(PROD_HOST, 53020, RESOLVER, "pypi.org")
    b = frames.dns_query(PROD_HOST, 53021, RESOLVER, "pypi.org")
    c = frames.dns_query(PROD_HOST, 53022, RESOLVER, "pypi.org")
    a_again = frames.dns_query(PROD_HOST, 53020, RESOLVER, "pypi.org", query_id=9)
    result = replay(tmp_path, at(0, [a, b, c, a_again]), flow_capacity=2)
    assert_frames(result.forwarded, [a, b, a_again], "forwarded")
    assert result.dropped("flow_table_full") == 1
    assert [f["src_port"] for f in result.flows] in ([53020, 53021], [53021, 53020])
    assert result.denials == []  # a full table is the appliance's limit, not a policy denial


@pytest.mark.parametrize("sni, allowed", [("pypi.org", True), ("evil.example.org", False)])
def test_client_hello_on_a_fast_open_syn(tmp_path, sni, allowed):
    """TCP Fast Open: the ClientHello rides on the SYN. Before a verdict a SYN carries no data
    (nothing but the judged message may leave, and not before its verdict): dropped, allowed name
    or not; the client falls back to a plain SYN."""
    flow = frames.TcpFlow(PROD_HOST, 43020, TLS_SERVER, 443)
    syn_with_hello = flow._client("S", client_hello(sni), seq=flow.isn, ack=0,
                                  options=frames.SYN_OPTIONS)
    result = replay(tmp_path, at(0, [syn_with_hello]))
    assert_frames(result.forwarded, [], "forwarded")
    assert result.dropped("tcp_syn_payload") == 1


def test_new_connection_on_the_port_of_a_denied_one_is_judged_afresh(tmp_path):
    """Both ends were reset, so the denied connection is over; stacks reuse the port at once. A
    SYN on the closed 5-tuple starts a new connection whatever its sequence number, the old
    SYN's included (the server had answered it: no retransmission of it comes after that)."""
    denied, denied_open = handshake(43030)
    evil = denied.data(client_hello("evil.example.org"))
    old_syn_again = denied_open[0]  # a new connection, judged afresh: it passes, undecided
    fresh = frames.TcpFlow(PROD_HOST, 43030, TLS_SERVER, 443, isn=0x5000_0000)
    fresh_syn, fresh_syn_ack, fresh_ack = fresh.syn(), fresh.syn_ack(), fresh.ack()
    fresh_hello = fresh.data(client_hello("pypi.org"))
    result = replay(tmp_path, at(0, denied_open + [evil, old_syn_again])
                    + at(1, [fresh_syn, fresh_syn_ack, fresh_ack, fresh_hello]))
    verdicts = [(f["verdict"], f["reason"]) for f in result.flows if f["src_port"] == 43030]
    assert verdicts == [("DROP", "domain_not_allowed"), ("ALLOW", "allowed_domain")], result.flows
    assert [d["destination"] for d in result.denials] == ["evil.example.org"]
    assert_frames(result.replies, [frames.expected_reset(evil)], "replies")
    assert bytes(old_syn_again) in result.forwarded
    assert bytes(fresh_hello) in result.forwarded
