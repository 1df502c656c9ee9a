"""`sluicectl diff OLD NEW --pcap FILE`: the flows of a capture whose verdict changes between two
policy sets, found by replaying the capture under each set with replay's own pass (no second
packet path).

The capture is generated: flows that keep their verdict (pypi.org over TLS and HTTP, a DNS
query), flows that change (a name added to the allow-list, a name removed, a dry-run denial that
becomes allowed) and, from the upstream router's MAC, an outside host opening a connection to
an inside host. The new set also allows that connection in the default policy: with
`--outside-mac` it stays `unsolicited_inbound` under both sets (sides as sluiced has them) and is
not listed; without it, replay takes it for a new inside flow of an unattached source, and it
changes. Every expected change is checked against `sluicectl replay` under each set, and spelled
out as well (docs/POLICY.md: exact names, the apex-and-below form, DRY_RUN overrides).
"""

import json
import struct
import subprocess

import pytest

from conftest import GOLDEN_POLICY, RUN_TIMEOUT_S, SLUICECTL, read_jsonl, run_sluicectl
from pcapgen import frames
from pcapgen.tls import client_hello
from scenarios import HTTP_SERVER, PROD_HOST, RESOLVER, STAGING_HOST, TLS_SERVER

OUTSIDE_HOST = "198.19.66.1"
ADDED = "evil.example.org"        # allowed only by the new set
REMOVED = ".github.com"           # allowed only by the old set (api.github.com below it)


def _traffic():
    packets = []
    # The clients resolved first: answers (from the upstream router's MAC) for an allowed name
    # bind the servers' addresses for both policies (name-address binding, docs/POLICY.md).
    for i, (client, server) in enumerate([(PROD_HOST, TLS_SERVER), (PROD_HOST, HTTP_SERVER),
                                          (STAGING_HOST, TLS_SERVER)]):
        query = frames.dns_query(client, 45100 + i, RESOLVER, "pypi.org", query_id=0x4510 + i)
        packets.extend([query, frames.dns_answer(query, server)])

    def tls_flow(client, port, name):
        flow = frames.TcpFlow(client, port, TLS_SERVER, 443)
        packets.extend([flow.syn(), flow.ack(), flow.data(client_hello(name))])

    tls_flow(PROD_HOST, 45001, "pypi.org")              # allowed under both
    tls_flow(PROD_HOST, 45002, ADDED)                   # DROP -> ALLOW
    tls_flow(PROD_HOST, 45003, "api.github.com")        # ALLOW -> DROP
    tls_flow(STAGING_HOST, 45004, ADDED)                # DRY_RUN_DENIAL -> ALLOW
    tls_flow(PROD_HOST, 45005, "other.example.net")     # denied under both
    http = frames.TcpFlow(PROD_HOST, 45006, HTTP_SERVER, 80)
    packets.extend([http.syn(), http.ack(), http.data(frames.http_get("pypi.org"))])
    packets.append(frames.dns_query(PROD_HOST, 45007, RESOLVER, "pypi.org", query_id=0x4507))
    reply = frames.TcpFlow(PROD_HOST, 45001, TLS_SERVER, 443)
    reply.syn()
    packets.append(reply.syn_ack())                     # from the upstream router's MAC
    inbound = frames.TcpFlow(OUTSIDE_HOST, 45008, PROD_HOST, 22, client_mac=frames.UPSTREAM_MAC)
    packets.append(inbound.syn())
    return packets


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("diff_pcap")
    text = GOLDEN_POLICY.read_text()
    assert f'allowed_domains: "{REMOVED}"' in text
    new = text.replace(f'allowed_domains: "{REMOVED}"', f'allowed_domains: "{ADDED}"', 1)
    baseline = '  name: "baseline"\n'
    assert baseline in new
    new = new.replace(baseline, baseline + '  allowed_networks { cidr: "198.18.1.10/32" protocol: TCP '
                      'ports: "22" }\n', 1)
    new_policy = workdir / "new.textproto"
    new_policy.write_text(new)
    pcap = workdir / "capture.pcap"
    frames.write_pcap(pcap, _traffic())
    return workdir, GOLDEN_POLICY, new_policy, pcap


def _replay_flows(workdir, policy, pcap, name, *extra):
    flows = workdir / f"{name}.jsonl"
    proc = subprocess.run([str(SLUICECTL), "replay", "--policy", str(policy), "--pcap", str(pcap),
                           "--flows", str(flows), *extra], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return read_jsonl(flows)


def _verdicts(flows):
    return {(f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]): (f["verdict"], f["reason"], f["policy"])
            for f in flows}


def _diff(old, new, pcap, *extra):
    proc = run_sluicectl("diff", old, new, "--pcap", pcap, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["capture"]


def _changes(capture):
    return {(c["src_ip"], c["src_port"], c["dst_ip"], c["dst_port"]):
            ((c["old"]["verdict"], c["old"]["reason"], c["old"]["policy"]),
             (c["new"]["verdict"], c["new"]["reason"], c["new"]["policy"])) for c in capture["changed"]}


@pytest.mark.parametrize("sides", ["outside-mac", "all-inside"])
def test_changed_flows_are_those_replay_judges_differently(setup, sides):
    workdir, old, new, pcap = setup
    extra = ("--outside-mac", frames.UPSTREAM_MAC) if sides == "outside-mac" else ()
    before = _verdicts(_replay_flows(workdir, old, pcap, f"old-{sides}", *extra))
    after = _verdicts(_replay_flows(workdir, new, pcap, f"new-{sides}", *extra))
    assert before.keys() == after.keys()
    expected = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    capture = _diff(old, new, pcap, *extra)
    assert capture["flows"] == len(before)
    assert _changes(capture) == expected


def test_golden_changes_with_sides(setup):
    _, old, new, pcap = setup
    changes = _changes(_diff(old, new, pcap, "--outside-mac", frames.UPSTREAM_MAC))
    assert changes == {
        (PROD_HOST, 45002, TLS_SERVER, 443): (("DROP", "domain_not_allowed", "restricted"),
                                              ("ALLOW", "allowed_domain", "restricted")),
        (PROD_HOST, 45003, TLS_SERVER, 443): (("ALLOW", "allowed_domain", "restricted"),
                                              ("DROP", "domain_not_allowed", "restricted")),
        (STAGING_HOST, 45004, TLS_SERVER, 443): (("DRY_RUN_DENIAL", "domain_not_allowed", "restricted"),
                                                 ("ALLOW", "allowed_domain", "restricted")),
    }
    # Without the outside MAC the inbound SYN is a new inside flow of the default policy, which
    # the new set allows: the sides decide whether it is listed.
    inside = _changes(_diff(old, new, pcap))
    assert set(inside) - set(changes) == {(OUTSIDE_HOST, 45008, PROD_HOST, 22)}
    old_side, new_side = inside[(OUTSIDE_HOST, 45008, PROD_HOST, 22)]
    assert old_side[0] == "DROP" and new_side[0] == "ALLOW" and new_side[2] == "baseline"


def test_text_output_names_old_and_new_verdict_and_reason(setup):
    _, old, new, pcap = setup
    proc = run_sluicectl("diff", old, new, "--pcap", pcap, "--outside-mac", frames.UPSTREAM_MAC)
    assert proc.returncode == 0, proc.stderr
    assert f"flows of {pcap} whose verdict changes: 3 of " in proc.stdout
    assert (f"  {PROD_HOST}:45002 -> {ADDED} ({TLS_SERVER}) TCP/443: DROP domain_not_allowed (policy "
            "restricted) -> ALLOW allowed_domain (policy restricted)\n") in proc.stdout
    assert "45001" not in proc.stdout and "45005" not in proc.stdout and "45006" not in proc.stdout
    same = run_sluicectl("diff", old, old, "--pcap", pcap)
    assert same.returncode == 0 and "whose verdict changes: 0 of " in same.stdout


def test_bad_capture_is_a_clear_error(setup, tmp_path):
    _, old, new, pcap = setup
    not_pcap = tmp_path / "not.pcap"
    not_pcap.write_text("this is not a capture\n")
    proc = run_sluicectl("diff", old, new, "--pcap", not_pcap)
    assert proc.returncode == 2 and f"sluicectl diff: {not_pcap}: not a readable pcap capture" in proc.stderr
    proc = run_sluicectl("diff", old, new, "--pcap", tmp_path / "missing.pcap")
    assert proc.returncode == 2 and "missing.pcap: not a readable pcap capture" in proc.stderr
    raw_ip = tmp_path / "raw.pcap"  # link type 101 (raw IP): no MACs, no sides
    raw_ip.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    proc = run_sluicectl("diff", old, new, "--pcap", raw_ip)
    assert proc.returncode == 2 and "only Ethernet captures are supported" in proc.stderr
    truncated = tmp_path / "truncated.pcap"
    truncated.write_bytes(pcap.read_bytes()[:-20])
    proc = run_sluicectl("diff", old, new, "--pcap", truncated)
    assert proc.returncode == 2 and f"sluicectl diff: {truncated}:" in proc.stderr, proc.stderr
    proc = run_sluicectl("diff", old, new, "--pcap", pcap, "--outside-mac", "not-a-mac")
    assert proc.returncode == 2 and "--outside-mac needs a MAC address" in proc.stderr
    proc = run_sluicectl("diff", old, new, "--outside-mac", frames.UPSTREAM_MAC)
    assert proc.returncode == 2 and "--outside-mac goes with --pcap" in proc.stderr
