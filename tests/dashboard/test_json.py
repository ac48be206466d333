"""What the pages hand to their script is strict JSON: ``JSON.parse`` takes no NaN or
Infinity, so one such number would leave a chart blank; in a cell it is a dash."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import pytest

from alphapulse.dashboard.web import TEMPLATES
from alphapulse.ml.models import RidgeBaseline
from alphapulse.ml.registry import ModelRegistry
from alphapulse.store import open_store
from tests.api.conftest import make_client
from tests.dashboard.conftest import login
from tests.ml.test_registry import meta

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _refuse(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _script_json(page: str, element_id: str) -> Any:
    found = re.search(rf'id="{element_id}">(.*?)</script>', page, re.S)
    assert found, element_id
    return json.loads(found.group(1), parse_constant=_refuse)


@pytest.fixture(scope="module")
def zero_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """A logged-in client of an app whose one run's equity starts at 0, and its id."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ui_json') / 'ui.sqlite'}"
    ts = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    equity = pd.DataFrame({"timestamp": ts, "cash": 0.0, "equity": [0.0, 0.0, 100.0, 50.0]})
    with open_store(url) as store:
        run_id = store.record_run("zero-start", status="finished")
        store.write_run_outputs(run_id, None, None, None, equity)
    with make_client(url, job_mode="thread") as client:
        login(client)
        yield client, run_id


def test_equity_from_zero_has_no_drawdown_until_a_positive_peak(zero_start) -> None:  # type: ignore[no-untyped-def]
    client, run_id = zero_start
    curve = _script_json(client.get(f"/ui/runs/{run_id}").text, "curve")
    assert curve["equity"] == [0.0, 0.0, 100.0, 50.0]
    assert curve["drawdown"] == [0.0, 0.0, 0.0, -0.5]  # was NaN, NaN (0 / 0)
    curves = _script_json(client.get(f"/ui/compare?ids={run_id}").text, "curves")
    assert curves == {"zero-start": curve}


def test_tojson_writes_nan_and_infinity_as_null() -> None:
    page = TEMPLATES.env.from_string("{{ x | tojson }}")
    x = {"a": [1.5, float("nan")], "b": float("-inf")}
    assert json.loads(page.render(x=x), parse_constant=_refuse) == {"a": [1.5, None], "b": None}


def test_models_page_shows_a_missing_drift_value_as_a_dash(
    zero_start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    client, _ = zero_start
    reg = ModelRegistry(root=tmp_path)
    x = np.random.default_rng(0).normal(size=(50, 2))
    reg.register(RidgeBaseline().fit(x, x[:, 0]), "ridge", meta(drift_psi=0.25, drift_ks=None))
    [written] = tmp_path.rglob("metadata.json")  # as another writer leaves it: a bare NaN
    written.write_text(written.read_text().replace('"drift_psi": 0.25', '"drift_psi": NaN'))
    monkeypatch.setenv("ALPHAPULSE_MLRUNS", str(tmp_path))
    page = client.get("/ui/models").text
    assert "drift_psi: –<br>drift_ks: –<br>" in page  # before: "drift_psi: nan", "drift_ks: "
    assert '"drift_psi": null' in page  # the metadata keys, as JSON
