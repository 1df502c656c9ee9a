"""Expectations read from a policy's text, independently of the program: which names a policy's
allowed_domains allow, by the contract in docs/POLICY.md (never by asking sluicectl)."""

import re


def allowed_domains(policy_text, policy_name):
    """allowed_domains of one policy of a text PolicySet, as written."""
    for block in re.findall(r"^policies\s*\{(.*?)^\}", policy_text, re.M | re.S):
        if re.search(r'^\s*name:\s*"%s"' % re.escape(policy_name), block, re.M):
            return re.findall(r'^\s*allowed_domains:\s*"([^"]*)"', block, re.M)
    raise AssertionError(f"no policy {policy_name!r} in the policy text")


def domain_allowed(name, patterns):
    """POLICY.md: `x` exactly x; `*.x` every name below x, not x; `.x` x and every name below."""
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif pattern.startswith("."):
            if name == pattern[1:] or name.endswith(pattern):
                return True
        elif name == pattern:
            return True
    return False
