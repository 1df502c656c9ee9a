"""Headless Chromium in a client namespace, forced onto QUIC, resolving through the rig's
dnsmasq (a DNS answer that crosses sluiced), and what reached the server: a tcpdump in the
server namespace read back with tshark, which removes the Initials' protection itself."""

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import rig

HERE = Path(__file__).resolve().parent
CHROME = "/usr/bin/chromium"
CHROME_SECONDS = 6  # Chromium retransmits its Initials to the silent sink until then


def available():
    return Path(CHROME).exists() and shutil.which("tshark") and shutil.which("tcpdump")


class Sink:
    """quic_sink.py in the server namespace on the web addresses' port 443."""

    def __init__(self, workdir):
        self.log = open(Path(workdir) / "quic-sink.out", "w")
        self.proc = subprocess.Popen(rig.in_ns(rig.NS_SRV, sys.executable, HERE / "quic_sink.py",
                                               rig.WEB4, rig.WEB6),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while "listening" not in (Path(workdir) / "quic-sink.out").read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("quic_sink.py did not start")
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class ServerCapture:
    """tcpdump of UDP 443 on the server's interface while a scenario runs."""

    def __init__(self, pcap):
        self.pcap = Path(pcap)
        self.err = self.pcap.with_suffix(".err")
        with open(self.err, "w") as err:
            self.proc = subprocess.Popen(rig.in_ns(rig.NS_SRV, "tcpdump", "-i", "eth0", "-s", "0",
                                                   "-U", "-n", "-Z", "root", "-w", self.pcap,
                                                   "udp", "port", "443"),
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while "listening on" not in self.err.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tcpdump did not start: {self.err.read_text()}")
            time.sleep(0.05)

    def stop(self):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return read_quic(self.pcap)


@dataclass
class Arrived:
    """What tshark reads in the server's capture, by client address."""
    datagrams: dict = field(default_factory=dict)   # src ip -> datagram count
    snis: dict = field(default_factory=dict)        # src ip -> set of SNIs in whole ClientHellos

    def of(self, src):
        return self.datagrams.get(src, 0), self.snis.get(src, set())


def read_quic(pcap):
    fields = ["ip.src", "ipv6.src", "udp.dstport", "tls.handshake.type",
              "tls.handshake.extensions_server_name"]
    cmd = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=|", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    arrived = Arrived()
    for line in out.splitlines():
        v4, v6, _port, types, snis = line.split("|")
        src = v4 or v6
        arrived.datagrams[src] = arrived.datagrams.get(src, 0) + 1
        if "1" in types.split(",") and snis:
            arrived.snis.setdefault(src, set()).update(snis.split(","))
    return arrived


@dataclass
class ChromeResult:
    rc: int
    elapsed: float
    stderr: str
    net_errors: list  # Chromium's net error names for the page's request, from its net log
    quic_errors: list  # QUIC_SESSION_CLOSED details


def run(client, name, workdir, *, pin=None, seconds=CHROME_SECONDS):
    """GET https://NAME/ forced onto QUIC (no TCP at all, no fallback: Chromium's
    --origin-to-force-quic-on), NAME resolved by the client's resolv.conf, or mapped to the
    address `pin` (--host-resolver-rules) so that no DNS is asked."""
    profile = Path(tempfile.mkdtemp(prefix="chrome-", dir=workdir))
    netlog = profile / "netlog.json"
    cmd = ["timeout", str(seconds), CHROME, "--headless=new", "--no-sandbox", "--disable-gpu",
           "--enable-quic", f"--origin-to-force-quic-on={name}:443", f"--user-data-dir={profile}",
           "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-features=AsyncDns",
           f"--log-net-log={netlog}",
           *([f"--host-resolver-rules=MAP {name} {pin}"] if pin else []),
           "--dump-dom", f"https://{name}/"]
    started = time.monotonic()
    proc = subprocess.run(rig.in_ns(rig.CLIENTS[client].ns, *cmd), capture_output=True, text=True,
                          timeout=seconds + 20, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    net_errors, quic_errors = read_netlog(netlog)
    return ChromeResult(proc.returncode, elapsed, proc.stderr[-3000:], net_errors, quic_errors)


def read_netlog(path):
    try:
        text = Path(path).read_text()
    except OSError:
        return [], []
    # A net log cut off by the timeout lacks its closing "]}"; take what parses.
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        try:
            log = json.loads(text.rstrip().rstrip(",") + "]}")
        except json.JSONDecodeError:
            return ["unreadable net log"], []
    constants = log.get("constants", {})
    types = {v: k for k, v in constants.get("logEventTypes", {}).items()}
    errors = {v: k for k, v in constants.get("netError", {}).items()}
    net_errors, quic_errors = [], []
    for event in log.get("events", []):
        kind = types.get(event.get("type"))
        params = event.get("params") or {}
        if "net_error" in params and params["net_error"]:
            net_errors.append((kind, errors.get(params["net_error"], params["net_error"])))
        if kind == "QUIC_SESSION_CLOSED":
            quic_errors.append(params)
    return net_errors, quic_errors
