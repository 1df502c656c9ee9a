"""The demo: configs/demo/demo.pcap through sluiced with configs/demo/policy.textproto (the
resolver's answers, configs/demo/answers.pcap, on the outside port), and the same traffic as one
capture through sluicectl replay. Outcomes per flow: tests/pcapgen/make_demo.py (the table of
configs/demo/README.md)."""

import re

import pytest

from checks import (assert_flow_line, assert_frames, assert_record, denial_fields, frames_of)
from conftest import DEMO_ANSWERS, DEMO_PCAP, DEMO_POLICY, SOURCE_DIR, run_demo_replay, run_sluiced
from pcapgen import frames, make_demo
from pcapgen.cases import number_flows

APPLIANCE = "demo-appliance"
CASES = make_demo.build_cases()
FLOW_IDS = number_flows(CASES)
DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    run = run_sluiced(tmp_path_factory.mktemp("demo"), DEMO_POLICY, None, inside_pcap=DEMO_PCAP,
                      outside_packets=make_demo.answers(), appliance=APPLIANCE)
    assert run.returncode == 0, run.describe()
    return run


@pytest.fixture(scope="module")
def demo_replay(tmp_path_factory):
    run = run_demo_replay(tmp_path_factory.mktemp("demo_replay"))
    assert run.returncode == 0, run.describe()
    return run


def test_demo_pcap_is_reproducible(tmp_path):
    """The committed pcap is what make_demo.py writes, byte for byte."""
    fresh = tmp_path / "demo.pcap"
    frames.write_pcap(fresh, make_demo.packets(CASES))
    assert fresh.read_bytes() == DEMO_PCAP.read_bytes(), (
        "configs/demo/demo.pcap is stale: run /usr/bin/python3 tests/pcapgen/make_demo.py")
    answers = tmp_path / "answers.pcap"
    frames.write_pcap(answers, make_demo.answers())
    assert answers.read_bytes() == DEMO_ANSWERS.read_bytes(), (
        "configs/demo/answers.pcap is stale: run /usr/bin/python3 tests/pcapgen/make_demo.py")
    assert make_demo.deciding_after_first_burst(CASES)
    assert 15 <= len(CASES) <= 30 and len(make_demo.packets(CASES)) < 200


def _counts(stdout):
    """Numbers the summary gives for allowed, denied (dropped) and dry-run-denied flows.

    Reads "label N" / "label: N" / "N label" pairs, and tables of a header line of labels
    over a line of numbers."""
    def kind_of(text):
        if re.search(r"dry[\s_-]?run", text, re.I):
            return "dry_run"
        if re.search(r"drop|denied|deny|denial", text, re.I):
            return "denied"
        if re.search(r"allow", text, re.I):
            return "allowed"
        return None

    found = {"allowed": [], "denied": [], "dry_run": []}
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        label = r"[A-Za-z][A-Za-z_()-]*(?: [A-Za-z_()-]+)*"
        pairs = re.findall(r"(%s)\s*[:=]?\s+(\d+)\b" % label, line)
        if not any(kind_of(lbl) for lbl, _ in pairs):  # "N label" only when no "label N"
            pairs = [(lbl, n) for n, lbl in re.findall(r"\b(\d+)\s+(%s)" % label, line)]
        for label, number in pairs:
            if kind_of(label):
                found[kind_of(label)].append(int(number))
        cells = [c for c in re.split(r"\s{2,}|\t|\|", line.strip()) if c]
        if i + 1 < len(lines) and sum(1 for c in cells if kind_of(c)) >= 2:
            values = [v for v in re.split(r"\s{2,}|\t|\|", lines[i + 1].strip()) if v]
            if len(values) == len(cells):
                for cell, value in zip(cells, values):
                    if kind_of(cell) and value.strip().isdigit():
                        found[kind_of(cell)].append(int(value))
    return found


def test_demo_summary_counts_all_three(demo_run):
    counts = _counts(demo_run.stdout)
    for kind in ("allowed", "denied", "dry_run"):
        assert any(n > 0 for n in counts[kind]), (
            f"no non-zero {kind} count in the summary:\n{demo_run.stdout}")


def test_demo_denials_have_every_field(demo_run):
    kinds = {r["access_type"] for r in demo_run.denials}
    assert kinds == {"DROP", "DRY_RUN_DENIAL"}, demo_run.denials
    for record in demo_run.denials:
        assert set(record) == set(DENIAL_FIELDS), record
        assert record["appliance"] == APPLIANCE


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_demo_flow(demo_run, case):
    assert_frames(frames_of(case, demo_run.outside_tx), case.forwarded, f"{case.name}: outside tx")
    assert_frames(frames_of(case, demo_run.inside_tx), case.resets, f"{case.name}: inside tx")
    assert_record(demo_run.denials, case, FLOW_IDS[case.key], APPLIANCE, DENIAL_FIELDS)
    assert_flow_line(demo_run.flows, case, FLOW_IDS[case.key])


def test_demo_replay_agrees_with_sluiced(demo_run, demo_replay):
    """Flow by flow, sluicectl replay and sluiced --flow-log say the same thing."""
    sluiced = {f["flow_id"]: f for f in demo_run.flows}
    replay = {f["flow_id"]: f for f in demo_replay.flows}
    assert len(sluiced) == len(demo_run.flows) == len(CASES)
    assert sorted(replay) == sorted(sluiced), (sorted(replay), sorted(sluiced))
    for flow_id in sorted(sluiced):
        # event_id is each line's own random id: the two runs wrote different lines.
        assert ({k: v for k, v in replay[flow_id].items() if k != "event_id"} ==
                {k: v for k, v in sluiced[flow_id].items() if k != "event_id"}), flow_id


def test_demo_replay_denials_agree_with_sluiced(demo_run, demo_replay):
    def comparable(records):
        return sorted(({k: v for k, v in r.items() if k not in ("event_time", "appliance", "event_id")}
                       for r in records), key=lambda r: r["flow_id"])
    assert comparable(demo_replay.denials) == comparable(demo_run.denials)


def test_demo_totals(demo_run):
    """Nothing else came out: 59 of the 70 packets forwarded; out of the inside port the 6 DNS
    answers and 7 replies (5 RSTs for denied flows, 1 for a retransmitted denied SYN, 1 ICMP
    error for a denied DNS query); 10 records. The answers leave after the first inside burst's
    replies (the outside port is read after it), so the inside port is compared as a set."""
    assert_frames(demo_run.outside_tx, [p for c in CASES for p in c.forwarded],
                  "outside port tx, all flows")
    assert_frames(sorted(demo_run.inside_tx), sorted(bytes(p) for c in CASES for p in c.resets),
                  "inside port tx")
    assert len(demo_run.outside_tx) == 59 and len(demo_run.inside_tx) == 13
    assert len(demo_run.denials) == 10
