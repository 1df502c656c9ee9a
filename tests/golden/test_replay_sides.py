"""`sluicectl replay --outside-mac MAC`: a capture with both directions replays as sluiced sees its
two ports. Frames whose source MAC is the outside MAC (the upstream router's, frames.UPSTREAM_MAC)
enter on the outside port, the others on the inside port.

The same frames go through sluiced (inside frames into the inside pcap, outside frames into the
outside pcap; the worker polls the inside port first and the inside pcap stays under one burst of
32, so every flow exists before its replies) and through replay (one capture, inside frames
first). The two must agree frame for frame: what replay forwards from inside frames is what
sluiced sends out of its outside port, what it forwards from outside frames is what sluiced
sends out of its inside port, and the flow logs and drop counts match. An outside-sourced SYN is
dropped `unsolicited_inbound` by both; without --outside-mac replay would take it for a new
inside flow.
"""

import json
import subprocess

import pytest

from conftest import (GOLDEN_POLICY, RUN_TIMEOUT_S, SLUICECTL, bindings_for, read_jsonl, run_sluiced,
                      run_sluicectl, write_learned_state)
from pcapgen import frames
from pcapgen.tls import client_hello
from scenarios import HTTP_SERVER, PROD_HOST, RESOLVER, TLS_SERVER

SERVER_HELLO = b"\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
OUTSIDE_HOST = "198.19.66.1"


def _traffic():
    """(inside frames, outside frames), each in the order its port receives them."""
    inside, outside = [], []
    allowed = frames.TcpFlow(PROD_HOST, 44001, TLS_SERVER, 443)
    inside += [allowed.syn(), allowed.ack(), allowed.data(client_hello("pypi.org"))]
    denied = frames.TcpFlow(PROD_HOST, 44002, TLS_SERVER, 443)
    inside += [denied.syn(), denied.ack(), denied.data(client_hello("evil.example.org"))]
    http = frames.TcpFlow(PROD_HOST, 44003, HTTP_SERVER, 80)
    inside += [http.syn(), http.ack(), http.data(frames.http_get("pypi.org"))]
    query = frames.dns_query(PROD_HOST, 44004, RESOLVER, "pypi.org", query_id=0x4404)
    inside.append(query)
    # Replies: of the allowed flows (pass), of the denied one (dropped: flow_denied).
    allowed_reply = frames.TcpFlow(PROD_HOST, 44001, TLS_SERVER, 443)
    allowed_reply.syn()
    outside += [allowed_reply.syn_ack(), allowed_reply.server_data(SERVER_HELLO)]
    denied_reply = frames.TcpFlow(PROD_HOST, 44002, TLS_SERVER, 443)
    denied_reply.syn()
    outside.append(denied_reply.syn_ack())
    http_reply = frames.TcpFlow(PROD_HOST, 44003, HTTP_SERVER, 80)
    http_reply.syn()
    outside += [http_reply.syn_ack(), http_reply.server_data(HTTP_RESPONSE)]
    outside.append(frames.dns_answer(query, TLS_SERVER))
    # An outside host opening a connection to an inside host: no flow an inside host opened.
    inbound = frames.TcpFlow(OUTSIDE_HOST, 44005, PROD_HOST, 22, client_mac=frames.UPSTREAM_MAC)
    outside.append(inbound.syn())
    return inside, outside


INSIDE, OUTSIDE = _traffic()
BOUND = bindings_for(GOLDEN_POLICY, [TLS_SERVER, HTTP_SERVER])


def _replay(workdir, *extra):
    pcap, forwarded, replies = workdir / "both.pcap", workdir / "forwarded.pcap", workdir / "replies.pcap"
    flows = workdir / "flows.jsonl"
    frames.write_pcap(pcap, INSIDE + OUTSIDE)
    proc = subprocess.run([str(SLUICECTL), "replay", "--policy", str(GOLDEN_POLICY), "--pcap", str(pcap),
                           "--forwarded", str(forwarded), "--replies", str(replies), "--flows", str(flows),
                           "--json", *extra], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return (frames.read_pcap_frames(forwarded), frames.read_pcap_frames(replies), read_jsonl(flows),
            json.loads(proc.stdout))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("replay_sides")
    # The servers were resolved before the capture (both read the same learned-address state).
    run = run_sluiced(workdir / "sluiced", GOLDEN_POLICY, INSIDE, OUTSIDE, learned=BOUND)
    assert run.returncode == 0, run.describe()
    (workdir / "replay").mkdir()
    state = write_learned_state(workdir / "replay" / "learned.state", BOUND)
    return run, _replay(workdir / "replay", "--outside-mac", frames.UPSTREAM_MAC, "--learned-state", str(state))


def _verdicts(flows):
    keep = ("src_ip", "src_port", "dst_ip", "dst_port", "protocol", "verdict", "reason", "destination")
    return sorted(tuple(str(f.get(k)) for k in keep) for f in flows)


def test_every_frame_out_agrees(both):
    """All that leaves the appliance: forwarded frames and the resets it builds, on either port."""
    run, (forwarded, replies, _, _) = both
    assert sorted(forwarded + replies) == sorted(run.outside_tx + run.inside_tx)
    assert replies, "the denied flow's client is reset"


def test_each_side_forwards_the_same_frames_in_order(both):
    run, (forwarded, _, _, _) = both
    assert [f for f in forwarded if f in INSIDE] == [f for f in run.outside_tx if f in INSIDE]
    assert [f for f in forwarded if f in OUTSIDE] == [f for f in run.inside_tx if f in OUTSIDE]
    # Inside frames leave by the outside port and outside frames by the inside port, in sluiced.
    assert not any(f in OUTSIDE for f in run.outside_tx) and not any(f in INSIDE for f in run.inside_tx)


def test_flow_logs_agree(both):
    run, (_, _, flows, _) = both
    assert _verdicts(flows) == _verdicts(run.flows)
    assert len(flows) == 4, flows  # the inbound SYN makes no flow


def test_outside_syn_is_unsolicited(both):
    run, (forwarded, _, flows, summary) = both
    dropped = {d["reason"]: d["packets"] for d in summary["dropped"]}
    assert dropped.get("unsolicited_inbound") == 1, dropped
    assert OUTSIDE[-1] not in forwarded and OUTSIDE[-1] not in run.inside_tx


def test_without_outside_mac_the_syn_is_a_new_flow(tmp_path):
    """The flag is what makes the difference: without it every frame is inside traffic."""
    _, _, flows, summary = _replay(tmp_path)
    dropped = {d["reason"]: d["packets"] for d in summary["dropped"]}
    assert "unsolicited_inbound" not in dropped, dropped
    assert any(f["src_ip"] == OUTSIDE_HOST for f in flows), flows


@pytest.mark.parametrize("mac", ["02:00:5e:00:00", "02-00-5e-00-00-02", "02:00:5e:00:00:0g", "",
                                 "02:00:5e:00:00:02:03", "0200.5e00.0002"])
def test_bad_outside_mac_is_refused(tmp_path, mac):
    result = run_sluicectl("replay", "--policy", GOLDEN_POLICY, "--pcap", tmp_path / "none.pcap",
                           "--outside-mac", mac)
    assert result.returncode == 2, result
    assert "--outside-mac" in result.stderr, result.stderr
    assert result.stdout == ""
