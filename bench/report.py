"""Turns one benchmark run into a Markdown report and PNG plots (Debian's python3-matplotlib).

    /usr/bin/python3 bench/report.py --dir bench/results [--doc docs/PERFORMANCE.md]

Reads DIR/results.json (sluice_bench), DIR/ndpi.json (ndpi_peer.py) and DIR/perf-*.txt (hot-path
profiles), writes DIR/results.md and DIR/*.png: rates and cycles of every profile beside its
stateful and pass-through baselines, cycles a packet against flow-table size
(flow_table_scaling.png), new connections a second against allow-list size, compilation. With --doc, the block between
"<!-- bench:results:begin -->" and "<!-- bench:results:end -->" of that file is replaced by the
report, so the document always shows one run's figures.
"""
import argparse
import json
import os
import pathlib
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
# The QUIC section has a block of its own, so that `bench/run.sh --section quic` can refresh it alone.
QUIC_BEGIN, QUIC_END = "<!-- bench:quic:begin -->", "<!-- bench:quic:end -->"
# Routed mode's table sits inside the main block, between markers of its own, so that
# `bench/run.sh --section routed` can refresh it alone (with the run's machine line).
ROUTED_BEGIN, ROUTED_END = "<!-- bench:routed:begin -->", "<!-- bench:routed:end -->"
COMPILE_BEGIN, COMPILE_END = "<!-- bench:compile:begin -->", "<!-- bench:compile:end -->"
# Several workers (issue #18) have a block of their own: `bench/run.sh --section workers`.
WORKERS_BEGIN, WORKERS_END = "<!-- bench:workers:begin -->", "<!-- bench:workers:end -->"
GOAL_MPPS, GOAL_CPS = 15.0, 1e6
# Issue 15: Sluice's cycles a packet at most 1.3 × the stateful baseline's (a 5-tuple lookup a
# packet, the floor of the job) at 1M flows, and at most 64 bytes a flow beside its key.
GOAL_STATEFUL_RATIO, GOAL_FLOW_BYTES_BEYOND_KEY = 1.3, 64
VPP_ACL_MPPS, IDS_MPPS = 11.0, 0.1


def fmt(value, digits=3):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def spread(summary, key):
    s = summary.get(key) or {}
    return s.get("median"), s.get("min"), s.get("max")


def feeder_bound(summary):
    return summary.get("feeder_bound_runs", 0) > 0


def mpps_cell(summary):
    median, low, high = spread(summary, "mpps")
    if median is None:
        return "–"
    # A rate the feeder set is only a lower bound of what the worker could take.
    bound = "≥ " if feeder_bound(summary) else ""
    return f"{bound}{fmt(median)} ({fmt(low)}–{fmt(high)})"


def verdict_note(profile):
    runs = profile["runs"]["sluice"]
    if not runs:
        return ""
    first = runs[0]
    parts = [f"{name} {count:,}" for name, count in first.get("verdicts_by_reason", {}).items()]
    drops = [f"{name} {count:,}" for name, count in first.get("dropped_by_reason", {}).items()]
    note = "verdicts: " + ", ".join(parts) if parts else ""
    if drops:
        note += ("; " if note else "") + "drops: " + ", ".join(drops)
    return note


def profile_by_id(results, prefix):
    for profile in results["profiles"]:
        if profile["id"].startswith(prefix):
            return profile
    return None


def machine_table(machine, repetitions):
    rows = [
        ("CPU", f"{machine['cpu']} ({machine['online_cpus']} vCPUs{', KVM guest' if machine.get('hypervisor') else ''})"),
        ("memory", machine["memory"]),
        ("kernel", machine["kernel"]),
        ("TSC", f"{machine['tsc_hz'] / 1e9:.3f} GHz"),
        ("DPDK / Hyperscan", f"{machine['dpdk']} / {machine['hyperscan'].split()[0]}"),
        ("compiler", machine["compiler"]),
        ("EAL", machine["eal"]),
        ("source", machine.get("source", "–")),
        ("repetitions", f"{repetitions} of each figure: pass-through, stateful baseline and Sluice in turn; median (min–max)"),
    ]
    lines = ["| | |", "| --- | --- |"] + [f"| {key} | {value} |" for key, value in rows]
    return "\n".join(lines)


def stateful_ratio_cell(profile):
    """Sluice's cycles a packet over the stateful baseline's (medians); '–' when not measured."""
    ratio = profile.get("cycles_ratio_to_stateful_baseline")
    if not ratio:
        return "–"
    stateful = profile.get("stateful_baseline", {})
    # A run the feeder paced shows more cycles than its worker needed: a paced baseline makes the
    # ratio a lower bound, a paced Sluice an upper one, both paced an unknown.
    paced_floor, paced_sluice = feeder_bound(stateful), feeder_bound(profile["sluice"])
    bound = "~ " if paced_floor and paced_sluice else "≥ " if paced_floor else "≤ " if paced_sluice else ""
    misses = stateful.get("lookup_misses", 0)
    return f"{bound}{ratio:.2f} ×" + (f" ({misses:,} misses)" if misses else "")


def profiles_table(results):
    lines = [
        "| profile | Sluice Mpps | Sluice cycles/packet | stateful baseline cycles/packet | Sluice ÷ stateful (cycles) | "
        "pass-through Mpps | Sluice ÷ pass-through (Mpps) | new connections/s | other load | what the run did |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for profile in results["profiles"]:
        sluice, base = profile["sluice"], profile["baseline"]
        stateful = profile.get("stateful_baseline", {})
        cycles = spread(sluice, "cycles_per_packet")[0]
        floor = spread(stateful, "cycles_per_packet")
        cps = spread(sluice, "connections_per_second")[0] if profile.get("connections_per_run") else None
        foreign = spread(sluice, "foreign_cpu_share")[2]
        status = "" if profile.get("ok", True) else f" **failed: {profile.get('error')}**"
        lines.append(
            f"| {profile['title']}{status} | {mpps_cell(sluice)} | {fmt(cycles)} | "
            f"{fmt(floor[0])}{f' ({fmt(floor[1])}–{fmt(floor[2])})' if floor[0] else ''} | "
            f"{stateful_ratio_cell(profile)} | {mpps_cell(base)} | "
            f"{'≤ ' if feeder_bound(base) else ''}{profile.get('ratio_to_baseline', 0):.3f} | "
            f"{fmt(cps) if cps else '–'} | "
            f"{'–' if foreign is None else f'{foreign * 100:.0f} %'} | {verdict_note(profile)} |"
        )
    return "\n".join(lines)


def goals_table(results, side=None):
    established = profile_by_id(results, "established_1000000") or profile_by_id(results, "established_")
    tls = profile_by_id(results, "new_tls_typical_100000_domains") or profile_by_id(results, "new_tls_typical_2500")
    rows = []
    if established:
        mpps = spread(established["sluice"], "mpps")[0] or 0
        ratio = established.get("ratio_to_baseline", 0)
        rows.append((f"{established['title']}: ≥ {GOAL_MPPS:g} Mpps", f"{fmt(mpps)} Mpps",
                     "met" if mpps >= GOAL_MPPS else "missed"))
        stateful_ratio = established.get("cycles_ratio_to_stateful_baseline") or 0
        rows.append((f"{established['title']}: cycles a packet ≤ {GOAL_STATEFUL_RATIO:g} × the stateful baseline's",
                     f"{stateful_ratio:.2f} ×" if stateful_ratio else "not measured",
                     ("met" if stateful_ratio <= GOAL_STATEFUL_RATIO else "missed") if stateful_ratio else ""))
        rows.append((f"{established['title']}: the pass-through's rate (the harness's own cost, no goal)",
                     f"{ratio:.3f} ×", ""))
    memory = (side or {}).get("flow_memory")
    if memory and "bytes_per_flow_beyond_key" in memory:
        beyond = memory["bytes_per_flow_beyond_key"]
        rows.append((f"flow table memory: ≤ {GOAL_FLOW_BYTES_BEYOND_KEY} B a flow beside its "
                     f"{memory['flow_key_bytes']}-byte key", f"{beyond:.0f} B",
                     "met" if beyond <= GOAL_FLOW_BYTES_BEYOND_KEY else "missed"))
    if tls:
        cps = spread(tls["sluice"], "connections_per_second")[0] or 0
        rows.append((f"{tls['title']}: ≥ 1,000,000 connections/s", f"{fmt(cps)} /s",
                     "met" if cps >= GOAL_CPS else "missed"))
    if established:
        mpps = spread(established["sluice"], "mpps")[0] or 0
        rows.append((f"anchor: stateful ACL in VPP, ~{VPP_ACL_MPPS:g} Mpps a core", f"{mpps / VPP_ACL_MPPS:.2f} × the anchor", ""))
        rows.append((f"anchor: full IDS, < {IDS_MPPS:g} Mpps a core", f"{mpps / IDS_MPPS:.0f} × the anchor", ""))
    lines = ["| goal (per worker core, this machine) | measured | |", "| --- | ---: | --- |"]
    lines += [f"| {goal} | {value} | {verdict} |" for goal, value, verdict in rows]
    return "\n".join(lines)


def quic_table(results):
    """New QUIC connections a second against the new TLS connections of the same run, by policy size."""
    rows = []
    for profile in results["profiles"]:
        params = profile.get("params", {})
        if profile["group"] != "new_quic":
            continue
        domains = params.get("domains")
        quic = spread(profile["sluice"], "connections_per_second")
        tls_profile = profile_by_id(results, f"new_tls_typical_{domains}_domains")
        pq_profile = profile_by_id(results, f"new_tls_post_quantum_{domains}_domains")
        tls = spread(tls_profile["sluice"], "connections_per_second") if tls_profile else (None, None, None)
        pq = spread(pq_profile["sluice"], "connections_per_second") if pq_profile else (None, None, None)
        cycles = spread(profile["sluice"], "cycles_per_packet")[0]
        per_connection = cycles * params.get("packets_per_connection", 2) if cycles else None
        ratio = quic[0] / tls[0] if quic[0] and tls[0] else None
        status = "" if profile.get("ok", True) else f" **failed: {profile.get('error')}**"
        rows.append(f"| {domains:,}{status} | {fmt(quic[0])} ({fmt(quic[1])}–{fmt(quic[2])}) | "
                    f"{fmt(per_connection)} | {fmt(tls[0])} ({fmt(tls[1])}–{fmt(tls[2])}) | "
                    f"{fmt(pq[0]) if pq[0] else '–'} | {f'{ratio:.2f} ×' if ratio else '–'} | "
                    f"{fmt(profile.get('connections_per_run'))} | {verdict_note(profile)} |")
    if not rows:
        return "No QUIC profile in this run."
    lines = ["| domains | new QUIC connections/s | cycles a connection | new TLS connections/s (typical hello, same run) | "
             "TLS, post-quantum hello (same run) | QUIC / TLS | connections a run | what the run did |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    return "\n".join(lines + rows)


def quic_report(results):
    machine = results["machine"]
    load = f"; load average at start {results['load']}" if results.get("load") else ""
    return ("### New QUIC connections\n\n"
            f"Machine: {machine['cpu']} ({machine['online_cpus']} vCPUs), {machine['kernel']}; "
            f"source {machine.get('source', '–')}{load}; {results['repetitions']} repetitions, "
            "median (min–max).\n\n" + quic_table(results) + "\n")


def compile_table(side):
    lines = ["| domains | names | load + validate (s) | compile (s) | Hyperscan database | bytes a pattern |",
             "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for figure in side.get("compile", []):
        if "error" in figure:
            lines.append(f"| {figure['domains']:,} | {figure.get('domain_style', '')} | failed: {figure['error']} | | | |")
            continue
        lines.append(
            f"| {figure['domains']:,} | {figure.get('domain_style', '')} | {figure['load_validate_seconds']:.2f} | "
            f"{figure['compile_seconds']:.2f} | {figure['database_bytes'] / 2**20:.1f} MiB | "
            f"{figure['database_bytes_per_pattern']:.0f} |")
    return "\n".join(lines)


def restart_table(side):
    """Start, restart and a reload of ten changed names: the policy file to a compiled policy."""
    restarts = side.get("restart", [])
    if not restarts:
        return "No start or restart figures in this run."
    lines = ["| domains | names | pass | suffix list (s) | load + validate (s) | compile (s) | total (s) | Hyperscan databases from cache |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for figure in restarts:
        if "error" in figure:
            lines.append(f"| {figure['domains']:,} | {figure.get('domain_style', '')} | failed: {figure['error']} | | | | | |")
            continue
        for key, label in (("first_start", "first start (empty cache)"), ("restart", "restart (cache warm)"),
                           ("reload_changed_names", f"reload, {figure.get('changed_names', 10)} names changed"),
                           ("restart_binary", "restart, the same policy as a binary `.pb` file")):
            if key not in figure:
                continue
            run = figure[key]
            if "error" in run:
                lines.append(f"| {figure['domains']:,} | {figure['domain_style']} | {label}: failed: {run['error']} | | | | | |")
                continue
            lines.append(
                f"| {figure['domains']:,} | {figure['domain_style']} | {label} | {run['suffix_list_seconds']:.2f} | "
                f"{run['load_validate_seconds']:.2f} | {run['compile_seconds']:.2f} | **{run['total_seconds']:.2f}** | "
                f"{run['hyperscan_databases_from_cache']} of {run['hyperscan_databases']} |")
    return "\n".join(lines)


def compile_block(side, prefix=""):
    return (compile_table(side) + f"\n\n![compilation]({prefix}compile.png)\n\n"
            "Start and restart: what `sluiced` does with its policy file before its workers can run "
            "(the public suffix list read, the file loaded and validated, the policy compiled with the "
            "Hyperscan cache it keeps), one pass each, in this order on one file:\n\n" + restart_table(side) + "\n")


def side_tables(side):
    out = []
    memory = side.get("flow_memory")
    if memory and "error" not in memory:
        names = memory.get("name_array_bytes")
        beyond = memory.get("bytes_per_flow_beyond_key")
        floor = memory.get("stateful_baseline_bytes_per_flow")
        out.append(
            "| flow table capacity | rte_hash | FlowEntry array | FlowName array | per flow | beside the key "
            f"(goal ≤ {GOAL_FLOW_BYTES_BEYOND_KEY} B) | per flow judged on a name | stateful baseline per flow |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            f"| {memory['capacity']:,} | {memory['rte_hash_bytes'] / 2**20:.1f} MiB | "
            f"{memory['entry_array_bytes'] / 2**20:.1f} MiB ({memory['flow_entry_bytes']} B each) | "
            + (f"{names / 2**20:.1f} MiB reserved ({memory['flow_name_bytes']} B each) | " if names else "– | ")
            + f"**{memory['bytes_per_flow']:.0f} B** (key {memory['flow_key_bytes']} B) | "
            + (f"**{beyond:.0f} B** | " if beyond is not None else "– | ")
            + (f"{memory['bytes_per_named_flow']:.0f} B | " if names else "– | ")
            + (f"{floor:.0f} B (key {memory['stateful_baseline_key_bytes']} B) |" if floor else "– |"))
    writer = side.get("writer")
    if writer and "error" not in writer:
        out.append(
            "| denial records | through the writer | formatting alone | mean record | file system |\n"
            "| ---: | ---: | ---: | ---: | --- |\n"
            f"| {writer['records']:,} | **{writer['records_per_second']:,.0f} /s** | "
            f"{writer['format_only_records_per_second']:,.0f} /s | {writer['mean_record_bytes']:.0f} B | "
            f"{writer['filesystem']} |")
    latency = side.get("record_latency")
    if latency and "error" not in latency:
        out.append(
            "| packet → record written | p50 | p90 | p99 | p99.9 | max | records | control period |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            f"| {latency['connections_per_second']:,.0f} denied connections/s | {latency['p50_us'] / 1000:.2f} ms | "
            f"{latency['p90_us'] / 1000:.2f} ms | {latency['p99_us'] / 1000:.2f} ms | {latency['p999_us'] / 1000:.2f} ms | "
            f"{latency['max_us'] / 1000:.2f} ms | {latency['records_measured']:,} | {latency['control_period_us'] / 1000:g} ms |")
    return "\n\n".join(out)


def ndpi_table(results, ndpi):
    if not ndpi:
        return "_nDPI was not run._"
    if ndpi.get("error") and "pps" not in ndpi:
        return f"**nDPI peer failed:** {ndpi['error']}"
    sluice_profile = profile_by_id(results, "dpi_reference")
    sluice_pps = (spread(sluice_profile["sluice"], "mpps")[0] or 0) * 1e6 if sluice_profile else None

    def names(summary, kind):
        entry = summary.get(kind)
        if not entry:
            return "–"
        return f"{entry['same_name']:,} of {entry['connections']:,}"

    kinds = ["tls_typical", "tls_post_quantum", "http"]
    lines = ["| reader | packets/s | TLS names read (typical) | TLS names read (post-quantum, 2 segments) | HTTP hosts read |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines.append(f"| Sluice worker (flows, DPI, policy, verdicts; net_ring) | {fmt(sluice_pps)} | "
                 + " | ".join(names(ndpi.get("sluice_names", {}), kind) for kind in kinds) + " |")
    lines.append(f"| nDPI {ndpi.get('version', '')} ndpiReader (flows, DPI; pcap file, 1 thread) | "
                 f"{fmt(ndpi['pps']['median'])} | " + " | ".join(names(ndpi.get("ndpi_names", {}), kind) for kind in kinds)
                 + " |")
    return "\n".join(lines)


def worker_profile(raw, top=15):
    """The worker thread's share of samples by function, from `perf report --sort comm,dso,sym`.
    Debian ships DPDK without symbols: its libraries' samples are summed per library."""
    shares = {}
    for line in raw.splitlines():
        match = re.match(r"^\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[.\]\s+(.+?)\s*$", line)
        if not match or match.group(2) != "rte-worker-1":
            continue
        share, dso, symbol = float(match.group(1)), match.group(3), match.group(4)
        key = f"{dso} (no symbols)" if symbol.startswith("0x") else f"{symbol}  [{dso}]"
        shares[key] = shares.get(key, 0.0) + share
    total = sum(shares.values()) or 1.0
    ranked = sorted(shares.items(), key=lambda item: -item[1])[:top]
    return "\n".join(f"{100 * share / total:5.1f} %  {key}" for key, share in ranked)


def perf_blocks(directory):
    blocks = []
    for path in sorted(directory.glob("perf-*.txt")):
        title = path.stem[len("perf-"):]
        blocks.append(f"**{title}** — share of the worker thread's cpu-clock samples:\n\n```\n"
                      + worker_profile(path.read_text()) + "\n```")
    return "\n\n".join(blocks) if blocks else "_No profile was taken in this run._"


def short_label(profile):
    label = profile["id"].replace("_domains", "d").replace("_flows", " flows").replace("_", " ")
    return label.replace("new tls typical", "TLS").replace("new tls post quantum", "TLS-PQ").replace("new http", "HTTP")


def plot_throughput(results, directory):
    profiles = results["profiles"]
    labels = [short_label(p) for p in profiles]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(profiles) + 1.5))
    y = range(len(profiles))
    for offset, key, color, name in ((-0.27, "baseline", "#9aa5b1", "pass-through"),
                                     (0, "stateful_baseline", "#bf8700", "stateful baseline (5-tuple lookup)"),
                                     (0.27, "sluice", "#1f6feb", "Sluice")):
        medians, errors = [], [[], []]
        for p in profiles:
            median, low, high = spread(p.get(key, {}), "mpps")
            medians.append(median or 0)
            errors[0].append((median or 0) - (low or 0))
            errors[1].append((high or 0) - (median or 0))
        ax.barh([i + offset for i in y], medians, height=0.27, xerr=errors, color=color, label=name, capsize=2)
    ax.axvline(GOAL_MPPS, color="#d1242f", linestyle="--", linewidth=1, label=f"goal {GOAL_MPPS:g} Mpps")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("million packets per second, one worker core (log scale; bars: median, whiskers: min–max)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Packets per second: Sluice and its same-run baselines")
    fig.tight_layout()
    fig.savefig(directory / "throughput.png", dpi=110)
    plt.close(fig)


def plot_cycles(results, directory):
    profiles = results["profiles"]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(profiles) + 1.5))
    values = [spread(p["sluice"], "cycles_per_packet")[0] or 0 for p in profiles]
    base = [spread(p["baseline"], "cycles_per_packet")[0] or 0 for p in profiles]
    floor = [spread(p.get("stateful_baseline", {}), "cycles_per_packet")[0] or 0 for p in profiles]
    y = list(range(len(profiles)))
    ax.barh(y, values, color="#1f6feb", label="Sluice")
    ax.scatter(floor, y, color="#bf8700", marker="D", s=30, zorder=3, label="stateful baseline (5-tuple lookup)")
    ax.scatter(base, y, color="#57606a", marker="|", s=200, zorder=3,
               label="pass-through (new connections: the feeder's pace, see the table)")
    ax.set_yticks(y, [short_label(p) for p in profiles])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("TSC cycles per packet (log scale)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Cost of a packet on the worker core")
    fig.tight_layout()
    fig.savefig(directory / "cycles_per_packet.png", dpi=110)
    plt.close(fig)


def established_by_flows(results):
    return sorted((p for p in results["profiles"] if p["group"] == "established" and p.get("params", {}).get("flows")),
                  key=lambda p: p["params"]["flows"])


def scaling_table(results, side):
    """Established traffic by table size: cycles a packet of Sluice and both baselines, and memory a flow."""
    established = established_by_flows(results)
    if not established:
        return ""
    memory = {m["capacity"]: m for m in side.get("flow_memory_by_capacity", []) if "error" not in m}
    lines = ["| flows | table capacity | Sluice cycles/packet | stateful baseline | pass-through | Sluice ÷ stateful | "
             "Sluice bytes a flow (beside the key) | stateful baseline bytes a flow |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for p in established:
        params = p["params"]
        capacity = params.get("flow_table_capacity")
        figure = memory.get(capacity)
        sluice_bytes = (f"{figure['bytes_per_flow']:.0f} B ({figure['bytes_per_flow_beyond_key']:.0f} B)"
                        if figure and "bytes_per_flow_beyond_key" in figure else "–")
        floor_bytes = p.get("stateful_baseline", {}).get("bytes_per_flow")
        lines.append(f"| {params['flows']:,} | {fmt(capacity)} | {fmt(spread(p['sluice'], 'cycles_per_packet')[0])} | "
                     f"{fmt(spread(p.get('stateful_baseline', {}), 'cycles_per_packet')[0])} | "
                     f"{fmt(spread(p['baseline'], 'cycles_per_packet')[0])} | {stateful_ratio_cell(p)} | "
                     f"{sluice_bytes} | {f'{floor_bytes:.0f} B' if floor_bytes else '–'} |")
    return "\n".join(lines)


def plot_flow_table_scaling(results, directory):
    """Cycles a packet of established traffic against the number of flows, for Sluice and both baselines."""
    established = established_by_flows(results)
    if not established:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2))
    flows = [p["params"]["flows"] for p in established]
    for key, label, marker, color in (("sluice", "Sluice", "o", "#1f6feb"),
                                      ("stateful_baseline", "stateful baseline (one rte_hash lookup a packet)", "D", "#bf8700"),
                                      ("baseline", "pass-through (the harness's own cost)", "s", "#57606a")):
        points = [(f, spread(p.get(key, {}), "cycles_per_packet")) for f, p in zip(flows, established)]
        points = [(f, s) for f, s in points if s[0]]
        if not points:
            continue
        x = [f for f, _ in points]
        medians = [s[0] for _, s in points]
        errors = [[s[0] - (s[1] or s[0]) for _, s in points], [(s[2] or s[0]) - s[0] for _, s in points]]
        ax.errorbar(x, medians, yerr=errors, marker=marker, color=color, label=label, capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("established flows in the table (64-byte packets, every flow visited in a shuffled order)")
    ax.set_ylabel("TSC cycles per packet (median, min–max)")
    ax.legend(fontsize=7)
    ax.set_title("Cost of a packet against flow-table size")
    fig.tight_layout()
    fig.savefig(directory / "flow_table_scaling.png", dpi=110)
    plt.close(fig)
    return True


def plot_connections(results, directory):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for kind, label, marker in (("tls_typical", "TLS, typical hello", "o"),
                                ("tls_post_quantum", "TLS, post-quantum hello (denied: fragmented)", "s"),
                                ("http", "HTTP", "^")):
        points = []
        for p in results["profiles"]:
            params = p.get("params", {})
            if p["group"] in ("new_tls", "new_http") and params.get("kind") == kind and \
                    params.get("domain_style") == "distinct":
                points.append((params["domains"], spread(p["sluice"], "connections_per_second")[0] or 0))
        if points:
            points.sort()
            ax.plot([x for x, _ in points], [v for _, v in points], marker=marker, label=label)
    shared = profile_by_id(results, "new_tls_typical_2500_domains_shared")
    if shared:
        ax.scatter([2500], [spread(shared["sluice"], "connections_per_second")[0] or 0], marker="x", color="#d1242f",
                   s=60, label="TLS, 2,500 names under one suffix", zorder=3)
    ax.axhline(GOAL_CPS, color="#d1242f", linestyle="--", linewidth=1, label="goal 1M/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("domains in the allow-list")
    ax.set_ylabel("new connections per second (one core)")
    ax.legend(fontsize=7)
    ax.set_title("New connections against allow-list size")
    fig.tight_layout()
    fig.savefig(directory / "new_connections.png", dpi=110)
    plt.close(fig)


def plot_compile(side, directory):
    figures = [f for f in side.get("compile", []) if "error" not in f and f.get("domain_style") == "distinct"]
    if not figures:
        return
    figures.sort(key=lambda f: f["domains"])
    fig, ax = plt.subplots(figsize=(7, 4))
    x = [f["domains"] for f in figures]
    ax.plot(x, [f["compile_seconds"] for f in figures], marker="o", label="compile (s)")
    ax.plot(x, [f["load_validate_seconds"] for f in figures], marker="s", label="load + validate (s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("domains")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    ax2.plot(x, [f["database_bytes"] / 2**20 for f in figures], marker="^", color="#8250df", label="database (MiB)")
    ax2.set_yscale("log")
    ax2.set_ylabel("Hyperscan database, MiB")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper left")
    ax.set_title("Policy compilation")
    fig.tight_layout()
    fig.savefig(directory / "compile.png", dpi=110)
    plt.close(fig)


def routed_table(results):
    """Routed mode beside bridge mode on the same traffic in the same run (issue #13)."""
    rows = []
    for profile in results["profiles"]:
        if profile["group"] != "routed":
            continue
        bridge_id = profile["id"].removeprefix("routed_snat_").removeprefix("routed_")
        bridge = next((p for p in results["profiles"] if p["id"] == bridge_id), None)
        if bridge is None:
            continue
        cycles = spread(profile["sluice"], "cycles_per_packet")[0]
        bridge_cycles = spread(bridge["sluice"], "cycles_per_packet")[0]
        connections = profile.get("connections_per_run")
        cps = spread(profile["sluice"], "connections_per_second")[0] if connections else None
        bridge_cps = spread(bridge["sluice"], "connections_per_second")[0] if connections else None
        status = "" if profile.get("ok", True) else f" **failed: {profile.get('error')}**"
        rows.append(f"| {profile['title']}{status} | {mpps_cell(profile['sluice'])} | {fmt(cycles)} | {fmt(bridge_cycles)} | "
                    f"{cycles / bridge_cycles:.2f} × | {fmt(cps) if cps else '–'} | {fmt(bridge_cps) if bridge_cps else '–'} |"
                    if cycles and bridge_cycles else f"| {profile['title']}{status} | – | – | – | – | – | – |")
    if not rows:
        return "Not measured in this run."
    return "\n".join(["| profile | Mpps | cycles/packet | bridge cycles/packet (same traffic) | routed ÷ bridge | "
                      "connections/s | bridge connections/s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows) + (
        "\n\nRouted: the router stage around the worker (route lookup, TTL, MTU check, neighbour, L2 rewrite). "
        "With SNAT the client's packets are translated on the default route; the bench's server-side packets "
        "are addressed to the untranslated client (the feeder does not learn the translated ports), so they "
        "measure routing alone.")


def routed_report(results):
    """The routed block of a `--section routed` run: its own machine line, then the table."""
    machine = results["machine"]
    load = f"; load average at start {results['load']}" if results.get("load") else ""
    return (f"Machine: {machine['cpu']} ({machine['online_cpus']} vCPUs), {machine['kernel']}; "
            f"source {machine.get('source', '–')}{load}; {results['repetitions']} repetitions, "
            "median (min–max); a `bench/run.sh --section routed` run, newer than the tables around it.\n\n"
            + routed_table(results))


def compile_section(results, directory, prefix=""):
    """The compile block of a `--section compile` run: its own machine line, then the tables."""
    machine = results["machine"]
    load = f"; load average at start {results['load']}" if results.get("load") else ""
    return (f"Machine: {machine['cpu']} ({machine['online_cpus']} vCPUs), {machine['kernel']}; "
            f"source {machine.get('source', '–')}{load}; one pass each; a `bench/run.sh --section compile` run, "
            "newer than the tables around it.\n\n" + compile_block(results.get("side", {}), prefix))
def spread_cell(s, digits=3):
    if not s or s.get("median") is None:
        return "–"
    return f"{fmt(s['median'], digits)} ({fmt(s['min'], digits)}–{fmt(s['max'], digits)})"


def workers_table(workers):
    """1 and 2 workers on the same preloaded traffic, and the estimate beyond (issue #18)."""
    if not workers:
        return "Not measured in this run."
    if not workers.get("ok"):
        failed = [c.get("error") for c in workers.get("configurations", []) if c.get("error")]
        return f"**The run failed:** {failed or workers}"
    rows = []
    for c in workers["configurations"]:
        s = c["summary"]
        per_worker = " / ".join(fmt(w["median"]) for w in s["busy_cycles_per_packet_by_worker"])
        handed = s["handed_over_share"]["median"]
        ratio = c.get("scaling_ratio")
        foreign = s.get("foreign_cpu_share", {}).get("median")
        rows.append(f"| {c['workers']} | {c['placement']} | {spread_cell(s['mpps'])} | {per_worker} | "
                    f"{fmt(s['wall_cycles_per_packet']['median'])} | {handed:.0%} | "
                    f"{f'{ratio:.2f} ×' if ratio else '–'} | {f'{foreign:.0%}' if foreign is not None else '–'} | measured |")
    estimate = workers["estimate"]
    for row in estimate["rows"]:
        rows.append(f"| {row['workers']} | rss | {fmt(row['rss_mpps'])} | {fmt(estimate['cycles_per_packet_per_worker_two'])} | "
                    f"– | 0% | {row['rss_scaling_ratio']:.2f} × | – | **estimate** |")
        rows.append(f"| {row['workers']} | steer | {fmt(row['steer_mpps'])} | – | – | "
                    f"{(row['workers'] - 1) / row['workers']:.0%} | "
                    f"{row['steer_mpps'] / workers['configurations'][0]['summary']['mpps']['median']:.2f} × | – | **estimate** |")
    params = workers["params"]
    drops = [f"{c['workers']} workers, {c['placement']}: " + "; ".join(r["drops"] for r in c["summary"]["runs"] if r.get("drops"))
             for c in workers["configurations"] if any(r.get("drops") for r in c["summary"]["runs"])]
    drops_note = (" Dropped (counted, each run's): " + " | ".join(drops) + ".") if drops else \
        " No frame was dropped."
    return "\n".join([
        f"Traffic: {params['flows']:,} established flows, one 64-byte packet each way ({params['packets_per_run']:,} "
        "packets a run), shuffled, every packet on the ports' rx rings before the clock starts.",
        "",
        "| workers | placement | Mpps | busy cycles/packet, each worker | wall cycles/packet | handed over | "
        "scaling (÷ 1 worker) | other processes' CPU | |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"] + rows) + (
        f"\n\nHandoff cost: {fmt(estimate['handoff_cycles_per_handed_packet'])} busy cycles a packet handed to "
        "another worker (the steered runs' busy cycles a packet less the rss runs', over the share handed). "
        "The estimate rows are not measurements: " + estimate["basis"] + "; they leave out a shared "
        "last-level cache and memory bandwidth over more workers, the NIC's and PCIe's limits and imbalance "
        "(all flows of one address pair are one worker's)." + drops_note)


def workers_report(results):
    """The workers block: its own machine line, then the table."""
    machine = results["machine"]
    load = f"; load average at start {results['load']}" if results.get("load") else ""
    return (f"Machine: {machine['cpu']} ({machine['online_cpus']} vCPUs), {machine['kernel']}; "
            f"source {machine.get('source', '–')}{load}; {results['repetitions']} repetitions, "
            "median (min–max); a `bench/run.sh --section workers` run.\n\n" + workers_table(results.get("workers")))


def report(directory, prefix=""):
    """The report's Markdown; image links start with `prefix` (the way from the reader's file)."""
    results = json.loads((directory / "results.json").read_text())
    source = directory / "source.txt"
    if source.exists():
        results["machine"]["source"] = source.read_text().strip()
    ndpi_path = directory / "ndpi.json"
    ndpi = json.loads(ndpi_path.read_text()) if ndpi_path.exists() else None
    side = results.get("side", {})
    plot_throughput(results, directory)
    plot_cycles(results, directory)
    plot_connections(results, directory)
    scaling = plot_flow_table_scaling(results, directory)
    plot_compile(side, directory)
    sections = [
        "### Machine\n\n" + machine_table(results["machine"], results["repetitions"]),
        "### Goals\n\n" + goals_table(results, side),
        "### Packet profiles\n\n" + profiles_table(results),
        f"![packets per second]({prefix}throughput.png)\n\n![cycles per packet]({prefix}cycles_per_packet.png)\n\n"
        + f"![new connections against allow-list size]({prefix}new_connections.png)",
        "### Flow-table size: cycles a packet and memory a flow\n\n" + scaling_table(results, side)
        + (f"\n\n![cycles a packet against flow-table size]({prefix}flow_table_scaling.png)" if scaling else ""),
        "### Routed mode beside bridge mode\n\n" + f"{ROUTED_BEGIN}\n{routed_table(results)}\n{ROUTED_END}",
        "### Policy compilation\n\n" + f"{COMPILE_BEGIN}\n{compile_block(side, prefix)}{COMPILE_END}",
        "### Memory, denial records, latency\n\n" + side_tables(side),
        "### DPI reference: nDPI over the same packets\n\n" + ndpi_table(results, ndpi),
        "### Hot path\n\n" + perf_blocks(directory),
    ]
    return "\n\n".join(sections) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--doc")
    parser.add_argument("--section", choices=["quic", "routed", "compile", "workers"],
                        help="the run holds this section's profiles only: refresh its block of --doc alone")
    args = parser.parse_args()
    directory = pathlib.Path(args.dir)
    results = json.loads((directory / "results.json").read_text())
    source = directory / "source.txt"
    if source.exists():
        results["machine"]["source"] = source.read_text().strip()
    load = directory / "load.txt"
    if load.exists():
        results["load"] = load.read_text().strip()
    has_quic = any(p["group"] == "new_quic" for p in results["profiles"])
    quic_text = quic_report(results) if has_quic else ""
    if args.section == "quic":
        (directory / "results.md").write_text(quic_text)
    elif args.section == "routed":
        (directory / "results.md").write_text("### Routed mode beside bridge mode\n\n" + routed_report(results) + "\n")
    elif args.section == "compile":
        plot_compile(results.get("side", {}), directory)
        (directory / "results.md").write_text("### Policy compilation\n\n" + compile_section(results, directory) + "\n")
    elif args.section == "workers":
        (directory / "results.md").write_text("### Several workers\n\n" + workers_report(results) + "\n")
    else:
        (directory / "results.md").write_text(report(directory) + ("\n" + quic_text if quic_text else ""))
    if args.doc:
        doc = pathlib.Path(args.doc)
        body = doc.read_text()
        blocks = [] if args.section in ("quic", "routed", "compile", "workers") else \
            [(BEGIN, END, report(directory, os.path.relpath(directory, doc.parent) + "/"))]
        if args.section == "routed":
            blocks.append((ROUTED_BEGIN, ROUTED_END, routed_report(results) + "\n"))
        if args.section == "compile":
            blocks.append((COMPILE_BEGIN, COMPILE_END,
                           compile_section(results, directory, os.path.relpath(directory, doc.parent) + "/")))
        if "workers" in results:
            blocks.append((WORKERS_BEGIN, WORKERS_END, workers_report(results) + "\n"))
        if has_quic and args.section not in ("routed", "compile", "workers"):
            blocks.append((QUIC_BEGIN, QUIC_END, quic_text))
        for begin, end, block in blocks:
            if begin in body and end in body:
                body = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: f"{begin}\n{block}{end}", body,
                              flags=re.S)
            else:
                print(f"report: {doc} has no {begin} … {end} block; left alone")
        doc.write_text(body)
    print(f"report: wrote {directory / 'results.md'} and the plots")


if __name__ == "__main__":
    main()
