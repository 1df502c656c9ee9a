"""The observability pack against promtool and the metrics catalogue: the alert rules load
(`promtool check rules`) and pass their unit tests (`promtool test rules`), every alert has a
test that shows it firing, and every metric that an alert or a dashboard query names is one that
sluiced serves, i.e. one in docs/METRICS.md."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("SLUICE_SOURCE_DIR") or HERE.parent.parent)
RULES = HERE / "sluice-alerts.yml"
RULE_TESTS = HERE / "sluice-alerts.test.yml"
DASHBOARD = HERE / "sluice-dashboard.json"

# Prometheus's own series, which a rule may use beside sluiced's.
PROMETHEUS_SERIES = {"up"}
# PromQL words that look like names: functions are followed by "(", so only these need listing,
# and the aggregation operators, which may be followed by "by (...)" instead.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan", "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk",
                "bottomk", "quantile", "count_values"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr):
    """The metric names a PromQL expression reads. Label matchers, strings, grouping label lists
    and Grafana variables are cut first; what is left that is a name and not a call is a metric."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)   # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", "", text)              # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", text)
    text = re.sub(r"\[[^\]]*\]", "", text)              # range and subquery durations
    text = re.sub(r"\$\{?\w+\}?", "", text)             # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name not in PROMQL_WORDS:
            names.add(name)
    return names


def catalogue():
    text = (SOURCE_DIR / "docs" / "METRICS.md").read_text()
    return set(re.findall(r"^\| `(sluice_\w+)`", text, re.MULTILINE))


def undocumented(names, documented):
    def known(name):
        if name in documented or name in PROMETHEUS_SERIES:
            return True
        return any(name.endswith(s) and name[: -len(s)] in documented for s in HISTOGRAM_SUFFIXES)
    return sorted(n for n in names if not known(n))


def rules():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_expressions():
    """Every PromQL expression of the dashboard: panel targets (rows' panels too) and the
    templating queries."""
    board = json.loads(DASHBOARD.read_text())
    exprs = []

    def walk(panels):
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))
    walk(board["panels"])
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if variable.get("type") == "query":
            text = query["query"] if isinstance(query, dict) else query
            # label_values(METRIC, LABEL) names its metric as the first argument.
            exprs.append(re.sub(r"^label_values\(\s*([\w:]+)\s*,.*\)$", r"\1", text))
    return exprs


def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=HERE, timeout=60)


def test_the_extractor_finds_metrics_and_only_metrics():
    expr = ('histogram_quantile(0.99, sum by (le, instance) (rate(sluice_denial_record_latency_seconds_bucket'
            '{instance=~"$instance", le!="+Inf"}[$__rate_interval]))) / on (instance) group_left '
            'sluice_flow_table_capacity offset 5m > bool 0.5 or up{job="sluice"}')
    assert metric_names(expr) == {"sluice_denial_record_latency_seconds_bucket", "sluice_flow_table_capacity", "up"}
    documented = {"sluice_denial_record_latency_seconds", "sluice_flows_active"}
    assert undocumented({"sluice_denial_record_latency_seconds_bucket", "sluice_flows_activ", "up"},
                        documented) == ["sluice_flows_activ"]


def test_alert_rules_pass_promtool_check():
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests():
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_shown_firing_by_a_unit_test():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts and alerts <= firing, sorted(alerts - firing)


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.get("alert") or rule.get("record"))
def test_alert_rules_use_only_catalogued_metrics(rule):
    names = metric_names(rule["expr"])
    assert names, rule["expr"]
    assert undocumented(names, catalogue()) == []


def test_dashboard_queries_use_only_catalogued_metrics():
    exprs = dashboard_expressions()
    assert len(exprs) >= 20
    documented = catalogue()
    problems = {expr: undocumented(metric_names(expr), documented) for expr in exprs}
    assert {expr: names for expr, names in problems.items() if names} == {}
    assert all(metric_names(expr) for expr in exprs), [e for e in exprs if not metric_names(e)]


def test_dashboard_is_importable_json_with_unique_panel_ids():
    board = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert board["uid"] and board["title"]
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
