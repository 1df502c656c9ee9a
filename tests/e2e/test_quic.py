"""Headless Chromium opens QUIC through sluiced (issue 14). Chromium resolves the allowed name
through the rig's dnsmasq (the DNS answer crosses sluiced) and is forced onto QUIC for that
origin (--origin-to-force-quic-on: QUIC at once, no TCP at all, so no fallback either). A UDP sink
on the server's port 443 reads and answers nothing, so Chromium retransmits its Initials as it
would to a slow server; no QUIC server is needed for the Initials to be judged. What reached the
server is read from a tcpdump in the server namespace by tshark, which removes the Initials'
protection itself.

- an allowed name: its Initials reach the server with the ClientHello Chromium sent (tshark reads
  the SNI there), the flow is logged ALLOW with destination_type QUIC_SNI and the SNI, no record;
- a denied name (pinned to the web server's address, so that it is judged on the Initial whatever
  DNS answers for it): no datagram of it reaches the server (the Initials before the one that
  completes the ClientHello are held until the verdict, and freed with it); Chromium gets the ICMP error at once and fails the request (QUIC
  session closed with ERR_ADDRESS_UNREACHABLE), opens no TCP connection, and one DROP record
  QUIC_SNI domain_not_allowed is written a QUIC connection (Chromium may retry once on a second);
- the DRY_RUN subnet: the same denied name reaches the server, one DRY_RUN_DENIAL record.

Chromium sends a GREASE ECH extension in every ClientHello, so the module runs with
e2e-enforce's tls_exceptions { ech_judge_outer_sni: true } (restored afterwards)."""

import pytest

import chromium
import policies
import rig
import services
from client_resolver import ClientResolver
from conftest import Mark, check_record, client_ip, expected_record

pytestmark = pytest.mark.skipif(not chromium.available(), reason="needs chromium, tshark, tcpdump")


@pytest.fixture(scope="module")
def quic_rig(e2e):
    if not e2e.sluice.alive():
        e2e.sluice.start()
    e2e.sluice.write_policy(policies.policy_text(ech_judge_outer_sni=True))
    e2e.sluice.sighup_and_wait()
    sink = chromium.Sink(e2e.workdir)
    try:
        with ClientResolver("c1"), ClientResolver("c2"):
            yield e2e
    finally:
        sink.stop()
        if e2e.sluice.alive():
            e2e.sluice.write_policy(policies.policy_text())
            e2e.sluice.sighup_and_wait()


def browse(quic_rig, client, name, *, pin=None):
    capture = chromium.ServerCapture(quic_rig.workdir / f"srv-quic-{client}-{name}.pcap")
    try:
        result = chromium.run(client, name, quic_rig.workdir, pin=pin)
    finally:
        arrived = capture.stop()
    return result, arrived


def _quic_record_of(record, client):
    """A record of `client`'s connections, not of its DNS: Chromium looks up its own services
    (clients2.google.com, update.googleapis.com…) despite --disable-background-networking, and
    the appliance denies those queries by name with DNS records of their own."""
    return record["src_ip"] == client_ip(client, 4) and record["destination_type"] != "DNS"


def quic_flows(mark, client, expected=1):
    return mark.new_flows(expected, where=lambda f: f["src_ip"] == client_ip(client, 4) and f["dst_port"] == 443)


def test_allowed_name_reaches_the_server_with_its_sni(quic_rig, sluice):
    mark = Mark(sluice)
    result, arrived = browse(quic_rig, "c1", services.WWW)
    flows = quic_flows(mark, "c1")
    assert flows, result
    for flow in flows:
        assert (flow["protocol"], flow["destination_type"], flow["verdict"], flow["reason"]) == \
            ("UDP", "QUIC_SNI", "ALLOW", "allowed_domain"), flow
        assert (flow["sni"], flow["destination"], flow["dst_ip"]) == (services.WWW, services.WWW, rig.WEB4), flow
        assert (flow["tls_alpn"], flow["tls_version"]) == ("h3", "TLS1.3"), flow
    count, snis = arrived.of(client_ip("c1", 4))
    assert snis == {services.WWW}, (arrived, result)
    assert count >= 2, arrived  # the ClientHello spans two Initials, both forwarded
    assert mark.new_denials(0, where=lambda r: _quic_record_of(r, "c1")) == []
    # Nothing told Chromium to stop: its QUIC session ran into the sink's silence, not an ICMP error.
    assert not any("ADDRESS_UNREACHABLE" in q.get("details", "") for q in result.quic_errors), result


def test_denied_name_is_refused_recorded_and_chromium_fails(quic_rig, sluice):
    mark = Mark(sluice)
    result, arrived = browse(quic_rig, "c1", services.EVIL, pin=rig.WEB4)
    # One record a QUIC connection: Chromium may retry the request once on a second connection
    # (another source port) after the first one fails, and that one is denied and recorded too.
    records = mark.new_denials(1, where=lambda r: _quic_record_of(r, "c1"))
    # One record a connection: Chromium may retry on new connections (seen: up to two retries),
    # each denied and recorded once (distinct source ports).
    assert 1 <= len(records) <= 4 and len({r["src_port"] for r in records}) == len(records), records
    for record in records:
        check_record(record, expected_record("c1", 4, dst_ip=rig.WEB4, dst_port=443, protocol="UDP",
                                             destination_type="QUIC_SNI", destination=services.EVIL,
                                             reason="domain_not_allowed"))
    # Nothing reaches the server: the Initials before the one that completes the ClientHello are
    # held until the verdict and freed with it (docs/QUIC.md).
    count, snis = arrived.of(client_ip("c1", 4))
    assert count == 0 and snis == set(), arrived
    # Chromium learns at once (the ICMP error) and fails; forced onto QUIC, it tries no TCP.
    assert any("ERR_ADDRESS_UNREACHABLE" in q.get("details", "") for q in result.quic_errors), result
    flows = quic_flows(mark, "c1")
    assert all(f["protocol"] == "UDP" for f in flows), flows
    assert [f["verdict"] for f in flows] == ["DROP"] * len(records), flows
    d = mark.deltas()
    # The held Initials (the ClientHello spans two) and the deciding one, each connection.
    assert d("sluice_dropped_packets_total", reason="domain_not_allowed") >= 2 * len(records)


def test_dry_run_subnet_reaches_the_denied_name_with_a_record(quic_rig, sluice):
    mark = Mark(sluice)
    result, arrived = browse(quic_rig, "c2", services.EVIL, pin=rig.WEB4)
    records = mark.new_denials(1, where=lambda r: _quic_record_of(r, "c2"))
    assert len(records) == 1, records  # nothing fails: Chromium has no reason to retry
    check_record(records[0], expected_record("c2", 4, dst_ip=rig.WEB4, dst_port=443, protocol="UDP",
                                             destination_type="QUIC_SNI", destination=services.EVIL,
                                             reason="domain_not_allowed"))
    assert arrived.of(client_ip("c2", 4))[1] == {services.EVIL}, (arrived, result)
