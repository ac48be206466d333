"""What a client may choose in ``POST /runs``: code, files, databases and sizes that a
config file may name are refused with a 422 naming the field, before anything runs."""

from __future__ import annotations

import json
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
        ({"model": {"kind": "x", "params": {"path": "/tmp/m"}}}, "model.params.path"),
    ],
)
def test_model_locations_are_server_side(
    client: TestClient, params: dict[str, Any], message: str
) -> None:
    body = {"strategies": [{"strategy": ML, "params": params}]}
    refused(client, body, "strategies.0.params", message)


def _lgbm(**params: Any) -> dict[str, Any]:
    return {"kind": "lgbm_classifier", "params": params}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"model": _lgbm(forcedsplits_filename="/etc/hosts")},
            "model.params.forcedsplits_filename",
        ),
        ({"model": _lgbm(fs="/etc/hosts")}, "model.params.fs"),  # an alias
        ({"model": _lgbm(machines="10.0.0.1:12400", num_machines=2)}, "model.params.machines"),
        ({"model": _lgbm(local_listen_port=8000)}, "model.params.local_listen_port"),
        ({"model": _lgbm(num_threads=4096)}, "model.params.num_threads"),
        (
            {"model": {"kind": "voting", "members": [_lgbm(output_model="/tmp/m.txt")]}},
            "model.members.0.params.output_model",
        ),
        (
            {
                "model": {
                    "kind": "stacking",
                    "members": [_lgbm()],
                    "params": {"meta": _lgbm(n_jobs=64)},
                }
            },
            "model.params.meta.params.n_jobs",
        ),
        (
            {"experts": [{"strategy": "ml", "params": {"model": _lgbm(device_type="gpu")}}]},
            "experts.0.params.model.params.device_type",
        ),
    ],
    ids=["file", "alias", "network", "port", "threads", "member", "meta", "hybrid_expert"],
)
def test_model_params_naming_files_peers_or_threads_are_refused(
    client: TestClient, params: dict[str, Any], message: str
) -> None:
    """LightGBM reads ``forcedsplits_filename`` and listens and connects for ``machines``
    when it trains: from a client, such a model parameter is a 422 naming it."""
    strategy = "hybrid" if "experts" in params else ML
    body = {"strategies": [{"strategy": strategy, "params": params}]}
    refused(client, body, "strategies.0.params", message)


def test_model_server_settings_cover_lightgbm_aliases() -> None:
    """Every alias the installed LightGBM knows for those parameters is refused too."""
    from lightgbm.basic import _ConfigAliases

    from alphapulse.api.run_request import MODEL_SERVER_ONLY

    names = (
        "data", "valid", "input_model", "output_model", "output_result", "initscore_filename",
        "valid_data_initscores", "forcedsplits_filename", "forcedbins_filename",
        "parser_config_file", "convert_model", "config", "save_binary", "snapshot_freq",
        "machines", "machine_list_filename", "num_machines", "local_listen_port", "time_out",
        "num_threads", "device_type", "gpu_platform_id", "gpu_device_id", "gpu_use_dp", "num_gpu",
    )  # fmt: skip
    missing = {a for n in names for a in _ConfigAliases.get(n)} - MODEL_SERVER_ONLY
    assert not missing


def test_ordinary_model_params_are_accepted(client: TestClient) -> None:
    """The tuning parameters stay a client's."""
    model = _lgbm(num_leaves=7, learning_rate=0.1, n_estimators=20)
    body = {**TINY_RUN, "strategies": [{"strategy": ML, "params": {"model": model}}]}
    res = client.post("/runs", json=body, headers=AUTH)
    assert res.status_code == 202, res.text


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


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "run\x00"}, "name", "text may not hold a NUL character"),
        (
            {"data": {**TINY_RUN["data"], "symbols": ["AAPL", "MS\x00FT"]}},
            "data.symbols",
            "1: text may not hold a NUL",
        ),
        (
            {"strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 2**64}}]},
            "strategies.0.params",
            "slow: a whole number beyond 64 bits",
        ),
        (
            {"risk": {"guards": {"error_burst": {"count": 2**63}}}},
            "risk",
            "guards.error_burst.count: a whole number beyond 64 bits",
        ),
    ],
    ids=["nul_name", "nul_symbol", "int_param", "int_risk"],
)
def test_values_a_run_cannot_hold_are_refused(
    client: TestClient, body: dict[str, Any], field: str, message: str
) -> None:
    """Accepted before: a NUL made PostgreSQL refuse the run rows (``503 database
    unavailable``), a number beyond 64 bits failed the run (OverflowError, numba typing)."""
    refused(client, body, field, message)


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


def _hybrid(expert: dict[str, Any]) -> dict[str, Any]:
    return {"strategies": [{"strategy": "hybrid", "params": {"experts": [expert]}}]}


@pytest.mark.parametrize("module", ["tabnanny", "wave"])  # (imported by nothing else)
def test_a_hybrid_experts_import_path_is_refused_unimported(
    client: TestClient, module: str
) -> None:
    """The experts are strategy configs too: validated with the client context, so a
    ``module:Class`` is refused at any depth before it is imported."""
    if module in sys.modules:
        pytest.skip(f"{module} already imported by another test")
    body = _hybrid({"strategy": f"{module}:Anything"})
    refused(client, body, "strategies.0", "registered strategies only")
    assert module not in sys.modules


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"strategies": [{"strategy": ML, "params": {"features": "/etc/passwd"}}]}, "a file path"),
        (_hybrid({"strategy": "ml", "params": {"features": "/etc/passwd"}}), "a file path"),
        (
            {"strategies": [{"strategy": "sentiment", "params": {"news": "/tmp"}}]},
            "not a dataset of the server's catalog",
        ),
        (
            {"strategies": [{"strategy": "sentiment", "params": {"news": "../../../tmp"}}]},
            "not a dataset of the server's catalog",
        ),
        (
            {"strategies": [{"strategy": "sentiment", "params": {"cache_dir": "/tmp/x"}}]},
            "params.cache_dir",
        ),
        (
            _hybrid({"strategy": "sentiment", "params": {"cache_dir": "/tmp/x"}}),
            "params.cache_dir",
        ),
        (
            {
                "strategies": [
                    {
                        "strategy": "ml",
                        "params": {
                            "features": {
                                "name": "f",
                                "version": 1,
                                "features": [{"kind": "sentiment", "news": "/etc"}],
                            }
                        },
                    }
                ]
            },
            "not a dataset of the server's catalog",
        ),
    ],
    ids=[
        "ml_features",
        "hybrid_ml_features",
        "news_path",
        "news_dots",
        "cache_dir",
        "hybrid_cache",
        "feature",
    ],
)
def test_files_named_at_any_depth_are_refused(
    client: TestClient, body: dict[str, Any], message: str, shared_data: Path
) -> None:
    refused(client, body, "strategies.0", message)


def test_news_by_catalog_name_is_accepted(client: TestClient, shared_data: Path) -> None:
    params = {"news": "news_headlines_2021_2022"}
    body = {**TINY_RUN, "strategies": [{"strategy": "sentiment", "params": params}]}
    res = client.post("/runs", json=body, headers=AUTH)
    assert res.status_code == 202, res.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {**TINY_RUN["data"], "session_tz": "Not/AZone"}}, "data.session_tz"),
        ({"data": {**TINY_RUN["data"], "session_tz": "../../etc/passwd"}}, "data.session_tz"),
        (
            {"portfolio": {"method": "mean_variance", "periods_per_year": "INF"}},
            "portfolio.mean_variance.periods_per_year",
        ),
        (
            {"portfolio": {"method": "black_litterman", "views": {"AAPL": "NAN"}}},
            "portfolio.black_litterman.views.AAPL",
        ),
    ],
    ids=["tz", "tz_path", "inf", "nan_view"],
)
def test_settings_that_would_fail_the_run_are_refused(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    """Checked at the request (a 422), not found by the run; JSON's ``1e999`` and
    ``NaN`` (Python's json reads both) are not finite numbers."""
    raw = json.dumps({**TINY_RUN, **body}).replace('"INF"', "1e999").replace('"NAN"', "NaN")
    res = client.post("/runs", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert res.status_code == 422, res.text
    assert field in res.json()["error"]
