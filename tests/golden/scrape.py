"""Talking HTTP to a running sluiced the way an operator or a probe does: with curl."""

import re
import socket
import subprocess
import time

import pytest


def free_port():
    """A loopback port nobody listens on now (for a metrics or health address)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(address, path):
    """(status, body) of GET http://address/path; status 0 when nothing answered."""
    result = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}",
                             f"http://{address}{path}"], capture_output=True, text=True, timeout=10)
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


def metric(text, name, **labels):
    """The value of one sample in Prometheus text; fails when the sample is absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no sample {name}{{{wanted}}} in /metrics"
    return float(match.group(1))


def wait_for(condition, what, timeout=20):
    """Polls `condition` until it returns something true (and returns that), or fails the test
    naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")
