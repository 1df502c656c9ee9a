"""The policy set and appliance configs of the end-to-end tests, written into the work dir.

Who gets what (the tests derive every expectation from these few lines):

  c1  198.18.1.0/24, 2001:db8:1::/64  → e2e-enforce, label e2e-prod     (ENFORCE)
  c2  198.18.2.0/24, 2001:db8:2::/64  → e2e-enforce, label e2e-staging  (DRY_RUN override)
  c3  anything else                   → e2e-default, label e2e-unattached (ENFORCE)

  e2e-enforce: www.e2e.example, .api.e2e.example; resolvers RESOLVER4/6
  e2e-default: public.e2e.example; resolvers RESOLVER4/6
"""

from pathlib import Path

import rig
import services

APPLIANCE_NAME = "sluice-e2e"
ENFORCE_POLICY, DEFAULT_POLICY = "e2e-enforce", "e2e-default"
LABELS = {"c1": "e2e-prod", "c2": "e2e-staging", "c3": "e2e-unattached"}
POLICY_OF = {"c1": ENFORCE_POLICY, "c2": ENFORCE_POLICY, "c3": DEFAULT_POLICY}
ACCESS_TYPE_OF = {"c1": "DROP", "c2": "DRY_RUN_DENIAL", "c3": "DROP"}

# The rule DNS learning adds (the port suffix limits the learned address to the echo port).
DB_RULE = f"{services.DB}:{rig.DB_PORT}"


def policy_text(*, enforce_domains=(services.WWW, "." + services.API), extra_enforce_domains=(),
                ech_judge_outer_sni=False):
    """ech_judge_outer_sni: e2e-enforce takes an ECH hello's outer SNI (browsers send GREASE ECH
    in every ClientHello; docs/POLICY.md), as test_quic.py's Chromium needs."""
    domains = list(enforce_domains) + list(extra_enforce_domains)
    resolvers = "\n".join(f'  dns_resolvers: "{r}"' for r in (rig.RESOLVER4, rig.RESOLVER6))
    c1, c2 = rig.CLIENTS["c1"], rig.CLIENTS["c2"]
    lines = ['# Written by tests/e2e/policies.py', 'name: "e2e"', "",
             "policies {", f'  name: "{ENFORCE_POLICY}"', "  access_mode: RESTRICTED",
             "  enforcement: ENFORCE"]
    if ech_judge_outer_sni:
        lines.append("  tls_exceptions { ech_judge_outer_sni: true }")
    lines += [f'  allowed_domains: "{d}"' for d in domains]
    lines += [resolvers, "}", "",
              "policies {", f'  name: "{DEFAULT_POLICY}"', "  access_mode: RESTRICTED",
              "  enforcement: ENFORCE", f'  allowed_domains: "{services.PUBLIC}"', resolvers, "}", ""]
    for prefix in (c1.prefix4, c1.prefix6):
        lines.append(f'attachments {{ source_cidr: "{prefix}" policy: "{ENFORCE_POLICY}" '
                     f'source_label: "{LABELS["c1"]}" }}')
    for prefix in (c2.prefix4, c2.prefix6):
        lines.append(f'attachments {{ source_cidr: "{prefix}" policy: "{ENFORCE_POLICY}" '
                     f'source_label: "{LABELS["c2"]}" enforcement_override: DRY_RUN }}')
    lines += ["", f'default_policy: "{DEFAULT_POLICY}"',
              f'default_source_label: "{LABELS["c3"]}"', ""]
    return "\n".join(lines)


def learning_policy_text():
    return policy_text(extra_enforce_domains=(DB_RULE,))


# dns_learning as issue #6's interface has it: min/max clamp of the answer's TTL, no grace.
DNS_LEARNING_BLOCK = "dns_learning { min_ttl_seconds: 1 max_ttl_seconds: 3600 grace_seconds: 0 }"


def appliance_text(workdir, *, file_prefix, extra="", flow_capacity=65536, port_args=""):
    """`port_args`: more net_af_packet arguments for both ports (",qpairs=2")."""
    workdir = Path(workdir)
    return f"""# Written by tests/e2e/policies.py
appliance_name: "{APPLIANCE_NAME}"
ports {{ device: "net_af_packet0,iface={rig.INSIDE_IF}{port_args}" role: INSIDE }}
ports {{ device: "net_af_packet1,iface={rig.OUTSIDE_IF}{port_args}" role: OUTSIDE }}
worker_lcores: 1
flow_capacity: {flow_capacity}
policy_path: "{workdir / 'policy.textproto'}"
log_dir: "{workdir / 'log'}"
flow_log_path: "{workdir / 'flows.jsonl'}"
metrics_address: "127.0.0.1:9617"
health_address: "127.0.0.1:9618"
admin_socket: "{workdir / 'admin.sock'}"
hyperscan_cache_dir: ""
# Reloads only by SIGHUP, so that every reload the tests count is one they asked for.
watch_policy_file: false
eal_args: ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
           "--file-prefix", "{file_prefix}"]
{extra}
"""
