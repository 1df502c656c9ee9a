"""The Debian package and what it installs (suite "packaging").

Fast checks on the meson build: the man pages render without a groff warning and sluicectl's
page names every command `sluicectl help` lists; the unit passes `systemd-analyze verify` and
keeps its `systemd-analyze security` exposure. With SLUICE_PACKAGE_BUILD=1 (the meson test
`debian_package`), the package itself: dpkg-buildpackage through scripts/build-deb.sh, lintian
with no error or warning (a tag that must stay goes to debian/sluice.lintian-overrides with a
comment why; none does today), hardening flags on the installed binaries, and the files a
packager expects."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SLUICE_SOURCE_DIR", Path(__file__).resolve().parents[1]))
BUILD_DIR = Path(os.environ.get("SLUICE_BUILD_DIR", SOURCE_DIR / "build"))
MAN_DIR = BUILD_DIR / "packaging" / "man"
PAGES = ["sluiced.8", "sluicectl.8", "sluice-appliance.5", "sluice-policy.5"]
SLUICED = BUILD_DIR / "controlplane" / "daemon" / "sluiced"
SLUICECTL = BUILD_DIR / "cli" / "sluicectl"
# The exposure `systemd-analyze security --offline=yes` gave the unit when it was hardened
# (docs/OPERATIONS.md, "Package"); a change that loosens the unit fails here.
MAX_EXPOSURE = 3.8

package_build = pytest.mark.skipif(os.environ.get("SLUICE_PACKAGE_BUILD") != "1",
                                   reason="the package build runs as the meson test debian_package")


def need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed (scripts/bootstrap.sh installs it)")


@pytest.mark.parametrize("page", PAGES)
def test_man_page_renders_without_warnings(page):
    need("groff")
    path = MAN_DIR / page
    assert path.exists(), f"{path} not built (ninja all-man-pages; needs scdoc)"
    result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(path)], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")
    shown = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True,
                           env={**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": "0"})
    assert shown.returncode == 0 and shown.stderr == ""
    plain = re.sub(".\b", "", shown.stdout)  # overstrike bold and underline
    assert "NAME" in plain and "SEE ALSO" in plain


def sluicectl_commands():
    text = subprocess.run([str(SLUICECTL), "help"], capture_output=True, text=True).stdout
    block = text.split("commands:", 1)[1]
    return sorted(set(re.findall(r"^  ([a-z][a-z-]*)\b", block, re.MULTILINE)))


def test_sluicectl_page_names_every_command():
    commands = sluicectl_commands()
    assert {"validate", "replay", "denials", "diff"} <= set(commands), commands
    roff = (MAN_DIR / "sluicectl.8").read_text()
    # scdoc writes a command heading as bold roff: \fBcommand\fR at the start of a line.
    missing = [c for c in commands if not re.search(rf"^\\fB{re.escape(c)}\\fR", roff, re.MULTILINE)]
    assert not missing, f"sluicectl(8) does not describe: {missing}"


def installed_unit(tmp_path):
    """The built unit with ExecStart/ExecReload on the build's binaries, so verify finds them."""
    text = (BUILD_DIR / "packaging" / "sluice.service").read_text()
    text = re.sub(r"/\S*/bin/sluiced\b", str(SLUICED), text)
    text = re.sub(r"/\S*/bin/sluicectl\b", str(SLUICECTL), text)
    path = tmp_path / "sluice.service"
    path.write_text(text)
    return path


def test_unit_passes_systemd_analyze_verify(tmp_path):
    need("systemd-analyze")
    # verify runs `man` on every Documentation= page: the build's pages, as man finds them.
    for page in PAGES:
        section = tmp_path / "man" / f"man{page[-1]}"
        section.mkdir(parents=True, exist_ok=True)
        (section / page).symlink_to(MAN_DIR / page)
    result = subprocess.run(["systemd-analyze", "verify", str(installed_unit(tmp_path))],
                            capture_output=True, text=True, env={**os.environ, "MANPATH": str(tmp_path / "man")})
    findings = [line for line in result.stderr.splitlines()
                # Outside a booted systemd (a container, a chroot) the unit's own dependencies
                # cannot be loaded; that says nothing about the unit.
                if "dev-hugepages.mount" not in line and "network-online.target" not in line]
    assert result.returncode == 0 and not findings, result.stderr


def test_unit_is_notify_with_watchdog_and_strict():
    text = (BUILD_DIR / "packaging" / "sluice.service").read_text()
    for line in ["Type=notify", "NotifyAccess=main", "Restart=on-failure", "ProtectSystem=strict",
                 "LogsDirectory=sluice", "StateDirectory=sluice", "CacheDirectory=sluice",
                 "RuntimeDirectory=sluice dpdk"]:
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    watchdog = re.search(r"^WatchdogSec=(\d+)s$", text, re.MULTILINE)
    assert watchdog and int(watchdog.group(1)) >= 4


def test_unit_exposure_stays_at_its_recorded_level(tmp_path):
    need("systemd-analyze")
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                             str(installed_unit(tmp_path))], capture_output=True, text=True)
    found = re.search(r"Overall exposure level for sluice.service: ([0-9.]+)", result.stdout)
    if not found:
        pytest.skip(f"systemd-analyze security --offline is not available here: {result.stderr.strip()}")
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


# --- the package itself ------------------------------------------------------------------

@pytest.fixture(scope="module")
def package():
    if not shutil.which("dh") or not shutil.which("dpkg-buildpackage"):
        pytest.skip("debhelper/dpkg-dev are not installed (scripts/bootstrap.sh installs them)")
    result = subprocess.run(["bash", str(SOURCE_DIR / "scripts" / "build-deb.sh")], capture_output=True,
                            text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    deb = Path(result.stdout.strip())
    print(next((l for l in result.stderr.splitlines() if "dpkg-buildpackage took" in l), ""))
    root = Path(tempfile.mkdtemp(prefix="sluice-deb-"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    yield deb, root
    shutil.rmtree(root)


@package_build
def test_lintian_finds_no_error_or_warning(package):
    need("lintian")
    deb, _ = package
    changes = sorted(deb.parent.glob("sluice_*_amd64.changes"))
    assert changes, "no .changes next to the .deb"
    result = subprocess.run(["lintian", "--fail-on", "error,warning", "--display-info", str(changes[-1])],
                            capture_output=True, text=True, timeout=600)
    tags = [l for l in result.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    assert result.returncode == 0 and not tags, result.stdout + result.stderr


@package_build
@pytest.mark.parametrize("binary", ["usr/bin/sluiced", "usr/bin/sluicectl"])
def test_installed_binaries_are_hardened(package, binary):
    need("hardening-check")
    _, root = package
    # Debian 12's dpkg-buildflags has no CET (-fcf-protection) or stack-clash feature yet (they
    # came with dpkg 1.22); everything it does have must be there.
    result = subprocess.run(["hardening-check", "--nocfprotection", str(root / binary)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    for feature in ["Position Independent Executable: yes", "Stack protected: yes",
                    "Read-only relocations: yes", "Immediate binding: yes"]:
        assert feature in result.stdout, result.stdout
    assert re.search(r"Fortify Source functions: (yes|unknown)", result.stdout), result.stdout


@package_build
def test_package_holds_what_a_packager_expects(package):
    deb, root = package
    expected = [
        "usr/bin/sluiced", "usr/bin/sluicectl",
        "lib/systemd/system/sluice.service",
        "etc/sluice/appliance.textproto", "etc/sluice/policy.textproto",
        "usr/share/doc/sluice/copyright", "usr/share/doc/sluice/changelog.gz",
        "usr/share/doc/sluice/docs/POLICY.md.gz",
        "usr/share/man/man8/sluiced.8.gz", "usr/share/man/man8/sluicectl.8.gz",
        "usr/share/man/man5/sluice-appliance.5.gz", "usr/share/man/man5/sluice-policy.5.gz",
    ]
    missing = [path for path in expected if not (root / path).exists()]
    assert not missing, missing
    control = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True).stdout
    assert "conffiles" in control and "postinst" in control
    conffiles = subprocess.run(["dpkg-deb", "-e", str(deb), str(root / "DEBIAN")], check=True)
    assert conffiles.returncode == 0
    assert "/etc/sluice/appliance.textproto" in (root / "DEBIAN" / "conffiles").read_text()
    # Installed disabled and not started; an upgrade restarts a running sluiced.
    postinst = (root / "DEBIAN" / "postinst").read_text()
    assert "deb-systemd-invoke try-restart sluice.service" in postinst
    assert "deb-systemd-helper enable" in postinst and "was-enabled" in postinst  # only if it was
    assert "deb-systemd-invoke start" not in postinst and "$_dh_action" not in postinst
    assert "deb-systemd-invoke stop sluice.service" in (root / "DEBIAN" / "prerm").read_text()
    dbgsym = sorted(deb.parent.glob("sluice-dbgsym_*_amd64.*deb"))
    assert dbgsym, "no -dbgsym package next to the .deb"
