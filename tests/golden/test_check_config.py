"""`sluiced --check-config CONFIG`, like `nginx -t`: the appliance config, the policy it names
and the public suffix list are validated as a start would validate them, and nothing starts.
A valid config exits 0 saying what was checked; an invalid one exits 2 with every error, the
config's and the policy's together, as FILE:LINE: field: message."""

import subprocess

from conftest import DEMO_POLICY, SLUICED, _require
from test_bad_policy import BAD_ERROR, BAD_POLICY
from test_config_bounds import config_with

CHECK_TIMEOUT_S = 30


def check(*args):
    _require(SLUICED)
    return subprocess.run([str(SLUICED), "--check-config", *map(str, args)], capture_output=True, text=True,
                          timeout=CHECK_TIMEOUT_S)


def test_a_valid_config_is_reported_and_nothing_starts(tmp_path):
    result = check(config_with(tmp_path, ""))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"sluiced: config {tmp_path / 'appliance.textproto'}: valid (2 ports, 1 worker lcore(s)" in result.stdout
    assert f"sluiced: policy {DEMO_POLICY}: valid (" in result.stdout
    assert "sluiced: public suffix list " in result.stdout
    assert "configuration ok; nothing was started" in result.stdout
    assert not (tmp_path / "log").exists()         # the denial log's directory was never made
    assert not (tmp_path / "admin.sock").exists()  # nor the admin socket


def test_nothing_of_the_platform_is_touched(tmp_path):
    """A port device the EAL would refuse passes: the check never starts the EAL."""
    config = config_with(tmp_path, "")
    text = config.read_text().replace('device: "net_null0,no-rx=1"',
                                      f'device: "net_pcap9,rx_pcap={tmp_path / "no-such-capture.pcap"}"')
    config.write_text(text)
    result = check(config)
    assert result.returncode == 0, result.stderr
    started = subprocess.run([str(SLUICED), "--config", str(config)], capture_output=True, text=True,
                             timeout=CHECK_TIMEOUT_S)
    assert started.returncode == 1, started.stderr  # a real start fails on that port


def test_every_error_of_config_and_policy_is_listed_with_file_line_and_field(tmp_path):
    policy = tmp_path / "bad.textproto"
    policy.write_text(BAD_POLICY)
    config = config_with(tmp_path, "inspection { fragment_slots: 4000000000 }")
    config.write_text(config.read_text().replace(f'policy_path: "{DEMO_POLICY}"', f'policy_path: "{policy}"'))
    result = check(config)
    assert result.returncode == 2, result.stdout
    assert f"{config}:10: inspection.fragment_slots: 4000000000 is above the maximum" in result.stderr
    assert BAD_ERROR.search(result.stderr), result.stderr
    assert "sluiced: 2 error(s); configuration refused" in result.stderr
    assert "nothing was started" not in result.stdout
    assert not (tmp_path / "log").exists()


def test_a_command_line_value_is_checked_with_the_config(tmp_path):
    result = check(config_with(tmp_path, ""), "--exit-on-idle-ms", "soon")
    assert result.returncode == 2
    assert 'command line: --exit-on-idle-ms: needs a whole number of milliseconds, got "soon"' in result.stderr


def test_an_unreadable_config_is_refused(tmp_path):
    result = check(tmp_path / "absent.textproto")
    assert result.returncode == 2
    assert str(tmp_path / "absent.textproto") in result.stderr
    assert "configuration refused" in result.stderr


def test_check_config_needs_its_file():
    _require(SLUICED)
    result = subprocess.run([str(SLUICED), "--check-config"], capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    assert result.returncode == 2
    assert "--check-config needs a value" in result.stderr
