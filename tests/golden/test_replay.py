"""sluicectl replay over one capture holding both directions in their natural order (the
responder's frames enter on the outside port, --outside-mac): the
responder's packets are return traffic of the flow they answer (no extra flows), a TLS flow
whose ClientHello never came stays PENDING, and denials are the same as sluiced's."""

import pytest

from checks import assert_flow_line, assert_record, denial_fields
from conftest import GOLDEN_POLICY, SOURCE_DIR, run_replay
from pcapgen import frames
from pcapgen.cases import Case
from pcapgen.tls import client_hello
from scenarios import (HTTP_SERVER, PROD, PROD_HOST, RESOLVER, STAGING, STAGING_HOST,
                       TLS_SERVER)

DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")
SERVER_HELLO = b"\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def _flow(name, source, flow, verdict, reason, dtype, destination, packets, protocol="TCP"):
    fields = {"src_ip": flow[0], "src_port": flow[1], "dst_ip": flow[2], "dst_port": flow[3],
              "protocol": protocol, "policy": source.policy, "source_label": source.label,
              "verdict": verdict}
    if verdict == "PENDING":  # never judged: dataplane/reason.h's flow-log-only reason
        fields.update(reason="no_payload_seen")
    else:
        fields.update(reason=reason, destination_type=dtype, destination=destination)
    record = None
    if verdict in ("DROP", "DRY_RUN_DENIAL"):
        record = {k: v for k, v in fields.items() if k != "verdict"}
        record["access_type"] = verdict
        record["count"] = 1  # replay never aggregates: one record a denied flow
    return Case(name, packets, [], [], record, fields, frames.flow_key(packets[0]))


def _conversations():
    cases = []

    def tls(name, source, client, sport, sni, verdict, reason):
        f = frames.TcpFlow(client, sport, TLS_SERVER, 443)
        pkts = [f.syn(), f.syn_ack(), f.ack(), f.data(client_hello(sni)),
                f.server_data(SERVER_HELLO), f.ack(), f.fin()]
        cases.append(_flow(name, source, (client, sport, TLS_SERVER, 443), verdict, reason,
                           "SNI", sni, pkts))

    # The client resolves first: the answer binds pypi.org to TLS_SERVER (docs/POLICY.md, "The
    # name must match the destination"); the query comes before its answer.
    query = frames.dns_query(PROD_HOST, 43004, RESOLVER, "pypi.org", query_id=0x4304)
    cases.append(_flow("replay_dns_allowed", PROD, (PROD_HOST, 43004, RESOLVER, 53), "ALLOW",
                       "allowed_dns_resolver", "DNS", RESOLVER,
                       [query, frames.dns_answer(query, TLS_SERVER)], protocol="UDP"))

    tls("replay_tls_allowed", PROD, PROD_HOST, 43001, "pypi.org", "ALLOW", "allowed_domain")
    tls("replay_tls_denied_enforce", PROD, PROD_HOST, 43002, "evil.example.org", "DROP",
        "domain_not_allowed")

    f = frames.TcpFlow(STAGING_HOST, 43003, HTTP_SERVER, 80)
    pkts = [f.syn(), f.syn_ack(), f.ack(), f.data(frames.http_get("evil.example.org")),
            f.server_data(HTTP_RESPONSE), f.ack()]
    cases.append(_flow("replay_http_denied_dry_run", STAGING,
                       (STAGING_HOST, 43003, HTTP_SERVER, 80), "DRY_RUN_DENIAL",
                       "domain_not_allowed", "HTTP_HOST", "evil.example.org", pkts))


    f = frames.TcpFlow(PROD_HOST, 43005, TLS_SERVER, 443)
    cases.append(_flow("replay_tls_no_payload_pending", PROD, (PROD_HOST, 43005, TLS_SERVER, 443),
                       "PENDING", None, None, None, [f.syn(), f.syn_ack(), f.ack()]))
    return cases


CASES = _conversations()


@pytest.fixture(scope="module")
def replay_run(tmp_path_factory):
    packets = [p for c in CASES for p in c.packets]
    run = run_replay(tmp_path_factory.mktemp("replay"), GOLDEN_POLICY, packets,
                     outside_mac=frames.UPSTREAM_MAC)
    assert run.returncode == 0, run.describe()
    return run


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_replay_flow(replay_run, case):
    flow_id = CASES.index(case) + 1
    assert_flow_line(replay_run.flows, case, flow_id)
    # replay names no appliance on its command line: `appliance` is not pinned here.
    assert_record(replay_run.denials, case, flow_id, None, DENIAL_FIELDS)


def test_replay_one_line_a_flow(replay_run):
    """Replies are return traffic: five flows in, five flow lines, two denial records."""
    assert sorted(f["flow_id"] for f in replay_run.flows) == [1, 2, 3, 4, 5], replay_run.flows
    assert len(replay_run.denials) == 2, replay_run.denials
    assert replay_run.stdout.strip(), "replay prints a summary table"
