"""The anomaly alerting rules and Alertmanager config: they use only exported metrics,
labels and label values, agree with each other, and pass promtool/amtool when present."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alphapulse.anomaly.config import Severity
from alphapulse.anomaly.kernels import TYPES
from alphapulse.anomaly.metrics import AnomalyMetrics
from alphapulse.anomaly.records import Anomaly

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VALUES = {
    "severity": {s.name for s in Severity if s},
    "type": set(TYPES),
    "outcome": {"sent", "retried", "failed"},
    "sink": {"log", "webhook"},
}


def _rules() -> list[dict]:
    doc = yaml.safe_load((DEPLOY / "alert_rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def _exported() -> dict[str, set[str]]:
    m = AnomalyMetrics()
    a = Anomaly(0, "AAPL", "gap", Severity.HIGH, 9.0, "m")
    m.detected([a])
    m.alerted([a])
    m.delivery("webhook", "failed")
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(generate_latest(m.registry).decode()):
        for s in fam.samples:
            out.setdefault(s.name, set()).update(s.labels)
    return out


def test_rules_use_exported_metrics_labels_and_values() -> None:
    exported = _exported()
    rules = _rules()
    assert len(rules) >= 4
    for rule in rules:
        expr = rule["expr"]
        names = re.findall(r"alphapulse_[a-z_]+", expr)
        assert names, expr
        for name in names:
            assert name in exported, f"{name} is not exported"
            for lab, val in re.findall(r'([a-z_]+)=~?"([^"]+)"', expr):
                assert lab in exported[name], f"{name} has no label {lab}"
                for v in val.split("|"):
                    assert v in VALUES[lab], f"{lab}={v!r} is never exported"
            for group in re.findall(r"by \(([a-z_, ]+)\)", expr):
                assert {g.strip() for g in group.split(",")} <= exported[name]
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_alertmanager_routes_and_inhibitions_match_the_rules() -> None:
    am = yaml.safe_load((DEPLOY / "alertmanager.yml").read_text())
    receivers = {r["name"] for r in am["receivers"]}
    routes = [am["route"], *am["route"].get("routes", [])]
    assert {r["receiver"] for r in routes} <= receivers
    alerts = {r["alert"] for r in _rules()}
    for inhibit in am["inhibit_rules"]:
        for key in ("source_matchers", "target_matchers"):
            for m in inhibit[key]:
                assert re.fullmatch(r'alertname="(\w+)"', m).group(1) in alerts  # type: ignore[union-attr]
    prom = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "alert_rules.yml" in prom["rule_files"]


@pytest.mark.parametrize(
    "cmd",
    [
        ["promtool", "check", "rules", "alert_rules.yml"],
        ["promtool", "test", "rules", "alert_rules_test.yml"],
        ["amtool", "check-config", "alertmanager.yml"],
    ],
)
def test_prometheus_tools_accept_the_files(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (Debian: prometheus, prometheus-alertmanager)")
    res = subprocess.run(cmd, cwd=DEPLOY, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
