"""Config values that used to hang, crash or fail late are refused before sluiced starts: from
the config file as FILE:LINE: field, from the command line naming the flag; exit status 2."""

import subprocess

import pytest

from conftest import DEMO_POLICY, SLUICED, SOURCE_DIR, _require

# Long enough for a refusal; the hang it replaces never ended (fragment_slots: 4000000000).
REFUSAL_TIMEOUT_S = 30


def config_with(tmp_path, extra):
    """A complete, valid appliance config on lines 1-9, then `extra` from line 10 on."""
    path = tmp_path / "appliance.textproto"
    path.write_text(f"""ports {{ device: "net_pcap0,rx_pcap={SOURCE_DIR / 'configs' / 'demo' / 'empty.pcap'}" role: INSIDE }}
ports {{ device: "net_null0,no-rx=1" role: OUTSIDE }}
policy_path: "{DEMO_POLICY}"
log_dir: "{tmp_path / 'log'}"
metrics_address: ""
# health_address: the default, or the value under test (a run turns it off with --health-address "")
admin_socket: "{tmp_path / 'admin.sock'}"
exit_on_idle_ms: 100
eal_args: ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry"]
{extra}
""")
    return path


def sluiced(*args):
    _require(SLUICED)
    return subprocess.run([str(SLUICED), *map(str, args)], capture_output=True, text=True, timeout=REFUSAL_TIMEOUT_S)


@pytest.mark.parametrize("extra, expected", [
    # looped forever at start (the power-of-two rounding overflowed)
    ("inspection { fragment_slots: 4000000000 }", ":10: inspection.fragment_slots: 4000000000 is above the maximum"),
    # aborted with bad_alloc
    ("inspection {\n  reassembly_slots: 4000000000\n}", ":11: inspection.reassembly_slots: 4000000000 is above the maximum"),
    # validated, then failed at start: the health server does not resolve names
    ('health_address: "localhost:9618"', ':10: health_address: "localhost" is not an IP address'),
    ("flow_capacity: 4000000000", ":10: flow_capacity: 4000000000 is above the maximum"),
    ("dns_learning { ring_size: 1000 }", ":10: dns_learning.ring_size: 1000 is not a power of two"),
])
def test_a_bad_config_value_is_refused_with_file_line_and_field(tmp_path, extra, expected):
    config = config_with(tmp_path, extra)
    result = sluiced("--config", config)
    assert result.returncode == 2, result.stderr
    assert f"{config}{expected}" in result.stderr
    assert "sluiced: config refused" in result.stderr
    assert "summary" not in result.stdout and not (tmp_path / "log").exists()  # it never started


@pytest.mark.parametrize("flag, value, expected", [
    ("--health-address", "localhost:9618", '"localhost" is not an IP address'),
    ("--metrics-address", "127.0.0.1", "expected HOST:PORT"),
    ("--admin-socket", "relative.sock", "must be an absolute path"),
    ("--denial-aggregation-ms", "4000000000", "4000000000 is above the maximum of 3600000"),
    ("--exit-on-idle-ms", "soon", 'needs a whole number of milliseconds, got "soon"'),
    ("--inside", "", "missing device"),
])
def test_a_bad_command_line_value_is_refused_naming_its_flag(tmp_path, flag, value, expected):
    result = sluiced("--config", config_with(tmp_path, ""), flag, value)
    assert result.returncode == 2, result.stderr
    assert f"command line: {flag}: {expected}" in result.stderr
    assert "summary" not in result.stdout


def test_a_good_command_line_value_replaces_the_files(tmp_path):
    config = config_with(tmp_path, 'health_address: "localhost:9618"')  # refused if it were used
    result = sluiced("--config", config, "--health-address", "")
    assert result.returncode == 0, result.stderr
    assert "summary" in result.stdout
