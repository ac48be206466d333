"""What a client may choose in ``POST /runs``: code, files, databases and sizes that a
config file may name are refused with a 422 naming the field, before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alphapulse.api.run_request import MAX_WORKERS

from .conftest import AUTH, TINY_RUN, make_client, wait_finished

BH = {"strategy": "buy_and_hold"}


def refused(client: TestClient, body: dict[str, Any], field: str, message: str = "") -> None:
    res = client.post("/runs", json={**TINY_RUN, **body}, headers=AUTH)
    assert res.status_code == 422, res.text
    fields = res.json()["fields"]
    assert any(f["field"] == field and message in f["message"] for f in fields), fields
    assert field in res.json()["error"]


@pytest.mark.parametrize("module", ["mailbox", "tabnanny", "wave"])
def test_strategy_import_paths_are_refused_unimported(client: TestClient, module: str) -> None:
    if module in sys.modules:
        pytest.skip(f"{module} already imported by another test")
    strategies = [{"strategy": f"{module}:Anything"}]
    refused(client, {"strategies": strategies}, "strategies.0.strategy", "registered")
    assert module not in sys.modules


ML = "ml"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"registry": {"name": "m", "root": "/tmp/elsewhere"}}, "registry.root"),
        ({"registry": {"name": "m", "tracking_uri": "sqlite:////tmp/x.db"}}, "tracking_uri"),
        ({"features": "/etc/passwd"}, "features: a file path"),
        ({"model": {"kind": "x", "params": {"path": "/tmp/m"}}}, "model.params.path"),
    ],
)
def test_model_locations_are_server_side(
    client: TestClient, params: dict[str, Any], message: str
) -> None:
    body = {"strategies": [{"strategy": ML, "params": params}]}
    refused(client, body, "strategies.0.params", message)


@pytest.mark.parametrize(
    "source", ["/etc/passwd", "/etc", "../../etc/hosts", ".", "store", "file:///etc/passwd"]
)
def test_data_sources_are_catalog_names(client: TestClient, source: str, shared_data: Path) -> None:
    dataset = str(shared_data / "sp500_daily_2013_2018")
    refused(client, {"data": {**TINY_RUN["data"], "source": source}}, "data.source", "catalog")
    refused(client, {"data": {**TINY_RUN["data"], "source": dataset}}, "data.source", "catalog")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {**TINY_RUN["data"], "db_url": "sqlite:////tmp/evil.sqlite"}}, "data.db_url"),
        ({"data": {**TINY_RUN["data"], "root": "/etc"}}, "data.root"),
        ({"paper": {"db_url": "sqlite:////tmp/evil.sqlite"}}, "paper"),
        ({"workers": MAX_WORKERS + 1}, "workers"),
        ({"workers": 10_000}, "workers"),
        ({"name": "n" * 129}, "name"),
        ({"strategies": [{**BH, "name": "s" * 65}]}, "strategies.0.name"),
        ({"strategies": [{**BH, "name": "../../x"}]}, "strategies.0.name"),
        ({"strategies": [{"strategy": "s" * 100_000}]}, "strategies.0.strategy"),
        ({"strategies": [{**BH, "name": f"b{i}"} for i in range(17)]}, "strategies"),
        ({"data": {**TINY_RUN["data"], "symbols": ["A" * 65]}}, "data.symbols.0"),
    ],
)
def test_server_settings_and_sizes_are_refused(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    refused(client, body, field)


def test_longest_allowed_names_fit_the_database(backend_url: str, shared_data: Path) -> None:
    """A 128-character run name with a 64-character label is stored on both backends
    (the recorded name is ``<name>/<label>``, at most 193 of the column's 200)."""
    body = {
        **TINY_RUN,
        "name": "n" * 128,
        "data": {**TINY_RUN["data"], "symbols": ["NOT_A_SYMBOL"]},
        "strategies": [{**BH, "name": "s" * 64}],
    }
    with make_client(backend_url, job_mode="thread") as client:
        res = client.post("/runs", json=body, headers=AUTH)
        assert res.status_code == 202, res.text
        rid = res.json()["runs"][0]["id"]
        assert wait_finished(client, [rid]) == ["failed"]
        assert client.get(f"/runs/{rid}", headers=AUTH).json()["name"] == f"{'n' * 128}/{'s' * 64}"
