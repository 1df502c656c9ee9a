"""Both ports receive (sluiced, pcap PMD): replies of allowed and dry-run flows come back in,
replies of a flow denied in ENFORCE and packets of no flow are dropped (unsolicited_inbound,
no record).

The worker polls the inside port (burst of up to 32) before the outside port, so the inside
pcap stays under 32 packets: every flow exists before its replies arrive.
"""

import pytest
from scapy.layers.inet import IP, TCP

from checks import assert_frames, assert_record, denial_fields, frames_of
from conftest import GOLDEN_POLICY, SOURCE_DIR, bindings_for, run_sluiced
from pcapgen import frames
from pcapgen.cases import Case
from pcapgen.tls import client_hello
from scenarios import APPLIANCE, BOUND_SERVERS, PROD, PROD_HOST, RESOLVER, STAGING, STAGING_HOST, TLS_SERVER, DB

DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")
# A ServerHello-shaped record: the appliance does not read replies, it only forwards them.
SERVER_HELLO = (b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03" + bytes(range(32))
                + b"\x00\x13\x01\x00")


class Exchange:
    """One flow's packets in both directions and where each must come out."""

    def __init__(self, name, inside, outside, out_outside, out_inside, record=None):
        self.name = name
        self.inside, self.outside = inside, outside          # into the inside / outside port
        self.out_outside, self.out_inside = out_outside, out_inside  # expected out of each port
        self.record = record
        self.case = Case(name, inside, out_outside, out_inside, record,
                         key=frames.flow_key((inside or outside)[0]))
        if record:
            self.case.flow = record


def _record(access_type, source, flow, reason, destination):
    return {"access_type": access_type, "policy": source.policy, "source_label": source.label,
            "src_ip": flow.client, "src_port": flow.sport, "dst_ip": flow.server,
            "dst_port": flow.dport, "protocol": "TCP", "destination_type": "SNI",
            "destination": destination, "reason": reason, "count": 1}


def _tls_exchange(name, client, sport, sni, verdict, source):
    flow = frames.TcpFlow(client, sport, TLS_SERVER, 443)
    syn = flow.syn()
    syn_ack = flow.syn_ack()
    ack = flow.ack()
    hello = flow.data(client_hello(sni))
    server_hello = flow.server_data(SERVER_HELLO)
    inside, outside = [syn, ack, hello], [syn_ack, server_hello]
    if verdict == "ALLOW":
        return Exchange(name, inside, outside, inside, outside)
    if verdict == "DROP":
        return Exchange(name, inside, outside, [syn, ack], [frames.expected_reset(hello)],
                        _record("DROP", source, flow, "domain_not_allowed", sni))
    return Exchange(name, inside, outside, inside, outside,
                    _record("DRY_RUN_DENIAL", source, flow, "domain_not_allowed", sni))


def _exchanges():
    allowed = _tls_exchange("allowed_tls_replies_pass", PROD_HOST, 42001, "pypi.org", "ALLOW",
                            PROD)
    denied = _tls_exchange("denied_tls_replies_dropped", PROD_HOST, 42002, "evil.example.org",
                           "DROP", PROD)
    dry = _tls_exchange("dry_run_tls_replies_pass", STAGING_HOST, 42003, "evil.example.org",
                        "DRY_RUN_DENIAL", STAGING)
    query = frames.dns_query(PROD_HOST, 42004, RESOLVER, "pypi.org", query_id=0x4204)
    answer = frames.dns_answer(query, TLS_SERVER)
    dns = Exchange("dns_answer_passes", [query], [answer], [query], [answer])
    db = frames.TcpFlow(PROD_HOST, 42005, DB, 5432)
    db_syn, db_syn_ack = db.syn(), db.syn_ack()
    network = Exchange("allowed_network_syn_ack_passes", [db_syn], [db_syn_ack], [db_syn],
                       [db_syn_ack])
    # No inside host opened these: dropped, unsolicited_inbound, no record.
    stray_reply = frames.TcpFlow(PROD_HOST, 42099, TLS_SERVER, 443)  # never sent a SYN
    stray_reply.syn_ack()
    stray_data = stray_reply.server_data(SERVER_HELLO)
    inbound_syn = _inbound_syn()  # an outside host dials in
    other_port = frames.dns_answer(frames.dns_query(PROD_HOST, 42098, RESOLVER, "pypi.org"),
                                   TLS_SERVER)
    wrong_server = frames.TcpFlow(PROD_HOST, 42001, "198.19.10.99", 443)  # allowed flow's port
    wrong_server.syn_ack()
    unsolicited = [
        Exchange("unsolicited_server_data_dropped", [], [stray_data], [], []),
        Exchange("unsolicited_inbound_syn_dropped", [], [inbound_syn], [], []),
        Exchange("unsolicited_dns_answer_dropped", [], [other_port], [], []),
        Exchange("reply_from_other_server_dropped", [], [wrong_server.server_data(b"x")], [], []),
    ]
    return [allowed, denied, dry, dns, network], unsolicited


def _inbound_syn():
    """A SYN from outside host 198.19.66.1:40000 to inside host 198.18.1.10:22."""
    return frames.finish(frames.l2(frames.UPSTREAM_MAC, frames.host_mac(PROD_HOST))
            / IP(src="198.19.66.1", dst=PROD_HOST, ttl=64, id=77, flags="DF")
            / TCP(sport=40000, dport=22, flags="S", seq=123456789, window=64240))


FLOWS, UNSOLICITED = _exchanges()
ALL = FLOWS + UNSOLICITED


@pytest.fixture(scope="module")
def both_ports_run(tmp_path_factory):
    inside = [p for e in FLOWS for p in e.inside]
    assert len(inside) < 32, "the inside burst must hold the whole inside pcap"
    outside = [p for e in ALL for p in e.outside]
    run = run_sluiced(tmp_path_factory.mktemp("both_ports"), GOLDEN_POLICY, inside, outside,
                      learned=bindings_for(GOLDEN_POLICY, BOUND_SERVERS))
    assert run.returncode == 0, run.describe()
    return run


@pytest.mark.parametrize("exchange", ALL, ids=[e.name for e in ALL])
def test_exchange(both_ports_run, exchange):
    assert_frames(frames_of(exchange.case, both_ports_run.outside_tx), exchange.out_outside,
                  f"{exchange.name}: outside port tx")
    assert_frames(frames_of(exchange.case, both_ports_run.inside_tx), exchange.out_inside,
                  f"{exchange.name}: inside port tx")
    if exchange.record is not None:
        flow_id = FLOWS.index(exchange) + 1
        assert_record(both_ports_run.denials, exchange.case, flow_id, APPLIANCE, DENIAL_FIELDS)


def test_both_ports_totals(both_ports_run):
    """Outside tx: the inside packets that pass, in order. Inside tx: the one RST (sent while
    the inside burst is processed), then the replies that pass, in outside-pcap order.
    Records: one a denied flow, none for unsolicited packets."""
    assert_frames(both_ports_run.outside_tx, [p for e in FLOWS for p in e.out_outside],
                  "outside port tx")
    resets = [p for e in FLOWS if e.record and e.record["access_type"] == "DROP"
              for p in e.out_inside]
    replies = [p for e in ALL if not (e.record and e.record["access_type"] == "DROP")
               for p in e.out_inside]
    assert_frames(both_ports_run.inside_tx, resets + replies, "inside port tx")
    assert sorted(r["access_type"] for r in both_ports_run.denials) == ["DROP", "DRY_RUN_DENIAL"]
