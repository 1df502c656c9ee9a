"""/metrics, scraped with curl, counts a mixed scenario of real clients exactly; `sluicectl
stats` and the denial log agree with it; every packet the ports received is accounted for."""

import time

import clients
import daemon
import rig
import services
from conftest import Mark

E, D = "e2e-enforce", "e2e-default"

# (what, client, run) -> (policy, verdict, reason, resets, dropped packets (reason))
STEPS = [
    ("c1 https www v4", lambda ca: clients.curl("c1", services.WWW, cafile=ca), (E, "ALLOW", "allowed_domain")),
    ("c1 http api v6", lambda ca: clients.curl("c1", services.API, scheme="http", family=6, cafile=ca), (E, "ALLOW", "allowed_domain")),
    ("c1 python v2.api v4", lambda ca: clients.pyssl("c1", services.API_SUB, cafile=ca), (E, "ALLOW", "allowed_domain")),
    ("c1 https evil v4", lambda ca: clients.curl("c1", services.EVIL, cafile=ca), (E, "DROP", "domain_not_allowed")),
    ("c1 http evil v6", lambda ca: clients.curl("c1", services.EVIL, scheme="http", family=6, cafile=ca), (E, "DROP", "domain_not_allowed")),
    ("c1 gnutls evil v6", lambda ca: clients.gnutls("c1", services.EVIL, family=6, cafile=ca), (E, "DROP", "domain_not_allowed")),
    ("c2 https evil v4", lambda ca: clients.curl("c2", services.EVIL, cafile=ca), (E, "DRY_RUN_DENIAL", "domain_not_allowed")),
    ("c2 gnutls evil v6", lambda ca: clients.gnutls("c2", services.EVIL, family=6, cafile=ca), (E, "DRY_RUN_DENIAL", "domain_not_allowed")),
    ("c2 http www v4", lambda ca: clients.curl("c2", services.WWW, scheme="http", cafile=ca), (E, "ALLOW", "allowed_domain")),
    ("c3 https public v6", lambda ca: clients.curl("c3", services.PUBLIC, family=6, cafile=ca), (D, "ALLOW", "allowed_domain")),
    ("c3 python www v4", lambda ca: clients.pyssl("c3", services.WWW, cafile=ca), (D, "DROP", "domain_not_allowed")),
    ("c1 dig resolver v4", lambda ca: clients.dig("c1", rig.RESOLVER4, services.WWW), (E, "ALLOW", "allowed_dns_resolver")),
    ("c3 dig resolver v6", lambda ca: clients.dig("c3", rig.RESOLVER6, services.PUBLIC, "AAAA"), (D, "ALLOW", "allowed_dns_resolver")),
    ("c1 dig rogue v4", lambda ca: clients.dig("c1", rig.ROGUE4, services.WWW, wait_s=1), (E, "DROP", "dns_resolver_not_allowed")),
    ("c2 dig rogue v6", lambda ca: clients.dig("c2", rig.ROGUE6, services.WWW, "AAAA"), (E, "DRY_RUN_DENIAL", "dns_resolver_not_allowed")),
]

# Packets the appliance makes itself (so they are sent without having been received).
GENERATED = ["sluice_tcp_resets_sent_total", "sluice_tcp_onward_resets_sent_total",
             "sluice_icmp_unreachable_sent_total"]


def quiet_scrape(sluice):
    """A scrape once nothing moves: two in a row 300 ms apart with the same port counters."""
    def port_counts(m):
        return tuple(m.get(n, port=p) for n in ("sluice_port_rx_packets_total", "sluice_port_tx_packets_total",
                                                "sluice_ethdev_rx_packets_total", "sluice_ethdev_tx_packets_total")
                     for p in ("inside", "outside"))
    previous = sluice.scrape()
    for _ in range(20):
        time.sleep(0.3)
        current = sluice.scrape()
        if port_counts(current) == port_counts(previous):
            return current
        previous = current
    raise AssertionError("the port counters never stood still")


def test_mixed_scenario_counts_exactly(sluice, cafile):
    mark = Mark(sluice)
    mark.metrics = quiet_scrape(sluice)
    for what, run, (policy, verdict, reason) in STEPS:
        result = run(cafile)
        assert result.ok == (verdict != "DROP"), f"{what}\n{result.describe()}"

    denials = [s for s in STEPS if s[2][1] != "ALLOW"]
    records = mark.new_denials(len(denials), where=lambda r: r["src_ip"].startswith(("198.18.", "2001:db8:")))
    assert len(records) == len(denials), records
    assert sum(r["count"] for r in records) == len(denials)
    assert sorted((r["access_type"], r["reason"]) for r in records) == sorted(
        ("DROP" if s[2][1] == "DROP" else "DRY_RUN_DENIAL", s[2][2]) for s in denials)

    after = quiet_scrape(sluice)
    d = mark.deltas(after)

    def count(**want):
        return sum(1 for *_, (p, v, r) in STEPS
                   if all({"policy": p, "verdict": v, "reason": r}[k] == x for k, x in want.items()))

    expected_flows = {}
    for *_, (policy, verdict, _) in STEPS:
        key = (("policy", policy), ("verdict", verdict))
        expected_flows[key] = expected_flows.get(key, 0) + 1
    d.expect("sluice_flows_total", expected_flows)
    d.expect("sluice_flow_verdicts_total", {(("reason", r),): count(reason=r) for r in
                                            {s[2][2] for s in STEPS}})
    enforced_tcp = count(verdict="DROP", reason="domain_not_allowed")
    assert d("sluice_flows_created_total") == len(STEPS)
    assert d("sluice_tcp_resets_sent_total") == enforced_tcp
    assert d("sluice_dropped_packets_total", reason="domain_not_allowed") == enforced_tcp
    assert d("sluice_dropped_packets_total", reason="dns_resolver_not_allowed") == 1
    assert d("sluice_denial_records_written_total") == len(denials)
    for name in ("sluice_flow_events_dropped_total", "sluice_denial_records_lost_total",
                 "sluice_denial_records_aggregated_total", "sluice_denial_record_write_errors_total",
                 "sluice_flows_refused_total", "sluice_tcp_resets_failed_total"):
        assert d(name) == 0, name
    for port in ("inside", "outside"):
        assert d("sluice_ethdev_missed_packets_total", port=port) == 0
        assert d("sluice_ethdev_rx_no_mbuf_total", port=port) == 0
        assert d("sluice_ethdev_tx_errors_total", port=port) == 0

    # Every packet received was forwarded or dropped (with a reason); every packet sent was
    # forwarded or made by the appliance.
    received = sum(d("sluice_port_rx_packets_total", port=p) for p in ("inside", "outside"))
    sent = sum(d("sluice_port_tx_packets_total", port=p) for p in ("inside", "outside"))
    generated = sum(d(name) for name in GENERATED)
    dropped = sum(d.family("sluice_dropped_packets_total").values())
    ports = {(n, p): d(n, port=p) for n in ("sluice_port_rx_packets_total", "sluice_port_tx_packets_total",
                                            "sluice_ethdev_rx_packets_total", "sluice_ethdev_tx_packets_total")
             for p in ("inside", "outside")}
    assert received == sent - generated + dropped, str((received, sent, generated, dropped, ports,
                                                    d.family("sluice_dropped_packets_total"),
                                                    d("sluice_infrastructure_packets_total")))
    # The driver's view (rte_eth_stats) agrees with the workers'.
    for port in ("inside", "outside"):
        assert d("sluice_ethdev_rx_packets_total", port=port) == d("sluice_port_rx_packets_total", port=port), port
        assert d("sluice_ethdev_tx_packets_total", port=port) == d("sluice_port_tx_packets_total", port=port), port


def test_sluicectl_stats_agrees_with_metrics(sluice, cafile):
    assert clients.curl("c1", services.EVIL, cafile=cafile).ok is False
    Mark(sluice).new_denials(0)  # let the record land
    metrics = quiet_scrape(sluice)
    stats = sluice.stats_json()
    assert metrics.get("sluice_tcp_resets_sent_total") == stats["resets_sent"]
    assert metrics.get("sluice_denial_records_written_total") == stats["denial_records"]
    for entry in stats["policies"]:
        for verdict in ("ALLOW", "DROP", "DRY_RUN_DENIAL"):
            assert metrics.get("sluice_flows_total", policy=entry["policy"], verdict=verdict) == entry[verdict], entry
    for side in ("inside", "outside"):
        assert metrics.get("sluice_port_rx_packets_total", port=side) == stats["packets"][side]["in"]
        assert metrics.get("sluice_port_tx_packets_total", port=side) == stats["packets"][side]["out"]
    for entry in stats["dropped"]:
        assert metrics.get("sluice_dropped_packets_total", reason=entry["reason"]) == entry["packets"], entry


def test_healthz_and_readyz(sluice):
    assert daemon.http_get(daemon.HEALTH, "/healthz")[0] == 200
    assert daemon.http_get(daemon.HEALTH, "/readyz")[0] == 200
    status, body = daemon.http_get(daemon.METRICS, "/healthz")
    assert status == 200 and "sluice_up 1" in body
    assert sluice.scrape().get("sluice_ready") == 1
