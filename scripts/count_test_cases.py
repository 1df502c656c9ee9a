"""Counts individual test cases from the JUnit XML files of a test run and prints the summary line.

GoogleTest binaries write one XML each (--gtest_output=xml:), pytest writes one (--junitxml).
A test executable that crashed before writing its XML counts as one failed case, so a crash can
never vanish from the count. Exit status 1 when anything failed or nothing ran.
"""
import json
import pathlib
import sys
import xml.etree.ElementTree as ElementTree


def count_junit(path):
    passed = failed = skipped = 0
    root = ElementTree.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("result") == "skipped":
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def executables_without_results(testlog, results_dir):
    """Tests meson ran that failed and left no XML behind (a crash, a timeout)."""
    missing = []
    if not testlog.exists():
        return missing
    for line in testlog.read_text().splitlines():
        entry = json.loads(line)
        xml_args = [a for a in entry.get("command", []) if "xml:" in a or "--junitxml=" in a]
        wrote = any(pathlib.Path(a.split("xml:", 1)[-1].split("--junitxml=", 1)[-1]).exists() for a in xml_args)
        if entry.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and not wrote:
            missing.append(entry.get("name"))
    return missing


def main():
    results_dir = pathlib.Path(sys.argv[1])
    testlog = pathlib.Path(sys.argv[2])
    passed = failed = skipped = 0
    for path in sorted(results_dir.glob("*.xml")):
        p, f, s = count_junit(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    for name in executables_without_results(testlog, results_dir):
        print(f"test executable {name} failed without writing results (crash or timeout)")
        failed += 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
