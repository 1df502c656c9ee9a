"""Storage destinations through `sluicectl replay` (docs/POLICY.md, "Storage destinations"):
for each provider an allowed account or bucket passes (its name resolved through the appliance,
the answer entering on the outside port, so the name is bound like any allowed domain), another
account or bucket is denied and recorded as STORAGE, a path-style request under TLS is denied by
its own reason and passes with the entry's opt-in, and over plain HTTP the path's bucket is
judged, on every request of the connection. Expectations come from policies/storage.textproto
and the contract, never from the program's output. The validator's errors for names outside the
providers' rules close the file."""

import json
import re
from pathlib import Path

import pytest

from checks import apply_patch
from conftest import run_replay, run_sluicectl
from pcapgen import frames
from pcapgen.tls import client_hello

POLICY = Path(__file__).resolve().parent / "policies" / "storage.textproto"
LAKE_HOST, PATH_STYLE_HOST = "198.18.1.10", "198.18.2.10"
RESOLVER = "198.19.255.53"
AZURE_SERVER, S3_SERVER, S3_SHARED, GCS_SERVER, GCS_SHARED = (
    "198.19.10.1", "198.19.20.1", "198.19.20.2", "198.19.30.1", "198.19.30.2")


class Traffic:
    """One capture: DNS lookups (answers from the outside), then TLS and HTTP connections."""

    def __init__(self):
        self.packets = []
        self.dns_port = 40000

    def resolve(self, client, name, address):
        self.dns_port += 1
        query = frames.dns_query(client, self.dns_port, RESOLVER, name, query_id=self.dns_port)
        self.packets += [query, frames.dns_answer(query, address)]

    def connect(self, client, sport, server, dport, *messages):
        flow = frames.TcpFlow(client, sport, server, dport)
        self.packets += [flow.syn(), flow.syn_ack(), flow.ack()]
        self.packets += [flow.data(message) for message in messages]

    def tls(self, client, sport, server, sni):
        self.connect(client, sport, server, 443, client_hello(sni))

    def http(self, client, sport, server, host, *paths):
        self.connect(client, sport, server, 80, *[frames.http_get(host, path) for path in paths])


def _traffic():
    t = Traffic()
    # The clients resolve what they use; a name the policy does not list is not resolved (its
    # query is denied) and its clients connect to an address they know.
    for name, address in [("acmedata.blob.core.windows.net", AZURE_SERVER),
                          ("acmedata.dfs.core.windows.net", AZURE_SERVER),
                          ("acme-logs.s3.eu-west-1.amazonaws.com", S3_SERVER),
                          ("s3.eu-west-1.amazonaws.com", S3_SHARED),
                          ("acme-ml.storage.googleapis.com", GCS_SERVER),
                          ("storage.googleapis.com", GCS_SHARED)]:
        t.resolve(LAKE_HOST, name, address)
    t.resolve(LAKE_HOST, "evil.blob.core.windows.net", AZURE_SERVER)  # denied query
    for name, address in [("s3.eu-west-1.amazonaws.com", S3_SHARED), ("storage.googleapis.com", GCS_SHARED)]:
        t.resolve(PATH_STYLE_HOST, name, address)

    t.tls(LAKE_HOST, 50001, AZURE_SERVER, "acmedata.blob.core.windows.net")
    t.tls(LAKE_HOST, 50002, AZURE_SERVER, "acmedata.dfs.core.windows.net")
    t.tls(LAKE_HOST, 50003, AZURE_SERVER, "evil.blob.core.windows.net")
    t.tls(LAKE_HOST, 50004, AZURE_SERVER, "acmedata.queue.core.windows.net")  # a service not listed
    t.tls(LAKE_HOST, 50011, S3_SERVER, "acme-logs.s3.eu-west-1.amazonaws.com")
    t.tls(LAKE_HOST, 50012, S3_SERVER, "other-team.s3.eu-west-1.amazonaws.com")
    t.tls(LAKE_HOST, 50013, S3_SHARED, "s3.eu-west-1.amazonaws.com")
    t.http(LAKE_HOST, 50014, S3_SHARED, "s3.eu-west-1.amazonaws.com", "/acme-logs/2026/part-0.parquet")
    t.http(LAKE_HOST, 50015, S3_SHARED, "s3.eu-west-1.amazonaws.com", "/other-team/loot.csv")
    t.http(LAKE_HOST, 50016, S3_SHARED, "s3.eu-west-1.amazonaws.com", "/acme-logs/a", "/other-team/b")
    t.http(LAKE_HOST, 50017, S3_SHARED, "s3.eu-west-1.amazonaws.com", "/acme-logs/../other-team/c")
    t.tls(LAKE_HOST, 50021, GCS_SERVER, "acme-ml.storage.googleapis.com")
    t.tls(LAKE_HOST, 50022, GCS_SERVER, "evil-ml.storage.googleapis.com")
    t.tls(LAKE_HOST, 50023, GCS_SHARED, "storage.googleapis.com")
    t.http(LAKE_HOST, 50024, GCS_SHARED, "storage.googleapis.com", "/storage/v1/b/acme-ml/o/model.bin")
    t.http(LAKE_HOST, 50025, GCS_SHARED, "storage.googleapis.com", "/download/storage/v1/b/evil-ml/o/x")
    t.tls(PATH_STYLE_HOST, 50031, S3_SHARED, "s3.eu-west-1.amazonaws.com")
    t.tls(PATH_STYLE_HOST, 50032, GCS_SHARED, "storage.googleapis.com")
    t.http(PATH_STYLE_HOST, 50033, S3_SHARED, "s3.eu-west-1.amazonaws.com", "/other-team/loot.csv")
    return t.packets


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    run = run_replay(tmp_path_factory.mktemp("storage"), POLICY, _traffic(), outside_mac=frames.UPSTREAM_MAC)
    assert run.returncode == 0, run.describe()
    return run


def _flow(run, sport):
    """The flow's last flow-log line (a later request's denial is a line of its own)."""
    lines = [f for f in run.flows if f["src_port"] == sport and f["protocol"] == "TCP"]
    assert lines, (sport, run.flows)
    return lines[-1]


def _denial(run, sport):
    found = [d for d in run.denials if d["src_port"] == sport and d["protocol"] == "TCP"]
    assert len(found) == 1, (sport, run.denials)
    return found[0]


def _storage(hostname, reason, *, path="", path_style=False, provider):
    return {"hostname": hostname, "path": path, "rejection_reason": reason, "path_style": path_style,
            "provider": provider}


ALLOWED = [  # (sport, reason, destination)
    (50001, "allowed_domain", "acmedata.blob.core.windows.net"),
    (50002, "allowed_domain", "acmedata.dfs.core.windows.net"),
    (50011, "allowed_domain", "acme-logs.s3.eu-west-1.amazonaws.com"),
    (50014, "allowed_domain", "s3.eu-west-1.amazonaws.com"),
    (50021, "allowed_domain", "acme-ml.storage.googleapis.com"),
    (50024, "allowed_domain", "storage.googleapis.com"),
    (50031, "allowed_storage_path_style", "s3.eu-west-1.amazonaws.com"),
    (50032, "allowed_storage_path_style", "storage.googleapis.com"),
]

DENIED = [  # (sport, reason, destination, storage_event)
    (50003, "domain_not_allowed", "evil.blob.core.windows.net",
     _storage("https://evil.blob.core.windows.net", "domain_not_allowed", provider="AZURE")),
    (50004, "domain_not_allowed", "acmedata.queue.core.windows.net",
     _storage("https://acmedata.queue.core.windows.net", "domain_not_allowed", provider="AZURE")),
    (50012, "domain_not_allowed", "other-team.s3.eu-west-1.amazonaws.com",
     _storage("s3://other-team", "domain_not_allowed", provider="S3")),
    (50013, "storage_path_style_not_allowed", "s3.eu-west-1.amazonaws.com",
     _storage("https://s3.eu-west-1.amazonaws.com", "storage_path_style_not_allowed", path_style=True,
              provider="S3")),
    (50015, "storage_bucket_not_allowed", "s3.eu-west-1.amazonaws.com",
     _storage("s3://other-team", "storage_bucket_not_allowed", path="/other-team/loot.csv", path_style=True,
              provider="S3")),
    (50016, "storage_bucket_not_allowed", "s3.eu-west-1.amazonaws.com",
     _storage("s3://other-team", "storage_bucket_not_allowed", path="/other-team/b", path_style=True,
              provider="S3")),
    (50017, "storage_bucket_not_allowed", "s3.eu-west-1.amazonaws.com",
     _storage("http://s3.eu-west-1.amazonaws.com", "storage_bucket_not_allowed",
              path="/acme-logs/../other-team/c", path_style=True, provider="S3")),
    (50022, "domain_not_allowed", "evil-ml.storage.googleapis.com",
     _storage("gs://evil-ml", "domain_not_allowed", provider="GCS")),
    (50023, "storage_path_style_not_allowed", "storage.googleapis.com",
     _storage("https://storage.googleapis.com", "storage_path_style_not_allowed", path_style=True,
              provider="GCS")),
    (50025, "storage_bucket_not_allowed", "storage.googleapis.com",
     _storage("gs://evil-ml", "storage_bucket_not_allowed", path="/download/storage/v1/b/evil-ml/o/x",
              path_style=True, provider="GCS")),
    (50033, "storage_bucket_not_allowed", "s3.eu-west-1.amazonaws.com",
     _storage("s3://other-team", "storage_bucket_not_allowed", path="/other-team/loot.csv", path_style=True,
              provider="S3")),
]


@pytest.mark.parametrize("sport,reason,destination", ALLOWED, ids=[str(a[0]) for a in ALLOWED])
def test_listed_storage_passes(replay, sport, reason, destination):
    flow = _flow(replay, sport)
    assert (flow["verdict"], flow["reason"], flow["destination"]) == ("ALLOW", reason, destination), flow
    # Allowed flows are STORAGE with their storage event too, as denials are.
    assert flow["destination_type"] == "STORAGE", flow
    assert flow["storage_event"]["rejection_reason"] == "", flow
    assert flow["storage_event"]["path_style"] == (destination in ("s3.eu-west-1.amazonaws.com",
                                                                   "storage.googleapis.com")), flow
    assert not [d for d in replay.denials if d["src_port"] == sport], replay.denials


@pytest.mark.parametrize("sport,reason,destination,storage", DENIED, ids=[str(d[0]) for d in DENIED])
def test_other_storage_is_denied_and_recorded_as_storage(replay, sport, reason, destination, storage):
    flow = _flow(replay, sport)
    assert (flow["verdict"], flow["reason"]) == ("DROP", reason), flow
    record = _denial(replay, sport)
    assert (record["destination_type"], record["destination"], record["reason"]) == \
        ("STORAGE", destination, reason), record
    assert record["storage_event"] == storage, record


def test_path_style_opt_in_is_said_in_the_flow_log(replay):
    for sport, endpoint in [(50031, "https://s3.eu-west-1.amazonaws.com"), (50032, "https://storage.googleapis.com")]:
        flow = _flow(replay, sport)
        assert flow["storage_event"]["hostname"] == endpoint, flow
        assert flow["storage_event"]["path_style"] is True, flow


def test_dns_for_listed_storage_passes_and_for_others_is_denied(replay):
    dns_denials = [d for d in replay.denials if d["destination_type"] == "DNS"]
    assert [(d["destination"], d["reason"]) for d in dns_denials] == \
        [("evil.blob.core.windows.net", "dns_name_not_allowed")], dns_denials


def test_unresolved_listed_name_is_not_bound(tmp_path):
    """Expansion goes through the allowed-domain path, binding included: without the answer the
    listed account's name to an unknown address is name_address_mismatch."""
    t = Traffic()
    t.tls(LAKE_HOST, 50041, "198.19.99.9", "acmedata.blob.core.windows.net")
    run = run_replay(tmp_path, POLICY, t.packets, outside_mac=frames.UPSTREAM_MAC)
    assert run.returncode == 0, run.describe()
    record = _denial(run, 50041)
    assert (record["reason"], record["destination_type"]) == ("name_address_mismatch", "STORAGE"), record


BAD_STORAGE = """\
policies {
  name: "lake" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_storage { azure_account { name: "Acme-Data" services: BLOB } }
  allowed_storage { s3_bucket { name: "xn--acme" regions: "eu-west-1" } }
  allowed_storage { s3_bucket { name: "acme..logs" regions: "eu-west-1" } }
  allowed_storage { s3_bucket { name: "198.18.5.4" regions: "eu-west-1" } }
  allowed_storage { s3_bucket { name: "acme-s3alias" regions: "eu-west-1" } }
  allowed_storage { gcs_bucket { name: "google-data" } }
  allowed_storage { azure_account { name: "acmedata" services: BLOB } allow_path_style_endpoints: true }
}
default_policy: "lake"
"""


def test_validator_refuses_names_outside_the_providers_rules(tmp_path):
    path = tmp_path / "bad.textproto"
    path.write_text(BAD_STORAGE)
    proc = run_sluicectl("validate", path)
    assert proc.returncode == 1, proc
    expected = [
        (3, r"allowed_storage\[0\]\.azure_account\.name", "only lower-case letters and digits"),
        (4, r"allowed_storage\[1\]\.s3_bucket\.name", 'must not start with "xn--"'),
        (5, r"allowed_storage\[2\]\.s3_bucket\.name", "two adjacent dots"),
        (6, r"allowed_storage\[3\]\.s3_bucket\.name", "formatted as an IP address"),
        (7, r"allowed_storage\[4\]\.s3_bucket\.name", 'must not end with "-s3alias"'),
        (8, r"allowed_storage\[5\]\.gcs_bucket\.name", 'must not start with "goog"'),
        (9, r"allowed_storage\[6\]\.allow_path_style_endpoints", "only S3 and GCS buckets"),
    ]
    for line, field, message in expected:
        pattern = re.compile(r"bad\.textproto:%d: policies\[0\]\.%s: .*%s" % (line, field, re.escape(message)))
        assert pattern.search(proc.stderr), (line, field, proc.stderr)


def test_storage_policy_validates():
    proc = run_sluicectl("validate", POLICY)
    assert proc.returncode == 0, proc.stderr


def test_explain_names_the_storage_entry_and_the_path_style_reason():
    policy = str(POLICY)
    proc = run_sluicectl("explain", policy, LAKE_HOST, "acme-logs.s3.eu-west-1.amazonaws.com")
    assert proc.returncode == 0, proc.stderr
    assert "ALLOW allowed_domain" in proc.stdout, proc.stdout
    assert "is a host name of policy lake's allowed_storage" in proc.stdout, proc.stdout
    proc = run_sluicectl("explain", policy, LAKE_HOST, "s3.eu-west-1.amazonaws.com")
    assert "DROP storage_path_style_not_allowed" in proc.stdout, proc.stdout
    proc = run_sluicectl("explain", policy, PATH_STYLE_HOST, "s3.eu-west-1.amazonaws.com")
    assert "ALLOW allowed_storage_path_style" in proc.stdout, proc.stdout


def test_no_byte_reaches_a_bucket_the_policy_does_not_list(tmp_path):
    """Scored by bytes: every byte of a denied upload (a marker in each) stays inside, whether it
    names another bucket in the path of a first request, of a pipelined second one, or hides a
    dot segment; the control upload to the listed bucket arrives."""
    t = Traffic()
    t.resolve(LAKE_HOST, "s3.eu-west-1.amazonaws.com", S3_SHARED)
    uploads = {  # sport: (paths, marker)
        50051: (["/other-team/x.csv"], b"EXFIL-FIRST"),
        50052: (["/acme-logs/a", "/other-team/b.csv"], b"EXFIL-SECOND"),
        50053: (["/acme-logs/./../other-team/c"], b"EXFIL-DOT"),
        50054: (["/acme-logs/ok.csv"], b"CONTROL-LISTED"),
    }
    for sport, (paths, marker) in uploads.items():
        # The marker rides in the last request, the one naming the bucket judged.
        bodies = [b"ok"] * (len(paths) - 1) + [marker]
        heads = [f"PUT {p} HTTP/1.1\r\nHost: s3.eu-west-1.amazonaws.com\r\nContent-Length: {len(b)}\r\n\r\n"
                 .encode() + b for p, b in zip(paths, bodies)]
        t.connect(LAKE_HOST, sport, S3_SHARED, 80, b"".join(heads))
    pcap, forwarded = tmp_path / "in.pcap", tmp_path / "forwarded.pcap"
    frames.write_pcap(pcap, t.packets)
    import subprocess
    from conftest import SLUICECTL
    proc = subprocess.run([str(SLUICECTL), "replay", "--policy", str(POLICY), "--pcap", str(pcap),
                           "--outside-mac", frames.UPSTREAM_MAC, "--forwarded", str(forwarded)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = b"".join(frames.read_pcap_frames(forwarded))
    for marker in (b"EXFIL-FIRST", b"EXFIL-SECOND", b"EXFIL-DOT"):
        assert marker not in out, marker
    assert b"CONTROL-LISTED" in out


def test_suggest_offers_allowed_storage_entries_not_domains(replay, tmp_path):
    """sluicectl suggest over the storage denials: each denied account or bucket becomes its
    allowed_storage entry (never a raw host name nor "*.blob.core.windows.net"); applied to the
    policy, no storage name is denied domain_not_allowed any more."""
    denials = tmp_path / "denials.jsonl"
    denials.write_text("".join(json.dumps(record) + "\n" for record in replay.denials))
    proc = run_sluicectl("suggest", "--from", denials)
    assert proc.returncode == 0, proc.stderr
    patch = proc.stdout
    for entry in ['allowed_storage { azure_account { name: "evil" services: [BLOB] } }',
                  'allowed_storage { azure_account { name: "acmedata" services: [QUEUE] } }',
                  'allowed_storage { s3_bucket { name: "other-team" regions: ["eu-west-1"] } }',
                  'allowed_storage { gcs_bucket { name: "evil-ml" } }']:
        assert f"  {entry}\n" in patch, patch
    assert "allowed_domains" not in patch, patch
    # Path-style denials name an endpoint, not a bucket an entry could list.
    assert "# not suggested: " in patch and "storage_path_style_not_allowed" in patch, patch

    policy = tmp_path / "suggested.textproto"
    policy.write_text(apply_patch(POLICY.read_text(), patch))
    assert run_sluicectl("validate", policy).returncode == 0
    run = run_replay(tmp_path / "again", policy, _traffic(), outside_mac=frames.UPSTREAM_MAC)
    assert run.returncode == 0, run.describe()
    assert [d for d in run.denials if d["reason"] == "domain_not_allowed"] == [], run.denials
