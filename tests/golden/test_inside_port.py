"""Inside-port scenarios through sluiced (pcap PMD): TLS, HTTP, source selection, IP rules,
DNS, IPv6, 802.1Q, ARP and fragments. One sluiced run for all (fixture inside_run); each case
asserts its own flow: the frames out of the outside port, the RSTs out of the inside port, the
denial record and the flow-log line. Expectations: scenarios.py, from the policy contract."""

import pytest
from conftest import SOURCE_DIR
from checks import assert_flow_line, assert_frames, assert_record, denial_fields, frames_of
from pcapgen.cases import number_flows
from scenarios import APPLIANCE, INSIDE_CASES, INSIDE_GROUPED

FLOW_IDS = number_flows(INSIDE_CASES)
DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")


@pytest.mark.parametrize("case", INSIDE_CASES, ids=[f"{g}/{c.name}" for g, c in INSIDE_GROUPED])
def test_flow(inside_run, case):
    assert_frames(frames_of(case, inside_run.outside_tx), case.forwarded,
                  f"{case.name}: outside port tx")
    assert_frames(frames_of(case, inside_run.inside_tx), case.resets,
                  f"{case.name}: inside port tx (RSTs, ICMP errors)")
    if case.makes_flow:
        flow_id = FLOW_IDS[case.key]
        assert_record(inside_run.denials, case, flow_id, APPLIANCE, DENIAL_FIELDS)
        assert_flow_line(inside_run.flows, case, flow_id)


def test_inside_port_totals(inside_run):
    """Nothing came out that no case expects, in the order the packets went in."""
    assert_frames(inside_run.outside_tx, [p for c in INSIDE_CASES for p in c.forwarded],
                  "outside port tx, all flows")
    assert_frames(inside_run.inside_tx,
                  [p for c in INSIDE_CASES for p in c.resets], "inside port tx, all flows")
    assert len(inside_run.denials) == sum(1 for c in INSIDE_CASES if c.record), \
        inside_run.denials
    assert sorted(f["flow_id"] for f in inside_run.flows) == sorted(FLOW_IDS.values())
