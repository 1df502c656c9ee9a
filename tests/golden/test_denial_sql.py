"""The shipped SQLite schema (packaging/sql): real denial records (a replay of the demo capture,
re-timed and aggregated by the test, with a torn last line) loaded with Debian's sqlite3 through
load_jsonl.sql, and every example query of queries.sql checked against answers worked out here
from the same records."""

import shutil
import subprocess
from collections import defaultdict

import pytest

from conftest import DEMO_PCAP, DEMO_POLICY, SOURCE_DIR, run_demo_replay
from denial_records import retimed, write_jsonl

SQL = SOURCE_DIR / "packaging" / "sql"
NOW = "2026-11-22T20:00:00.000Z"
TIMES = ["2026-11-22T15:00:00.000Z", "2026-11-22T18:30:00.000Z", "2026-11-22T19:30:00.000Z"]
COUNTS = [1, 4, 2]
NAMED = {"SNI": "DNS", "HTTP_HOST": "DNS", "QUIC_SNI": "DNS"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    sqlite3 = shutil.which("sqlite3")
    if not sqlite3:
        pytest.fail("sqlite3 is not installed (scripts/bootstrap.sh installs it)")
    work = tmp_path_factory.mktemp("sql")
    run = run_demo_replay(work / "replay")
    assert run.returncode == 0 and run.denials, run.stderr
    records = []
    for time, count in zip(TIMES, COUNTS):
        records += retimed(run.denials, [time], [count])
    write_jsonl(work / "denials.jsonl", records, torn_tail=True)
    db = work / "denials.db"
    proc = subprocess.run([sqlite3, "-bail", str(db), f".read {SQL / 'denials.sql'}",
                           f".read {SQL / 'load_jsonl.sql'}"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sqlite3, db, records


def query(loaded, sql):
    sqlite3, db, _ = loaded
    proc = subprocess.run([sqlite3, "-bail", str(db), ".mode list", ".separator |", sql],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.split("|") for line in proc.stdout.splitlines()]


def test_every_whole_record_loaded_torn_line_skipped(loaded):
    _, _, records = loaded
    assert query(loaded, "SELECT count(*), sum(count) FROM sluice_denials") == \
        [[str(len(records)), str(sum(r["count"] for r in records))]]


def test_view_maps_destination_type(loaded):
    _, _, records = loaded
    rows = query(loaded, "SELECT sluice_destination_type, destination_type, count(*) FROM outbound_network "
                         "GROUP BY 1, 2 ORDER BY 1")
    counts = defaultdict(int)
    for r in records:
        counts[r["destination_type"]] += 1
    assert rows == [[ours, NAMED.get(ours, "IP"), str(n)] for ours, n in sorted(counts.items())]


def test_example_queries_answer_from_the_records(loaded):
    sqlite3, db, records = loaded
    proc = subprocess.run([sqlite3, "-bail", str(db), f".param set :now \"'{NOW}'\"",
                           f".read {SQL / 'queries.sql'}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    answers = defaultdict(list)
    for line in proc.stdout.splitlines():
        name, *values = line.split("|")
        answers[name].append(values)

    recent = defaultdict(int)  # 1: the last two hours by destination and access type
    for r in records:
        if r["event_time"] >= "2026-11-22T18:00:00.000Z":
            recent[(r["destination"], r["access_type"])] += r["count"]
    expected = sorted(recent.items(), key=lambda kv: (-kv[1], kv[0][0]))
    assert [(d, a, int(n)) for d, a, n in answers["last_2h"]] == [(d, a, n) for (d, a), n in expected]

    by_type = defaultdict(int)  # 2
    for r in records:
        by_type[NAMED.get(r["destination_type"], "IP")] += r["count"]
    assert answers["by_type"] == [[t, str(n)] for t, n in sorted(by_type.items())]

    dry = defaultdict(lambda: [0, "~", ""])  # 3
    for r in records:
        if r["access_type"] == "DRY_RUN_DENIAL" and r["destination_type"] in NAMED:
            entry = dry[r["destination"]]
            entry[0] += r["count"]
            entry[1] = min(entry[1], r["event_time"])
            entry[2] = max(entry[2], r["event_time"])
    assert dry, "the demo capture has dry-run denials of names"
    assert answers["dry_run_names"] == [[name, str(n), first, last] for name, (n, first, last) in sorted(dry.items())]

    sources = defaultdict(lambda: [0, set()])  # 4
    for r in records:
        sources[r["src_ip"]][0] += r["count"]
        sources[r["src_ip"]][1].add(r["destination"])
    assert answers["by_source"] == [[ip, str(n), str(len(d))] for ip, (n, d) in sorted(sources.items())]
