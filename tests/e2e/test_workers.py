"""Two workers end to end (docs/ARCHITECTURE.md, "Several workers"): sluiced with
`worker_lcores: [1, 2]` and both net_af_packet ports opened with `qpairs=2` (one queue a worker,
the kernel's fanout spreads frames over them; af_packet has no RSS, so the workers steer in
software and hand frames to the owner of their flow).

Each client resolves db.e2e.example and connects at once (the SYN right behind the answer):
the answer's flow (client ↔ resolver) and the connection (client ↔ echo server) are different
address pairs, owned by whichever worker their hash names, so some SYNs land on another worker
than the answer that allows them. Every connection must pass on the learned address, both
workers must judge flows, and no flow may be judged twice.

This module runs its own sluiced (the main one is stopped meanwhile, as test_dns_learning does).
"""

import pytest

import clients
import daemon
import policies
import rig
import services
from conftest import Mark, client_ip

pytestmark = pytest.mark.dns_learning

WORKER_SHIFT = 40  # flow ids carry the worker index above bit 40
CASES = [(client, family) for client in ("c1", "c2") for family in (4, 6)]


@pytest.fixture(scope="module")
def two_workers(e2e):
    e2e.sluice.stop()
    sluice = daemon.Sluiced(e2e.workdir / "sluiced-workers", policies.learning_policy_text(),
                            extra_config=policies.DNS_LEARNING_BLOCK + "\nworker_lcores: 2\n",
                            tag="workers", port_args=",qpairs=2")
    try:
        sluice.start()
        yield sluice
    finally:
        sluice.stop()
        e2e.sluice.start()


def test_two_workers_steer_in_software(two_workers):
    out = two_workers.stdout()
    assert "2 workers; inside port 2 rx/2 tx queues, outside port 2 rx/2 tx queues" in out, out
    assert "steered in software" in out, out


def test_answer_then_syn_at_once_passes_on_whichever_worker(two_workers):
    mark = Mark(two_workers)
    for client, family in CASES:
        result = clients.resolve_connect(client, rig.resolver(family), services.DB, rig.qtype(family),
                                         rig.DB_PORT, "at once")
        assert result.ok and result.body == "at once", (client, family, result.describe())
    db = {4: rig.DB4, 6: rig.DB6}
    lines = mark.new_flows(2 * len(CASES))
    owners = {}
    for client, family in CASES:
        source = client_ip(client, family)
        to_db = [f for f in lines if f["src_ip"] == source and f["dst_ip"] == db[family]]
        to_resolver = [f for f in lines if f["src_ip"] == source and f["dst_port"] == 53]
        assert len(to_db) == 1 and len(to_resolver) >= 1, (client, family, lines)
        # c2's policy is DRY_RUN by override: ALLOW all the same, on the learned address.
        assert to_db[0]["verdict"] == "ALLOW" and to_db[0]["reason"] == "allowed_dns_learned", to_db
        owners[(client, family)] = (to_resolver[0]["flow_id"] >> WORKER_SHIFT, to_db[0]["flow_id"] >> WORKER_SHIFT)
    tuples = [(f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"], f["protocol"]) for f in lines]
    assert len(tuples) == len(set(tuples)), f"a flow judged twice: {lines}"
    judged_by = {worker for pair in owners.values() for worker in pair}
    assert judged_by == {0, 1}, owners
    # The hash is fixed: with these addresses some answers and their SYNs fall on different workers.
    assert any(answer != syn for answer, syn in owners.values()), owners
    metrics = two_workers.scrape()
    for worker in ("0", "1"):
        assert metrics.get("sluice_worker_flows_created_total", worker=worker) > 0, worker
    handed = sum(metrics.get("sluice_worker_handoff_packets_total", worker=w, direction="sent") for w in ("0", "1"))
    taken = sum(metrics.get("sluice_worker_handoff_packets_total", worker=w, direction="received") for w in ("0", "1"))
    assert handed == taken, (handed, taken)
