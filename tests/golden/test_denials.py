"""sluicectl denials and suggest through the real binary, on real denial records (a replay of the
demo capture) and on copies of them the test re-times, aggregates, rotates, tears and writes as
protobuf: filters, aggregated counts, --top, the three output forms, documented exit codes, and
that suggest's additions, applied to the policy, let the replayed traffic pass."""

import csv
import io
import json
import os
import subprocess
from collections import defaultdict

import pytest

from conftest import DEMO_PCAP, DEMO_POLICY, SLUICECTL, run_demo_replay, run_sluicectl
from checks import apply_patch
from denial_records import retimed, write_jsonl, write_pb

NOW = "2026-11-22T20:00:00Z"
OLD, MIDDLE, RECENT = "2026-11-22T15:00:00.000Z", "2026-11-22T18:30:00.000Z", "2026-11-22T19:30:00.000Z"
AGGREGATED = 5  # the count every record of the middle file stands for


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run = run_demo_replay(tmp_path_factory.mktemp("demo_replay"))
    assert run.returncode == 0, run.stderr
    assert run.denials and len(run.denials) >= 8
    return run


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory, demo):
    """A rotated log: .2 oldest, .1 aggregated, the current file with a torn last record."""
    directory = tmp_path_factory.mktemp("log")
    write_jsonl(directory / "denials.jsonl.2", retimed(demo.denials, [OLD]))
    write_jsonl(directory / "denials.jsonl.1", retimed(demo.denials, [MIDDLE], [AGGREGATED]))
    write_jsonl(directory / "denials.jsonl", retimed(demo.denials, [RECENT]), torn_tail=True)
    return directory


def denials(*args, now=NOW):
    env = dict(os.environ, SLUICECTL_NOW=now)
    return subprocess.run([str(SLUICECTL), "denials", *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env)


def as_json(proc):
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def expected_rows(demo, files):
    """What the log holds, oldest file first: (time, count) per demo record."""
    rows = []
    for time, count in files:
        rows += [(time, count, r) for r in demo.denials]
    return rows


@pytest.fixture(scope="module")
def demo_file(demo, tmp_path_factory):
    """The replay's denial records as sluiced writes them."""
    path = tmp_path_factory.mktemp("demo_file") / "denials.jsonl"
    write_jsonl(path, demo.denials)
    return path


def test_reads_real_records_as_written(demo, demo_file):
    out = as_json(denials(demo_file, "--json"))
    assert out["records"] == len(demo.denials)
    assert out["denials"] == sum(r["count"] for r in demo.denials)
    assert out["rows"] == demo.denials  # every field, in the record's order


def test_rotated_files_oldest_first_counts_honoured_torn_tail_skipped(demo, log_dir):
    proc = denials("--log-dir", log_dir, "--json")
    out = as_json(proc)
    n = len(demo.denials)
    assert [os.path.basename(f) for f in out["files"]] == ["denials.jsonl.2", "denials.jsonl.1", "denials.jsonl"]
    assert out["records"] == 3 * n
    assert out["denials"] == n + AGGREGATED * n + n
    assert out["torn_records"] == 1 and out["damaged_records"] == 0
    assert [r["event_time"] for r in out["rows"]] == [OLD] * n + [MIDDLE] * n + [RECENT] * n
    assert "torn last record" in proc.stderr


@pytest.mark.parametrize("args, times", [
    (["--since", "2h"], [MIDDLE, RECENT]),
    (["--since", "60m"], [RECENT]),
    (["--since", "90m"], [MIDDLE, RECENT]),  # 18:30 is exactly 90 minutes back: inclusive
    (["--until", "2026-11-22T19:00:00Z"], [OLD, MIDDLE]),
    (["--since", "1d", "--until", "2026-11-22T20:30:00+01:00"], [OLD, MIDDLE]),  # 19:30Z: exclusive
    (["--since", "2026-11-22T19:30:00.000Z"], [RECENT]),  # inclusive
])
def test_time_bounds(demo, log_dir, args, times):
    out = as_json(denials("--log-dir", log_dir, "--json", *args))
    assert sorted({r["event_time"] for r in out["rows"]}) == times
    assert out["records"] == len(times) * len(demo.denials)


def test_policy_and_source_filters(demo, log_dir):
    out = as_json(denials("--log-dir", log_dir, "--json", "--policy", "baseline"))
    per_file = [r for r in demo.denials if r["policy"] == "baseline"]
    assert per_file and out["records"] == 3 * len(per_file)
    assert out["denials"] == (2 + AGGREGATED) * len(per_file)
    out = as_json(denials("--log-dir", log_dir, "--json", "--source", "198.18.2.0/24"))
    per_file = [r for r in demo.denials if r["src_ip"].startswith("198.18.2.")]
    assert per_file and out["records"] == 3 * len(per_file)
    assert {r["source_label"] for r in out["rows"]} == {"spark-staging"}


def test_top_groups_by_policy_and_destination(demo, log_dir):
    out = as_json(denials("--log-dir", log_dir, "--json", "--top", "3", "--since", "2h"))
    groups = defaultdict(lambda: {"denials": 0, "records": 0, "sources": set()})
    for r in demo.denials:
        for count in (AGGREGATED, 1):
            g = groups[(r["policy"], r["destination"])]
            g["denials"] += count
            g["records"] += 1
            g["sources"].add(r["src_ip"])
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["denials"], kv[0]))[:3]
    assert [(g["policy"], g["destination"], g["denials"], g["records"]) for g in out["top"]] == \
        [(k[0], k[1], v["denials"], v["records"]) for k, v in ranked]
    for group, (_, expected) in zip(out["top"], ranked):
        assert group["sources"] == sorted(expected["sources"])
        assert group["first_seen"] == MIDDLE and group["last_seen"] == RECENT
    text = denials("--log-dir", log_dir, "--top", "3", "--since", "2h")
    assert text.returncode == 0
    header = text.stdout.splitlines()[0].split()
    assert header == ["denials", "records", "policy", "destination", "type", "ports", "sources", "first_seen",
                      "last_seen"]
    assert len(text.stdout.splitlines()) == 1 + 3 + 1


def test_csv_and_table(demo, log_dir):
    proc = denials("--log-dir", log_dir, "--csv", "--since", "60m")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == len(demo.denials)
    assert rows[0]["event_time"] == RECENT and rows[0]["destination"] == demo.denials[0]["destination"]
    table = denials("--log-dir", log_dir, "--since", "60m")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["event_time", "access_type", "policy"]
    assert lines[-1] == f"{len(demo.denials)} record(s), {len(demo.denials)} denial(s)"


def test_protobuf_records_read_as_the_json_ones(demo, tmp_path):
    (tmp_path / "denials.pb.1").write_bytes(b"")
    write_pb(tmp_path / "denials.pb.1", retimed(demo.denials, [MIDDLE], [AGGREGATED]))
    write_pb(tmp_path / "denials.pb", retimed(demo.denials, [RECENT]), torn_tail=True)
    out = as_json(denials("--log-dir", tmp_path, "--json"))
    n = len(demo.denials)
    assert out["records"] == 2 * n and out["denials"] == (AGGREGATED + 1) * n
    assert out["torn_records"] == 1
    assert out["rows"][n:] == retimed(demo.denials, [RECENT])
    # A directory with JSON lines reads them only: the .pb files hold the same records.
    write_jsonl(tmp_path / "denials.jsonl", retimed(demo.denials, [RECENT]))
    assert as_json(denials("--log-dir", tmp_path, "--json"))["records"] == n


def test_damaged_record_mid_file_is_skipped_counted_and_exit_1(demo, tmp_path):
    path = tmp_path / "denials.jsonl"
    lines = [json.dumps(r) for r in demo.denials]
    path.write_text("\n".join(lines[:2] + ["{not json"] + lines[2:]) + "\n")
    proc = denials(path, "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["records"] == len(demo.denials) and out["damaged_records"] == 1
    assert "unreadable record" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--since", "2x"], "is not a duration"),
    (["--since", "yesterday"], "RFC 3339"),
    (["--until", "2026-02-30T00:00:00Z"], "RFC 3339"),
    (["--source", "198.18.1.0/33"], "is not a CIDR"),
    (["--source", "198.18.1.1/24"], "is not a CIDR"),
    (["--top", "many"], "--top needs a number"),
    (["--json", "--csv"], "exclude each other"),
    (["--log-dir", "/nonexistent-sluice-dir"], "/nonexistent-sluice-dir"),
    (["/nonexistent-sluice-dir/denials.jsonl"], "/nonexistent-sluice-dir/denials.jsonl"),
    (["--bogus"], "unknown argument"),
])
def test_bad_arguments_exit_2(log_dir, args, message):
    proc = denials(*(args if args[0].startswith("/") or "--log-dir" in args else ["--log-dir", log_dir, *args]))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert proc.stdout == ""


def test_directory_without_denial_files_exit_2(tmp_path):
    proc = denials("--log-dir", tmp_path)
    assert proc.returncode == 2
    assert "no denial files" in proc.stderr


# --- suggest ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def suggested_policy(demo_file, tmp_path_factory):
    proc = run_sluicectl("suggest", "--from", demo_file)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path_factory.mktemp("suggested") / "policy.textproto"
    path.write_text(apply_patch(DEMO_POLICY.read_text(), proc.stdout))
    return proc.stdout, path


def test_suggest_names_networks_resolvers_with_evidence(demo, suggested_policy):
    patch, _ = suggested_policy
    fixable = [r for r in demo.denials
               if r["reason"] in ("domain_not_allowed", "ip_not_allowed", "dns_resolver_not_allowed")]
    for r in fixable:
        if r["reason"] == "domain_not_allowed":
            assert f'allowed_domains: "{r["destination"]}"' in patch
        elif r["reason"] == "ip_not_allowed":
            assert f'cidr: "{r["dst_ip"]}/32" protocol: {r["protocol"]} ports: "{r["dst_port"]}"' in patch
        else:
            assert f'dns_resolvers: "{r["dst_ip"]}"' in patch
    assert "# pythonhosted.org: 2 denial(s) (DROP, DRY_RUN_DENIAL)" in patch
    assert "198.18.1.21 (spark-prod), 198.18.2.21 (spark-staging)" in patch


def test_suggest_applied_lets_the_replayed_traffic_pass(suggested_policy, tmp_path):
    _, policy = suggested_policy
    assert run_sluicectl("validate", policy).returncode == 0
    run = run_demo_replay(tmp_path, policy)
    assert run.returncode == 0, run.stderr
    left = [r for r in run.denials or []
            if r["reason"] in ("domain_not_allowed", "ip_not_allowed", "dns_resolver_not_allowed")]
    assert left == []


def test_suggest_groups_by_registrable_domain_never_over_a_public_suffix(demo, tmp_path):
    base = dict(demo.denials[0], reason="domain_not_allowed", destination_type="SNI", count=1)
    names = ["a.shop.example.co.uk", "b.shop.example.co.uk", "c.example.co.uk", "example.co.uk", "co.uk",
             "x.other.org"]
    path = tmp_path / "denials.jsonl"
    write_jsonl(path, [dict(base, destination=n) for n in names])
    proc = run_sluicectl("suggest", "--from", path, "--policy", base["policy"])
    assert proc.returncode == 0, proc.stderr
    assert '# or, for every name below example.co.uk: allowed_domains: "*.example.co.uk"' in proc.stdout
    assert '"*.co.uk"' not in proc.stdout and '"*.uk"' not in proc.stdout
    assert "# co.uk (a public suffix itself)" in proc.stdout
    assert '"*.other.org"' not in proc.stdout  # one name: no wildcard offered


def test_suggest_needs_from_and_readable_input(tmp_path):
    assert run_sluicectl("suggest").returncode == 2
    proc = run_sluicectl("suggest", "--from", tmp_path / "missing.jsonl")
    assert proc.returncode == 2 and "missing.jsonl" in proc.stderr
    for command in ("denials", "suggest", "diff"):
        help_proc = run_sluicectl(command, "--help")
        assert help_proc.returncode == 0 and help_proc.stdout.startswith(f"usage: sluicectl {command}")
