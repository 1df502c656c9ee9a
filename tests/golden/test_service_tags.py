"""Service tags from the clouds' published prefix files (docs/POLICY.md, "Service tags"), and the
identity every record carries (event_id, the policy set's tenant fields; docs/RECORDS.md).

The tag files are written here in the providers' published formats (Azure's
ServiceTags_Public_*.json, AWS's ip-ranges.json), small but shaped like the real ones; nothing is
downloaded. Flows go to a TCP port that is neither TLS nor HTTP, so they are judged on their
destination address alone: a tag's prefix passes, an address outside it is denied."""

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from checks import EVENT_ID, pop_event_id
from conftest import SLUICECTL, SLUICED, _require, read_jsonl, run_sluicectl
from pcapgen import frames
from scrape import free_port, http_get, metric, wait_for

CLIENT, CLIENT_V6 = "198.18.1.10", "2001:db8:1::10"
IN_TAG, NOT_IN_TAG, IN_AWS_TAG = "198.19.40.5", "198.19.41.5", "2001:db8:40::5"
PORT = 5432

POLICY = """name: "tags"
record_fields { key: "account_id" value: "acc-4417" }
record_fields { key: "workspace_id" value: "ws-shared" }
policies {
  name: "storage"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_service_tags { tag: "Storage.WestEurope" protocol: TCP ports: "5432" }
  allowed_service_tags { tag: "AWS:S3:eu-west-1" protocol: TCP ports: "5432" }
}
attachments {
  source_cidr: "198.18.1.0/24"
  policy: "storage"
  source_label: "spark-prod"
  record_fields { key: "workspace_id" value: "ws-prod" }
}
default_policy: "storage"
"""

# The same tags named by numbered rules: a DENY of AzureDatabricks above an allowed network
# inside it, and one ALLOW rule for both storage tags. Lines matter: the tests below name them.
RULE_POLICY = """name: "tags"
record_fields { key: "account_id" value: "acc-4417" }
policies {
  name: "storage"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks { cidr: "198.19.50.0/24" protocol: TCP }
  rules { name: "no-databricks" priority: 100 action: DENY service_tags: "AzureDatabricks" }
  rules { name: "lake" priority: 200 action: ALLOW service_tags: ["Storage.WestEurope", "AWS:S3:eu-west-1"]
          protocol: TCP ports: "5432" }
}
attachments { source_cidr: "198.18.1.0/24" policy: "storage" source_label: "spark-prod" }
default_policy: "storage"
"""
DATABRICKS = "198.19.50.5"


def azure_file(change_number, storage_prefixes):
    return json.dumps({"changeNumber": change_number, "cloud": "Public", "values": [
        {"name": "Storage.WestEurope", "id": "Storage.WestEurope", "properties": {
            "changeNumber": change_number, "region": "westeurope", "regionId": 18,
            "platform": "Azure", "systemService": "AzureStorage",
            "addressPrefixes": storage_prefixes, "networkFeatures": ["API", "NSG", "UDR", "FW"]}},
        {"name": "AzureDatabricks", "id": "AzureDatabricks", "properties": {
            "changeNumber": 3, "region": "", "regionId": 0, "platform": "Azure",
            "systemService": "AzureDatabricks", "addressPrefixes": ["198.19.50.0/24"]}},
    ]}, indent=2)


def aws_file(sync_token):
    return json.dumps({"syncToken": sync_token, "createDate": "2026-12-01-10-00-00", "prefixes": [
        {"ip_prefix": "198.19.60.0/24", "region": "eu-west-1", "service": "AMAZON",
         "network_border_group": "eu-west-1"},
        {"ip_prefix": "198.19.61.0/24", "region": "us-east-1", "service": "S3",
         "network_border_group": "us-east-1"},
    ], "ipv6_prefixes": [
        {"ipv6_prefix": "2001:db8:40::/48", "region": "eu-west-1", "service": "S3",
         "network_border_group": "eu-west-1"},
    ]}, indent=2)


@pytest.fixture
def tagged(tmp_path):
    (tmp_path / "ServiceTags_Public_20261207.json").write_text(azure_file(312, ["198.19.40.0/24"]))
    (tmp_path / "ip-ranges.json").write_text(aws_file("1764950400"))
    (tmp_path / "policy.textproto").write_text(POLICY)
    return tmp_path


def tag_files(work):
    return f"{work / 'ServiceTags_Public_20261207.json'},{work / 'ip-ranges.json'}"


def flow_packets(client, server, sport):
    flow = frames.TcpFlow(client, sport, server, PORT)
    return [flow.syn(), flow.ack(), flow.data(b"metastore hello")]


def test_validate_accepts_known_tags_and_needs_the_files(tagged):
    ok = run_sluicectl("validate", tagged / "policy.textproto", "--service-tags", tag_files(tagged))
    assert ok.returncode == 0, ok.stderr
    assert "valid (1 policies, 1 attachments, default storage)" in ok.stdout

    without = run_sluicectl("validate", tagged / "policy.textproto")
    assert without.returncode == 1
    assert (f"{tagged / 'policy.textproto'}:8: policies[0].allowed_service_tags[0].tag: service tag "
            '"Storage.WestEurope": no service tag files are loaded') in without.stderr, without.stderr


def test_missing_tag_is_a_validation_error_at_its_line(tagged):
    policy = tagged / "policy.textproto"
    policy.write_text(POLICY.replace('tag: "AWS:S3:eu-west-1"', 'tag: "AWS:S3:eu-north-9"'))
    result = run_sluicectl("validate", policy, "--service-tags", tag_files(tagged), "--json")
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["valid"] is False
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [(9, "policies[0].allowed_service_tags[1].tag")]
    assert 'unknown service tag "AWS:S3:eu-north-9"' in answer["errors"][0]["message"]


def test_malformed_tag_file_is_refused_naming_the_file(tagged):
    broken = tagged / "ServiceTags_Public_20261207.json"
    broken.write_text(azure_file(313, ["198.19.40.0/33"]))
    result = run_sluicectl("validate", tagged / "policy.textproto", "--service-tags", tag_files(tagged))
    assert result.returncode == 1
    assert (f"{broken}: not a service tag file: values[0].properties.addressPrefixes[0]: "
            '"198.19.40.0/33"') in result.stderr, result.stderr

    broken.write_text('{"changeNumber": 1, "values": [')  # cut short, as a failed download leaves it
    result = run_sluicectl("validate", tagged / "policy.textproto", "--service-tags", tag_files(tagged))
    assert result.returncode == 1 and f"{broken}: not a service tag file: not valid JSON" in result.stderr


def test_validate_reads_the_tag_files_of_a_config(tagged):
    config = tagged / "appliance.textproto"
    config.write_text(f'policy_path: "{tagged / "policy.textproto"}"\n'
                      f'service_tag_files: "{tagged / "ServiceTags_Public_20261207.json"}"\n'
                      f'service_tag_files: "{tagged / "ip-ranges.json"}"\n'
                      'ports { device: "net_null0" role: INSIDE }\nports { device: "net_null1" role: OUTSIDE }\n')
    result = run_sluicectl("validate", tagged / "policy.textproto", "--config", config)
    assert result.returncode == 0, result.stderr

    config.write_text(config.read_text() + f'service_tag_files: "{tagged / "ip-ranges.json"}"\n')
    result = run_sluicectl("validate", tagged / "policy.textproto", "--config", config)
    assert result.returncode == 1
    assert f"{config}:6: service_tag_files[2]: " in result.stderr and "listed twice" in result.stderr


def test_replay_allows_a_tag_prefix_and_denies_the_rest_with_identity_in_records(tagged):
    packets = (flow_packets(CLIENT, IN_TAG, 41001) + flow_packets(CLIENT, NOT_IN_TAG, 41002) +
               flow_packets(CLIENT_V6, IN_AWS_TAG, 41003) + flow_packets(CLIENT, "198.19.61.5", 41004))
    pcap = tagged / "tags.pcap"
    frames.write_pcap(pcap, packets)
    flows, denials = tagged / "flows.jsonl", tagged / "denials.jsonl"
    result = run_sluicectl("replay", "--policy", tagged / "policy.textproto", "--pcap", pcap,
                           "--service-tags", tag_files(tagged), "--flows", flows, "--denials", denials,
                           "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [(t["provider"], t["version"]) for t in summary["service_tags"]] == [("azure", "312"),
                                                                                ("aws", "1764950400")]

    lines = {line["dst_ip"]: line for line in read_jsonl(flows)}
    assert {ip: (line["verdict"], line["reason"]) for ip, line in lines.items()} == {
        IN_TAG: ("ALLOW", "allowed_network"),
        NOT_IN_TAG: ("DROP", "ip_not_allowed"),
        IN_AWS_TAG: ("ALLOW", "allowed_network"),
        "198.19.61.5": ("DROP", "ip_not_allowed"),  # S3, but us-east-1: not AWS:S3:eu-west-1
    }
    # Tenant fields: the set's, with the attachment's workspace_id in its place.
    assert lines[IN_TAG]["account_id"] == "acc-4417" and lines[IN_TAG]["workspace_id"] == "ws-prod"
    assert lines[IN_AWS_TAG]["workspace_id"] == "ws-shared"

    records = read_jsonl(denials)
    assert len(records) == 2
    ids = [pop_event_id(dict(r)) for r in records] + [line["event_id"] for line in lines.values()]
    assert all(EVENT_ID.match(i) for i in ids) and len(set(ids)) == len(ids), ids
    record = records[0]
    assert list(record)[-3:] == ["event_id", "account_id", "workspace_id"], list(record)
    assert (record["dst_ip"], record["account_id"], record["workspace_id"]) == (NOT_IN_TAG, "acc-4417", "ws-prod")


def test_explain_names_the_tag(tagged):
    result = run_sluicectl("explain", tagged / "policy.textproto", CLIENT, IN_TAG, "--port", str(PORT),
                           "--service-tags", tag_files(tagged), "--json")
    assert result.returncode == 0, result.stderr
    assert '"service tag Storage.WestEurope"' in result.stdout, result.stdout


def test_rule_tags_validate_with_shadowing_and_missing_tags_at_their_lines(tagged):
    policy = tagged / "rules.textproto"
    policy.write_text(RULE_POLICY)
    result = run_sluicectl("validate", policy, "--service-tags", tag_files(tagged))
    assert result.returncode == 0, result.stderr
    # The tag's prefix covers the allowed network: the DENY above it takes all it allows.
    assert [line for line in result.stderr.splitlines() if ": warning: " in line] == [
        f'{policy}:7: warning: policies[0].allowed_networks[0]: allowed_networks entry "198.19.50.0/24" never '
        f'allows anything: DENY rule "no-databricks" (priority 100) at line 8 denies everything it matches first'
    ], result.stderr

    policy.write_text(RULE_POLICY.replace('"AWS:S3:eu-west-1"]', '"AWS:S3:eu-north-9"]'))
    result = run_sluicectl("validate", policy, "--service-tags", tag_files(tagged), "--json")
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(9, "policies[0].rules[1].service_tags[1]")], errors
    assert 'unknown service tag "AWS:S3:eu-north-9"' in errors[0]["message"]


def test_replay_judges_rule_tags_by_priority_with_the_rule_in_records(tagged):
    policy = tagged / "rules.textproto"
    policy.write_text(RULE_POLICY)
    packets = (flow_packets(CLIENT, IN_TAG, 42001) + flow_packets(CLIENT, NOT_IN_TAG, 42002) +
               flow_packets(CLIENT_V6, IN_AWS_TAG, 42003) + flow_packets(CLIENT, DATABRICKS, 42004))
    pcap = tagged / "rules.pcap"
    frames.write_pcap(pcap, packets)
    flows, denials = tagged / "flows.jsonl", tagged / "denials.jsonl"
    result = run_sluicectl("replay", "--policy", policy, "--pcap", pcap, "--service-tags", tag_files(tagged),
                           "--flows", flows, "--denials", denials, "--json")
    assert result.returncode == 0, result.stderr
    lines = {line["dst_ip"]: line for line in read_jsonl(flows)}
    assert {ip: (line["verdict"], line["reason"], line.get("rule")) for ip, line in lines.items()} == {
        IN_TAG: ("ALLOW", "allowed_network", "lake"),
        NOT_IN_TAG: ("DROP", "ip_not_allowed", None),
        IN_AWS_TAG: ("ALLOW", "allowed_network", "lake"),
        DATABRICKS: ("DROP", "denied_by_rule", "no-databricks"),  # over the allowed network below it
    }
    records = {r["dst_ip"]: r for r in read_jsonl(denials)}
    assert records[DATABRICKS]["rule"] == "no-databricks" and records[DATABRICKS]["account_id"] == "acc-4417"


def test_explain_names_the_rule_and_its_tag(tagged):
    policy = tagged / "rules.textproto"
    policy.write_text(RULE_POLICY)
    result = run_sluicectl("explain", policy, CLIENT, DATABRICKS, "--port", str(PORT),
                           "--service-tags", tag_files(tagged), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["reason"] == "denied_by_rule", answer
    assert {k: answer["rule"][k] for k in ("name", "line", "group", "member")} == {
        "name": "no-databricks", "line": 8, "group": "service tag AzureDatabricks", "member": "198.19.50.0/24"}
    text = run_sluicectl("explain", policy, CLIENT, DATABRICKS, "--port", str(PORT),
                         "--service-tags", tag_files(tagged)).stdout
    assert 'prefix "198.19.50.0/24" of service tag "AzureDatabricks"' in text, text


def tag_versions(metrics_text):
    return sorted(re.findall(r'^sluice_service_tags_info\{provider="(\w+)",file="([^"]+)",version="([^"]+)"\} 1',
                             metrics_text, re.MULTILINE))


@pytest.mark.parametrize("policy_text", [POLICY, RULE_POLICY], ids=["allowed_service_tags", "rule_service_tags"])
def test_tag_file_change_reloads_the_tables_and_the_version_metric(tagged, policy_text):
    """sluiced loops a flow to a prefix of Storage.WestEurope; the Azure file is then replaced by
    a newer publication that moves the tag elsewhere: the watcher reloads, the open flow is
    denied under the new generation, and metrics and stats carry the new change number. A
    broken publication afterwards is refused naming the file, and the running tables stay. The
    same whether allowed_service_tags or a numbered rule names the tag."""
    _require(SLUICED)
    (tagged / "policy.textproto").write_text(policy_text)
    azure = tagged / "ServiceTags_Public_20261207.json"
    inside_rx = tagged / "inside_rx.pcap"
    frames.write_pcap(inside_rx, flow_packets(CLIENT, IN_TAG, 41500))
    config = tagged / "appliance.textproto"
    config.write_text(f'service_tag_files: "{azure}"\nservice_tag_files: "{tagged / "ip-ranges.json"}"\n'
                      f'ports {{ device: "net_pcap0,rx_pcap={inside_rx},tx_pcap={tagged / "inside_tx.pcap"},'
                      'infinite_rx=1" role: INSIDE }\n'
                      'ports { device: "net_null0,no-rx=1" role: OUTSIDE }\n'
                      'eal_args: ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry"]\n')
    metrics, health, socket = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", tagged / "admin.sock"
    log_dir = tagged / "log"
    process = subprocess.Popen(
        [str(SLUICED), "--config", str(config), "--policy", str(tagged / "policy.textproto"),
         "--log-dir", str(log_dir), "--metrics-address", metrics,
         "--health-address", health, "--admin-socket", str(socket), "--exit-on-idle-ms", "0",
         "--appliance-name", "tags-test"],
        stdout=subprocess.DEVNULL, stderr=(tagged / "stderr.txt").open("w"), text=True)
    try:
        wait_for(lambda: process.poll() is not None or http_get(health, "/readyz")[0] == 200, "/readyz")
        assert process.poll() is None, (tagged / "stderr.txt").read_text()

        def scrape():
            status, text = http_get(metrics, "/metrics")
            assert status == 200
            return text

        assert tag_versions(scrape()) == [("aws", str(tagged / "ip-ranges.json"), "1764950400"),
                                          ("azure", str(azure), "312")]
        assert metric(scrape(), "sluice_service_tag_prefixes", provider="azure", file=str(azure)) == 2
        wait_for(lambda: metric(scrape(), "sluice_port_tx_packets_total", port="outside") > 100,
                 "the allowed flow to carry traffic")
        assert read_jsonl(log_dir / "denials.jsonl") in (None, [])

        # A newer publication, written beside and renamed into place as a fetch job does.
        staged = tagged / "ServiceTags.new"
        staged.write_text(azure_file(313, ["198.19.42.0/24"]))
        staged.rename(azure)
        wait_for(lambda: metric(scrape(), "sluice_policy_generation") >= 2, "the reload the tag file triggers")
        assert ("azure", str(azure), "313") in tag_versions(scrape())
        records = wait_for(lambda: read_jsonl(log_dir / "denials.jsonl"), "the flow's denial record")
        assert records[0]["dst_ip"] == IN_TAG and records[0]["reason"] == "ip_not_allowed"

        stats = subprocess.run([str(SLUICECTL), "stats", "--socket", str(socket), "--json"],
                               capture_output=True, text=True, timeout=30)
        assert stats.returncode == 0, stats.stderr
        assert {(t["provider"], t["version"]) for t in json.loads(stats.stdout)["service_tags"]} == {
            ("azure", "313"), ("aws", "1764950400")}

        # A broken publication: refused with the file's name, generation and version stay.
        staged.write_text('{"changeNumber": 314, "values": [{"name": "Storage.WestEurope"}]}')
        staged.rename(azure)
        wait_for(lambda: metric(scrape(), "sluice_policy_reload_failures_total") >= 1, "the refused reload")
        assert metric(scrape(), "sluice_policy_generation") == 2
        assert ("azure", str(azure), "313") in tag_versions(scrape())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        stderr = (tagged / "stderr.txt").read_text()
        print(stderr)
    assert f"{azure}: not a service tag file: values[0].properties: missing" in stderr, stderr


def test_check_config_reads_the_tag_files(tagged):
    _require(SLUICED)
    azure = tagged / "ServiceTags_Public_20261207.json"
    config = tagged / "appliance.textproto"
    config.write_text(f'policy_path: "{tagged / "policy.textproto"}"\nservice_tag_files: "{azure}"\n'
                      f'service_tag_files: "{tagged / "ip-ranges.json"}"\n'
                      'ports { device: "net_null0" role: INSIDE }\nports { device: "net_null1" role: OUTSIDE }\n')
    ok = subprocess.run([str(SLUICED), "--check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert f"sluiced: service tags {azure}: azure version 312, 2 tags, 2 prefixes" in ok.stdout, ok.stdout

    azure.write_text("[]")
    refused = subprocess.run([str(SLUICED), "--check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert f"{azure}: not a service tag file: not a JSON object" in refused.stderr, refused.stderr
