"""A policy naming an unknown policy in an attachment is refused whole, by sluicectl validate
and by sluiced, with "FILE:LINE: FIELD: message" on stderr; the good policies validate."""

import os
import re
import subprocess

from conftest import DEMO_POLICY, GOLDEN_POLICY, RUN_TIMEOUT_S, SLUICECTL, run_sluicectl, run_sluiced
from pcapgen import frames
from scenarios import PROD_HOST, TLS_SERVER

BAD_POLICY = """\
# attachments[1] (line 6) names a policy that does not exist; one line, so the line of the
# attachment and the line of its field are the same.
name: "broken"
policies { name: "baseline" access_mode: RESTRICTED enforcement: ENFORCE }
attachments { source_cidr: "198.18.1.0/24" policy: "baseline" source_label: "ok" }
attachments { source_cidr: "198.18.2.0/24" policy: "no-such-policy" source_label: "broken" }
default_policy: "baseline"
"""
BAD_LINE = 6
# The attachment's `policy` field, 0-based index as in controlplane/policy_error.h's example.
BAD_ERROR = re.compile(r"(^|[\s/])bad\.textproto:%d: attachments\[1\]\.policy: \S" % BAD_LINE,
                       re.M)


def _bad_policy(tmp_path):
    path = tmp_path / "bad.textproto"
    path.write_text(BAD_POLICY)
    return path


def test_validate_accepts_golden_and_demo_policies():
    for policy in (GOLDEN_POLICY, DEMO_POLICY):
        proc = run_sluicectl("validate", policy)
        assert proc.returncode == 0, f"{policy}: {proc.returncode}\n{proc.stderr}"


def test_validate_rejects_unknown_policy(tmp_path):
    proc = run_sluicectl("validate", _bad_policy(tmp_path))
    assert proc.returncode == 1, proc
    assert BAD_ERROR.search(proc.stderr), proc.stderr


WILDCARD_POLICY = """\
policies { name: "web" access_mode: RESTRICTED enforcement: ENFORCE
           allowed_domains: "*.co.uk" allowed_domains: "*.com" allowed_domains: "*.example.co.uk" }
default_policy: "web"
"""


def test_validate_refuses_wildcards_over_public_suffixes(tmp_path):
    """With Debian's list: *.co.uk and *.com are refused, *.example.co.uk is not."""
    path = tmp_path / "wild.textproto"
    path.write_text(WILDCARD_POLICY)
    proc = run_sluicectl("validate", path)
    assert proc.returncode == 1, proc
    assert '"*.co.uk" is over-broad: co.uk is a public suffix' in proc.stderr, proc.stderr
    assert '"*.com" is over-broad: com is a public suffix' in proc.stderr, proc.stderr
    assert "example.co.uk" not in proc.stderr, proc.stderr


def test_validate_refuses_every_policy_when_the_suffix_list_is_missing(tmp_path):
    """No list, no judgement of breadth: a refusal naming the list, never a silent pass."""
    missing = tmp_path / "no_public_suffix_list.dat"
    env = dict(os.environ, SLUICE_PUBLIC_SUFFIX_LIST=str(missing))
    proc = subprocess.run([str(SLUICECTL), "validate", str(GOLDEN_POLICY)], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, env=env)
    assert proc.returncode == 1, proc
    assert f"{missing}: cannot read the public suffix list: No such file or directory" in proc.stderr, proc.stderr


def test_sluiced_refuses_unknown_policy(tmp_path):
    flow = frames.TcpFlow(PROD_HOST, 44001, TLS_SERVER, 443)
    run = run_sluiced(tmp_path / "run", _bad_policy(tmp_path), [flow.syn(), flow.ack()])
    assert run.returncode != 0, run.describe()
    assert BAD_ERROR.search(run.stderr), run.describe()
    assert run.outside_tx == [] and run.inside_tx == [], "a refused policy forwards nothing"
