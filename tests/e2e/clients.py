"""Real clients, run inside a client namespace: curl (OpenSSL), gnutls-cli, python's ssl,
dig, and netclient.py's TCP/UDP clients. Each returns a Result with the wall time measured
around the whole command (namespace entry included)."""

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import rig

HERE = Path(__file__).resolve().parent
NETCLIENT = HERE / "netclient.py"
CLIENT_TIMEOUT_S = 5  # what each client is given; a denial must end long before


@dataclass
class Result:
    tool: str
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    ok: bool = False
    local_port: int = 0
    body: str = ""
    detail: dict = field(default_factory=dict)

    def describe(self):
        return (f"{self.tool}: rc {self.rc}, {self.elapsed:.3f} s\n--- stdout\n{self.stdout[-2000:]}"
                f"\n--- stderr\n{self.stderr[-2000:]}")


def run_in(client, cmd, *, timeout=CLIENT_TIMEOUT_S + 10, tool=None, input=None):
    ns = rig.CLIENTS[client].ns
    started = time.monotonic()
    proc = subprocess.run(rig.in_ns(ns, *cmd), capture_output=True, text=True, timeout=timeout,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    return Result(tool or str(cmd[0]), proc.returncode, proc.stdout, proc.stderr, elapsed)


def address(family, v4, v6):
    return v6 if family == 6 else v4


def url_host(addr):
    return f"[{addr}]" if ":" in addr else addr


def curl(client, name, *, scheme="https", family=4, cafile, addr=None, local_port=None):
    """GET scheme://name/ with name pinned to the web server's address (--resolve)."""
    addr = addr or address(family, rig.WEB4, rig.WEB6)
    port = 443 if scheme == "https" else 80
    cmd = ["curl", "-sS", "--max-time", CLIENT_TIMEOUT_S, "--cacert", cafile,
           *(["--local-port", local_port] if local_port else []),
           "--resolve", f"{name}:{port}:{url_host(addr)}", "-o", "-",
           "-w", "\n%{http_code} %{local_port}", f"{scheme}://{name}/"]
    result = run_in(client, [str(c) for c in cmd], tool=f"curl-{scheme}")
    body, _, tail = result.stdout.rpartition("\n")
    code, _, local_port = tail.partition(" ")
    result.body = body
    result.local_port = int(local_port or 0)
    result.ok = result.rc == 0 and code == "200"
    return result


def gnutls(client, name, *, family=4, cafile, addr=None):
    """A TLS handshake by gnutls-cli (SNI and certificate name checked), then EOF."""
    addr = addr or address(family, rig.WEB4, rig.WEB6)
    cmd = ["gnutls-cli", f"--x509cafile={cafile}", "--port=443", f"--sni-hostname={name}",
           f"--verify-hostname={name}", addr]
    result = run_in(client, cmd, tool="gnutls-cli", input="")
    result.ok = result.rc == 0 and "Handshake was completed" in result.stdout + result.stderr
    return result


def netclient(client, *args, tool):
    result = run_in(client, [sys.executable, str(NETCLIENT), *map(str, args)], tool=tool)
    lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
    if lines:
        result.detail = json.loads(lines[-1])
        result.ok = result.detail["ok"]
        result.local_port = result.detail["local_port"]
        result.body = result.detail["body"]
    return result


def pyssl(client, name, *, family=4, cafile, addr=None):
    addr = addr or address(family, rig.WEB4, rig.WEB6)
    return netclient(client, "tls", addr, 443, name, cafile, tool="python-ssl")


def tcp(client, addr, port, message="hello e2e"):
    return netclient(client, "tcp", addr, port, message, tool="tcp")


def resolve_connect(client, resolver, name, qtype, port, message="hello e2e"):
    return netclient(client, "resolve-connect", resolver, name, qtype, port, message,
                     tool="resolve-connect")


def udp(client, addr, port, wait_s=2):
    return netclient(client, "udp", addr, port, wait_s, tool="udp")


def dig(client, server, name, qtype="A", *, wait_s=2):
    """One query, one try, `wait_s` to wait for the answer; ok when an answer came back."""
    cmd = ["dig", f"@{server}", name, qtype, "+tries=1", f"+time={wait_s}", "+short"]
    result = run_in(client, cmd, tool="dig", timeout=wait_s + 10)
    answers = [l for l in result.stdout.splitlines() if l and not l.startswith(";")]
    result.body = "\n".join(answers)
    result.ok = result.rc == 0 and bool(answers)
    return result


TOOLS = {"curl-https": lambda c, n, f, ca: curl(c, n, scheme="https", family=f, cafile=ca),
         "curl-http": lambda c, n, f, ca: curl(c, n, scheme="http", family=f, cafile=ca),
         "gnutls-cli": lambda c, n, f, ca: gnutls(c, n, family=f, cafile=ca),
         "python-ssl": lambda c, n, f, ca: pyssl(c, n, family=f, cafile=ca)}


def port_of(tool):
    return 80 if tool == "curl-http" else 443


def destination_type_of(tool):
    return "HTTP_HOST" if tool == "curl-http" else "SNI"


def saw_reset(result):
    """The client was told at once: a reset, not a timeout."""
    text = (result.stdout + result.stderr + json.dumps(result.detail)).lower()
    return ("reset" in text or "econnreset" in text or "pull function" in text
            or "push function" in text) and "timed out" not in text and "timeout" not in text
