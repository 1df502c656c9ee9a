"""The end-to-end rig: network namespaces, veth pairs, a bridge, and the server's services.

Everything this module creates is named with PREFIX ("sle2e-"), lives in namespaces it created,
and uses addresses from 198.18.0.0/15 and 2001:db8::/32 only. `destroy()` removes it all (it is
also what cleans a rig a killed run left behind). Run it by hand to debug:

    /usr/bin/python3 tests/e2e/rig.py up      # build the namespaces and links (no services)
    /usr/bin/python3 tests/e2e/rig.py down    # remove everything named sle2e-*

Topology (see README.md):

  sle2e-c1 ─┐
  sle2e-c2 ─┼─ br0 (sle2e-sw) ── in0 ═ sluiced (sle2e-fw) ═ out0 ── eth0 (sle2e-srv)
  sle2e-c3 ─┘
"""

import fcntl
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# SLUICE_E2E_PREFIX lets two checkouts on one machine run their rigs side by side: everything
# (namespaces, veths inside them, DPDK runtime files, the lock) is named from it.
PREFIX = os.environ.get("SLUICE_E2E_PREFIX", "sle2e-")
NS_FW = PREFIX + "fw"     # sluiced and its two DPDK (net_af_packet) ports
NS_SW = PREFIX + "sw"     # the inside L2 segment: a Linux bridge
NS_SRV = PREFIX + "srv"   # nginx, dnsmasq, the TCP echo server
INSIDE_IF, OUTSIDE_IF = "in0", "out0"  # in NS_FW
LOCK_FILE = f"/run/lock/sluice-e2e-{PREFIX.rstrip('-')}.lock"


@dataclass(frozen=True)
class Client:
    name: str
    ns: str
    v4: str
    v6: str
    prefix4: str
    prefix6: str


# c1: attached to the ENFORCE policy; c2: same policy, DRY_RUN override; c3: no attachment.
CLIENTS = {
    "c1": Client("c1", PREFIX + "c1", "198.18.1.10", "2001:db8:1::10", "198.18.1.0/24", "2001:db8:1::/64"),
    "c2": Client("c2", PREFIX + "c2", "198.18.2.10", "2001:db8:2::10", "198.18.2.0/24", "2001:db8:2::/64"),
    "c3": Client("c3", PREFIX + "c3", "198.18.3.10", "2001:db8:3::10", "198.18.3.0/24", "2001:db8:3::/64"),
}

# The server namespace's addresses (all on its one interface).
WEB4, WEB6 = "198.19.10.1", "2001:db8:ff::1"              # nginx: HTTPS 443, HTTP 80
RESOLVER4, RESOLVER6 = "198.19.10.53", "2001:db8:ff::53"  # dnsmasq, listed in the policies
ROGUE4, ROGUE6 = "198.19.10.54", "2001:db8:ff::54"        # dnsmasq too, listed nowhere; nginx on ROGUE4
                                                          # too: a server no DNS answer names
DB4, DB6 = "198.19.20.5", "2001:db8:ff::5:5"              # TCP echo on DB_PORT; only DNS names it
DB_PORT = 5432
SERVER_V4 = [WEB4 + "/24", RESOLVER4 + "/24", ROGUE4 + "/24", DB4 + "/24"]
SERVER_V6 = [a + "/64" for a in (WEB6, RESOLVER6, ROGUE6, DB6)]
SERVER_ROUTES4 = ["198.18.0.0/16"]
SERVER_ROUTES6 = [c.prefix6 for c in CLIENTS.values()]
CLIENT_ROUTES4 = ["198.19.0.0/16"]
CLIENT_ROUTES6 = ["2001:db8:ff::/64"]

ALL_NAMESPACES = [NS_FW, NS_SW, NS_SRV] + [c.ns for c in CLIENTS.values()]


def resolver(family):
    """The allowed resolver's address in `family` (4 or 6)."""
    return RESOLVER6 if family == 6 else RESOLVER4


def qtype(family):
    """The DNS record type of `family`'s addresses."""
    return "AAAA" if family == 6 else "A"


def sh(*cmd, check=True, timeout=30):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *map(str, cmd)]


def nsh(ns, *cmd, check=True, timeout=30):
    return sh(*in_ns(ns, *cmd), check=check, timeout=timeout)


def existing_namespaces():
    out = sh("ip", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def kill_namespace_processes(ns):
    """SIGKILL every process in `ns` (a killed run's sluiced, nginx, dnsmasq)."""
    for _ in range(50):
        pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def destroy():
    """Remove every sle2e-* namespace (and with them their veths and bridge)."""
    for ns in existing_namespaces():
        kill_namespace_processes(ns)
        sh("ip", "netns", "del", ns, check=False)
    for leftover in Path("/var/run/dpdk").glob(PREFIX + "*"):
        subprocess.run(["rm", "-rf", str(leftover)], check=False)


class RigLock:
    """One rig on a machine at a time; a killed run's lock dies with its process."""

    def __init__(self):
        self.fd = None

    def acquire(self, timeout=120):
        Path(LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another e2e run holds {LOCK_FILE}")
                time.sleep(0.5)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def no_offloads(ns, ifname):
    # Partial checksums would cross the appliance unfinished (measured here: they are dropped): the kernel must
    # compute every checksum in software on every veth end, and never coalesce or segment.
    nsh(ns, "ethtool", "-K", ifname, "rx", "off", "tx", "off", "tso", "off", "gso", "off",
        "gro", "off", check=False)
    # Some kernels refuse a subset (e.g. "rx" on a bridge); insist on what matters.
    features = nsh(ns, "ethtool", "-k", ifname).stdout
    for feature in ("tx-checksumming", "generic-segmentation-offload", "generic-receive-offload"):
        line = next((l for l in features.splitlines() if l.startswith(feature + ":")), "")
        if "on" in line.split(":", 1)[-1] and "fixed" not in line:
            raise RuntimeError(f"{ns}/{ifname}: {line.strip()} could not be turned off")


def sysctls(ns, *settings):
    nsh(ns, "sysctl", "-qw", *settings)


def create():
    """Build namespaces and links (no processes). Call destroy() first."""
    for ns in ALL_NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    # Nothing of the appliance's own kernel may speak on the wire: no IPv6 there at all.
    sysctls(NS_FW, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    sysctls(NS_SW, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    # Hosts: addresses usable at once (no DAD), no router discovery, no autoconfiguration.
    # The MLD reports a host sends when its link comes up (ICMPv6 143 to ff02::16, which the
    # appliance judges like any flow: a DROP record from fe80::…) all leave within 10 ms, long
    # before sluiced starts, instead of trickling in over the first seconds of the tests.
    for ns in [NS_SRV] + [c.ns for c in CLIENTS.values()]:
        sysctls(ns, "net.ipv6.conf.all.mldv2_unsolicited_report_interval=10",
                "net.ipv6.conf.default.mldv2_unsolicited_report_interval=10",
                "net.ipv6.conf.all.mldv1_unsolicited_report_interval=10",
                "net.ipv6.conf.default.mldv1_unsolicited_report_interval=10",
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
                "net.ipv6.conf.default.router_solicitations=0",
                "net.ipv6.conf.all.router_solicitations=0")

    # The inside segment: a bridge in NS_SW, one port per client, one to sluiced's inside port.
    sh("ip", "-n", NS_SW, "link", "add", "br0", "type", "bridge", "stp_state", "0",
       "forward_delay", "0", "mcast_snooping", "0")
    sh("ip", "-n", NS_SW, "link", "add", "up0", "type", "veth", "peer", "name", INSIDE_IF,
       "netns", NS_FW)
    sh("ip", "-n", NS_SW, "link", "set", "up0", "master", "br0")
    for client in CLIENTS.values():
        port = "p" + client.name
        sh("ip", "-n", client.ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
           "netns", NS_SW)
        sh("ip", "-n", NS_SW, "link", "set", port, "master", "br0")
    # The outside segment: sluiced's outside port straight to the server.
    sh("ip", "-n", NS_SRV, "link", "add", "eth0", "type", "veth", "peer", "name", OUTSIDE_IF,
       "netns", NS_FW)

    for ifname in (INSIDE_IF, OUTSIDE_IF):
        no_offloads(NS_FW, ifname)
        sh("ip", "-n", NS_FW, "link", "set", ifname, "up")
    for ifname in ["up0"] + ["p" + c.name for c in CLIENTS.values()]:
        no_offloads(NS_SW, ifname)
        sh("ip", "-n", NS_SW, "link", "set", ifname, "up")
    no_offloads(NS_SW, "br0")
    sh("ip", "-n", NS_SW, "link", "set", "br0", "up")

    for client in CLIENTS.values():
        ns = client.ns
        no_offloads(ns, "eth0")
        sh("ip", "-n", ns, "addr", "add", client.v4 + "/24", "dev", "eth0")
        sh("ip", "-n", ns, "-6", "addr", "add", client.v6 + "/64", "dev", "eth0", "nodad")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        for route in CLIENT_ROUTES4:
            sh("ip", "-n", ns, "route", "add", route, "dev", "eth0", "src", client.v4)
        for route in CLIENT_ROUTES6:
            sh("ip", "-n", ns, "-6", "route", "add", route, "dev", "eth0", "src", client.v6)

    no_offloads(NS_SRV, "eth0")
    for address in SERVER_V4:
        sh("ip", "-n", NS_SRV, "addr", "add", address, "dev", "eth0")
    for address in SERVER_V6:
        sh("ip", "-n", NS_SRV, "-6", "addr", "add", address, "dev", "eth0", "nodad")
    sh("ip", "-n", NS_SRV, "link", "set", "eth0", "up")
    for route in SERVER_ROUTES4:
        sh("ip", "-n", NS_SRV, "route", "add", route, "dev", "eth0", "src", WEB4)
    for route in SERVER_ROUTES6:
        sh("ip", "-n", NS_SRV, "-6", "route", "add", route, "dev", "eth0", "src", WEB6)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("up", "down"):
        sys.exit("usage: rig.py up|down")
    lock = RigLock()
    lock.acquire(timeout=5)
    destroy()
    if sys.argv[1] == "up":
        create()
        print("namespaces:", " ".join(ALL_NAMESPACES))
