"""Writes docs/REASONS.md from dataplane/reason.h, the one place reasons are defined.
A golden test fails when the committed file differs from what this script writes."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENTRY = re.compile(r'X\((\w+),\s*"((?:[^"\\]|\\.)*)"\)')
GROUP = re.compile(r"/\*\s*(.+?)\s*\*/")


def render():
    lines = ["# Reasons", "",
             "Every verdict and every drop carries one reason. The same name appears in denial records",
             "(`reason`), the flow log, and metrics (`sluice_dropped_packets_total{reason}`,",
             "`sluice_flow_verdicts_total{reason}`). Generated from `dataplane/reason.h` by",
             "`scripts/gen_reasons_doc.py`; do not edit by hand.", ""]
    source = (ROOT / "dataplane" / "reason.h").read_text()
    body = source[source.index("#define SLUICE_REASONS"):source.index("enum class Reason")]
    for line in body.splitlines():
        group = GROUP.search(line)
        if group and "X(" not in line:
            lines += ["", f"## {group.group(1).capitalize()}", "", "| reason | meaning |", "| --- | --- |"]
        entry = ENTRY.search(line)
        if entry:
            lines.append(f"| `{entry.group(1)}` | {entry.group(2)} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


if __name__ == "__main__":
    target = ROOT / "docs" / "REASONS.md"
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        sys.exit(0 if target.read_text() == render() else 1)
    target.write_text(render())
