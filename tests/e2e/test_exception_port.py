"""Routed mode's way to the appliance itself (issue #13): the exception port and the health probe.

A rig of its own (namespaces PREFIX + "x…", so that it may stand beside the session's bridge
rig), with sluiced in routed mode:

  PREFIX xcl  eth0 198.18.1.10/24 ── in0  ═ sluiced (PREFIX xfw) ═ out0 ── eth0 198.18.2.10/24  PREFIX xpr
  (a client)                        198.18.1.254/24     198.18.2.254/24                  (a load balancer's prober)
                                    the tap sluice0: the kernel's side, with both own addresses

The appliance's kernel runs the listeners (a TCP echo on a listed port and on an unlisted one).
Neighbours are static on both sides (ARP belongs to another piece of routed mode): the client
and the prober know the appliance's MACs, the appliance knows theirs from static_neighbours.
Addresses only from 198.18.0.0/15.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import daemon  # noqa: E402
import policies  # noqa: E402
import rig  # noqa: E402

NS_FW, NS_CL, NS_PR = rig.PREFIX + "xfw", rig.PREFIX + "xcl", rig.PREFIX + "xpr"
NAMESPACES = [NS_FW, NS_CL, NS_PR]
LOCK_FILE = f"/run/lock/sluice-e2e-{rig.PREFIX.rstrip('-')}-exception.lock"
TAP = "sluice0"

CLIENT, CLIENT_MAC = "198.18.1.10", "02:00:00:00:01:0a"
# More addresses of the client, so that with two workers some belong to each (a routed flow's
# owner is its inside host's worker).
MORE_CLIENTS = [f"198.18.1.{n}" for n in range(11, 19)]
PROBER, PROBER_MAC = "198.18.2.10", "02:00:00:00:02:0a"
INSIDE, INSIDE_MAC = "198.18.1.254", "02:00:00:00:01:fe"
OUTSIDE, OUTSIDE_MAC = "198.18.2.254", "02:00:00:00:02:fe"

SERVICE_PORT = 2222    # listed: TCP from the client's /24 only
UNLISTED_PORT = 2223   # a kernel listener too, never listed
PROBE_PORT = 8080
METRICS, HEALTH = "127.0.0.1:9617", "127.0.0.1:9618"

POLICY = """name: "exception-port"
policies { name: "open" access_mode: FULL enforcement: ENFORCE }
default_policy: "open"
"""

ECHO_SERVER = Path(__file__).resolve().parent / "echo_server.py"


def ns_run(ns, *cmd, check=True, timeout=30):
    return rig.sh(*rig.in_ns(ns, *cmd), check=check, timeout=timeout)


def appliance_config(workdir, workers=1):
    # Two workers: a queue pair each on the data ports; the tap (one queue) is worker 0's, the
    # other worker sends to it through a ring (docs/ARCHITECTURE.md, "Several workers").
    queues = f",qpairs={workers}" if workers > 1 else ""
    return f"""# Written by tests/e2e/test_exception_port.py
appliance_name: "sluice-e2e-exception"
ports {{ device: "net_af_packet0,iface=in0{queues}" role: INSIDE addresses: "{INSIDE}/24" }}
ports {{ device: "net_af_packet1,iface=out0{queues}" role: OUTSIDE addresses: "{OUTSIDE}/24" }}
worker_lcores: [{", ".join(str(lcore) for lcore in range(1, workers + 1))}]
flow_capacity: 4096
policy_path: "{workdir / 'policy.textproto'}"
log_dir: "{workdir / 'log'}"
metrics_address: "{METRICS}"
health_address: "{HEALTH}"
admin_socket: "{workdir / 'admin.sock'}"
hyperscan_cache_dir: ""
watch_policy_file: false
eal_args: ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry",
           "--file-prefix", "{rig.PREFIX}exception-{os.getpid()}"]
routing {{
  mode: ROUTED
  static_neighbours {{ address: "{CLIENT}" mac: "{CLIENT_MAC}" port: INSIDE }}
{"".join(f'  static_neighbours {{ address: "{address}" mac: "{CLIENT_MAC}" port: INSIDE }}' + chr(10) for address in MORE_CLIENTS)}  static_neighbours {{ address: "{PROBER}" mac: "{PROBER_MAC}" port: OUTSIDE }}
  exception_port {{
    device: "net_tap0,iface={TAP}"
    services {{ protocol: "tcp" ports: {SERVICE_PORT} sources: "198.18.1.0/24" }}
    services {{ protocol: "icmp" }}
  }}
  health_probe {{ tcp_port: {PROBE_PORT} }}
}}
"""


def destroy():
    for ns in NAMESPACES:
        if ns in rig.sh("ip", "netns", "list").stdout.split():
            rig.kill_namespace_processes(ns)
            rig.sh("ip", "netns", "del", ns, check=False)


def create():
    for ns in NAMESPACES:
        rig.sh("ip", "netns", "add", ns)
        rig.sh("ip", "-n", ns, "link", "set", "lo", "up")
    for ns in (NS_CL, NS_PR):
        rig.sysctls(ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    for (ns, address, mac, peer, peer_mac, own, own_mac) in (
            (NS_CL, CLIENT, CLIENT_MAC, "in0", INSIDE_MAC, INSIDE, INSIDE_MAC),
            (NS_PR, PROBER, PROBER_MAC, "out0", OUTSIDE_MAC, OUTSIDE, OUTSIDE_MAC)):
        rig.sh("ip", "-n", ns, "link", "add", "eth0", "address", mac, "type", "veth", "peer", "name", peer,
               "address", peer_mac, "netns", NS_FW)
        rig.no_offloads(ns, "eth0")
        rig.no_offloads(NS_FW, peer)
        # The data ports' kernel interfaces carry no address and say nothing (no IPv6 there).
        rig.sysctls(NS_FW, f"net.ipv6.conf.{peer}.disable_ipv6=1")
        rig.sh("ip", "-n", NS_FW, "link", "set", peer, "up")
        # The appliance's kernel must not take the data ports' frames itself (it holds the own
        # addresses, on the tap): with DPDK owning a NIC it never sees them; with net_af_packet
        # it would (the socket only copies). Strict reverse-path filtering drops them there (the
        # way back to any source from an own address is the tap), and no ARP is answered on them.
        rig.sysctls(NS_FW, f"net.ipv4.conf.{peer}.rp_filter=1", f"net.ipv4.conf.{peer}.arp_ignore=8")
        rig.sh("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0")
        for more in (MORE_CLIENTS if ns == NS_CL else []):
            rig.sh("ip", "-n", ns, "addr", "add", more + "/24", "dev", "eth0")
        rig.sh("ip", "-n", ns, "link", "set", "eth0", "up")
        # ARP is not this piece's: the appliance's MAC is a static neighbour here.
        rig.sh("ip", "-n", ns, "neigh", "replace", own, "lladdr", own_mac, "dev", "eth0", "nud", "permanent")


class Appliance:
    """sluiced in NS_FW with the routed config, plus its metrics and admin socket."""

    def __init__(self, workdir, workers=1):
        self.dir = Path(workdir)
        (self.dir / "log").mkdir(parents=True, exist_ok=True)
        (self.dir / "policy.textproto").write_text(POLICY)
        self.config = self.dir / "appliance.textproto"
        self.config.write_text(appliance_config(self.dir, workers))
        self.workers = workers
        self.proc = None

    def start(self):
        self.out = open(self.dir / "sluiced.out", "w")
        self.err = open(self.dir / "sluiced.err", "w")
        self.proc = subprocess.Popen(rig.in_ns(NS_FW, daemon.SLUICED, "--config", self.config),
                                     stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + daemon.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited with {self.proc.returncode}\n{self.describe()}")
            if self.readyz() == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("sluiced did not become ready\n" + self.describe())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f:
                f.close()

    def describe(self):
        return ("--- stdout\n" + (self.dir / "sluiced.out").read_text()[-3000:]
                + "\n--- stderr\n" + (self.dir / "sluiced.err").read_text()[-3000:])

    def http(self, address, path):
        result = ns_run(NS_FW, "curl", "-sS", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code}",
                        f"http://{address}{path}", check=False, timeout=10)
        return int(result.stdout or 0)

    def readyz(self):
        return self.http(HEALTH, "/readyz")

    def scrape(self):
        result = ns_run(NS_FW, "curl", "-sS", "--max-time", "3", f"http://{METRICS}/metrics", timeout=10)
        return daemon.Metrics(result.stdout)

    def dropped(self, reason):
        return self.scrape().get("sluice_dropped_packets_total", reason=reason)

    def admin(self, command):
        result = subprocess.run([daemon.SLUICECTL, command, "--socket", self.dir / "admin.sock"],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stdout + result.stderr


# Every test runs against one worker and against two (routed mode's several workers).
@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def appliance(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.fail("the e2e tests need root (network namespaces, DPDK af_packet, a tap)", pytrace=False)
    import fcntl
    Path(LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    node = None
    listeners = []
    try:
        destroy()
        create()
        node = Appliance(tmp_path_factory.mktemp("exception-port"), workers=request.param)
        node.start()
        # The kernel's services: echo servers on the own inside address, one listed, one not.
        for port in (SERVICE_PORT, UNLISTED_PORT):
            listeners.append(subprocess.Popen(
                rig.in_ns(NS_FW, "/usr/bin/python3", ECHO_SERVER, INSIDE, OUTSIDE, port),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        time.sleep(0.5)
        yield node
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()
        try:
            if node is not None:
                node.stop()
        finally:
            destroy()
            os.close(lock)


def tcp_exchange(ns, address, port, payload=b"hello\n", timeout=3):
    """Connect from `ns`, send `payload`, return what came back (b"" on a refused or silent port)."""
    script = (
        "import socket,sys\n"
        f"s=socket.create_connection(({address!r},{port}),timeout={timeout})\n"
        f"s.sendall({payload!r})\n"
        "sys.stdout.buffer.write(s.recv(4096))\n")
    result = ns_run(ns, "/usr/bin/python3", "-c", script, check=False, timeout=timeout + 10)
    return result.stdout.encode() if isinstance(result.stdout, str) else result.stdout


def connects(ns, address, port, timeout=2):
    """True when a TCP handshake to address:port completes from `ns`."""
    script = (
        "import socket,sys\n"
        f"s=socket.create_connection(({address!r},{port}),timeout={timeout})\n"
        "s.close()\n")
    return ns_run(ns, "/usr/bin/python3", "-c", script, check=False, timeout=timeout + 10).returncode == 0


def test_the_tap_is_set_up_for_the_kernels_answers(appliance):
    addresses = ns_run(NS_FW, "ip", "-4", "addr", "show", "dev", TAP).stdout
    assert f"{INSIDE}/32" in addresses and f"{OUTSIDE}/32" in addresses
    assert "NOARP" in ns_run(NS_FW, "ip", "link", "show", "dev", TAP).stdout
    rules = ns_run(NS_FW, "ip", "-4", "rule").stdout
    assert f"from {INSIDE} lookup 7913" in rules and f"from {OUTSIDE} lookup 7913" in rules
    assert f"dev {TAP}" in ns_run(NS_FW, "ip", "route", "get", CLIENT, "from", INSIDE).stdout


def test_kernel_service_answers_a_listed_client(appliance):
    before = appliance.scrape()
    assert tcp_exchange(NS_CL, INSIDE, SERVICE_PORT, b"through the tap\n") == b"through the tap\n"
    after = appliance.scrape()
    assert after.get("sluice_dropped_packets_total", reason="local_not_allowed") == \
        before.get("sluice_dropped_packets_total", reason="local_not_allowed")


def test_kernel_service_answers_clients_of_every_worker(appliance):
    """With two workers the tap is worker 0's: the other sends its frames to the kernel through
    the exception port's ring, and the kernel's answers come back through worker 0."""
    before = appliance.scrape()
    for source in MORE_CLIENTS:
        script = ("import socket,sys\n"
                  f"s=socket.create_connection(({INSIDE!r},{SERVICE_PORT}),timeout=3,source_address=({source!r},0))\n"
                  "s.sendall(b'from ' + sys.argv[1].encode() + b'\\n')\n"
                  "sys.stdout.write(s.recv(4096).decode())\n")
        result = ns_run(NS_CL, "/usr/bin/python3", "-c", script, source, check=False, timeout=15)
        assert result.stdout == f"from {source}\n", (source, result.stdout, result.stderr)
    if appliance.workers > 1:
        after = appliance.scrape()
        through_ring = sum(after.get("sluice_worker_handoff_packets_total", worker=str(w), direction="tx_ring") -
                           before.get("sluice_worker_handoff_packets_total", worker=str(w), direction="tx_ring")
                           for w in range(1, appliance.workers))
        assert through_ring > 0, "no frame went to the tap through its ring: no client was another worker's"


def test_unlisted_port_and_unlisted_source_are_dropped(appliance):
    before = appliance.dropped("local_not_allowed")
    assert not connects(NS_CL, INSIDE, UNLISTED_PORT)      # a kernel listener, never listed
    assert not connects(NS_PR, OUTSIDE, SERVICE_PORT)      # listed port, source not in 198.18.1.0/24
    daemon.wait_for(lambda: appliance.dropped("local_not_allowed") >= before + 2, "local_not_allowed drops")


def test_ping_to_the_appliance_is_a_kernel_service(appliance):
    result = ns_run(NS_CL, "ping", "-c", "2", "-W", "2", "-i", "0.3", INSIDE, check=False, timeout=15)
    assert result.returncode == 0, result.stdout + result.stderr


def test_probe_answered_while_ready_then_not_once_drained(appliance):
    assert connects(NS_PR, OUTSIDE, PROBE_PORT)
    assert connects(NS_CL, INSIDE, PROBE_PORT)  # on every own address
    appliance.admin("drain")
    try:
        before = appliance.dropped("health_probe_not_ready")
        assert appliance.readyz() == 503
        assert not connects(NS_PR, OUTSIDE, PROBE_PORT)
        assert appliance.dropped("health_probe_not_ready") > before
        # Drained is not dead: the kernel's services still answer.
        assert tcp_exchange(NS_CL, INSIDE, SERVICE_PORT) == b"hello\n"
    finally:
        appliance.admin("undrain")
    daemon.wait_for(lambda: connects(NS_PR, OUTSIDE, PROBE_PORT), "the probe to be answered again")


MARKER = b"SLUICE-EXCEPTION-MARKER"


def test_attack_nothing_unlisted_reaches_the_kernel(appliance, tmp_path):
    """Marker bytes in everything a client aims at the appliance's addresses that is not listed:
    no frame on the tap carries them. A listed control carries its own marker and must show."""
    capture = tmp_path / "tap.pcap"
    tcpdump = subprocess.Popen(rig.in_ns(NS_FW, "tcpdump", "-i", TAP, "-U", "-n", "-s", "0", "-w", capture),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        time.sleep(1.0)
        script = f"""
from scapy.all import Ether, IP, TCP, UDP, ICMP, sendp
m = {MARKER!r}
eth = Ether(src={CLIENT_MAC!r}, dst={INSIDE_MAC!r})
ip = dict(src={CLIENT!r}, dst={INSIDE!r})
frames = [
    eth / IP(**ip) / TCP(sport=40001, dport={UNLISTED_PORT}, flags="S") / m,          # unlisted TCP port
    eth / IP(**ip) / TCP(sport=40002, dport={UNLISTED_PORT}, flags="PA") / m,
    eth / IP(**ip) / UDP(sport=40003, dport={SERVICE_PORT}) / m,                     # listed port, wrong protocol
    eth / IP(**ip) / UDP(sport=40004, dport=53) / m,
    eth / IP(**ip) / ICMP(type=13) / m,                                              # ICMP, not an echo request
    eth / IP(**ip) / ICMP(type=0) / m,                                               # an echo reply
    eth / IP(**ip, proto=47) / m,                                                    # GRE
    eth / IP(**ip, proto=132) / m,                                                   # SCTP
    eth / IP(src="198.18.2.10", dst={INSIDE!r}) / TCP(sport=40005, dport={SERVICE_PORT}, flags="PA") / m,  # source not listed
    eth / IP(**ip) / TCP(sport=40006, dport={PROBE_PORT}, flags="PA") / m,           # the probe port is no kernel port
]
# No fragments here: net_af_packet's socket reassembles them (PACKET_FANOUT_FLAG_DEFRAG) before the
# worker sees them, which no DPDK-owned NIC does; the unit tests refuse fragments.
sendp(frames, iface="eth0", verbose=False)
# The control: a listed service's segment carries its own marker to the kernel.
sendp(eth / IP(**ip) / TCP(sport=40008, dport={SERVICE_PORT}, flags="S") / b"CONTROL-MARKER", iface="eth0", verbose=False)
"""
        ns_run(NS_CL, "/usr/bin/python3", "-c", script, timeout=60)
        time.sleep(1.5)
    finally:
        tcpdump.send_signal(signal.SIGINT)
        tcpdump.wait(timeout=10)
    data = capture.read_bytes()
    assert b"CONTROL-MARKER" in data, "the control never reached the tap: the capture proves nothing"
    assert MARKER not in data, "bytes a client aimed at an unlisted service reached the appliance's kernel"
