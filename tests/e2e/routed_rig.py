"""The routed-mode rig (issue #13): sluiced as a router between a client and a server
namespace, built from rig.py's helpers and named from SLUICE_E2E_PREFIX like the bridge rig.

  PREFIX+"rcl"  eth0 198.18.40.10/24, 2001:db8:40::10/64, default routes via the appliance's
                inside addresses
      │ veth
  PREFIX+"rfw"  rin0 = net_af_packet0, INSIDE  198.18.40.1/24  2001:db8:40::1/64  (MTU 9000)
   sluiced      rout0 = net_af_packet1, OUTSIDE 198.19.40.2/24 2001:db8:41::2/64 (MTU 1400)
      │ veth
  PREFIX+"rsv"  eth0 198.19.40.10/24, 2001:db8:41::10/64; the client's prefixes via the
                appliance's outside addresses; an HTTP server on port 80

Every link's MTU is 9000 (jumbo frames); the appliance's outside port sends at most 1400.

Until the appliance answers ARP and neighbour solicitations itself, every MAC is fixed: the
hosts get permanent neighbour entries for the appliance's addresses, sluiced gets
routing.static_neighbours for the hosts. The appliance's namespace has no IP and no IPv6.
"""

import fcntl
import os
import time
from pathlib import Path

import rig

NS_FW = rig.PREFIX + "rfw"
NS_CLIENT = rig.PREFIX + "rcl"
NS_SERVER = rig.PREFIX + "rsv"
NAMESPACES = [NS_FW, NS_CLIENT, NS_SERVER]
INSIDE_IF, OUTSIDE_IF = "rin0", "rout0"
LOCK_FILE = f"/run/lock/sluice-e2e-{rig.PREFIX.rstrip('-')}-routed.lock"

# Fixed MACs (locally administered), so that configs and neighbour entries can name them.
MAC = {"inside": "02:5e:00:00:40:01", "outside": "02:5e:00:00:41:02",
       "client": "02:5e:00:00:40:10", "server": "02:5e:00:00:41:10"}

CLIENT4, CLIENT6 = "198.18.40.10", "2001:db8:40::10"
SERVER4, SERVER6 = "198.19.40.10", "2001:db8:41::10"
INSIDE4, INSIDE6 = "198.18.40.1", "2001:db8:40::1"
OUTSIDE4, OUTSIDE6 = "198.19.40.2", "2001:db8:41::2"
OUTSIDE_MTU = 1400
# Every link carries jumbo frames; the appliance's inside port routes them (mtu 9000), its
# outside port refuses anything over OUTSIDE_MTU (path MTU discovery), but receives jumbo frames.
LINK_MTU = 9000
# net_af_packet's ring frames must hold a whole jumbo frame and fit in sluiced's receive buffers
# (routed_frame_room: 9216 bytes for an MTU of 9000): 9216-byte frames, four to a 36 KiB block
# (a block holds whole frames, and the ring as many frames as blocks hold).
AF_PACKET_JUMBO = "framesz=9216,blocksz=36864"


def destroy():
    for ns in NAMESPACES:
        if ns in rig.existing_namespaces():
            rig.kill_namespace_processes(ns)
            rig.sh("ip", "netns", "del", ns, check=False)


class Lock:
    """One routed rig per prefix at a time (its own lock: the bridge rig's may be held by the
    same pytest session)."""

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
                    raise RuntimeError(f"another run holds {LOCK_FILE}")
                time.sleep(0.5)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def create():
    for ns in NAMESPACES:
        rig.sh("ip", "netns", "add", ns)
        rig.sh("ip", "-n", ns, "link", "set", "lo", "up")
    rig.sysctls(NS_FW, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    for ns in (NS_CLIENT, NS_SERVER):
        rig.sysctls(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
                    "net.ipv6.conf.all.router_solicitations=0",
                    "net.ipv6.conf.default.router_solicitations=0")
    rig.sh("ip", "-n", NS_CLIENT, "link", "add", "eth0", "address", MAC["client"], "type", "veth",
           "peer", "name", INSIDE_IF, "address", MAC["inside"], "netns", NS_FW)
    rig.sh("ip", "-n", NS_SERVER, "link", "add", "eth0", "address", MAC["server"], "type", "veth",
           "peer", "name", OUTSIDE_IF, "address", MAC["outside"], "netns", NS_FW)
    for ifname in (INSIDE_IF, OUTSIDE_IF):
        rig.no_offloads(NS_FW, ifname)
        rig.sh("ip", "-n", NS_FW, "link", "set", ifname, "mtu", LINK_MTU, "up")
    hosts = ((NS_CLIENT, CLIENT4, CLIENT6, INSIDE4, INSIDE6, MAC["inside"]),
             (NS_SERVER, SERVER4, SERVER6, OUTSIDE4, OUTSIDE6, MAC["outside"]))
    for ns, v4, v6, gateway4, gateway6, gateway_mac in hosts:
        rig.no_offloads(ns, "eth0")
        rig.sh("ip", "-n", ns, "addr", "add", v4 + "/24", "dev", "eth0")
        rig.sh("ip", "-n", ns, "-6", "addr", "add", v6 + "/64", "dev", "eth0", "nodad")
        rig.sh("ip", "-n", ns, "link", "set", "eth0", "mtu", LINK_MTU, "up")
        for gateway in (gateway4, gateway6):
            rig.sh("ip", "-n", ns, "neigh", "replace", gateway, "lladdr", gateway_mac, "dev", "eth0",
                   "nud", "permanent")
    # The client: everything via the appliance (a spoke with a user-defined route).
    rig.sh("ip", "-n", NS_CLIENT, "route", "add", "default", "via", INSIDE4, "dev", "eth0")
    rig.sh("ip", "-n", NS_CLIENT, "-6", "route", "add", "default", "via", INSIDE6, "dev", "eth0")
    # The server: only the client's prefixes via the appliance's outside addresses.
    rig.sh("ip", "-n", NS_SERVER, "route", "add", "198.18.40.0/24", "via", OUTSIDE4, "dev", "eth0")
    rig.sh("ip", "-n", NS_SERVER, "-6", "route", "add", "2001:db8:40::/64", "via", OUTSIDE6, "dev", "eth0")


def appliance_config(workdir, file_prefix, workers=1):
    """Several workers: a queue pair each on both ports (the workers steer frames to their owner)."""
    workdir = Path(workdir)
    af_packet = AF_PACKET_JUMBO + (f",qpairs={workers}" if workers > 1 else "")
    lcores = ", ".join(str(lcore) for lcore in range(1, workers + 1))
    return f"""# Written by tests/e2e/routed_rig.py
appliance_name: "sluice-e2e-routed"
ports {{ device: "net_af_packet0,iface={INSIDE_IF},{af_packet}" role: INSIDE
        addresses: "{INSIDE4}/24" addresses: "{INSIDE6}/64" mtu: {LINK_MTU} }}
ports {{ device: "net_af_packet1,iface={OUTSIDE_IF},{af_packet}" role: OUTSIDE
        addresses: "{OUTSIDE4}/24" addresses: "{OUTSIDE6}/64" mtu: {OUTSIDE_MTU} }}
routing {{
  mode: ROUTED
  routes {{ prefix: "0.0.0.0/0" via: "{SERVER4}" port: OUTSIDE }}
  routes {{ prefix: "::/0" via: "{SERVER6}" port: OUTSIDE }}
  static_neighbours {{ address: "{CLIENT4}" mac: "{MAC['client']}" port: INSIDE }}
  static_neighbours {{ address: "{CLIENT6}" mac: "{MAC['client']}" port: INSIDE }}
  static_neighbours {{ address: "{SERVER4}" mac: "{MAC['server']}" port: OUTSIDE }}
  static_neighbours {{ address: "{SERVER6}" mac: "{MAC['server']}" port: OUTSIDE }}
}}
worker_lcores: [{lcores}]
flow_capacity: 4096
policy_path: "{workdir / 'policy.textproto'}"
log_dir: "{workdir / 'log'}"
metrics_address: "127.0.0.1:9617"
health_address: "127.0.0.1:9618"
hyperscan_cache_dir: ""
watch_policy_file: false
eal_args: ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
           "--file-prefix", "{file_prefix}"]
"""


ALLOWED_NAME, DENIED_NAME = "allowed.routed.example", "denied.routed.example"


def policy_text():
    return f"""# Written by tests/e2e/routed_rig.py
name: "e2e-routed"
policies {{
  name: "routed"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "{ALLOWED_NAME}"
  allow_unbound_names: true
  allowed_networks {{ cidr: "198.19.40.0/24" protocol: ICMP }}
  allowed_networks {{ cidr: "2001:db8:41::/64" protocol: ICMP }}
}}
default_policy: "routed"
"""
