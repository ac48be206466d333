"""The shipped Grafana dashboard and Prometheus config only use metrics and labels the
platform actually exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from alphapulse.api.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _exported() -> dict[str, set[str]]:
    """Sample names -> label names, from a Metrics instance with every metric used."""
    m = Metrics()
    m.bar_processed("s")
    m.signal("s")
    m.order("s")
    m.fill("s")
    m.rejection("s", "max_position")
    m.portfolio_value("s", 1.0)
    m.decision_latency(0.001)
    m.feed_lag(1.0)
    m.backtest_started()
    m.backtest_ended("finished")
    m.http_request("GET", "/health", 200, 0.001)
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(m.exposition().decode()):
        for sample in fam.samples:
            out.setdefault(sample.name, set()).update(sample.labels)
    return out


def test_dashboard_queries_exported_metrics_and_labels() -> None:
    dash = json.loads((DEPLOY / "grafana/dashboards/alphapulse.json").read_text())
    exported = _exported()
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        names = re.findall(r"alphapulse_[a-z_]+", expr)
        assert names, expr
        for name in names:
            assert name in exported, f"{name} is not exported (in {expr!r})"
            for label in re.findall(r"by \(([a-z_, ]+)\)", expr):
                for lab in (x.strip() for x in label.split(",")):
                    assert lab == "le" or lab in exported[name], f"{name} has no label {lab}"
    legends = {t["legendFormat"] for p in dash["panels"] for t in p["targets"]}
    assert "{{strategy}}" in legends and "exported" not in legends
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_provisioning_and_scrape_config_agree() -> None:
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    uid = ds["datasources"][0]["uid"]
    dash = json.loads((DEPLOY / "grafana/dashboards/alphapulse.json").read_text())
    assert {p["datasource"]["uid"] for p in dash["panels"]} == {uid}
    prom = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["alphapulse-api"]["metrics_path"] == "/metrics"
    assert "alphapulse-paper" in jobs
