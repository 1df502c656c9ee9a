"""A policy naming an unknown policy in an attachment is refused whole, by sluicectl validate
and by sluiced, with "FILE:LINE: FIELD: message" on stderr; the good policies validate."""

import re

from conftest import DEMO_POLICY, GOLDEN_POLICY, run_sluicectl, run_sluiced
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


def test_sluiced_refuses_unknown_policy(tmp_path):
    flow = frames.TcpFlow(PROD_HOST, 44001, TLS_SERVER, 443)
    run = run_sluiced(tmp_path / "run", _bad_policy(tmp_path), [flow.syn(), flow.ack()])
    assert run.returncode != 0, run.describe()
    assert BAD_ERROR.search(run.stderr), run.describe()
    assert run.outside_tx == [] and run.inside_tx == [], "a refused policy forwards nothing"
