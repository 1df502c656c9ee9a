"""The real sluiced in the appliance namespace, and how the tests read it: /metrics with curl,
the denial log, the flow log."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import policies
import rig

SOURCE_DIR = Path(os.environ.get("SLUICE_SOURCE_DIR")
                  or Path(__file__).resolve().parent.parent.parent)
BUILD_DIR = Path(os.environ.get("SLUICE_BUILD_DIR") or SOURCE_DIR / "build")
SLUICED = BUILD_DIR / "controlplane" / "daemon" / "sluiced"
SLUICECTL = BUILD_DIR / "cli" / "sluicectl"
METRICS, HEALTH = "127.0.0.1:9617", "127.0.0.1:9618"  # inside sle2e-fw: no clash with anyone
START_TIMEOUT_S = 30


def wait_for(condition, what, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for "
                                 f"{what() if callable(what) else what}")
        time.sleep(interval)


def http_get(address, path, timeout=5):
    """(status, body) of GET http://address/path from inside the appliance namespace."""
    result = subprocess.run(rig.in_ns(rig.NS_FW, "curl", "-sS", "--max-time", str(timeout), "-o", "-",
                                      "-w", "\n%{http_code}", f"http://{address}{path}"),
                            capture_output=True, text=True, timeout=timeout + 5)
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """One scrape of /metrics: samples by (name, labels)."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = SAMPLE.match(line)
            if match:
                labels = frozenset(LABEL.findall(match.group(2) or ""))
                self.samples[(match.group(1), labels)] = float(match.group(3))

    def get(self, name, **labels):
        """The sample's value; 0 when the series is absent (not yet created)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self.samples

    def family(self, name):
        """{frozenset(labels): value} of every sample of `name`."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}


def read_jsonl(path):
    """Whole lines only: a line the writer has not finished yet is left for the next read."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text()
    whole = text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in whole.splitlines() if line.strip()]


class Sluiced:
    """sluiced on the rig's two veths (net_af_packet), its config and policy in `workdir`."""

    def __init__(self, workdir, policy_text, *, extra_config="", tag="main", flow_capacity=65536, port_args=""):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "log").mkdir(exist_ok=True)
        self.policy = self.dir / "policy.textproto"
        self.config = self.dir / "appliance.textproto"
        self.denials_path = self.dir / "log" / "denials.jsonl"
        self.flows_path = self.dir / "flows.jsonl"
        self.admin_socket = self.dir / "admin.sock"
        self.write_policy(policy_text)
        self.config.write_text(policies.appliance_text(
            self.dir, file_prefix=f"{rig.PREFIX}{tag}-{os.getpid()}", extra=extra_config,
            flow_capacity=flow_capacity, port_args=port_args))
        self.proc = None
        self.starts = 0

    # --- life cycle -------------------------------------------------------------------------
    def command(self):
        return rig.in_ns(rig.NS_FW, SLUICED, "--config", self.config,
                         # one record a denied flow, so each scenario can count its own
                         "--denial-aggregation-ms", "0",
                         # learned addresses survive a restart (docs/POLICY.md)
                         "--learned-state", self.dir / "learned.state")

    def start(self):
        if not SLUICED.exists():
            raise RuntimeError(f"{SLUICED} is not built (set SLUICE_BUILD_DIR)")
        self.starts += 1
        self.stdout_path = self.dir / f"sluiced-{self.starts}.out"
        self.stderr_path = self.dir / f"sluiced-{self.starts}.err"
        (self.dir / "cmd.txt").write_text(" ".join(map(str, self.command())) + "\n")
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            # Its own session: a Ctrl-C meant for pytest must not stop it behind the tests'
            # back (the session fixture stops it in order).
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited with {self.proc.returncode} at start\n"
                                   + self.describe())
            try:
                if http_get(HEALTH, "/readyz", timeout=1)[0] == 200:
                    return
            except subprocess.TimeoutExpired:
                # curl itself not done in time (the machine's two CPUs busy: two workers poll
                # them): not an answer either way; ask again until the start deadline.
                pass
            time.sleep(0.1)
        raise RuntimeError("sluiced did not become ready\n" + self.describe())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=15):
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("sluiced did not stop on SIGTERM\n" + self.describe())

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stdout(self):
        return self.stdout_path.read_text() if self.proc else ""

    def stderr(self):
        return self.stderr_path.read_text() if self.proc else ""

    def describe(self):
        return (f"--- sluiced stdout ({self.stdout_path})\n{self.stdout()[-3000:]}\n"
                f"--- sluiced stderr ({self.stderr_path})\n{self.stderr()[-3000:]}")

    # --- policy -----------------------------------------------------------------------------
    def write_policy(self, text):
        # Written beside and renamed into place, as configuration management does.
        staged = self.policy.with_suffix(".staged")
        staged.write_text(text)
        staged.rename(self.policy)

    def sighup_and_wait(self, *, expect_success=True, timeout=10):
        """SIGHUP, then wait until /metrics counts the reload (applied or refused)."""
        before = self.scrape()
        name = "sluice_policy_reloads_total" if expect_success else "sluice_policy_reload_failures_total"
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.scrape().get(name) > before.get(name), f"{name} to go up", timeout)
        return before

    # --- observation ------------------------------------------------------------------------
    def scrape(self):
        status, text = http_get(METRICS, "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return Metrics(text)

    def denials(self):
        return read_jsonl(self.denials_path)

    def flows(self):
        return read_jsonl(self.flows_path)

    def stats_json(self):
        result = subprocess.run([SLUICECTL, "stats", "--json", "--socket", self.admin_socket],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
