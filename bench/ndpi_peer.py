"""The nDPI peer: Debian's ndpiReader over the benchmark's pcap, as the reference for DPI speed,
and a check of which names it reads against the names sent and the names Sluice judged.

    /usr/bin/python3 bench/ndpi_peer.py --scratch DIR --out ndpi.json [--runs 3]

DIR holds what sluice_bench wrote: dpi_reference.pcap, expected_names.tsv (kind, client, name)
and sluice_names.tsv (type, client, name, verdict, reason). A failing ndpiReader is reported in
the JSON, never hidden.
"""
import argparse
import collections
import csv
import json
import pathlib
import re
import shutil
import statistics
import subprocess
import time


def read_tsv(path):
    with open(path, newline="") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


def run_reader(reader, pcap, csv_path):
    """One ndpiReader pass; returns its own figures and the wall time."""
    started = time.monotonic()
    done = subprocess.run([reader, "-i", str(pcap), "-C", str(csv_path)], capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - started
    out = done.stdout + done.stderr
    figures = {"exit_code": done.returncode, "wall_seconds": wall}
    patterns = {
        "ip_packets": r"IP packets:\s+(\d+)",
        "processing_ms": r"Packet Processing Time:\s+([\d.]+) msec",
        "setup_ms": r"Setup Time:\s+([\d.]+) msec",
        "unique_flows": r"Unique flows:\s+(\d+)",
        "flow_memory": r"Flow Memory \(per flow\):\s+(.+?)\s*$",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, out, re.MULTILINE)
        if match:
            value = match.group(1)
            figures[key] = value if key == "flow_memory" else float(value)
    match = re.search(r"nDPI throughput:\s+([\d.]+) ([KM]?) pps", out)
    if match:
        scale = {"": 1, "K": 1e3, "M": 1e6}[match.group(2)]
        figures["reported_pps"] = float(match.group(1)) * scale
    if figures.get("processing_ms") and figures.get("ip_packets"):
        figures["pps"] = figures["ip_packets"] / (figures["processing_ms"] / 1000.0)
    if done.returncode != 0:
        figures["output_tail"] = out[-2000:]
    return figures


def names_by_client(csv_path):
    """client "ip:port" → name nDPI read (SNI or HTTP Host), from its CSV flow export."""
    names = {}
    with open(csv_path, newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        header[0] = header[0].lstrip("#")
        column = {name: index for index, name in enumerate(header)}
        for row in rows:
            if len(row) < len(header) // 2:
                continue
            client = f"{row[column['src_ip']]}:{row[column['src_port']]}"
            names[client] = (row[column["server_name_sni"]], row[column["ndpi_proto"]])
    return names


def compare(expected, read):
    """Per kind of connection: how many names were read exactly as sent."""
    summary = collections.OrderedDict()
    for kind, client, name in expected:
        entry = summary.setdefault(kind, {"connections": 0, "same_name": 0, "no_name": 0, "other_name": 0})
        entry["connections"] += 1
        got = read.get(client, "")
        if got == name:
            entry["same_name"] += 1
        elif not got:
            entry["no_name"] += 1
        else:
            entry["other_name"] += 1
    return summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = pathlib.Path(args.scratch)
    pcap = scratch / "dpi_reference.pcap"
    result = {"pcap": str(pcap)}
    reader = shutil.which("ndpiReader")
    if not reader:
        result["error"] = "ndpiReader not found (apt-get install libndpi-bin)"
    elif not pcap.exists():
        result["error"] = f"{pcap} missing (run sluice_bench first)"
    else:
        version = subprocess.run([reader, "-h"], capture_output=True, text=True).stdout
        match = re.search(r"nDPI \(?([\d.]+)", version)
        result["version"] = match.group(1) if match else "unknown"
        runs = []
        csv_path = scratch / "ndpi_flows.csv"
        for _ in range(args.runs):
            runs.append(run_reader(reader, pcap, csv_path))
        result["runs"] = runs
        good = [run for run in runs if run.get("exit_code") == 0 and "pps" in run]
        if not good:
            result["error"] = "ndpiReader failed: " + runs[-1].get("output_tail", "no throughput line")[-500:]
        else:
            pps = [run["pps"] for run in good]
            result["pps"] = {"median": statistics.median(pps), "min": min(pps), "max": max(pps)}
            result["ip_packets"] = good[0].get("ip_packets")
            result["flow_memory"] = good[0].get("flow_memory")
            expected = read_tsv(scratch / "expected_names.tsv")
            ndpi = names_by_client(csv_path)
            result["ndpi_names"] = compare(expected, {client: name for client, (name, _) in ndpi.items()})
            sluice = {row[1]: row[2] for row in read_tsv(scratch / "sluice_names.tsv") if len(row) >= 3}
            result["sluice_names"] = compare(expected, sluice)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result.get(key) for key in ("version", "pps", "ndpi_names", "sluice_names", "error")}))


if __name__ == "__main__":
    main()
