"""Opt-in soak: SLUICE_E2E_SOAK=1 (duration SLUICE_E2E_SOAK_SECONDS, default 600).

Mixed clients loop (curl HTTPS/HTTP allowed and denied over v4 and v6, gnutls-cli, dig to the
listed and to an unlisted resolver, from the ENFORCE, DRY_RUN and unattached sources) while the
policy is reloaded by SIGHUP every second. Asserts: sluiced never dies; its RSS is flat after
warm-up; no client ever times out; every denied flow is a record or counted as lost; the ports
dropped nothing for want of time or buffers. Writes the figures to docs/SOAK.md.
"""

import datetime
import os
import signal
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import daemon
import policies
import rig
import services
from conftest import Mark

pytestmark = [pytest.mark.soak,
              pytest.mark.skipif(os.environ.get("SLUICE_E2E_SOAK") != "1",
                                 reason="soak is opt-in: SLUICE_E2E_SOAK=1")]

DURATION_S = int(os.environ.get("SLUICE_E2E_SOAK_SECONDS", "600"))
RSS_EVERY_S = 2
RSS_GROWTH_LIMIT_KB = 1024   # after warm-up
# The flow table's memory is touched lazily, slot by slot, and freed slots go to the back of
# the free list: RSS grows by ~100 B for every slot used the first time, until every slot has
# been. So the soak's sluiced has a small table and short timeouts (they keep it from filling),
# and warm-up lasts until twice the table's slots were handed out (and a sixth of the run);
# after that, RSS growth is a leak, not first touch.
SOAK_FLOW_CAPACITY = 4096
SOAK_TIMEOUTS = ("flow_timeouts { tcp_established_seconds: 20 tcp_closing_seconds: 10 "
                 "tcp_closed_seconds: 5 udp_seconds: 10 }")
MIN_WARMUP_S = max(10, DURATION_S // 6)
RESULTS = Path(__file__).resolve().parent.parent.parent / "docs" / "SOAK.md"

CURL = ('curl -s -o /dev/null --max-time 3 --cacert {ca} -w "{tag} %{{exitcode}} %{{http_code}} '
        '%{{time_total}}\\n" --resolve {name}:{port}:{addr} {scheme}://{name}/')
ELAPSED = 'rc=$?; echo "{tag} $rc - $(awk "BEGIN{{print $EPOCHREALTIME - $s}}")"'
GNUTLS = ('s=$EPOCHREALTIME; gnutls-cli --x509cafile={ca} --port=443 --sni-hostname={name} '
          '--verify-hostname={name} {addr} </dev/null >/dev/null 2>&1; ' + ELAPSED)
DIG = ('s=$EPOCHREALTIME; dig @{server} {name} {qtype} +short +tries=1 +time=3 >/dev/null 2>&1; '
       + ELAPSED)


def curl(tag, name, scheme, family, ca):
    addr = f"[{rig.WEB6}]" if family == 6 else rig.WEB4
    return CURL.format(tag=tag, name=name, port=443 if scheme == "https" else 80, addr=addr,
                       scheme=scheme, ca=ca)


def loops(ca):
    """client -> commands of its loop, each printing "TAG EXIT CODE SECONDS"; TAG ends in
    :ok when the command must succeed, :deny when the appliance must reset/refuse it."""
    W, E, A, P = services.WWW, services.EVIL, services.API_SUB, services.PUBLIC
    # Each loop resolves the names it connects to first (name-address binding, docs/POLICY.md).
    return {
        "c1": [DIG.format(tag="c1-dig-resolver:ok", server=rig.RESOLVER4, name=W, qtype="A"),
               DIG.format(tag="c1-dig-resolver-v6:ok", server=rig.RESOLVER6, name=A, qtype="AAAA"),
               curl("c1-https-www-v4:ok", W, "https", 4, ca), curl("c1-http-api-v6:ok", A, "http", 6, ca),
               curl("c1-https-evil-v4:deny", E, "https", 4, ca), curl("c1-http-evil-v6:deny", E, "http", 6, ca),
               GNUTLS.format(tag="c1-gnutls-evil-v6:deny", name=E, addr=rig.WEB6, ca=ca),
               DIG.format(tag="c1-dig-rogue:deny", server=rig.ROGUE6, name=W, qtype="AAAA")],
        "c2": [DIG.format(tag="c2-dig-resolver:ok", server=rig.RESOLVER4, name=W, qtype="A"),
               curl("c2-https-evil-v4:ok", E, "https", 4, ca), curl("c2-http-evil-v6:ok", E, "http", 6, ca),
               GNUTLS.format(tag="c2-gnutls-www-v4:ok", name=W, addr=rig.WEB4, ca=ca),
               DIG.format(tag="c2-dig-rogue:ok", server=rig.ROGUE4, name=W, qtype="A")],
        "c3": [DIG.format(tag="c3-dig-resolver-v6:ok", server=rig.RESOLVER6, name=P, qtype="AAAA"),
               curl("c3-https-public-v6:ok", P, "https", 6, ca), curl("c3-https-www-v4:deny", W, "https", 4, ca),
               curl("c3-http-www-v6:deny", W, "http", 6, ca)],
    }


def start_loop(client, commands, out):
    script = "while :; do\n" + "\n".join(f"  {c} >> {out}" for c in commands) + "\ndone\n"
    return subprocess.Popen(rig.in_ns(rig.CLIENTS[client].ns, "bash", "-c", script),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def outcomes(path):
    """tag -> {runs, good, bad, timeouts, max_s, p50_s}"""
    by_tag = defaultdict(list)
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:
            by_tag[parts[0]].append((int(parts[1]), parts[2], float(parts[3] or 0)))
    table = {}
    for tag, runs in sorted(by_tag.items()):
        must_pass = tag.endswith(":ok")
        curl_like = "-dig-" not in tag and "-gnutls-" not in tag
        def as_expected(code, http):
            return (code == 0 and (http in ("200", "-") or not curl_like)) == must_pass
        good = sum(1 for code, http, _ in runs if as_expected(code, http))
        wrong = Counter(f"exit {code}" + (f" http {http}" if curl_like else "")
                        for code, http, _ in runs if not as_expected(code, http))
        # curl 28 = timeout; dig 9 = no reply; anything over 2.5 s is a timeout for our purpose.
        timeouts = sum(1 for code, _, secs in runs if code == 28 or (code == 9 and secs > 2.5) or secs > 2.5)
        times = [secs for *_, secs in runs]
        table[tag] = {"runs": len(runs), "good": good, "bad": len(runs) - good, "wrong": dict(wrong),
                      "timeouts": timeouts,
                      "max_s": max(times), "p50_s": statistics.median(times)}
    return table


@pytest.fixture
def soak_sluice(e2e):
    """A sluiced of its own (see SOAK_FLOW_CAPACITY), in place of the session's."""
    e2e.sluice.stop()
    soaker = daemon.Sluiced(e2e.workdir / "sluiced-soak", policies.policy_text(), tag="soak",
                            flow_capacity=SOAK_FLOW_CAPACITY, extra_config=SOAK_TIMEOUTS)
    try:
        soaker.start()
        yield soaker
    finally:
        soaker.stop()
        e2e.sluice.start()


def test_soak(soak_sluice, cafile, e2e):
    sluice = soak_sluice
    work = e2e.workdir / "soak"
    work.mkdir(exist_ok=True)
    out = work / "client-outcomes.txt"
    out.write_text("")
    original = sluice.policy.read_text()
    alternate = policies.policy_text(extra_enforce_domains=("extra.e2e.example",))
    mark = Mark(sluice)
    started = time.monotonic()
    procs = [start_loop(client, cmds, out) for client, cmds in loops(cafile).items()]
    rss, reloads, warmup_s = [], 0, None
    try:
        next_rss = next_reload = started
        while time.monotonic() - started < DURATION_S:
            now = time.monotonic()
            assert sluice.alive(), "sluiced died during the soak\n" + sluice.describe()
            if now >= next_reload:
                sluice.write_policy(alternate if reloads % 2 == 0 else original)
                os.kill(sluice.pid, signal.SIGHUP)
                reloads += 1
                next_reload += 1.0
            if now >= next_rss:
                rss.append((now - started, rss_kb(sluice.pid)))
                next_rss += RSS_EVERY_S
                if warmup_s is None and now - started >= MIN_WARMUP_S:
                    created = sluice.scrape().get("sluice_flows_created_total") - mark.metrics.get("sluice_flows_created_total")
                    if created >= 2 * SOAK_FLOW_CAPACITY:
                        warmup_s = now - started
            time.sleep(0.05)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        sluice.write_policy(original)
        if sluice.alive():
            sluice.sighup_and_wait()
    assert sluice.alive(), sluice.describe()
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # the last records reach the disk

    after = sluice.scrape()
    d = mark.deltas(after)
    denied_flows = sum(v for labels, v in d.family("sluice_flows_total").items()
                       if dict(labels)["verdict"] in ("DROP", "DRY_RUN_DENIAL"))
    rejudged_denials = sum(v for labels, v in d.family("sluice_flows_rejudged_total").items()
                           if dict(labels)["verdict"] in ("DROP", "DRY_RUN_DENIAL"))
    records = sluice.denials()[mark.denials:]
    recorded = sum(r["count"] for r in records)
    lost = d("sluice_flow_events_dropped_total") + d("sluice_denial_records_lost_total")
    table = outcomes(out)
    judged = [(t, kb) for t, kb in rss if warmup_s is not None and t >= warmup_s]
    warm = [kb for _, kb in judged]
    growth = (warm[-1] - warm[0]) if len(warm) >= 2 else None
    slope = None  # least squares, kB a minute, after warm-up
    if len(judged) >= 3:
        mt = statistics.mean(t for t, _ in judged)
        mk = statistics.mean(kb for _, kb in judged)
        slope = round(60 * sum((t - mt) * (kb - mk) for t, kb in judged)
                      / sum((t - mt) ** 2 for t, _ in judged), 1)
    figures = {
        "duration_s": round(elapsed, 1), "reloads_sent": reloads,
        "reloads_applied": d("sluice_policy_reloads_total"),
        "reload_failures": d("sluice_policy_reload_failures_total"),
        "flow_capacity": SOAK_FLOW_CAPACITY, "flows_created": d("sluice_flows_created_total"),
        "flows_active_at_end": after.get("sluice_flows_active", worker="0"),
        "flows_expired": {dict(k)["state"]: v for k, v in d.family("sluice_flows_expired_total").items()},
        "flows_refused": d("sluice_flows_refused_total"),
        "denied_flows": denied_flows, "rejudged_to_denial": rejudged_denials,
        "denial_records": recorded, "records_lost_or_dropped": lost,
        "resets_sent": d("sluice_tcp_resets_sent_total"),
        "onward_resets_sent": d("sluice_tcp_onward_resets_sent_total"),
        "icmp_unreachable_sent": d("sluice_icmp_unreachable_sent_total"),
        "flow_denied_packets": d("sluice_dropped_packets_total", reason="flow_denied"),
        "deny_replies_rate_limited": d("sluice_deny_replies_rate_limited_total"),
        "ethdev_missed": sum(d("sluice_ethdev_missed_packets_total", port=p) for p in ("inside", "outside")),
        "rx_no_mbuf": sum(d("sluice_ethdev_rx_no_mbuf_total", port=p) for p in ("inside", "outside")),
        "warmup_s": None if warmup_s is None else round(warmup_s),
        "rss_start_kb": rss[0][1], "rss_after_warmup_kb": warm[0] if warm else None,
        "rss_end_kb": rss[-1][1], "rss_max_kb": max(kb for _, kb in rss),
        "rss_growth_after_warmup_kb": growth, "rss_slope_after_warmup_kb_per_min": slope,
    }
    write_results(figures, table, rss)

    assert figures["reload_failures"] == 0, figures
    assert figures["reloads_applied"] >= reloads * 0.9, figures  # SIGHUPs may coalesce
    assert recorded + lost == denied_flows + rejudged_denials, figures
    assert figures["ethdev_missed"] == 0 and figures["rx_no_mbuf"] == 0, figures
    assert figures["flows_refused"] == 0, figures
    bad = {tag: row for tag, row in table.items() if row["bad"] or row["timeouts"]}
    assert not bad, f"clients with wrong outcomes or timeouts: {bad}"
    if growth is not None:
        assert growth <= RSS_GROWTH_LIMIT_KB, f"RSS grew {growth} kB after warm-up: {rss}"


def write_results(figures, table, rss):
    lines = [
        "# Soak results", "",
        f"Written by `tests/e2e/test_soak.py` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"(`SLUICE_E2E_SOAK=1 SLUICE_E2E_SOAK_SECONDS={DURATION_S}`); kernel {os.uname().release}, "
        f"{os.cpu_count()} CPUs. Mixed clients in loops and a SIGHUP reload every second. "
        f"sluiced: flow_capacity {SOAK_FLOW_CAPACITY}, `{SOAK_TIMEOUTS}`; RSS is judged after "
        f"warm-up (2 x flow_capacity flows handed out, at least {MIN_WARMUP_S} s): "
        + ("not reached in this run." if figures["warmup_s"] is None else f"{figures['warmup_s']} s."), "",
        "## Appliance", "", "| figure | value |", "| --- | --- |",
    ]
    def show(v):
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, dict):
            return ", ".join(f"{k} {show(x)}" for k, x in v.items())
        return "n/a" if v is None else str(v)
    lines += [f"| {k} | {show(v)} |" for k, v in figures.items()]
    lines += ["", "## Clients", "",
              "`:ok` must succeed, `:deny` must be refused at once. A timeout is any run over 2.5 s. "
              "Exit codes of the wrong runs are in `soak/client-outcomes.txt` of the run's work dir.", "",
              "| loop | runs | as expected | wrong | wrong ones | timeouts | median s | max s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {tag} | {r['runs']} | {r['good']} | {r['bad']} | {show(r['wrong']) or '-'} | {r['timeouts']} | "
              f"{r['p50_s']:.3f} | {r['max_s']:.3f} |"
              for tag, r in table.items()]
    lines += ["", "## sluiced RSS (kB) over time", "", "| s | VmRSS kB |", "| --- | --- |"]
    step = max(1, len(rss) // 30)
    lines += [f"| {t:.0f} | {kb} |" for t, kb in rss[::step]]
    RESULTS.write_text("\n".join(lines) + "\n")
