"""Assertions shared by the golden tests: a case's frames, record and flow-log line."""

import re

from scapy.layers.l2 import Ether

from pcapgen import frames
EVENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# A version 4 (random) UUID in lower-case hex: every record's event_id (docs/RECORDS.md).
EVENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def pop_event_id(record):
    """Takes the record's event_id out (it is random, so never part of an expected record) after
    checking it is a version 4 UUID."""
    event_id = record.pop("event_id", None)
    assert event_id is not None and EVENT_ID.match(event_id), f"event_id {event_id!r} in {record}"
    return event_id


def apply_patch(policy_text, patch):
    """Adds each `policies { name: P … }` block's lines of a `sluicectl suggest` patch after
    policy P's name line."""
    for name, body in re.findall(r'^policies \{\n  name: "([^"]+)"\n(.*?)^\}', patch, re.S | re.M):
        lines = [line for line in body.splitlines() if not line.strip().startswith("#")]
        marker = f'  name: "{name}"\n'
        assert marker in policy_text, name
        policy_text = policy_text.replace(marker, marker + "\n".join(lines) + "\n", 1)
    return policy_text


def denial_fields(proto_path):
    """Field names of sluice.denial.DenialRecord, read from proto/denial.proto."""
    text = proto_path.read_text()
    body = text[text.index("message DenialRecord"):]
    body = body[:body.index("}")]
    return re.findall(r"^\s*(?:string|uint32|uint64|int32|int64|bool)\s+(\w+)\s*=", body, re.M)


def _match(case):
    if "match" in case.extra:
        return case.extra["match"]
    return lambda pkt: frames.flow_key(pkt) == case.key


def frames_of(case, raw_frames):
    match = _match(case)
    return [raw for raw in raw_frames if match(Ether(raw))]


def _show(raw):
    return Ether(raw).summary() + f" ({len(raw)} bytes)"


def assert_frames(actual, expected, what):
    expected = [bytes(p) for p in expected]
    if actual == expected:
        return
    lines = [f"{what}: {len(actual)} frames out, {len(expected)} expected"]
    for i in range(max(len(actual), len(expected))):
        a = actual[i] if i < len(actual) else None
        e = expected[i] if i < len(expected) else None
        if a == e:
            lines.append(f"  [{i}] same  {_show(a)}")
            continue
        lines.append(f"  [{i}] got      {_show(a) if a is not None else '-'}")
        lines.append(f"  [{i}] expected {_show(e) if e is not None else '-'}")
        if a is not None and e is not None:
            first = next((j for j in range(min(len(a), len(e))) if a[j] != e[j]),
                         min(len(a), len(e)))
            lines.append(f"       first difference at byte {first}: got {a[first:first + 8].hex()} "
                         f"expected {e[first:first + 8].hex()}")
            lines.append(f"       got      {a.hex()}")
            lines.append(f"       expected {e.hex()}")
    raise AssertionError("\n".join(lines))


def _five_tuple(d):
    return (d.get("src_ip"), d.get("src_port"), d.get("dst_ip"), d.get("dst_port"),
            d.get("protocol"))


def _case_tuple(case):
    f = case.flow
    return (f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"], f["protocol"])


def assert_record(denials, case, flow_id, appliance, fields):
    """Exactly the case's denial record (every field; event_time by format), or none."""
    assert denials is not None, "no denials.jsonl was written"
    mine = [r for r in denials if case.flow and _five_tuple(r) == _case_tuple(case)]
    if case.record is None:
        assert mine == [], f"{case.name}: no denial record expected, got {mine}"
        return
    assert len(mine) == 1, f"{case.name}: one record a flow expected, got {mine}"
    record = dict(mine[0])
    assert set(record) == set(fields), (
        f"{case.name}: record fields {sorted(record)} != denial.proto {sorted(fields)}")
    assert EVENT_TIME.match(str(record.pop("event_time"))), mine[0]
    pop_event_id(record)
    expected = dict(case.record, flow_id=flow_id)
    if appliance is not None:
        expected["appliance"] = appliance
    else:
        record.pop("appliance")
    assert record == expected



FLOW_LOG_FIELDS = {"src_ip", "src_port", "dst_ip", "dst_port", "protocol", "sni", "http_host",
                   "policy", "source_label", "verdict", "reason", "destination_type",
                   "destination", "flow_id", "event_id"}


def assert_flow_line(flow_lines, case, flow_id):
    """The case's one flow-log line, with every field the contract fixes for it."""
    assert flow_lines is not None, "no flow log was written"
    mine = [f for f in flow_lines if _five_tuple(f) == _case_tuple(case)]
    assert len(mine) == 1, f"{case.name}: one flow-log line expected, got {mine}"
    line = mine[0]
    missing = FLOW_LOG_FIELDS - set(line)
    assert not missing, f"{case.name}: flow-log line lacks {sorted(missing)}: {line}"
    assert EVENT_ID.match(line["event_id"]), line
    got = {k: line[k] for k in case.flow}
    assert got == case.flow and line["flow_id"] == flow_id, (
        f"{case.name}: flow-log line {line}\n expected {dict(case.flow, flow_id=flow_id)}")
