"""Chromium's QUIC Initials through `sluicectl replay`: the SNI that tshark reads from a capture
of headless chromium forced onto QUIC (pcaps/real_quic.pcap, made by
scripts/capture-quic-clients.sh) is the name Sluice judges, flow for flow, and each verdict is
the one policies/real_quic.textproto implies for that name.

tshark is the reference: it removes the Initials' protection itself and joins the CRYPTO frames
that chromium spreads over two datagrams (out of order, with PING and PADDING between them).
Sluice's output is never the expectation: per flow, the expected name comes from tshark and the
expected verdict from the policy's allowed_domains, read from the policy file (POLICY.md's
rules; the policy judges the outer SNI of chromium's GREASE ECH hello, ech_judge_outer_sni):

- the datagram in which tshark completes the ClientHello carries the verdict; the datagrams
  before it are held until then (docs/QUIC.md);
- allowed (`allowed_domain`) or DRY_RUN: every datagram of the flow is forwarded, unchanged, in
  capture order;
- denied in ENFORCE (`domain_not_allowed`): no datagram is forwarded; the held ones are freed,
  and the deciding datagram and every later one are each answered with an ICMP
  administratively-prohibited error;
- one flow-log line a flow (`destination_type: QUIC_SNI`, protocol UDP) and one denial record
  a denied flow.

No chromium is needed at test time: only the committed capture, tshark and the binaries.
"""

import ipaddress
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from scapy.layers.l2 import Ether

from checks import EVENT_TIME, FLOW_LOG_FIELDS, denial_fields, pop_event_id
from conftest import RUN_TIMEOUT_S, SOURCE_DIR, read_jsonl, run_sluicectl, bindings_for, write_learned_state
from policy_text import allowed_domains, domain_allowed
from pcapgen import frames

HERE = Path(__file__).resolve().parent
PCAP = HERE / "pcaps" / "real_quic.pcap"
POLICY = HERE / "policies" / "real_quic.textproto"
DENIAL_FIELDS = denial_fields(SOURCE_DIR / "proto" / "denial.proto")
TSHARK = shutil.which("tshark")
if not TSHARK:
    pytest.skip("tshark is not installed: it is the reference that reads the SNI of the QUIC "
                "Initials in pcaps/real_quic.pcap (Debian: apt-get install tshark)",
                allow_module_level=True)

QUIC_PORT = 443
QUIC_V1 = 0x00000001
# policies/real_quic.textproto's attachments: source prefix -> (label, access type of a denial).
SOURCES = ((ipaddress.ip_network("198.18.8.0/24"), "real-quic-v4", "DROP"),
           (ipaddress.ip_network("2001:db8:8::/64"), "real-quic-v6", "DRY_RUN_DENIAL"))
POLICY_NAME = "real-quic"

SEP, AGG = "\x1e", "\x1f"  # never inside a field; note that str.splitlines() splits on \x1e
FIELDS = ("frame.number", "udp.stream", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst",
          "udp.dstport", "udp.length", "quic.version", "quic.long.packet_type",
          "tls.handshake.type", "tls.handshake.extensions_server_name")


def _address(text):
    return str(ipaddress.ip_address(text))


@dataclass
class TsharkFlow:
    client: str
    client_port: int
    server: str
    server_port: int
    stream: int
    frames: list = field(default_factory=list)   # frame numbers (1-based), in capture order
    sizes: list = field(default_factory=list)    # UDP lengths
    versions: set = field(default_factory=set)
    sni: str = None                               # as tshark read it
    hello_frame: int = None                       # the datagram that completes the ClientHello

    @property
    def key(self):
        return (self.client, self.client_port, self.server, self.server_port)

    def describe(self):
        return (f"udp.stream {self.stream}: {self.client}:{self.client_port} -> "
                f"{self.server}:{self.server_port}, SNI {self.sni!r} complete in frame "
                f"{self.hello_frame}, datagrams {self.frames} of {self.sizes} bytes")


def read_with_tshark(pcap):
    """Per UDP flow, its datagrams and the first ClientHello's SNI, as tshark reads them."""
    cmd = [TSHARK, "-r", str(pcap), "-n", "-T", "fields", "-E", f"separator={SEP}",
           "-E", f"aggregator={AGG}", "-E", "occurrence=a"]
    for name in FIELDS:
        cmd += ["-e", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    flows = {}
    for line in proc.stdout.split("\n"):
        if not line:
            continue
        f = dict(zip(FIELDS, line.split(SEP)))
        stream = int(f["udp.stream"])
        if stream not in flows:
            flows[stream] = TsharkFlow(_address(f["ip.src"] or f["ipv6.src"]), int(f["udp.srcport"]),
                                       _address(f["ip.dst"] or f["ipv6.dst"]), int(f["udp.dstport"]),
                                       stream)
        flow = flows[stream]
        flow.frames.append(int(f["frame.number"]))
        flow.sizes.append(int(f["udp.length"]))
        flow.versions |= {int(v, 16) for v in f["quic.version"].split(AGG) if v}
        if "1" in f["tls.handshake.type"].split(AGG) and flow.sni is None:
            names = [n for n in f["tls.handshake.extensions_server_name"].split(AGG) if n]
            assert len(names) <= 1, f"udp.stream {stream}: several SNIs {names}"
            flow.sni = names[0] if names else ""
            flow.hello_frame = int(f["frame.number"])
    return {flow.key: flow for flow in flows.values()}


@dataclass
class Expected:
    verdict: str
    reason: str
    source_label: str


def expect(flow, patterns):
    """What policies/real_quic.textproto implies for a flow tshark describes."""
    client = ipaddress.ip_address(flow.client)
    label, denial = next((label, denial) for net, label, denial in SOURCES if client in net)
    if domain_allowed(flow.sni.lower().rstrip("."), patterns):
        return Expected("ALLOW", "allowed_domain", label)
    return Expected(denial, "domain_not_allowed", label)


def _read_capture():
    try:
        return read_with_tshark(PCAP), None
    except (AssertionError, OSError, subprocess.SubprocessError, ValueError) as error:
        return {}, f"tshark cannot read {PCAP}: {error}"


# Read at collection time, so that each flow is its own test case.
TSHARK_FLOWS, TSHARK_ERROR = _read_capture()
FLOWS = sorted(TSHARK_FLOWS.values(), key=lambda f: f.stream)
PATTERNS = allowed_domains(POLICY.read_text(), POLICY_NAME)
CAPTURED = frames.read_pcap_frames(PCAP)  # raw frames; frame number n is CAPTURED[n - 1]


def _flow_id(flow):
    family = "v6" if ":" in flow.client else "v4"
    return f"{family}-{flow.client_port}-{flow.sni or 'no-sni'}"


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """`sluicectl replay --json` over the capture as it is, in capture order."""
    workdir = tmp_path_factory.mktemp("real_quic")
    paths = {what: workdir / name for what, name in (
        ("flows", "flows.jsonl"), ("denials", "denials.jsonl"),
        ("forwarded", "forwarded.pcap"), ("replies", "replies.pcap"))}
    # No DNS in the capture (the clients pinned their names): its servers are bound as the
    # clients' answers would bind them (docs/POLICY.md, "The name must match the destination").
    state = write_learned_state(workdir / "learned.state",
                                bindings_for(POLICY, sorted({f.server for f in FLOWS})))
    proc = run_sluicectl("replay", "--policy", POLICY, "--pcap", PCAP, "--flows", paths["flows"],
                         "--denials", paths["denials"], "--forwarded", paths["forwarded"],
                         "--replies", paths["replies"], "--learned-state", state, "--json")
    (workdir / "stdout.txt").write_text(proc.stdout)
    (workdir / "stderr.txt").write_text(proc.stderr)
    assert proc.returncode == 0, f"sluicectl replay exit {proc.returncode}\n{proc.stderr}"
    lines = proc.stdout.strip().split("\n")
    assert len(lines) == 1, f"--json prints one line: {proc.stdout!r}"
    return {"summary": json.loads(lines[0]), "flows": read_jsonl(paths["flows"]) or [],
            "denials": read_jsonl(paths["denials"]) or [],
            "forwarded": frames.read_pcap_frames(paths["forwarded"]),
            "replies": frames.read_pcap_frames(paths["replies"])}


def _key(line):
    return (_address(line["src_ip"]), line["src_port"], _address(line["dst_ip"]), line["dst_port"])


def _frames_of(flow, raw_frames):
    key = frames.flow_key_of(flow.client, flow.client_port, flow.server, flow.server_port, "UDP")
    return [raw for raw in raw_frames if frames.flow_key(Ether(raw)) == key]


def test_tshark_reads_the_capture():
    """The committed capture is what the test is about: chromium's QUIC v1 Initials, each
    ClientHello over more than one datagram, every datagram padded to 1200 bytes or more."""
    assert TSHARK_ERROR is None, TSHARK_ERROR
    assert len(CAPTURED) == sum(len(f.frames) for f in FLOWS), "a datagram outside a UDP flow"
    described = "\n".join(f.describe() for f in FLOWS)
    assert FLOWS, f"tshark finds no UDP flow in {PCAP}"
    assert {":" in f.client for f in FLOWS} == {False, True}, f"IPv4 and IPv6 flows:\n{described}"
    verdicts = {expect(f, PATTERNS).verdict for f in FLOWS}
    assert verdicts == {"ALLOW", "DROP", "DRY_RUN_DENIAL"}, described
    for f in FLOWS:
        assert f.server_port == QUIC_PORT, f.describe()
        assert f.versions == {QUIC_V1}, f.describe()
        assert f.sni, f"tshark reads no SNI: {f.describe()}"
        assert f.hello_frame != f.frames[0], f"the ClientHello fits one datagram: {f.describe()}"
        assert min(f.sizes) >= 1200 + 8, f"an Initial datagram under 1200 bytes: {f.describe()}"


@pytest.mark.parametrize("flow", FLOWS, ids=[_flow_id(f) for f in FLOWS])
def test_flow(replay, flow):
    """Sluice names the flow as tshark does, judges that name as the policy says, and forwards,
    drops and answers the flow's datagrams as the verdict says."""
    want = expect(flow, PATTERNS)
    name = flow.sni.lower().rstrip(".")
    mine = [line for line in replay["flows"] if _key(line) == flow.key]
    assert len(mine) == 1, f"{flow.describe()}: one flow-log line expected, got {mine}"
    line = mine[0]
    assert FLOW_LOG_FIELDS <= set(line), line
    got = {"sni": line["sni"], "destination": line["destination"],
           "destination_type": line["destination_type"], "verdict": line["verdict"],
           "reason": line["reason"], "policy": line["policy"],
           "source_label": line["source_label"], "protocol": line["protocol"]}
    expected = {"sni": name, "destination": name, "destination_type": "QUIC_SNI",
                "verdict": want.verdict, "reason": want.reason, "policy": POLICY_NAME,
                "source_label": want.source_label, "protocol": "UDP"}
    assert got == expected, f"{flow.describe()}\n  sluice:   {got}\n  expected: {expected}"

    # Datagrams: those before the deciding one wait for it; it and the later ones carry the verdict.
    datagrams = [CAPTURED[n - 1] for n in flow.frames]
    deciding = flow.frames.index(flow.hello_frame)
    if want.verdict == "DROP":
        forwarded, dropped = [], datagrams[deciding:]
    else:
        forwarded, dropped = datagrams, []
    assert _frames_of(flow, replay["forwarded"]) == forwarded, f"forwarded: {flow.describe()}"
    replies = [bytes(frames.expected_icmp_unreachable(Ether(d))) for d in dropped]
    assert _frames_of(flow, replay["replies"]) == replies, f"ICMP replies: {flow.describe()}"

    records = [r for r in replay["denials"] if _key(r) == flow.key]
    if want.verdict == "ALLOW":
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
                      "dst_port": flow.server_port, "protocol": "UDP",
                      "destination_type": "QUIC_SNI", "destination": name,
                      "reason": want.reason, "flow_id": line["flow_id"], "count": 1}, flow.describe()


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
                                "pending": 0}, summary
    assert summary["denial_records"] == wants.count("DROP") + wants.count("DRY_RUN_DENIAL"), summary
    assert summary["events_lost"] == 0 and summary["records_not_written"] == 0, summary
