"""Real clients that must keep working through an allow-list (issue 12): git over HTTPS (a
dumb-HTTP repository nginx serves as files), a pip-like fetch (python urllib: an index page, the
file it links, its sha256) and a python http.client keep-alive session (two requests on one
connection). Each resolves the name through the rig's dnsmasq, so the DNS answer crosses sluiced.
Each has its denied twin: the same client to a name the policy does not list is refused, and
what refused it is recorded. (The denied twins pin the name to the web server's address, so they
reach the TLS judgement whether or not DNS for the name is answered.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rig
import services
from client_resolver import ClientResolver
from clients import run_in
from conftest import Mark, check_record, client_ip, expected_record

HERE = Path(__file__).resolve().parent
REAL_CLIENT = HERE / "real_client.py"
GIT_TEXT = "sluice e2e: cloned through the appliance\n"
PACKAGE = b"sluice-demo 1.0: a package body\n" * 64


def git(*args, cwd=None):
    return subprocess.run(["git", "-c", "user.name=e2e", "-c", "user.email=e2e@e2e.example",
                           "-c", "init.defaultBranch=main", *map(str, args)],
                          cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def served(e2e):
    """The files nginx serves under /files/: a bare repository made ready for dumb HTTP
    (`git update-server-info`) and a one-package simple index."""
    import hashlib
    files = e2e.services.dir / "files"
    work = e2e.services.dir / "git-work"
    git("init", "-q", work)
    (work / "README").write_text(GIT_TEXT)
    git("add", "README", cwd=work)
    git("commit", "-q", "-m", "e2e", cwd=work)
    git("clone", "-q", "--bare", work, files / "sluice.git")
    git("update-server-info", cwd=files / "sluice.git")
    packages = files / "packages"
    packages.mkdir(parents=True)
    (packages / "sluice_demo-1.0.tar.gz").write_bytes(PACKAGE)
    index = files / "simple" / "sluice-demo"
    index.mkdir(parents=True)
    digest = hashlib.sha256(PACKAGE).hexdigest()
    (index / "index.html").write_text(
        f'<html><body><a href="../../packages/sluice_demo-1.0.tar.gz#sha256={digest}">'
        f"sluice_demo-1.0.tar.gz</a></body></html>\n")
    with ClientResolver("c1"):
        yield e2e


def real_client(mode, name, cafile, pin=None):
    result = run_in("c1", [sys.executable, str(REAL_CLIENT), mode, name, str(cafile),
                           *([pin] if pin else [])], tool=mode)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.describe()
    return json.loads(lines[-1])


def git_clone(name, cafile, dest, pin=None):
    cmd = ["env", f"GIT_SSL_CAINFO={cafile}", "git", "-c", "http.lowSpeedLimit=1", "-c", "http.lowSpeedTime=5",
           *(["-c", f"http.curloptResolve={name}:443:{pin}"] if pin else []),
           "clone", "-q", f"https://{name}/files/sluice.git", str(dest)]
    return run_in("c1", cmd, tool="git", timeout=30)


C1 = (client_ip("c1", 4), client_ip("c1", 6))  # dnsmasq answers A and AAAA: either may be used


def check_allowed(mark, name):
    """The client's connections to port 443 were all judged on the name's SNI and allowed."""
    flows = mark.new_flows(1, where=lambda f: f["src_ip"] in C1 and f["dst_port"] == 443)
    assert all(f["verdict"] == "ALLOW" and f["reason"] == "allowed_domain" and f["sni"] == name
               and f["destination_type"] == "SNI" for f in flows), flows
    assert mark.new_denials(0, where=lambda r: r["src_ip"] in C1) == []
    return flows


def check_denied(mark, name):
    """One DROP record for the name's TLS connection (SNI, domain_not_allowed) and nothing else
    from the client but records of the same name."""
    records = mark.new_denials(1, where=lambda r: r["src_ip"] == client_ip("c1", 4))
    assert all(r["destination"] == name for r in records), records
    sni = [r for r in records if r["destination_type"] == "SNI"]
    assert len(sni) == 1, records
    check_record(sni[0], expected_record("c1", 4, dst_ip=rig.WEB4, dst_port=443, protocol="TCP",
                                         destination_type="SNI", destination=name,
                                         reason="domain_not_allowed"))


def test_git_clone_over_https(served, sluice, cafile, tmp_path):
    mark = Mark(sluice)
    result = git_clone(services.WWW, cafile, tmp_path / "clone")
    assert result.rc == 0, result.describe()
    assert (tmp_path / "clone" / "README").read_text() == GIT_TEXT
    check_allowed(mark, services.WWW)


def test_git_clone_of_a_denied_name_fails(served, sluice, cafile, tmp_path):
    mark = Mark(sluice)
    result = git_clone(services.EVIL, cafile, tmp_path / "clone", pin=rig.WEB4)
    assert result.rc != 0 and not (tmp_path / "clone" / "README").exists(), result.describe()
    assert result.elapsed < 5, result.describe()
    check_denied(mark, services.EVIL)


def test_pip_like_fetch(served, sluice, cafile):
    mark = Mark(sluice)
    result = real_client("pip", services.WWW, cafile)
    assert result["ok"], result
    assert result["bytes"] == len(PACKAGE), result
    check_allowed(mark, services.WWW)


def test_pip_like_fetch_of_a_denied_name_fails(served, sluice, cafile):
    mark = Mark(sluice)
    result = real_client("pip", services.EVIL, cafile, pin=rig.WEB4)
    assert not result["ok"], result
    check_denied(mark, services.EVIL)


def test_keep_alive_session_makes_two_requests_on_one_connection(served, sluice, cafile):
    mark = Mark(sluice)
    result = real_client("keepalive", services.WWW, cafile)
    assert result["ok"], result
    assert result["bodies"] == [f"200 e2e {services.WWW} https"] * 2, result
    assert result["ports"][0] == result["ports"][1], "two connections, not one kept alive"
    flows = check_allowed(mark, services.WWW)
    assert [f["src_port"] for f in flows] == [result["ports"][0]], flows


def test_keep_alive_session_to_a_denied_name_is_refused(served, sluice, cafile):
    mark = Mark(sluice)
    result = real_client("keepalive", services.EVIL, cafile, pin=rig.WEB4)
    assert not result["ok"], result
    check_denied(mark, services.EVIL)
