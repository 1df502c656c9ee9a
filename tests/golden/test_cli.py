"""Bad command lines and unreadable inputs get a clear error and a documented exit code,
never a crash or a half-started appliance."""

import subprocess

import pytest

from conftest import DEMO_POLICY, SLUICECTL, SLUICED, SOURCE_DIR, _require


def run(binary, *args):
    _require(binary)
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--bogus"], 'unknown argument "--bogus"'),
    (["--exit-on-idle-ms", "soon"], "command line: --exit-on-idle-ms: needs a whole number"),
    (["--exit-on-idle-ms", "-5"], "command line: --exit-on-idle-ms: needs a whole number"),
    (["--policy"], "--policy needs a value"),
    (["--config", "/nonexistent/appliance.textproto"], "/nonexistent/appliance.textproto"),
    (["--policy", "/nonexistent/policy.textproto", "--metrics-address", ""], "/nonexistent/policy.textproto"),
    (["--admin-socket"], "--admin-socket needs a value"),
])
def test_sluiced_refuses_bad_arguments(args, message):
    result = run(SLUICED, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "summary" not in result.stdout  # it never started


def test_sluiced_help_exits_zero():
    result = run(SLUICED, "--help")
    assert result.returncode == 0
    assert "--exit-on-idle-ms" in result.stdout


@pytest.mark.parametrize("args, message", [
    ([], "a command is needed"),
    (["frobnicate"], 'unknown command "frobnicate"'),
    (["validate"], "validate takes exactly one policy file"),
    (["replay", "--policy", DEMO_POLICY], "replay needs --policy and --pcap"),
    (["replay", "--policy", DEMO_POLICY, "--pcap"], "--pcap needs a value"),
    (["replay", "--policy", DEMO_POLICY, "--pcap", "x.pcap", "--flow-capacity", "0"], "--flow-capacity needs a positive number"),
    (["replay", "--policy", DEMO_POLICY, "--pcap", "/nonexistent/in.pcap"], "/nonexistent/in.pcap"),
])
def test_sluicectl_refuses_bad_arguments(args, message):
    result = run(SLUICECTL, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_replay_refuses_a_file_that_is_not_a_pcap(tmp_path):
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"this is not a capture file at all\n" * 4)
    result = run(SLUICECTL, "replay", "--policy", DEMO_POLICY, "--pcap", garbage)
    assert result.returncode == 2
    assert str(garbage) in result.stderr


def test_replay_of_a_capture_cut_mid_packet_reports_the_damage(tmp_path):
    demo = (SOURCE_DIR / "configs" / "demo" / "demo.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(demo[:3000])  # 28 whole packets, then a record cut short
    result = run(SLUICECTL, "replay", "--policy", DEMO_POLICY, "--pcap", cut)
    assert result.returncode == 2
    assert f"{cut}: truncated dump file" in result.stderr
    assert "inside:  in 28," in result.stdout  # what could be read was replayed


def test_validate_of_an_unreadable_policy_names_the_file(tmp_path):
    result = run(SLUICECTL, "validate", tmp_path / "missing.textproto")
    assert result.returncode == 1
    assert "missing.textproto" in result.stderr
