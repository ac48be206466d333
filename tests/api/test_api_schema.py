"""Schemathesis against the app's own OpenAPI schema (in-process ASGI, with the token, on
SQLite): every documented operation answers as documented (status codes, content types,
response bodies), never a 5xx; schema-valid requests are accepted and invalid ones refused.
Bounded: a few derandomized examples per operation, no shrinking, no stateful phase.

Accepted ``POST /runs`` create their runs, but the backtest itself is not run (the worker
entry point validates the config and stops), so the test stays fast."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from alphapulse.api import ApiSettings, create_app, jobs
from alphapulse.config import BacktestConfig

from .conftest import AUTH, TOKEN

#: ``/sessions`` starts paper sessions; covered by its own tests, not run from here.
EXCLUDED = r"^/sessions"
#: The coverage phase enumerates every keyword of every field: thousands of ``POST /runs``
#: bodies (the config schema is large), so that operation gets the fuzzing phase only.
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path": "/runs",
                "include-method": "POST",
                "phases": {"coverage": {"enabled": False}},
            }
        ]
    }
)


class NotRun(RuntimeError):
    """What the stand-in worker raises once the config is valid."""


def _validate_only(db_url: str, config: dict[str, Any], *args: Any) -> None:
    BacktestConfig.model_validate(config)
    raise NotRun("backtests are not run by the schema test")


_DIR = Path(tempfile.mkdtemp(prefix="alphapulse-schema-"))
APP = create_app(
    ApiSettings(token=TOKEN, db_url=f"sqlite:///{_DIR / 'api.sqlite'}", job_mode="thread")
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).exclude(
    path_regex=EXCLUDED
)


@pytest.fixture(scope="module", autouse=True)
def _no_backtests(shared_data: Path) -> Iterator[None]:
    """While this module runs, API backtests validate their config and stop."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "execute", _validate_only)
        yield
    shutil.rmtree(_DIR, ignore_errors=True)


#: Documented rules between fields, not expressible in JSON schema: (field prefix,
#: message fragment; "" = any rule of that field).
CROSS_FIELD = (
    ("strategies", ""),  # per-strategy rules such as fast < slow, unique labels
    ("portfolio", "min_history"),  # min_history <= lookback
    ("portfolio", "every or calendar"),
    ("data.end", "before data.start"),
)


def _cross_field_only(response: Any) -> bool:
    """A 422 whose every field error is one of the ``CROSS_FIELD`` rules."""
    fields = response.json()["fields"]
    return bool(fields) and all(
        any(f["field"].startswith(p) and m in f["message"] for p, m in CROSS_FIELD) for f in fields
    )


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_schema(case: Any) -> None:
    runs = case.operation.label == "POST /runs"
    response = case.call_and_validate(
        headers=AUTH, excluded_checks=[positive_data_acceptance] if runs else []
    )
    meta = case.meta
    if runs and meta is not None and meta.generation.mode.is_positive:
        # POST /runs keeps positive_data_acceptance, save per-strategy cross-field rules.
        assert response.status_code == 202 or (
            response.status_code == 422 and _cross_field_only(response)
        ), response.text
