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

The corpus runs through sluiced (pcap PMD, inside port) and through `sluicectl replay`; both
must stop every attack and pass every control.

Name-address binding: the spoofed-name attacks send an allowed name to the attacker's address,
which no DNS answer gave; their control (`sni_to_resolved_address`) sends the same name to an
address pypi.org was seen resolving to. Through replay the resolver's answer is in the capture,
after its query, entering on the outside port (`--outside-mac`); through sluiced, whose pcap PMD
reads the inside port before the outside one, the answer is in the outside capture and the
binding it makes is handed to sluiced beforehand as a learned-address state file. The other
controls' servers are bound the same way (their clients resolved them first).
"""

import json
import subprocess

import pytest

from conftest import RUN_TIMEOUT_S, SLUICECTL, run_sluiced, write_learned_state
from pcapgen import attacks, frames

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


@pytest.fixture(scope="module")
def sluiced_out(tmp_path_factory):
    run = run_sluiced(tmp_path_factory.mktemp("attacks_sluiced"), POLICY, _all_packets(),
                      [RESOLVED.extra["answer"]],
                      learned=BOUND + [("prod", attacks.RESOLVED, "pypi.org")])
    assert run.returncode == 0, run.describe()
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
