"""Runs the real binaries for the golden tests.

SLUICE_BUILD_DIR (default: build/ in this repository) holds controlplane/daemon/sluiced and cli/sluicectl;
SLUICE_SOURCE_DIR (default: this repository's root) holds configs/ and proto/.
Pcaps are generated from tests/pcapgen into pytest tmp dirs at test time.
"""

import json
import os
import subprocess
import time
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SLUICE_SOURCE_DIR")
                  or Path(__file__).resolve().parent.parent.parent)
BUILD_DIR = Path(os.environ.get("SLUICE_BUILD_DIR") or SOURCE_DIR / "build")
sys.path.insert(0, str(SOURCE_DIR / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcapgen import frames  # noqa: E402

SLUICED = BUILD_DIR / "controlplane" / "daemon" / "sluiced"
SLUICECTL = BUILD_DIR / "cli" / "sluicectl"
GOLDEN_POLICY = Path(__file__).resolve().parent / "policies" / "golden.textproto"
DEMO_POLICY = SOURCE_DIR / "configs" / "demo" / "policy.textproto"
DEMO_PCAP = SOURCE_DIR / "configs" / "demo" / "demo.pcap"
DEMO_ANSWERS = SOURCE_DIR / "configs" / "demo" / "answers.pcap"  # the demo's outside port input
RUN_TIMEOUT_S = 60
IDLE_EXIT_MS = 300


def _require(binary):
    if not binary.exists():
        pytest.fail(f"{binary} is not built (set SLUICE_BUILD_DIR)")


def read_jsonl(path):
    path = Path(path)
    if not path.exists():
        return None
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class SluicedRun:
    returncode: int
    stdout: str
    stderr: str
    outside_tx: list = field(default_factory=list)  # frames (bytes) sent out of the outside port
    inside_tx: list = field(default_factory=list)   # frames sent out of the inside port
    denials: list = None                            # <log-dir>/denials.jsonl, parsed
    flows: list = None                              # --flow-log, parsed

    def describe(self):
        return (f"sluiced exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n"
                f"--- stderr\n{self.stderr[-3000:]}")


def bindings_for(policy, addresses):
    """(policy, address, name) for every policy of the `policy` file that allows names and every
    address: the address bound to the policy's first allowed domain (a name it allows on every
    port when it has one), as if that policy's clients had resolved it before the run."""
    import re
    text = Path(policy).read_text()
    out = []
    for block in re.findall(r"^policies\s*\{(.*?)^\}", text, re.M | re.S):
        name = re.search(r'^\s*name:\s*"([^"]*)"', block, re.M).group(1)
        patterns = re.findall(r'^\s*allowed_domains:\s*"([^"]*)"', block, re.M)
        plain = [p for p in patterns if ":" not in p] or patterns
        if not plain:
            continue
        pattern = plain[0].split(":")[0].lower().rstrip(".")
        bound = "bound" + pattern[1:] if pattern.startswith("*.") else pattern.lstrip(".")
        out += [(name, address, bound) for address in addresses]
    return out


def write_learned_state(path, bindings, ttl=3600):
    """A learned-address state file (controlplane/policy/learned_address_state.h) holding
    `bindings` [(policy, address, name)], each live for `ttl` more seconds."""
    expires = int(time.time()) + ttl
    lines = ["sluice-learned-addresses 1"]
    lines += [f"{policy} {address} {name} {expires}" for policy, address, name in bindings]
    lines.append(f"end {len(bindings)}")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def run_sluiced(workdir, policy, inside_packets, outside_packets=(), *,
                appliance="golden-appliance", inside_pcap=None, learned=(), worker_lcores=None):
    """One sluiced run over pcap PMD ports; returns what came out of both ports.

    `learned` [(policy, address, name)]: addresses bound before the run (a learned-address state
    file), standing for DNS answers the clients had before: the pcap PMD's inside port is read
    before the outside one, so an answer in the outside capture cannot precede a hello.
    `worker_lcores` [1, 2, ...]: run on a config with these workers (and 65536 flows each, so
    that several fit the demo's EAL memory); None: the embedded default, one worker."""
    _require(SLUICED)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inside_rx = Path(inside_pcap) if inside_pcap else workdir / "inside_rx.pcap"
    if not inside_pcap:
        frames.write_pcap(inside_rx, inside_packets)
    outside_rx = workdir / "outside_rx.pcap"
    frames.write_pcap(outside_rx, list(outside_packets))  # an empty pcap still needs an rx
    inside_tx, outside_tx = workdir / "inside_tx.pcap", workdir / "outside_tx.pcap"
    log_dir = workdir / "log"
    log_dir.mkdir(exist_ok=True)
    flow_log = workdir / "flows.jsonl"
    cmd = [str(SLUICED), "--policy", str(policy),
           "--inside", f"net_pcap0,rx_pcap={inside_rx},tx_pcap={inside_tx}",
           "--outside", f"net_pcap1,rx_pcap={outside_rx},tx_pcap={outside_tx}",
           "--log-dir", str(log_dir), "--metrics-address", "", "--health-address", "",
           "--admin-socket", str(workdir / "admin.sock"),
           # One record a denied flow, so each case can pin its own (aggregation: test_denial_log.py).
           "--denial-aggregation-ms", "0",
           "--exit-on-idle-ms", str(IDLE_EXIT_MS), "--flow-log", str(flow_log),
           "--appliance-name", appliance]
    if learned:
        cmd += ["--learned-state", str(write_learned_state(workdir / "learned.state", learned))]
    if worker_lcores is not None:
        config = workdir / "appliance.textproto"
        config.write_text(
            f'ports {{ device: "net_pcap0,rx_pcap={inside_rx}" role: INSIDE }}\n'
            f'ports {{ device: "net_pcap1,rx_pcap={outside_rx}" role: OUTSIDE }}\n'
            f'worker_lcores: [{", ".join(str(lcore) for lcore in worker_lcores)}]\n'
            f'flow_capacity: 65536\nmbuf_count: 8191\npolicy_path: "{policy}"\n'
            'eal_args: ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry"]\n')
        cmd += ["--config", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          cwd=workdir)
    run = SluicedRun(proc.returncode, proc.stdout, proc.stderr)
    (workdir / "cmd.txt").write_text(" ".join(cmd) + "\n")
    (workdir / "stdout.txt").write_text(proc.stdout)
    (workdir / "stderr.txt").write_text(proc.stderr)
    if inside_tx.exists():
        run.inside_tx = frames.read_pcap_frames(inside_tx)
    if outside_tx.exists():
        run.outside_tx = frames.read_pcap_frames(outside_tx)
    run.denials = read_jsonl(log_dir / "denials.jsonl")
    run.flows = read_jsonl(flow_log)
    return run


@dataclass
class ReplayRun:
    returncode: int
    stdout: str
    stderr: str
    flows: list = None
    denials: list = None

    def describe(self):
        return (f"sluicectl replay exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n"
                f"--- stderr\n{self.stderr[-3000:]}")


def run_replay(workdir, policy, packets=None, *, pcap=None, learned=(), outside_mac=None):
    _require(SLUICECTL)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if pcap is None:
        pcap = workdir / "replay.pcap"
        frames.write_pcap(pcap, packets)
    flows, denials = workdir / "replay_flows.jsonl", workdir / "replay_denials.jsonl"
    cmd = [str(SLUICECTL), "replay", "--policy", str(policy), "--pcap", str(pcap),
           "--flows", str(flows), "--denials", str(denials)]
    if learned:
        cmd += ["--learned-state", str(write_learned_state(workdir / "learned.state", learned))]
    if outside_mac:
        cmd += ["--outside-mac", outside_mac]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          cwd=workdir)
    (workdir / "replay_stdout.txt").write_text(proc.stdout)
    return ReplayRun(proc.returncode, proc.stdout, proc.stderr, read_jsonl(flows),
                     read_jsonl(denials))


def demo_capture(workdir):
    """The demo as one capture for replay: configs/demo/demo.pcap with each of the resolver's
    answers (configs/demo/answers.pcap, source MAC UPSTREAM_MAC) right after its query. Replay
    it with --outside-mac frames.UPSTREAM_MAC."""
    from scapy.layers.inet import UDP
    from scapy.layers.l2 import Ether
    inside = frames.read_pcap_frames(DEMO_PCAP)
    answers = {Ether(a)[UDP].dport: a for a in frames.read_pcap_frames(DEMO_ANSWERS)}
    merged = []
    for frame in inside:
        merged.append(frame)
        packet = Ether(frame)
        if UDP in packet and packet[UDP].dport == 53 and packet[UDP].sport in answers:
            merged.append(answers.pop(packet[UDP].sport))
    assert not answers, "an answer whose query is not in the demo capture"
    path = Path(workdir) / "demo_with_answers.pcap"
    frames.write_pcap(path, [Ether(f) for f in merged])
    return path


def run_demo_replay(workdir, policy=DEMO_POLICY):
    """sluicectl replay of the demo with its DNS answers entering on the outside port."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return run_replay(workdir, policy, pcap=demo_capture(workdir), outside_mac=frames.UPSTREAM_MAC)


def run_sluicectl(*args):
    _require(SLUICECTL)
    return subprocess.run([str(SLUICECTL), *map(str, args)], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


@pytest.fixture(scope="session")
def inside_run(tmp_path_factory):
    """All of scenarios.INSIDE_CASES through one sluiced run (inside port only)."""
    from scenarios import INSIDE_CASES
    from scenarios import BOUND_SERVERS
    packets = [p for case in INSIDE_CASES for p in case.packets]
    run = run_sluiced(tmp_path_factory.mktemp("inside"), GOLDEN_POLICY, packets,
                      learned=bindings_for(GOLDEN_POLICY, BOUND_SERVERS))
    assert run.returncode == 0, run.describe()
    return run
