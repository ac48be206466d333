"""Strategies: the registry with parameter schemas and the persisted enable flag."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from alphapulse.api.control import is_enabled, set_enabled, strategy_states
from alphapulse.store import open_store
from alphapulse.strategies.registry import available_strategies

from .conftest import AUTH


def test_list_strategies_with_schemas(client: TestClient) -> None:
    items = client.get("/strategies", headers=AUTH).json()
    assert [s["name"] for s in items] == available_strategies()
    sma = next(s for s in items if s["name"] == "sma_cross")
    assert sma["enabled"] is True
    props = sma["params"]["properties"]
    assert {"fast", "slow"} <= set(props) and props["fast"]["type"] == "integer"
    assert sma["params"]["additionalProperties"] is False


def test_enable_disable_round_trip(client: TestClient, sqlite_url: str) -> None:
    res = client.post("/strategies/sma_cross/disable", headers=AUTH)
    assert res.status_code == 200 and res.json() == {"name": "sma_cross", "enabled": False}
    listed = {s["name"]: s["enabled"] for s in client.get("/strategies", headers=AUTH).json()}
    assert listed["sma_cross"] is False and listed["momentum"] is True
    assert is_enabled(sqlite_url, "sma_cross") is False  # what the paper runtime reads
    assert client.post("/strategies/sma_cross/enable", headers=AUTH).json()["enabled"] is True
    assert is_enabled(sqlite_url, "sma_cross") is True


def test_unknown_strategy_is_404(client: TestClient) -> None:
    res = client.post("/strategies/nope/enable", headers=AUTH)
    assert res.status_code == 404 and "unknown strategy 'nope'" in res.json()["error"]
    assert client.post("/strategies/a%20b/enable", headers=AUTH).status_code == 422
    assert client.get("/strategies/sma_cross/enable", headers=AUTH).status_code == 405


def test_control_api_on_store_without_table(tmp_path: pytest.TempPathFactory) -> None:
    url = f"sqlite:///{tmp_path}/plain.sqlite"
    with open_store(url) as store:
        assert is_enabled(store, "anything") is True  # no table yet: enabled
        assert strategy_states(store) == {}
        set_enabled(store, "x", False)
        set_enabled(store.engine, "y", True)
        assert strategy_states(store) == {"x": False, "y": True}
        assert is_enabled(store.engine, "x") is False
