"""sluiced under systemd and beside log collectors: what it tells a Type=notify unit (READY=1
once it serves, STATUS= lines, WATCHDOG=1 from the control loop, STOPPING=1), and the
group-readable denial log (denial_log.file_group) on the current and rotated files.

The notify socket is a datagram socket of the test's own, given as NOTIFY_SOCKET, exactly as
systemd gives it; nothing here needs systemd."""

import grp
import os
import socket
import stat
import subprocess
import threading

import pytest

from conftest import SLUICED, _require
from test_denial_log import denied_syns, records_in, run_config, write_raw_pcap


class NotifySocket:
    """Collects every sd_notify datagram sent to it while open."""

    def __init__(self, path):
        self.path = str(path)
        self.messages = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._read)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def run_notified(tmp_path, env_extra):
    write_raw_pcap(tmp_path / "in.pcap", [bytes(p) for p in denied_syns(20)])
    notify = NotifySocket(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": notify.path, **env_extra}
    old = os.environ.copy()
    os.environ.update(env)  # run_config starts sluiced with this process's environment
    try:
        result = run_config(tmp_path, tmp_path / "in.pcap", idle_ms=1500)
    finally:
        os.environ.clear()
        os.environ.update(old)
        notify.close()
    return result, notify.messages


def test_ready_status_watchdog_and_stopping_reach_the_notify_socket(tmp_path):
    result, messages = run_notified(tmp_path, {"WATCHDOG_USEC": "200000"})
    assert result.returncode == 0, result.stderr
    assert messages, "sluiced sent nothing to NOTIFY_SOCKET"
    # READY=1 comes first (the watchdog may be fed before it: the control loop runs while the
    # first policy compiles), once, with the policy generation it serves.
    status = [m for m in messages if m != "WATCHDOG=1"]
    assert status[0].startswith("READY=1\nSTATUS=running; policy generation 1 from ")
    assert sum("READY=1" in m for m in messages) == 1
    # WATCHDOG=1 every WatchdogSec/4 (50 ms here) over a run of 1.5 s and more: far more than 3.
    assert sum(m == "WATCHDOG=1" for m in messages) >= 3
    assert messages[-1].startswith("STOPPING=1\nSTATUS=input consumed")
    # The run itself is the same as without systemd: records written, summary printed.
    assert len(records_in(tmp_path / "log" / "denials.jsonl")) == 20
    assert "summary" in result.stdout


def test_no_watchdog_messages_when_the_unit_sets_no_watchdog(tmp_path):
    result, messages = run_notified(tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert messages[0].startswith("READY=1\n")
    assert not any("WATCHDOG=1" in m for m in messages)


def test_without_notify_socket_nothing_is_sent_and_the_run_is_unchanged(tmp_path):
    write_raw_pcap(tmp_path / "in.pcap", [bytes(p) for p in denied_syns(20)])
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        result = run_config(tmp_path, tmp_path / "in.pcap")
    finally:
        os.environ.update(old)
    assert result.returncode == 0, result.stderr
    assert len(records_in(tmp_path / "log" / "denials.jsonl")) == 20


def collector_group():
    """A group that is not the test's own: `adm` on Debian."""
    try:
        return grp.getgrnam("adm")
    except KeyError:
        pytest.skip("no adm group on this host")


def test_file_group_gives_current_and_rotated_files_to_the_group(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving files to a group root is not a member of needs root (CAP_CHOWN)")
    group = collector_group()
    write_raw_pcap(tmp_path / "in.pcap", [bytes(p) for p in denied_syns(120)])
    log = tmp_path / "log"
    log.mkdir(mode=0o700)
    (log / "denials.jsonl.2").write_text("")  # a rotated file from before the option was set
    os.chmod(log / "denials.jsonl.2", 0o600)
    result = run_config(tmp_path, tmp_path / "in.pcap", extra=f"""
denial_log {{ max_bytes: 4096 keep_files: 20 aggregation_window_ms: 0 protobuf: true file_group: "{group.gr_name}" }}
""")
    assert result.returncode == 0, result.stderr
    files = sorted(p for p in log.iterdir())
    names = {p.name for p in files}
    # 120 records of ~400 bytes, 4 KiB files: rotated at least once; the old file moved on.
    assert {"denials.jsonl", "denials.jsonl.1", "denials.pb", "denials.pb.1"} <= names, names
    assert len([n for n in names if n.startswith("denials.jsonl.")]) >= 2, names
    for path in files:
        info = path.stat()
        assert (path.name, info.st_gid, stat.S_IMODE(info.st_mode)) == (path.name, group.gr_gid, 0o640)
    info = log.stat()
    assert info.st_gid == group.gr_gid
    assert stat.S_IMODE(info.st_mode) & 0o050 == 0o050  # the group may list and open


def test_without_file_group_the_files_keep_their_group(tmp_path):
    write_raw_pcap(tmp_path / "in.pcap", [bytes(p) for p in denied_syns(5)])
    result = run_config(tmp_path, tmp_path / "in.pcap")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "log" / "denials.jsonl"
    assert path.stat().st_gid == os.getegid()


def test_an_unknown_file_group_is_refused_before_start(tmp_path):
    _require(SLUICED)
    config = tmp_path / "appliance.textproto"
    config.write_text("""
ports { device: "net_null0" role: INSIDE }
ports { device: "net_null1" role: OUTSIDE }
policy_path: "/nonexistent.textproto"
log_dir: "/tmp"
denial_log {
  file_group: "no-such-group-sluice"
}
""")
    result = subprocess.run([str(SLUICED), "--check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{config}:7: denial_log.file_group: no group \"no-such-group-sluice\" on this host" in result.stderr
