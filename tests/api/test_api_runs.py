"""Runs: validation, a tiny backtest end to end, output tables, pagination and 404s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from alphapulse.api.jobs import _one_line
from alphapulse.store import open_store

from .conftest import AUTH, TINY_RUN, make_client, wait_finished

TABLE_ROUTES = ["orders", "fills", "trades", "positions", "portfolio", "signals", "risk-events"]


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app (worker-thread mode) with TINY_RUN finished: (client, ids by label)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('runs') / 'api.sqlite'}"
    with make_client(url, job_mode="thread") as client:
        res = client.post("/runs", json=TINY_RUN, headers=AUTH)
        assert res.status_code == 202, res.text
        ids = {r["strategy"]: r["id"] for r in res.json()["runs"]}
        assert res.headers["location"] == f"/runs/{ids['sma_fast']}"
        assert wait_finished(client, list(ids.values())) == ["finished", "finished"]
        yield client, ids


def post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/runs", json=body, headers=AUTH)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"dta": {}}, "dta", "unknown key"),
        ({"data": {"source": "x", "symbolz": ["A"]}}, "data.symbolz", "unknown key"),
        ({"initial_cash": -1}, "initial_cash", "greater than 0"),
        ({"fill_at": "later"}, "fill_at", "'next_open' or 'close'"),
        ({"strategies": []}, "strategies", "at least 1 item"),
        (
            {"strategies": [{"strategy": "sma_cross", "params": {"fsat": 3}}]},
            "strategies.0",
            "params.fsat: unknown key",
        ),
        ({"strategies": [{"strategy": "nope"}]}, "strategies.0.strategy", "unknown strategy"),
        ({"data": {"source": "no_such_dataset"}}, "data.source", "unknown dataset"),
        (
            {"data": {**TINY_RUN["data"], "start": "2015-06-02", "end": "2015-06-01"}},
            "data.end",
            "before data.start",
        ),
    ],
)
def test_bad_config_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, message: str
) -> None:
    res = post(client, {**TINY_RUN, **change})
    assert res.status_code == 422
    body = res.json()
    assert set(body) == {"error", "fields"}
    match = [f for f in body["fields"] if f["field"] == field]
    assert match and message in match[0]["message"], body
    assert field in body["error"]


def test_body_must_be_json_object(client: TestClient) -> None:
    res = client.post(
        "/runs", content=b"[1, 2]", headers={**AUTH, "content-type": "application/json"}
    )
    assert res.status_code == 422 and res.json()["fields"]
    res = client.post(
        "/runs", content=b"{oops", headers={**AUTH, "content-type": "application/json"}
    )
    assert res.status_code == 422


def test_backtest_lifecycle(finished: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = finished
    run = client.get(f"/runs/{ids['sma_fast']}", headers=AUTH).json()
    assert run["name"] == "api-test/sma_fast" and run["status"] == "finished"
    assert run["config"]["strategies"] == [
        {
            "strategy": "sma_cross",
            "name": "sma_fast",
            "params": {"fast": 5, "slow": 20},
            "execution": None,
        }
    ]
    assert run["data_hash"] and run["finished_at"] >= run["started_at"]
    summary = client.get(f"/runs/{ids['sma_fast']}/summary", headers=AUTH).json()
    m = summary["metrics"]
    assert m["strategy"] == "sma_fast" and m["n_fills"] > 0 and m["final_equity"] > 0
    assert summary["cash"]["n_fills"] == m["n_fills"]
    orders = client.get(f"/runs/{ids['sma_fast']}/orders?limit=1000", headers=AUTH).json()
    fills = client.get(f"/runs/{ids['sma_fast']}/fills?limit=1000", headers=AUTH).json()
    assert orders["total"] == m["n_orders"] == len(orders["items"])
    assert fills["total"] == m["n_fills"] == len(fills["items"])
    assert {f["order_id"] for f in fills["items"]} <= {o["order_id"] for o in orders["items"]}
    assert fills["items"][0]["ts"].startswith("2015-") and fills["items"][0]["ts"].endswith("Z")
    portfolio = client.get(f"/runs/{ids['sma_fast']}/portfolio?limit=1000", headers=AUTH).json()
    assert portfolio["total"] == 252
    assert portfolio["items"][-1]["equity"] == pytest.approx(m["final_equity"])
    bh = client.get(f"/runs/{ids['buy_and_hold']}/positions", headers=AUTH).json()
    assert {p["symbol"] for p in bh["items"]} == {"AAPL", "MSFT"}


@pytest.mark.parametrize("route", TABLE_ROUTES)
def test_run_tables_paginate(finished: tuple[TestClient, dict[str, str]], route: str) -> None:
    client, ids = finished
    rid = ids["sma_fast"]
    full = client.get(f"/runs/{rid}/{route}?limit=1000", headers=AUTH).json()
    assert full["run_id"] == rid and full["total"] == len(full["items"])
    page = client.get(f"/runs/{rid}/{route}?limit=2&offset=1", headers=AUTH).json()
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, full["total"])
    assert page["items"] == full["items"][1:3]
    assert all("run_id" not in row for row in page["items"])


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=1001", "limit"), ("offset=-1", "offset"), ("limit=x", "limit")],
)
def test_bad_pagination_is_422(
    finished: tuple[TestClient, dict[str, str]], query: str, field: str
) -> None:
    client, ids = finished
    res = client.get(f"/runs/{ids['sma_fast']}/orders?{query}", headers=AUTH)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == field


def test_list_runs(finished: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = finished
    runs = client.get("/runs", headers=AUTH).json()
    assert {r["id"] for r in runs["items"]} >= set(ids.values())
    assert all("config" not in r for r in runs["items"])
    assert client.get("/runs?status=running", headers=AUTH).json()["total"] == 0
    one = client.get("/runs?limit=1&offset=1", headers=AUTH).json()
    assert len(one["items"]) == 1 and one["total"] == runs["total"]
    assert client.get("/runs?status=bogus", headers=AUTH).status_code == 422


@pytest.mark.parametrize("suffix", ["", "/summary", *(f"/{r}" for r in TABLE_ROUTES)])
def test_unknown_run_is_404(client: TestClient, suffix: str) -> None:
    res = client.get(f"/runs/no-such-run{suffix}", headers=AUTH)
    assert res.status_code == 404
    assert res.json()["error"] == "unknown run 'no-such-run'"


def test_bad_run_id_and_unknown_route(client: TestClient) -> None:
    assert client.get("/runs/bad%20id", headers=AUTH).status_code == 422
    assert client.get("/runs/x/nothing", headers=AUTH).status_code == 404


def test_summary_of_running_run_is_409(client: TestClient, sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.record_run("manual", {}, run_id="r-running")
    res = client.get("/runs/r-running/summary", headers=AUTH)
    assert res.status_code == 409 and "running" in res.json()["error"]


def test_failed_backtest_is_recorded(client: TestClient, shared_data: Path) -> None:
    body = {**TINY_RUN, "data": {**TINY_RUN["data"], "symbols": ["NOT_A_SYMBOL"]}}
    res = post(client, body)
    assert res.status_code == 202
    ids = [r["id"] for r in res.json()["runs"]]
    assert wait_finished(client, ids) == ["failed", "failed"]
    run = client.get(f"/runs/{ids[0]}", headers=AUTH).json()
    assert "NOT_A_SYMBOL" in run["error"]


def test_a_runs_error_is_one_line_without_the_values_given() -> None:
    """A validation error inside a run names the field, never the value (it may be the
    content of a server file), on one line as docs/api.md says."""

    class Spec(BaseModel):
        name: int

    with pytest.raises(ValidationError) as exc:
        Spec.model_validate({"name": "root:x:0:0:root:/root:/bin/bash\nline two"})
    message = _one_line(exc.value)
    assert (
        message == "ValidationError: name: Input should be a valid integer, unable to parse"
        " string as an integer"
    )
    assert _one_line(RuntimeError("a\n  b")) == "RuntimeError: a b"


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    res = client.request("OPTIONS", "/runs", headers=AUTH)
    assert res.status_code == 405 and res.headers["allow"] == "GET, POST"
    assert client.delete("/runs/x", headers=AUTH).headers["allow"] == "GET"


def test_schema_lists_datasets_and_strategies(client: TestClient) -> None:
    defs = client.get("/openapi.json").json()["components"]["schemas"]
    assert "sp500_daily_2013_2018" in defs["RunData"]["properties"]["source"]["enum"]
    branches = {b["properties"]["strategy"]["const"]: b for b in defs["RunStrategy"]["oneOf"]}
    assert "sma_cross" in branches and "buy_and_hold" in branches
    sma = branches["sma_cross"]["properties"]["params"]  # each strategy's own params
    assert set(sma["properties"]) == {"fast", "slow"} and sma["additionalProperties"] is False
    assert "db_url" not in defs["RunData"]["properties"] and "paper" not in defs["RunRequest"]
