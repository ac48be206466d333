"""``alphapulse anomalies scan --config``: the block's ``min_severity`` filters the rows
unless ``--min-severity`` is given (the option's default ``low`` used to override it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.cli import main


@pytest.fixture
def bars_csv(tmp_path: Path) -> Path:
    """120 daily bars of three quiet symbols; A jumps ~25 sigma at bar 80, B ~6 sigma
    at bar 90 (both levels hold)."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=120, freq="D")
    frames = []
    for sym, at, size in (("A", 80, 0.25), ("B", 90, 0.06), ("C", 0, 0.0)):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        close[at:] *= np.exp(size)
        frames.append(
            pd.DataFrame(
                {"timestamp": days, "symbol": sym, "open": close, "high": close,
                 "low": close, "close": close, "volume": rng.lognormal(12, 0.3, len(days))}
            )
        )  # fmt: skip
    path = tmp_path / "bars.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def _scan(args: list[str]) -> pd.DataFrame:
    out = Path(args[0]).parent / "found.csv"
    with pytest.raises(SystemExit) as exc:
        main(["anomalies", "scan", *args, "--out", str(out)])
        raise SystemExit(0)
    assert (exc.value.code or 0) == 0
    return pd.read_csv(out)


def test_config_min_severity_is_used_unless_the_option_is_given(
    bars_csv: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "anomalies.yaml"
    cfg.write_text("anomalies: {min_severity: critical, pattern: {enabled: false}}\n")
    everything = _scan([str(bars_csv), "--config", str(cfg), "--min-severity", "low"])
    assert {"CRITICAL"} < set(everything["severity"])  # B's jump is below CRITICAL
    kept = _scan([str(bars_csv), "--config", str(cfg)])
    assert len(kept) and set(kept["severity"]) == {"CRITICAL"}
    critical = everything[everything["severity"] == "CRITICAL"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, critical)
    assert (
        _scan([str(bars_csv), "--config", str(cfg), "--min-severity", "medium"])["symbol"]
        .eq("B")
        .any()
    )
