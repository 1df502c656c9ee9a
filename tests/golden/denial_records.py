"""Denial records for the sluicectl denials/suggest and SQL tests: real ones from a replay of the
demo capture, re-timed and aggregated copies of them, and a small protobuf encoder for
sluice.denial.DenialRecord (proto/denial.proto) so the tests can write denials.pb files."""

import json

FIELDS = [  # (name, field number, wire type 0 = varint, 2 = string): proto/denial.proto
    ("event_time", 1, 2), ("access_type", 2, 2), ("policy", 3, 2), ("source_label", 4, 2),
    ("src_ip", 5, 2), ("src_port", 6, 0), ("dst_ip", 7, 2), ("dst_port", 8, 0),
    ("protocol", 9, 2), ("destination_type", 10, 2), ("destination", 11, 2), ("reason", 12, 2),
    ("flow_id", 13, 0), ("appliance", 14, 2), ("count", 15, 0), ("event_id", 20, 2)]


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_record(record):
    body = bytearray()
    for name, number, wire in FIELDS:
        value = record.get(name)
        if value in (None, "", 0):
            continue
        body += varint(number << 3 | wire)
        if wire == 0:
            body += varint(value)
        else:
            data = value.encode()
            body += varint(len(data)) + data
    return varint(len(body)) + bytes(body)


def write_pb(path, records, torn_tail=False):
    data = b"".join(encode_record(r) for r in records)
    if torn_tail:
        data += encode_record(records[0])[:-4]
    path.write_bytes(data)


def write_jsonl(path, records, torn_tail=False):
    text = "".join(json.dumps(r) + "\n" for r in records)
    if torn_tail:
        text += json.dumps(records[0])[:25]
    path.write_text(text)


def retimed(records, times, counts=None):
    """Copies of `records`, the i-th at times[i] (cycled) with counts[i] (default: its own)."""
    out = []
    for i, record in enumerate(records):
        copy = dict(record)
        copy["event_time"] = times[i % len(times)]
        if counts:
            copy["count"] = counts[i % len(counts)]
        out.append(copy)
    return out
