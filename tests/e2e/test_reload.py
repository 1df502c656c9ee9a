"""Policy reload on SIGHUP through the running appliance: a revoked domain fails on its next
request (new connection, and the next request of an open one), restoring it brings it back,
and a broken policy file leaves the running policy as it was."""

import contextlib
import json
import subprocess
import sys

import pytest

import clients
import policies
import rig
import services
from conftest import Mark, check_record, client_ip, expected_record, flows_series

RELOADS, FAILURES, GENERATION = ("sluice_policy_reloads_total", "sluice_policy_reload_failures_total",
                                 "sluice_policy_generation")
WITHOUT_WWW = policies.policy_text(enforce_domains=("." + services.API,))


@contextlib.contextmanager
def original_policy_restored(sluice):
    original = sluice.policy.read_text()
    generation = sluice.scrape().get(GENERATION)
    try:
        yield original
    finally:
        if sluice.alive() and (sluice.policy.read_text() != original
                               or sluice.scrape().get(GENERATION) != generation):
            sluice.write_policy(original)
            sluice.sighup_and_wait()


def reset_fast(result):
    return not result.ok and result.elapsed < 1.0 and clients.saw_reset(result)


def test_revoke_then_restore_a_domain(sluice, cafile):
    with original_policy_restored(sluice) as original:
        assert clients.curl("c1", services.WWW, cafile=cafile).ok
        # The address keeps the name of its latest answer (docs/POLICY.md): resolve the name that
        # stays allowed last, as a client about to use it would.
        for family in (4, 6):
            assert clients.dig("c1", rig.resolver(family), services.API, "AAAA" if family == 6 else "A").ok

        mark = Mark(sluice)
        sluice.write_policy(WITHOUT_WWW)
        sluice.sighup_and_wait()
        revoked = {f: clients.curl("c1", services.WWW, family=f, cafile=cafile) for f in (4, 6)}
        for result in revoked.values():
            assert reset_fast(result), result.describe()
        assert clients.curl("c1", services.API, cafile=cafile).ok  # the rest still holds
        records = mark.new_denials(2, where=lambda r: r["src_ip"] in (client_ip("c1", 4), client_ip("c1", 6)))
        assert len(records) == 2, records
        for family, record in zip((4, 6), records):
            check_record(record, expected_record(
                "c1", family, dst_ip=rig.WEB6 if family == 6 else rig.WEB4, dst_port=443,
                protocol="TCP", destination_type="SNI", destination=services.WWW,
                reason="domain_not_allowed"), src_port=revoked[family].local_port)
        d = mark.deltas()
        assert (d(RELOADS), d(FAILURES), d(GENERATION)) == (1, 0, 1)
        d.expect("sluice_flows_total", {flows_series("e2e-enforce", "DROP"): 2,
                                        flows_series("e2e-enforce", "ALLOW"): 1})

        mark = Mark(sluice)
        sluice.write_policy(original)
        sluice.sighup_and_wait()
        for family in (4, 6):
            result = clients.curl("c1", services.WWW, family=family, cafile=cafile)
            assert result.ok, result.describe()
        assert mark.new_denials(0) == []
        d = mark.deltas()
        assert (d(RELOADS), d(FAILURES), d(GENERATION)) == (1, 0, 1)


def test_revoke_resets_an_open_connection_on_its_next_request(sluice, cafile):
    """A keep-alive TLS connection allowed under the old policy: its next request after the
    reload is judged again (the flow remembers the SNI) and reset."""
    with original_policy_restored(sluice):
        session = subprocess.Popen(
            rig.in_ns(rig.CLIENTS["c1"].ns, sys.executable, clients.NETCLIENT, "session", rig.WEB4,
                      "443", services.WWW, cafile),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(session.stdout.readline())
            assert first["ok"] and f"e2e {services.WWW} https" in first["body"], first
            session.stdin.write("again\n")
            session.stdin.flush()
            second = json.loads(session.stdout.readline())
            assert second["ok"], second  # same connection, same policy: still fine

            mark = Mark(sluice)
            sluice.write_policy(WITHOUT_WWW)
            sluice.sighup_and_wait()
            session.stdin.write("after reload\n")
            session.stdin.flush()
            third = json.loads(session.stdout.readline())
            # Linux reports a reset that arrives before recv() as end of stream, so python's
            # ssl sees ECONNRESET or EOF depending on who is first; either way at once.
            assert not third["ok"] and third["errno"] in ("ECONNRESET", "EOF"), third
            assert third["elapsed"] < 1.0, third
        finally:
            session.kill()
            session.wait()
        records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", 4))
        assert len(records) == 1, records
        check_record(records[0], expected_record(
            "c1", 4, dst_ip=rig.WEB4, dst_port=443, protocol="TCP", destination_type="SNI",
            destination=services.WWW, reason="domain_not_allowed"), src_port=first["local_port"])
        d = mark.deltas()
        assert d("sluice_flows_rejudged_total", verdict="DROP") == 1
        assert d("sluice_flows_created_total") == 0
        assert d("sluice_tcp_resets_sent_total") == 1


BROKEN = {
    "syntax": "name: \"e2e\"\npolicies { name: \"x\" access_mode: RESTRICTED\n",  # unclosed
    "semantics": policies.policy_text().replace('policy: "e2e-enforce"', 'policy: "no-such-policy"', 1),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_policy_leaves_service_as_it_was(sluice, cafile, kind):
    with original_policy_restored(sluice):
        mark = Mark(sluice)
        sluice.write_policy(BROKEN[kind])
        sluice.sighup_and_wait(expect_success=False)
        d = mark.deltas()
        assert (d(RELOADS), d(FAILURES), d(GENERATION)) == (0, 1, 0)
        assert mark.deltas()("sluice_ready") == 0 and sluice.scrape().get("sluice_ready") == 1

        assert clients.curl("c1", services.WWW, cafile=cafile).ok
        assert clients.curl("c2", services.EVIL, cafile=cafile).ok           # still DRY_RUN
        denied = clients.curl("c1", services.EVIL, scheme="http", family=6, cafile=cafile)
        assert reset_fast(denied), denied.describe()
        records = mark.new_denials(2, where=lambda r: r["src_ip"].startswith("198.18.")
                                   or r["src_ip"].startswith("2001:db8:"))
        assert [(r["access_type"], r["src_ip"]) for r in records] == [
            ("DRY_RUN_DENIAL", client_ip("c2", 4)), ("DROP", client_ip("c1", 6))], records
        # The refusal names the file and line, on sluiced's stderr.
        assert f"{sluice.policy}:" in sluice.stderr(), sluice.stderr()[-2000:]
