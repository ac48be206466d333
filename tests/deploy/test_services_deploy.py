"""The container packaging of the services: the Dockerfile's structure, the compose file
(validated by ``docker-compose config`` where Debian's docker-compose is installed), the
service alert rules (``promtool test rules`` where present) and the trading dashboard's
metric names, checked against what the services export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from alphapulse.api.metrics import Metrics
from alphapulse.cli import app
from alphapulse.services.health import Freshness, service_registry

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_SERVICES = {"ingest", "trade", "api"}
SCRAPE_LABELS = {"job", "instance"}  # added by Prometheus to every scraped sample
# The services that may see each secret of deploy/.env (the app services get their role's
# password inside ALPHAPULSE_DB_URL); compose's env_file would hand all of them to each.
SECRET_USERS = {
    "POSTGRES_PASSWORD": {"postgres"},  # the superuser's
    "APP_DB_PASSWORD": APP_SERVICES | {"postgres"},  # the app role's (postgres-init)
    "ALPHAPULSE_API_TOKEN": {"api"},
    "GRAFANA_ADMIN_PASSWORD": {"grafana"},
    "APCA_API_KEY_ID": {"ingest", "trade"},
    "APCA_API_SECRET_KEY": {"ingest", "trade"},
}


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _own_secrets(service: str) -> set[str]:
    return {name for name, users in SECRET_USERS.items() if service in users}


def test_dockerfile_multi_stage_non_root_healthcheck() -> None:
    lines = [
        ln.strip() for ln in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]  # fmt: skip
    stages = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(stages) >= 2 and all(re.match(r"FROM \S+ AS \w+$", s) for s in stages)
    final = lines[lines.index(stages[-1]) :]
    assert "slim" in stages[-1]
    users = [ln.split()[1] for ln in final if ln.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert any(ln.startswith("HEALTHCHECK ") and "CMD" in ln for ln in final)
    assert any(ln.startswith("COPY --from=") for ln in final)
    text = "\n".join(lines)
    assert re.search(r"pip install -c constraints\.txt", text)
    assert "COPY pyproject.toml constraints.txt" in text
    assert ".venv" in (ROOT / ".dockerignore").read_text()


def test_compose_services_and_mounts() -> None:
    doc = _compose()
    services = doc["services"]
    assert set(services) == APP_SERVICES | {
        "postgres", "redis", "prometheus", "alertmanager", "grafana",
    }  # fmt: skip
    commands = {c.name for c in app.registered_commands}
    for name in APP_SERVICES:
        svc = services[name]
        assert svc["command"][0] in commands and svc["restart"] == "unless-stopped"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("ingest", "trade", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("ingest", "trade"):
        port = services[name]["command"][services[name]["command"].index("--port") + 1]
        assert f":{port}/health" in " ".join(services[name]["healthcheck"]["test"])
    for svc in services.values():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("./"):
                assert (DEPLOY / src).exists(), src
    secrets = re.findall(r"PASSWORD: (\S+)", (DEPLOY / "compose.yaml").read_text())
    assert secrets and all(s.startswith("${") for s in secrets)  # from the env, never inline


def test_compose_gives_each_service_only_its_secrets() -> None:
    for name, svc in _compose()["services"].items():
        assert "env_file" not in svc, name  # the whole .env, every secret in it
        values = " ".join(str(v) for v in svc.get("environment", {}).values())
        assert set(re.findall(r"\$\{(\w+)", values)) & set(SECRET_USERS) == _own_secrets(name)


def test_env_example_names_every_compose_variable() -> None:
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", (DEPLOY / "compose.yaml").read_text()))
    named = set(re.findall(r"^(?:# )?(\w+)=", (DEPLOY / "env.example").read_text(), re.M))
    assert used == named


def test_prometheus_scrapes_the_compose_services() -> None:
    prom = yaml.safe_load((DEPLOY / "prometheus-compose.yml").read_text())
    services = _compose()["services"]
    assert {"alert_rules.yml", "service_alert_rules.yml"} <= set(prom["rule_files"])
    for job in prom["scrape_configs"]:
        (target,) = job["static_configs"][0]["targets"]
        host, port = target.split(":")
        assert host in services
        cmd = services[host]["command"]
        assert cmd[cmd.index("--port") + 1] == port
    native = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "service_alert_rules.yml" in native["rule_files"]


def _exported() -> dict[str, set[str]]:
    """Sample names -> their label names (and ``side`` values) from the trade service."""
    registry = service_registry("trade")
    Freshness(registry, 1.0)
    m = Metrics(registry)
    m.order("s")
    m.fill("s")
    m.rejection("s", "r")
    m.portfolio_value("s", 1.0)
    m.exposure("s", 1.5, -0.25)
    out: dict[str, set[str]] = {}
    for f in text_string_to_metric_families(m.exposition().decode()):
        for s in f.samples:
            out.setdefault(s.name, set()).update(s.labels)
            out[s.name].update(f"{k}={v}" for k, v in s.labels.items() if k == "side")
    return out


def test_trading_dashboard_and_alerts_use_exported_metrics() -> None:
    exported = _exported()
    anomaly_rules = (DEPLOY / "alert_rules.yml").read_text()  # its own test checks those
    dash = json.loads((DEPLOY / "grafana/dashboards/trading.json").read_text())
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for word in ("equity", "drawdown", "orders", "fills", "alerts", "memory", "cpu", "exposure"):
        assert word in titles
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DEPLOY / "service_alert_rules.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for expr in exprs:
        for name in re.findall(r"\b(?:alphapulse|process)_[a-z_]+", expr):
            assert name in exported or name in anomaly_rules, f"{name} not exported ({expr})"
        for name, sel in re.findall(r"\b(alphapulse_[a-z_]+)\{([^}]*)\}", expr):
            for key, val in re.findall(r'([a-z_]+)="([^"]*)"', sel):
                if name in exported:  # a label matcher names a label (and side) it has
                    assert key in exported[name], f"{name} has no label {key}"
                    assert key != "side" or f"side={val}" in exported[name], expr
        grouped = {
            x.strip() for by in re.findall(r"by \(([a-z_, ]+)\)", expr) for x in by.split(",")
        }
        for name in set(re.findall(r"\balphapulse_[a-z_]+", expr)) & set(exported):
            assert grouped - SCRAPE_LABELS <= exported[name], f"{name} lacks one of {grouped}"
    stale = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "AlphaPulseDataStale"]
    assert stale and "alphapulse_feed_stale" in stale[0]["expr"]


def test_compose_config_validates(tmp_path: Path) -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose (Debian package) not installed")
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    env = (DEPLOY / "env.example").read_text()
    assert "ALPHAPULSE_API_TOKEN" in env
    vars_ = dict(ln.split("=", 1) for ln in env.splitlines() if ln and not ln.startswith("#"))
    vars_.update({name: f"{name.lower()}-{'x' * 32}" for name in SECRET_USERS})  # findable
    (tmp_path / "deploy" / ".env").write_text("".join(f"{k}={v}\n" for k, v in vars_.items()))
    out = subprocess.run(
        [exe, "-f", str(tmp_path / "deploy" / "compose.yaml"), "config"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **vars_}, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for name, svc in yaml.safe_load(out.stdout)["services"].items():  # env_file inlined
        values = " ".join(str(v) for v in (svc.get("environment") or {}).values())
        assert {s for s in SECRET_USERS if vars_[s] in values} == _own_secrets(name), name


def test_service_alert_rules_pass_promtool() -> None:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.skip("promtool not installed")
    out = subprocess.run(
        [exe, "test", "rules", "service_alert_rules_test.yml"],
        cwd=DEPLOY, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
