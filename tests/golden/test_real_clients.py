"""Real clients through `sluicectl replay`: the SNI and Host that tshark reads from a capture of
headless chromium, curl and python's ssl (pcaps/real_clients.pcap, made by
scripts/capture-real-clients.sh) are the names Sluice judges, flow for flow, and each verdict is
the one policies/real_clients.textproto implies for that name.

tshark is the reference: it reassembles TCP and TLS, so a ClientHello that spans two segments
(chromium's, with its X25519MLKEM768 key share, ~2 KB at MTU 1500) still has its SNI. Sluice's
output is never the expectation: per flow, the expected name comes from tshark and the expected
verdict from the policy's allowed_domains, read from the policy file, with POLICY.md's rules:

- a flow whose client sent no ClientHello or request: PENDING, `no_payload_seen`, no name;
- a ClientHello with an Encrypted Client Hello extension (0xfe0d; chromium sends a GREASE one in
  every hello): denied, `tls_ech`, recorded with its (outer) SNI;
- otherwise the normalised name (lower case, no trailing dot, no port; for an absolute-form
  request target, the target's host) decides: `allowed_domain` or `domain_not_allowed`.
"""

import ipaddress
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from checks import EVENT_TIME, FLOW_LOG_FIELDS, denial_fields, pop_event_id
from conftest import RUN_TIMEOUT_S, SOURCE_DIR, bindings_for, read_jsonl, run_sluicectl, write_learned_state
from policy_text import allowed_domains, domain_allowed

HERE = Path(__file__).resolve().parent
PCAP = HERE / "pcaps" / "real_clients.pcap"
POLICY = HERE / "policies" / "real_clients.textproto"
DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")
TSHARK = shutil.which("tshark")
if not TSHARK:
    pytest.skip("tshark is not installed: it is the reference that reads SNI and Host from "
                "pcaps/real_clients.pcap (Debian: apt-get install tshark)", allow_module_level=True)

TLS_PORT, HTTP_PORT = 443, 80
EXT_ENCRYPTED_CLIENT_HELLO = 0xFE0D
# policies/real_clients.textproto's attachments: source prefix -> (label, access type of a denial).
SOURCES = ((ipaddress.ip_network("198.18.7.0/24"), "real-clients-v4", "DROP"),
           (ipaddress.ip_network("2001:db8:7::/64"), "real-clients-v6", "DRY_RUN_DENIAL"))
POLICY_NAME = "real-clients"

SEP, AGG = "\x1e", "\x1f"  # never inside a field; note that str.splitlines() splits on \x1e
FIELDS = ("frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
          "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.len", "tls.handshake.type",
          "tls.handshake.extensions_server_name", "tls.handshake.extension.type",
          "tls.record.length", "tcp.segment.count", "http.request", "http.host",
          "http.request.uri")


def normalise(name):
    """A host as a policy matches it: lower case, no port or brackets, no trailing dot."""
    host = urlsplit("//" + name).hostname or ""
    return host.rstrip(".")


@dataclass
class TsharkFlow:
    client: str
    client_port: int
    server: str
    server_port: int
    stream: int
    payload_from_client: bool = False
    sni: str = None              # as tshark read it
    ech: bool = False            # the ClientHello has an encrypted_client_hello extension
    hello_bytes: int = 0         # the ClientHello's TLS record length
    hello_segments: int = 1      # TCP segments tshark reassembled it from
    host: str = None             # Host header, or the absolute-form target's host
    target: str = None

    @property
    def key(self):
        return (self.client, self.client_port, self.server, self.server_port)

    @property
    def name(self):
        raw = self.sni if self.sni is not None else self.host
        return normalise(raw) if raw is not None else None

    def describe(self):
        what = (f"SNI {self.sni!r}, ClientHello {self.hello_bytes} bytes in {self.hello_segments} "
                f"segment(s){', ECH extension' if self.ech else ''}" if self.sni is not None else
                f"Host {self.host!r} (target {self.target!r})" if self.host is not None else
                "no ClientHello or request")
        return (f"tcp.stream {self.stream}: {self.client}:{self.client_port} -> "
                f"{self.server}:{self.server_port}, {what}")


def _address(text):
    return str(ipaddress.ip_address(text))


def read_with_tshark(pcap):
    """Per TCP flow (keyed by the SYN's sender), the first ClientHello or request, as tshark sees it."""
    cmd = [TSHARK, "-r", str(pcap), "-n",
           "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tls.desegment_ssl_records:TRUE",
           "-o", "http.desegment_headers:TRUE",
           "-T", "fields", "-E", f"separator={SEP}", "-E", f"aggregator={AGG}", "-E", "occurrence=a"]
    for field in FIELDS:
        cmd += ["-e", field]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    flows, by_stream = {}, {}
    for line in proc.stdout.split("\n"):
        if not line:
            continue
        f = dict(zip(FIELDS, line.split(SEP)))
        if not f["tcp.stream"]:
            continue
        stream = int(f["tcp.stream"])
        src, dst = _address(f["ip.src"] or f["ipv6.src"]), _address(f["ip.dst"] or f["ipv6.dst"])
        sport, dport = int(f["tcp.srcport"]), int(f["tcp.dstport"])
        if f["tcp.flags.syn"] in ("1", "True") and f["tcp.flags.ack"] in ("0", "False"):
            if stream not in by_stream:
                by_stream[stream] = TsharkFlow(src, sport, dst, dport, stream)
                flows[by_stream[stream].key] = by_stream[stream]
            continue
        flow = by_stream.get(stream)
        if flow is None or (src, sport) != (flow.client, flow.client_port):
            continue  # the server's side, or a flow whose SYN is not in the capture
        if int(f["tcp.len"] or 0):
            flow.payload_from_client = True
        handshakes = f["tls.handshake.type"].split(AGG)
        if "1" in handshakes and flow.sni is None and flow.host is None:
            names = [n for n in f["tls.handshake.extensions_server_name"].split(AGG) if n]
            assert len(names) <= 1, f"tcp.stream {stream}: several SNIs {names}"
            flow.sni = names[0] if names else ""
            extensions = [int(t) for t in f["tls.handshake.extension.type"].split(AGG) if t]
            flow.ech = EXT_ENCRYPTED_CLIENT_HELLO in extensions
            flow.hello_bytes = int(f["tls.record.length"].split(AGG)[0] or 0)
            flow.hello_segments = int(f["tcp.segment.count"].split(AGG)[0] or 1)
        if f["http.request"] and flow.sni is None and flow.host is None:
            target = f["http.request.uri"].split(AGG)[0]
            hosts = [h for h in f["http.host"].split(AGG) if h]
            assert len(hosts) == 1, f"tcp.stream {stream}: Host headers {hosts}"
            flow.target = target
            flow.host = urlsplit(target).netloc if "://" in target else hosts[0]
    return flows


@dataclass
class Expected:
    verdict: str
    reason: str
    destination_type: str
    destination: str
    sni: str
    http_host: str
    source_label: str


def expect(flow, patterns):
    """What policies/real_clients.textproto implies for a flow tshark describes."""
    client = ipaddress.ip_address(flow.client)
    label, denial = next((label, denial) for net, label, denial in SOURCES if client in net)
    dtype = "SNI" if flow.server_port == TLS_PORT else "HTTP_HOST"
    name = flow.name
    if name is None:
        return Expected("PENDING", "no_payload_seen", dtype, flow.server, "", "", label)
    if dtype == "SNI" and flow.ech:
        verdict, reason = denial, "tls_ech"
    elif domain_allowed(name, patterns):
        verdict, reason = "ALLOW", "allowed_domain"
    else:
        verdict, reason = denial, "domain_not_allowed"
    return Expected(verdict, reason, dtype, name, name if dtype == "SNI" else "",
                    name if dtype == "HTTP_HOST" else "", label)


def _read_capture():
    try:
        return read_with_tshark(PCAP), None
    except (AssertionError, OSError, subprocess.SubprocessError, ValueError) as error:
        return {}, f"tshark cannot read {PCAP}: {error}"


# Read at collection time, so that each flow is its own test case.
TSHARK_FLOWS, TSHARK_ERROR = _read_capture()
FLOWS = sorted(TSHARK_FLOWS.values(), key=lambda f: f.stream)
PATTERNS = allowed_domains(POLICY.read_text(), POLICY_NAME)


def _flow_id(flow):
    family = "v6" if ":" in flow.client else "v4"
    return f"{family}-{flow.client_port}-{flow.server_port}-{flow.name or 'no-payload'}"


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """`sluicectl replay --json` over the capture as it is: both directions, in capture order."""
    workdir = tmp_path_factory.mktemp("real_clients")
    flows_path, denials_path = workdir / "flows.jsonl", workdir / "denials.jsonl"
    # The capture holds no DNS (its clients pinned names with --resolve): its servers are bound
    # as the answers the clients would have had bind them (docs/POLICY.md, "The name must match
    # the destination"); binding itself is tested in test_attacks.py and test_inside_port.py.
    state = write_learned_state(workdir / "learned.state",
                                bindings_for(POLICY, sorted({f.server for f in FLOWS})))
    proc = run_sluicectl("replay", "--policy", POLICY, "--pcap", PCAP, "--flows", flows_path,
                         "--denials", denials_path, "--learned-state", state, "--json")
    (workdir / "stdout.txt").write_text(proc.stdout)
    (workdir / "stderr.txt").write_text(proc.stderr)
    assert proc.returncode == 0, f"sluicectl replay exit {proc.returncode}\n{proc.stderr}"
    lines = proc.stdout.strip().split("\n")
    assert len(lines) == 1, f"--json prints one line: {proc.stdout!r}"
    return {"summary": json.loads(lines[0]), "flows": read_jsonl(flows_path) or [],
            "denials": read_jsonl(denials_path) or []}


def _key(line):
    return (_address(line["src_ip"]), line["src_port"], _address(line["dst_ip"]), line["dst_port"])


def test_tshark_reads_the_capture():
    """The committed capture is what the test is about: chromium hellos over two segments."""
    assert TSHARK_ERROR is None, TSHARK_ERROR
    assert FLOWS, f"tshark finds no TCP flow in {PCAP}"
    described = "\n".join(f.describe() for f in FLOWS)
    multi = [f for f in FLOWS if f.sni is not None and f.hello_segments >= 2]
    assert multi, f"no ClientHello spans two TCP segments:\n{described}"
    assert any(f.sni is not None and f.hello_segments == 1 for f in FLOWS), described
    assert any(f.host is not None and "://" in (f.target or "") for f in FLOWS), described
    assert {f.server_port for f in FLOWS} == {TLS_PORT, HTTP_PORT}, described
    for f in FLOWS:
        # A flow tshark names none of must be one that sent nothing: else tshark missed a name.
        assert f.name is not None or not f.payload_from_client, f.describe()
        assert f.name != "", f"an empty name: {f.describe()}"


@pytest.mark.parametrize("flow", FLOWS, ids=[_flow_id(f) for f in FLOWS])
def test_flow(replay, flow):
    """Sluice names the flow as tshark does, and judges that name as the policy says."""
    want = expect(flow, PATTERNS)
    mine = [line for line in replay["flows"] if _key(line) == flow.key]
    assert len(mine) == 1, f"{flow.describe()}: one flow-log line expected, got {mine}"
    line = mine[0]
    assert FLOW_LOG_FIELDS <= set(line), line
    got = {"sni": line["sni"], "http_host": line["http_host"], "destination": line["destination"],
           "destination_type": line["destination_type"], "verdict": line["verdict"],
           "reason": line["reason"], "policy": line["policy"],
           "source_label": line["source_label"], "protocol": line["protocol"]}
    expected = {"sni": want.sni, "http_host": want.http_host, "destination": want.destination,
                "destination_type": want.destination_type, "verdict": want.verdict,
                "reason": want.reason, "policy": POLICY_NAME, "source_label": want.source_label,
                "protocol": "TCP"}
    assert got == expected, (f"{flow.describe()}\n  sluice:   {got}\n  expected: {expected}")

    records = [r for r in replay["denials"] if _key(r) == flow.key]
    if want.verdict in ("ALLOW", "PENDING"):
        assert records == [], f"{flow.describe()}: no denial record expected, got {records}"
        return
    assert len(records) == 1, f"{flow.describe()}: one denial record expected, got {records}"
    record = dict(records[0])
    assert set(record) == set(DENIAL_FIELDS), sorted(record)
    assert EVENT_TIME.match(str(record.pop("event_time"))), records[0]
    pop_event_id(record)
    record.pop("appliance")  # replay names no appliance on its command line
    assert record == {"access_type": want.verdict, "policy": POLICY_NAME,
                      "source_label": want.source_label, "src_ip": line["src_ip"],
                      "src_port": flow.client_port, "dst_ip": line["dst_ip"],
                      "dst_port": flow.server_port, "protocol": "TCP",
                      "destination_type": want.destination_type,
                      "destination": want.destination, "reason": want.reason,
                      "flow_id": line["flow_id"], "count": 1}, flow.describe()


def test_no_other_flows(replay):
    """Sluice sees the flows tshark sees and no others, and its --json totals are theirs."""
    assert TSHARK_ERROR is None, TSHARK_ERROR
    sluice_keys = sorted(_key(line) for line in replay["flows"])
    assert sluice_keys == sorted(TSHARK_FLOWS), (
        f"only Sluice: {sorted(set(sluice_keys) - set(TSHARK_FLOWS))}\n"
        f"only tshark: {sorted(set(TSHARK_FLOWS) - set(sluice_keys))}")
    wants = [expect(f, PATTERNS).verdict for f in FLOWS]
    summary = replay["summary"]
    assert summary["flows"] == {"allowed": wants.count("ALLOW"), "denied": wants.count("DROP"),
                                "dry_run_denied": wants.count("DRY_RUN_DENIAL"),
                                "pending": wants.count("PENDING")}, summary
    assert summary["denial_records"] == wants.count("DROP") + wants.count("DRY_RUN_DENIAL"), summary
    assert summary["events_lost"] == 0 and summary["records_not_written"] == 0, summary
