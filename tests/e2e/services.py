"""The server namespace's services: nginx (HTTPS and HTTP, several names on one address, a
self-signed certificate made now), dnsmasq (the names below, short TTL), a TCP echo server.

Each runs in the foreground under `ip netns exec sle2e-srv`, started by `start_services` and
stopped by `stop_services`; their logs and configs stay in the work dir.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import rig

HERE = Path(__file__).resolve().parent

# Names nginx serves (one server block, one address, one certificate naming them all).
WWW = "www.e2e.example"          # allowed to c1/c2 (exact rule)
API = "api.e2e.example"          # allowed to c1/c2 (".api.e2e.example": apex ...)
API_SUB = "v2.api.e2e.example"   # ... and every name below
EVIL = "evil.e2e.example"        # allowed to nobody
PUBLIC = "public.e2e.example"    # allowed by the default policy only
DB = "db.e2e.example"            # only an address (the echo server), learned from DNS
WEB_NAMES = [WWW, API, API_SUB, EVIL, PUBLIC]
DNS_TTL = 2                      # seconds, every answer dnsmasq gives

# name -> (v4, v6) dnsmasq answers with
DNS_RECORDS = {name: (rig.WEB4, rig.WEB6) for name in WEB_NAMES}
DNS_RECORDS[DB] = (rig.DB4, rig.DB6)

NGINX_CONF = """\
worker_processes 1;
daemon off;
user root;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    default_type text/plain;
    keepalive_timeout 120s;
    keepalive_requests 100000;
    server {{
        listen {web4}:443 ssl;
        listen [{web6}]:443 ssl;
        listen {web4}:80;
        listen {rogue4}:443 ssl;  # a server no DNS answer names (the spoofed-name tests)
        listen {rogue4}:80;
        listen [{web6}]:80;
        server_name {names};
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{ return 200 "e2e $host $scheme\\n"; }}
        # test_client_tools.py: a dumb-HTTP git repository and a pip-like index, as plain files
        location /files/ {{ alias {dir}/files/; }}
    }}
}}
"""


def make_certificate(workdir):
    """A self-signed certificate (CA:TRUE, so clients can trust it directly) for every name."""
    san = ",".join(f"DNS:{name}" for name in WEB_NAMES)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=e2e.example", "-addext", f"subjectAltName={san}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", workdir / "key.pem", "-out", workdir / "cert.pem"],
                   check=True, capture_output=True)
    return workdir / "cert.pem"


def tcp_probe(address, port, family):
    return [sys.executable, "-c",
            f"import socket;s=socket.socket(socket.{family});s.settimeout(0.5);"
            f"s.connect(('{address}',{port}))"]


def dns_probe(address):
    return ["dig", f"@{address}", "+time=1", "+tries=1", "+short", WWW, "A"]


def wait_ready(probe, what, proc, timeout=10):
    """Until `probe` (a command run in the server namespace) succeeds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        result = subprocess.run(rig.in_ns(rig.NS_SRV, *probe), capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip() != ";; connection timed out":
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} is not ready: {' '.join(map(str, probe))}")


class Services:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.procs = {}
        self.cafile = None

    def _spawn(self, name, cmd):
        log = open(self.dir / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(rig.in_ns(rig.NS_SRV, *cmd), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)  # out of Ctrl-C's reach
        log.close()
        return self.procs[name]

    def start(self):
        self.cafile = make_certificate(self.dir)
        (self.dir / "tmp").mkdir(exist_ok=True)
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, web4=rig.WEB4, web6=rig.WEB6, rogue4=rig.ROGUE4,
                                          names=" ".join(WEB_NAMES)))
        nginx = self._spawn("nginx", ["nginx", "-c", conf, "-p", self.dir])

        dns_cmd = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                   "--no-poll", "--bind-interfaces", "--user=root", "--group=root",
                   f"--pid-file={self.dir / 'dnsmasq.pid'}",
                   f"--log-facility={self.dir / 'dnsmasq.log'}", "--log-queries",
                   f"--local-ttl={DNS_TTL}", f"--max-ttl={DNS_TTL}", "--cache-size=0"]
        for address in (rig.RESOLVER4, rig.ROGUE4, rig.RESOLVER6, rig.ROGUE6):
            dns_cmd.append(f"--listen-address={address}")
        for name, (v4, v6) in DNS_RECORDS.items():
            dns_cmd.append(f"--host-record={name},{v4},{v6}")
        dnsmasq = self._spawn("dnsmasq", dns_cmd)

        echo = self._spawn("echo", [sys.executable, HERE / "echo_server.py", rig.DB4, rig.DB6,
                                    str(rig.DB_PORT)])

        for address, family in ((rig.WEB4, "AF_INET"), (rig.WEB6, "AF_INET6")):
            wait_ready(tcp_probe(address, 443, family), "nginx", nginx)
            wait_ready(tcp_probe(address, 80, family), "nginx", nginx)
        for address, family in ((rig.DB4, "AF_INET"), (rig.DB6, "AF_INET6")):
            wait_ready(tcp_probe(address, rig.DB_PORT, family), "echo server", echo)
        for address in (rig.RESOLVER4, rig.ROGUE4, rig.RESOLVER6, rig.ROGUE6):
            wait_ready(dns_probe(address), "dnsmasq", dnsmasq)

    def check_alive(self):
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"server processes died: {dead} (logs in {self.dir})")

    def stop(self):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
