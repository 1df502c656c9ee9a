"""The attacker corpus, scored by bytes (the start of issue 12's corpus; extend it here).

The workload is hostile and has read the source. Each attack (tests/pcapgen/attacks.py) is one
flow or frame whose every byte the attacker wants out carries that case's marker
(`<<EXFIL:name>>`): in a payload, an IPv6 or ND option, ARP padding, a header. Scoring:

  * an attack is STOPPED when no frame the appliance forwards (sluiced's outside port, or
    `sluicectl replay --forwarded`) contains its marker; the verdict alone proves nothing;
  * a control (ARP, ND/MLD on the link, an allowed HTTPS or HTTP flow, a CONNECT to the proxy the
    policy names, DNS to the allowed resolver) PASSES when every one of its frames comes out
    unchanged (or as its `expected` frames: padding is cut from every frame), so that an
    appliance dropping everything scores zero;
  * each attack's drop reason (docs/REASONS.md) is counted, so a case stopped by accident (by
    some other check) shows up; a case stopped by cutting its frames (an Ethernet trailer,
    tests/pcapgen/attacks_trailers.py) drops nothing: its frames must come out without it.

The corpus runs through sluiced (pcap PMD, inside port) with one worker and with two (the pcap
ports have one queue: worker 0 reads them and hands each frame whose flow is worker 1's over a
handoff ring) and through `sluicectl replay`; each must stop every attack and pass every control.
What two workers share has cases of its own (tests/pcapgen/attacks_workers.py): a DNS answer
learned on one worker and the connection to its address judged on the other.

Name-address binding: the spoofed-name attacks send an allowed name to the attacker's address,
which no DNS answer gave; their control (`sni_to_resolved_address`) sends the same name to an
address pypi.org was seen resolving to. Through replay the resolver's answer is in the capture,
after its query, entering on the outside port (`--outside-mac`); through sluiced, whose pcap PMD
reads the inside port before the outside one, the answer is in the outside capture and the
binding it makes is handed to sluiced beforehand as a learned-address state file. The other
controls' servers are bound the same way (their clients resolved them first).
"""

import json
import re
import subprocess

import pytest

from conftest import RUN_TIMEOUT_S, SLUICECTL, run_sluiced, write_learned_state
from pcapgen import attacks, attacks_workers, frames

POLICY = __import__("pathlib").Path(__file__).resolve().parent / "policies" / "attacks.textproto"
ATTACKS = attacks.attacks()
RESOLVED = attacks.resolved_control()
CONTROLS = attacks.controls() + [RESOLVED]
# Servers of the other allowed controls, resolved by their clients before the capture.
BOUND = [("prod", attacks.TLS_SERVER, "pypi.org"), ("prod", attacks.HTTP_SERVER, "pypi.org")]


def _all_packets(with_answer=False):
    """Controls, then attacks. `with_answer`: the resolver's answer right after its query."""
    packets = []
    for control in CONTROLS:
        for p in control.packets:
            packets.append(bytes(p))
            if with_answer and control is RESOLVED and p is control.packets[0]:
                packets.append(bytes(control.extra["answer"]))
    return packets + [bytes(p) for a in ATTACKS for p in a.packets]


def _check_workers(run, workers):
    """Two workers on the pcap ports: sluiced says they steer in software, and both judged."""
    if workers == 1:
        return
    assert f"{workers} workers" in run.stdout and "steered in software" in run.stdout, run.stdout
    handed = [int(h) for h in re.findall(r"handed over (\d+),", run.stdout)]
    assert len(handed) == workers and sum(handed) > 0, run.stdout


@pytest.fixture(scope="module", params=[1, 2], ids=["1worker", "2workers"])
def sluiced_out(request, tmp_path_factory):
    workers = request.param
    run = run_sluiced(tmp_path_factory.mktemp(f"attacks_sluiced_{workers}w"), POLICY, _all_packets(),
                      [RESOLVED.extra["answer"]],
                      learned=BOUND + [("prod", attacks.RESOLVED, "pypi.org")],
                      worker_lcores=None if workers == 1 else list(range(1, workers + 1)))
    assert run.returncode == 0, run.describe()
    _check_workers(run, workers)
    return run.outside_tx


@pytest.fixture(scope="module")
def replay_out(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("attacks_replay")
    pcap, forwarded = workdir / "in.pcap", workdir / "forwarded.pcap"
    frames.write_pcap(pcap, _all_packets(with_answer=True))
    state = write_learned_state(workdir / "learned.state", BOUND)
    proc = subprocess.run([str(SLUICECTL), "replay", "--policy", str(POLICY), "--pcap", str(pcap),
                           "--forwarded", str(forwarded), "--outside-mac", frames.UPSTREAM_MAC,
                           "--learned-state", str(state), "--json"],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    dropped = {d["reason"]: d["packets"] for d in summary["dropped"]}
    return frames.read_pcap_frames(forwarded), dropped


def _leaks(forwarded, attack):
    return [f for f in forwarded if attack.marker in f]


def _missing(forwarded, control):
    expected = control.extra.get("expected", control.packets)
    return [bytes(p) for p in expected if bytes(p) not in forwarded]


def _not_cut(forwarded, attack):
    """A case stopped by cutting: the frames it must leave as, missing from what left."""
    return [f for f in attack.forwarded if f not in forwarded]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_stopped_sluiced(sluiced_out, attack):
    assert not _leaks(sluiced_out, attack), f"{attack.name}: its marker left through sluiced ({attack.note})"
    assert not _not_cut(sluiced_out, attack), f"{attack.name}: not forwarded without its trailer"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_stopped_replay(replay_out, attack):
    forwarded, dropped = replay_out
    assert not _leaks(forwarded, attack), f"{attack.name}: its marker left through replay ({attack.note})"
    assert not _not_cut(forwarded, attack), f"{attack.name}: not forwarded without its trailer"
    if attack.reason:
        assert dropped.get(attack.reason, 0) >= 1, f"{attack.name}: no drop counted as {attack.reason}: {dropped}"


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_control_passes_sluiced(sluiced_out, control):
    if control.extra.get("replay_only"):
        pytest.skip("needs frames from the outside port in order with the inside's: replay only")
    assert not _missing(sluiced_out, control), f"{control.name}: not forwarded by sluiced ({control.note})"


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_control_passes_replay(replay_out, control):
    assert not _missing(replay_out[0], control), f"{control.name}: not forwarded by replay ({control.note})"


def test_markers_are_real():
    """The scoring can fail: every attack's marker is in its own frames, and in no control."""
    for attack in ATTACKS:
        assert attack.marker and any(attack.marker in bytes(p) for p in attack.packets), attack.name
        assert not any(attack.marker in bytes(p) for c in CONTROLS for p in c.packets), attack.name
        assert not any(attack.marker in f for f in attack.forwarded), attack.name
        assert attack.reason or attack.forwarded, f"{attack.name}: stopped neither by a drop nor by a cut"


# What two workers share: answers learned on worker 1, connections judged on worker 0.
CROSS_POLICY = POLICY.parent / "cross_worker.textproto"
CROSS_INSIDE, CROSS_OUTSIDE, CROSS_ATTACKS, CROSS_CONTROLS = attacks_workers.scenario()
WORKER_SHIFT = 40  # flow ids: the worker's index above bit 40 (flow_lifecycle.cc)


@pytest.fixture(scope="module", params=[1, 2], ids=["1worker", "2workers"])
def cross_worker_run(request, tmp_path_factory):
    """No learned-state file: every binding comes from the answers in the outside capture."""
    workers = request.param
    run = run_sluiced(tmp_path_factory.mktemp(f"cross_worker_{workers}w"), CROSS_POLICY, CROSS_INSIDE,
                      CROSS_OUTSIDE, worker_lcores=None if workers == 1 else list(range(1, workers + 1)))
    assert run.returncode == 0, run.describe()
    _check_workers(run, workers)
    return workers, run


@pytest.mark.parametrize("attack", CROSS_ATTACKS, ids=[a.name for a in CROSS_ATTACKS])
def test_cross_worker_attack_stopped(cross_worker_run, attack):
    _, run = cross_worker_run
    assert not _leaks(run.outside_tx, attack), f"{attack.name}: its marker left through sluiced ({attack.note})"
    client, server = attack.packets[0]["IP"].src, attack.packets[0]["IP"].dst
    denied = [d for d in run.denials if d.get("src_ip") == client and d.get("dst_ip") == server]
    assert denied and all(d.get("reason") == attack.reason for d in denied), (attack.name, denied)


@pytest.mark.parametrize("control", CROSS_CONTROLS, ids=[c.name for c in CROSS_CONTROLS])
def test_cross_worker_control_passes(cross_worker_run, control):
    _, run = cross_worker_run
    assert not _missing(run.outside_tx, control), f"{control.name}: not forwarded by sluiced ({control.note})"


def test_cross_worker_paths_were_taken(cross_worker_run):
    """The cases test what they say: with two workers each answer's flow was worker 1's and each
    connection worker 0's (the owner hash of attacks_workers.py is flow_owner.cc's)."""
    workers, run = cross_worker_run
    if workers == 1:
        pytest.skip("one worker: no cross-worker path")
    owners = {}
    for flow in run.flows:
        owners[(flow["src_ip"], flow["dst_ip"], flow["dst_port"])] = flow["flow_id"] >> WORKER_SHIFT
    for query in CROSS_INSIDE[:3]:
        assert owners.get((query["IP"].src, query["IP"].dst, 53)) == 1, (query.summary(), owners)
    for case in CROSS_ATTACKS + CROSS_CONTROLS:
        syn = case.packets[0]
        assert owners.get((syn["IP"].src, syn["IP"].dst, 443)) == 0, (case.name, owners)
