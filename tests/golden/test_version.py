"""`sluiced --version` and `sluicectl --version` name the project version from meson.build and
the git commit the binaries were built from ("unknown" outside a git checkout)."""

import re
import subprocess

import pytest

from conftest import SLUICECTL, SLUICED, SOURCE_DIR, _require

VERSION_LINE = re.compile(r"^(sluiced|sluicectl) (\S+) \(commit (\S+)\)\n$")


def project_version():
    return re.search(r"version: '([^']+)'", (SOURCE_DIR / "meson.build").read_text()).group(1)


def in_git_checkout():
    return subprocess.run(["git", "-C", str(SOURCE_DIR), "rev-parse", "HEAD"], capture_output=True).returncode == 0


def version_of(binary):
    _require(binary)
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    match = VERSION_LINE.match(result.stdout)
    assert match, result.stdout
    return match.group(1), match.group(2), match.group(3)


def check_commit(commit):
    if not in_git_checkout():
        assert commit == "unknown"
        return
    # A commit of this checkout, perhaps "-dirty": HEAD when the build is fresh (meson test and
    # scripts/test.sh rebuild first), an ancestor of HEAD when commits came after the build.
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?", commit), commit
    ancestor = subprocess.run(["git", "-C", str(SOURCE_DIR), "merge-base", "--is-ancestor",
                               commit.removesuffix("-dirty"), "HEAD"], capture_output=True, text=True)
    assert ancestor.returncode == 0, f"{commit} is not HEAD or an ancestor of it: {ancestor.stderr}"


@pytest.mark.parametrize("binary, name", [(SLUICED, "sluiced"), (SLUICECTL, "sluicectl")])
def test_version_names_the_project_version_and_the_commit(binary, name):
    program, version, commit = version_of(binary)
    assert program == name
    assert version == project_version()
    check_commit(commit)


def test_both_binaries_report_the_same_build():
    assert version_of(SLUICED)[1:] == version_of(SLUICECTL)[1:]
