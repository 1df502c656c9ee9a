"""The routed-mode hub rig: a spoke client behind a hash-routing namespace, two appliances in
routed mode with SNAT, and a server behind an outside router that knows nothing of the spoke.

Everything is named PREFIX + "h…" and uses 198.18.0.0/15 only; `destroy()` removes it all (also
what cleans a rig a killed run left behind). By hand:

    /usr/bin/python3 tests/e2e/hub_rig.py up     # namespaces and links, no processes
    /usr/bin/python3 tests/e2e/hub_rig.py down

  hc (client)            hlb (hash router, the "load balancer")        hfw1 / hfw2 (sluiced)
  eth0 198.18.16.10/24 ─ c0 198.18.16.1/24                             in0 198.18.1.4 / .5
  default via .16.1      br0 198.18.1.1/24 ─┬─ f1 ══════════════════════ in0 (hfw1)
                         (MTU 9000)         ├─ f2 ══════════════════════ in0 (hfw2)
                         default: ECMP over │                            out0 198.18.2.4 / .5
                         the appliances     └─ pr ── hprobe eth0 198.18.1.20/24
  hrtr (outside router)                                                 │
  br0 198.18.2.1/24 ─┬─ f1 ═══════════════════════════════════════════ out0 (hfw1)
                     └─ f2 ═══════════════════════════════════════════ out0 (hfw2)
  s0 198.19.0.1/24 ── hsrv eth0 198.19.0.10/24 (HTTP 80, echo 7), 198.19.0.53 (dnsmasq)
  no route to 198.18.16.0/20 or 198.18.1.0/24: only SNAT brings answers back.
"""

import sys
from dataclasses import dataclass

import rig
from rig import nsh, sh

P = rig.PREFIX + "h"
NS_CLIENT, NS_LB, NS_PROBE, NS_ROUTER, NS_SERVER = (P + n for n in ("c", "lb", "probe", "rtr", "srv"))
CLIENT4, LB_SPOKE4, LB_HUB4, PROBE4 = "198.18.16.10", "198.18.16.1", "198.18.1.1", "198.18.1.20"
ROUTER4, ROUTER_SERVER_SIDE4 = "198.18.2.1", "198.19.0.1"
SERVER4, RESOLVER4 = "198.19.0.10", "198.19.0.53"
SPOKES4 = "198.18.16.0/20"
INSIDE_MTU, OUTSIDE_MTU = 9000, 1500
HTTP_PORT, ECHO_PORT, PROBE_PORT = 80, 7, 8081
ALLOWED_NAME, DENIED_NAME = "www.hub.example", "evil.hub.example"


@dataclass(frozen=True)
class Appliance:
    name: str
    ns: str
    inside4: str
    outside4: str


APPLIANCES = {
    "fw1": Appliance("fw1", P + "fw1", "198.18.1.4", "198.18.2.4"),
    "fw2": Appliance("fw2", P + "fw2", "198.18.1.5", "198.18.2.5"),
}
ALL_NAMESPACES = [NS_CLIENT, NS_LB, NS_PROBE, NS_ROUTER, NS_SERVER] + [a.ns for a in APPLIANCES.values()]


def existing_namespaces():
    out = sh("ip", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in ALL_NAMESPACES]


def destroy():
    for ns in existing_namespaces():
        rig.kill_namespace_processes(ns)
        sh("ip", "netns", "del", ns, check=False)


def _veth(ns_a, name_a, ns_b, name_b, mtu=1500):
    sh("ip", "-n", ns_a, "link", "add", name_a, "mtu", mtu, "type", "veth", "peer", "name", name_b,
       "netns", ns_b, "mtu", mtu)
    for ns, name in ((ns_a, name_a), (ns_b, name_b)):
        rig.no_offloads(ns, name)


def _up(ns, *names):
    for name in names:
        sh("ip", "-n", ns, "link", "set", name, "up")


def _host_sysctls(ns):
    # No IPv6 chatter on these links (the hub test is IPv4); no redirects that would teach the
    # client a path around the appliance.
    rig.sysctls(ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
                "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.default.accept_redirects=0",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")


def create():
    """Namespaces and links, no processes. Call destroy() first."""
    for ns in ALL_NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        _host_sysctls(ns)

    # Spoke client ─ hash router.
    _veth(NS_CLIENT, "eth0", NS_LB, "c0", INSIDE_MTU)
    sh("ip", "-n", NS_CLIENT, "addr", "add", CLIENT4 + "/24", "dev", "eth0")
    sh("ip", "-n", NS_LB, "addr", "add", LB_SPOKE4 + "/24", "dev", "c0")
    _up(NS_CLIENT, "eth0")
    _up(NS_LB, "c0")
    sh("ip", "-n", NS_CLIENT, "route", "add", "default", "via", LB_SPOKE4)

    # The hub's inside segment: a bridge in the hash router with the appliances and the probe.
    sh("ip", "-n", NS_LB, "link", "add", "br0", "mtu", INSIDE_MTU, "type", "bridge", "stp_state", "0",
       "forward_delay", "0", "mcast_snooping", "0")
    sh("ip", "-n", NS_LB, "addr", "add", LB_HUB4 + "/24", "dev", "br0")
    for key, appliance in APPLIANCES.items():
        port = "f" + key[-1]
        _veth(NS_LB, port, appliance.ns, "in0", INSIDE_MTU)
        sh("ip", "-n", NS_LB, "link", "set", port, "master", "br0")
        _up(NS_LB, port)
        _up(appliance.ns, "in0")
    _veth(NS_LB, "pr", NS_PROBE, "eth0", INSIDE_MTU)
    sh("ip", "-n", NS_LB, "link", "set", "pr", "master", "br0")
    _up(NS_LB, "pr", "br0")
    sh("ip", "-n", NS_PROBE, "addr", "add", PROBE4 + "/24", "dev", "eth0")
    _up(NS_PROBE, "eth0")
    # ECMP by the 5-tuple read from each packet (policy 3 with the five fields), not by the
    # socket hash the client's kernel stamps on its packets (policy 1 uses that when present, and
    # TCP picks a new one when it retransmits a SYN): a flow must stay on one appliance.
    rig.sysctls(NS_LB, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=3",
                "net.ipv4.fib_multipath_hash_fields=0x0037")
    # A reset from the hash router itself would not tell the appliances' verdicts apart.
    nsh(NS_LB, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")

    # The hub's outside segment and the router to the server, which has no route back to the
    # spoke or the hub's inside: only the appliances' SNAT addresses are reachable from there.
    sh("ip", "-n", NS_ROUTER, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
       "mcast_snooping", "0")
    sh("ip", "-n", NS_ROUTER, "addr", "add", ROUTER4 + "/24", "dev", "br0")
    for key, appliance in APPLIANCES.items():
        port = "f" + key[-1]
        _veth(NS_ROUTER, port, appliance.ns, "out0", OUTSIDE_MTU)
        sh("ip", "-n", NS_ROUTER, "link", "set", port, "master", "br0")
        _up(NS_ROUTER, port)
        _up(appliance.ns, "out0")
    _up(NS_ROUTER, "br0")
    _veth(NS_ROUTER, "s0", NS_SERVER, "eth0")
    sh("ip", "-n", NS_ROUTER, "addr", "add", ROUTER_SERVER_SIDE4 + "/24", "dev", "s0")
    _up(NS_ROUTER, "s0")
    for address in (SERVER4, RESOLVER4):
        sh("ip", "-n", NS_SERVER, "addr", "add", address + "/24", "dev", "eth0")
    _up(NS_SERVER, "eth0")
    sh("ip", "-n", NS_SERVER, "route", "add", "default", "via", ROUTER_SERVER_SIDE4)
    rig.sysctls(NS_ROUTER, "net.ipv4.ip_forward=1")


def route_through(*names):
    """The hash router's default route: ECMP over the named appliances' inside addresses."""
    hops = []
    for name in names:
        hops += ["nexthop", "via", APPLIANCES[name].inside4]
    if len(names) == 1:
        hops = ["via", APPLIANCES[names[0]].inside4]
    sh("ip", "-n", NS_LB, "route", "replace", "default", *hops)
    sh("ip", "-n", NS_LB, "route", "flush", "cache", check=False)


def mac_of(ns, ifname):
    return nsh(ns, "cat", f"/sys/class/net/{ifname}/address").stdout.strip()


if __name__ == "__main__":
    if sys.argv[1:] == ["up"]:
        destroy()
        create()
    elif sys.argv[1:] == ["down"]:
        destroy()
    else:
        sys.exit("usage: hub_rig.py up|down")
