"""The processes of the routed-mode hub rig (hub_rig.py): the server's services and one sluiced a
hub appliance, each in its namespace, with their configs, policy and logs in the run's work dir."""

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import daemon
import hub_rig as hub
import rig

HERE = Path(__file__).resolve().parent

# An HTTP server that answers every request with the address and port it came from, so that a
# test sees the source the internet saw (SNAT).
WHOAMI_SERVER = r'''
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{self.client_address[0]} {self.client_address[1]} {self.headers.get('Host')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
'''


def policy_text():
    """Spokes reach the allowed name over HTTP, ICMP and the echo port of the server, and the
    resolver; nothing else."""
    return f"""# Written by tests/e2e/hub_processes.py
name: "hub"
policies {{
  name: "spokes"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "{hub.ALLOWED_NAME}"
  allowed_networks {{ cidr: "{hub.SERVER4}/32" protocol: ICMP }}
  allowed_networks {{ cidr: "{hub.SERVER4}/32" protocol: TCP ports: "{hub.ECHO_PORT}" }}
  dns_resolvers: "{hub.RESOLVER4}"
}}
policies {{
  name: "deny-all"
  access_mode: RESTRICTED
  enforcement: ENFORCE
}}
attachments {{ source_cidr: "{hub.SPOKES4}" policy: "spokes" source_label: "spoke" }}
default_policy: "deny-all"
default_source_label: "unattached"
"""


class Server:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.procs = {}

    def _spawn(self, name, cmd):
        with open(self.dir / f"{name}.out", "w") as log:
            self.procs[name] = subprocess.Popen(rig.in_ns(hub.NS_SERVER, *cmd), stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)

    def start(self):
        script = self.dir / "whoami_server.py"
        script.write_text(WHOAMI_SERVER)
        self._spawn("http", ["/usr/bin/python3", script, hub.SERVER4, hub.HTTP_PORT])
        self._spawn("echo", ["/usr/bin/python3", HERE / "echo_server.py", hub.SERVER4, hub.ECHO_PORT])
        self._spawn("dnsmasq", ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                                "--bind-interfaces", "--user=root", "--group=root",
                                f"--pid-file={self.dir / 'dnsmasq.pid'}", f"--listen-address={hub.RESOLVER4}",
                                "--local-ttl=60", "--cache-size=0",
                                f"--host-record={hub.ALLOWED_NAME},{hub.SERVER4}",
                                f"--host-record={hub.DENIED_NAME},{hub.SERVER4}"])
        for port in (hub.HTTP_PORT, hub.ECHO_PORT):
            daemon.wait_for(lambda port=port: rig.nsh(hub.NS_SERVER, "nc", "-z", "-w", "1", hub.SERVER4, port,
                                                      check=False).returncode == 0,
                            f"the server's port {port}", timeout=10)
        daemon.wait_for(lambda: rig.nsh(hub.NS_SERVER, "dig", "+short", "+time=1", "+tries=1",
                                        f"@{hub.RESOLVER4}", hub.ALLOWED_NAME, check=False).stdout.strip(),
                        "dnsmasq", timeout=10)

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def appliance_config(appliance, workdir, workers=1):
    # Jumbo frames on the inside (MTU 9000) arrive whole: one af_packet ring frame holds one
    # (test_routed.py's routed_rig.py explains the sizes). Several workers: one queue pair each
    # (the kernel's fanout spreads frames over them; the workers steer them to their owner).
    af_packet = "framesz=9216,blocksz=36864" + (f",qpairs={workers}" if workers > 1 else "")
    lcores = ", ".join(str(lcore) for lcore in range(1, workers + 1))
    return f"""# Written by tests/e2e/hub_processes.py
appliance_name: "hub-{appliance.name}"
ports {{ device: "net_af_packet0,iface=in0,{af_packet}" role: INSIDE
        addresses: "{appliance.inside4}/24" mtu: {hub.INSIDE_MTU} }}
ports {{ device: "net_af_packet1,iface=out0,{af_packet}" role: OUTSIDE
        addresses: "{appliance.outside4}/24" mtu: {hub.OUTSIDE_MTU} }}
worker_lcores: [{lcores}]
flow_capacity: 65536
policy_path: "{workdir / 'policy.textproto'}"
log_dir: "{workdir / 'log'}"
flow_log_path: "{workdir / 'flows.jsonl'}"
metrics_address: "127.0.0.1:9617"
health_address: "127.0.0.1:9618"
admin_socket: "{workdir / 'admin.sock'}"
hyperscan_cache_dir: ""
watch_policy_file: false
eal_args: ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
           "--file-prefix", "{rig.PREFIX}hub-{appliance.name}-{os.getpid()}"]
routing {{
  mode: ROUTED
  routes {{ prefix: "0.0.0.0/0" via: "{hub.ROUTER4}" port: OUTSIDE snat: true }}
  routes {{ prefix: "{hub.SPOKES4}" via: "{hub.LB_HUB4}" port: INSIDE }}
  snat {{ addresses: "{appliance.outside4}" }}
  health_probe {{ tcp_port: {hub.PROBE_PORT} }}
  dns_forwarder {{ enabled: true }}
}}
"""


class HubAppliance:
    """sluiced of one hub appliance in its namespace."""

    def __init__(self, appliance, workdir, workers=1):
        self.appliance = appliance
        self.ns = appliance.ns
        self.dir = Path(workdir)
        (self.dir / "log").mkdir(parents=True, exist_ok=True)
        (self.dir / "policy.textproto").write_text(policy_text())
        self.config = self.dir / "appliance.textproto"
        self.config.write_text(appliance_config(appliance, self.dir, workers))
        self.proc = None
        self.starts = 0

    def _http(self, path):
        result = subprocess.run(rig.in_ns(self.ns, "curl", "-sS", "--max-time", "3", "-o", "-", "-w", "\n%{http_code}",
                                          f"http://{path}"), capture_output=True, text=True, timeout=10)
        body, _, status = result.stdout.rpartition("\n")
        return int(status or 0), body

    def start(self):
        self.starts += 1
        self.out = self.dir / f"sluiced-{self.starts}.out"
        self.err = self.dir / f"sluiced-{self.starts}.err"
        command = rig.in_ns(self.ns, daemon.SLUICED, "--config", self.config, "--denial-aggregation-ms", "0")
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + daemon.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced {self.appliance.name} exited with {self.proc.returncode}\n"
                                   + self.describe())
            if self._http("127.0.0.1:9618/readyz")[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"sluiced {self.appliance.name} did not become ready\n" + self.describe())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def describe(self):
        text = ""
        for path in (getattr(self, "out", None), getattr(self, "err", None)):
            if path and path.exists():
                text += f"--- {path}\n{path.read_text()[-3000:]}\n"
        return text

    def scrape(self):
        status, text = self._http("127.0.0.1:9617/metrics")
        assert status == 200, f"/metrics of {self.appliance.name} answered {status}"
        return daemon.Metrics(text)

    def denials(self):
        return daemon.read_jsonl(self.dir / "log" / "denials.jsonl")

    def flows(self):
        return daemon.read_jsonl(self.dir / "flows.jsonl")

    def sluicectl(self, *args):
        return subprocess.run([daemon.SLUICECTL, *args, "--socket", self.dir / "admin.sock"], capture_output=True,
                              text=True, timeout=10)


LOCK_FILE = rig.LOCK_FILE + ".hub"  # its own: the bridge rig's session lock may be held by this very process


@contextlib.contextmanager
def running_hub(tag, workers=1):
    """The hub rig with its server and fw1 running (fw1's sluiced with `workers` workers; fw2
    made, not started), the hash router sending everything to fw1. Removed at the end, also on
    failure. Yields {name: HubAppliance}."""
    if os.geteuid() != 0:
        raise RuntimeError("the e2e tests need root (network namespaces, DPDK af_packet)")
    lock = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    workdir = Path(os.environ.get("SLUICE_E2E_WORKDIR") or "/tmp/sluice-e2e") / \
        f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    workdir.mkdir(parents=True)
    server = None
    appliances = {}
    try:
        hub.destroy()
        hub.create()
        server = Server(workdir / "server")
        server.start()
        for name, appliance in hub.APPLIANCES.items():
            appliances[name] = HubAppliance(appliance, workdir / name, workers if name == "fw1" else 1)
        appliances["fw1"].start()
        hub.route_through("fw1")
        yield appliances
    finally:
        try:
            for appliance in appliances.values():
                appliance.stop()
            if server is not None:
                server.stop()
        finally:
            hub.destroy()
            os.close(lock)


if __name__ == "__main__":
    sys.exit("imported by test_routed_hub.py")
