"""Validation rules on synthetic files and on the known issues of the real datasets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.catalog import load_checked, load_frames, read_source
from alphapulse.data.sources.files import read_file
from alphapulse.data.validation import RULES, ValidationConfig, apply_policy, validate

HEADER = "date,open,high,low,close,volume"
GOOD = [
    "2024-01-02,10,11,9.5,10.5,100",
    "2024-01-03,10.5,12,10,11.5,120",
    "2024-01-04,11.5,11.8,11,11.2,90",
    "2024-01-05,11.2,11.6,11,11.4,80",
]
XNYS = ValidationConfig(calendar="XNYS")


def _check(tmp_path: Path, rows: list[str], config: ValidationConfig = XNYS) -> list[tuple]:
    path = tmp_path / "t.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    report = validate({"T": read_file(path)}, config)
    return [(i.rule, i.row, i.field, i.severity) for i in report.issues]


def test_clean_file_has_no_issues(tmp_path: Path) -> None:
    assert _check(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024-01-04,11.5,11.8,,11.2,90", ("missing_value", 4, "low", "error")),
        ("2024-01-04,11.5,11.8,-1,11.2,90", ("non_positive_price", 4, "low", "error")),
        ("2024-01-04,11.5,11.0,10.9,11.2,90", ("high_low_bound", 4, "high", "error")),
        ("2024-01-04,11.5,11.8,11.3,11.2,90", ("high_low_bound", 4, "low", "error")),
        ("2024-01-04,11.5,11.8,11,11.2,-5", ("negative_volume", 4, "volume", "error")),
        ("2024-01-04,11.5,11.8,11,11.2,0", ("zero_volume", 4, "volume", "warning")),
        ("2024-01-06,11.5,11.8,11,11.2,90", ("off_calendar", 4, "timestamp", "error")),
    ],
)
def test_row_rules(tmp_path: Path, line: str, expected: tuple) -> None:
    rows = [*GOOD[:2], line, GOOD[3]]
    issues = _check(tmp_path, rows)
    assert expected in issues
    if expected[0] == "off_calendar":  # Saturday bar; Thursday is then missing
        assert ("gap", None, None, "warning") in issues


def test_duplicate_and_out_of_order(tmp_path: Path) -> None:
    issues = _check(tmp_path, [GOOD[0], GOOD[2], GOOD[1], GOOD[2], GOOD[3]])
    assert ("out_of_order", 4, "timestamp", "error") in issues
    assert ("duplicate_timestamp", 5, "timestamp", "error") in issues
    assert [i[0] for i in issues].count("duplicate_timestamp") == 1


def test_gap_against_calendar_and_24_7(tmp_path: Path) -> None:
    issues = _check(tmp_path, [GOOD[0], GOOD[3]])  # 3rd and 4th missing
    assert issues == [("gap", None, None, "warning")]
    path = tmp_path / "t.csv"
    report = validate({"T": read_file(path)}, ValidationConfig(calendar="24/7"))
    assert [(i.rule, i.value) for i in report.issues] == [("gap", 2.0)]
    assert report.issues[0].timestamp == pd.Timestamp("2024-01-03", tz="UTC")


def test_extreme_return_is_warning(tmp_path: Path) -> None:
    rows = [*GOOD[:3], "2024-01-05,30,31,29,30,80"]
    issues = _check(tmp_path, rows, ValidationConfig(calendar="XNYS", max_log_return=0.5))
    assert ("extreme_return", 5, "close", "warning") in issues
    assert not any(i[3] == "error" for i in issues)


def test_severity_override_and_unknown_config_key() -> None:
    cfg = ValidationConfig(severity={"zero_volume": "error"})
    assert cfg.severity_of("zero_volume") == "error"
    assert cfg.severity_of("gap") == RULES["gap"]
    with pytest.raises(ValueError, match="extra"):
        ValidationConfig(threshold=1)  # type: ignore[call-arg]


def test_reject_and_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = [GOOD[0], "2024-01-03,10.5,12,,11.5,120", GOOD[2], "2024-01-05,11.2,11,11,11.4,80"]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    groups = {"T": read_file(path)}
    with pytest.raises(DataError, match="2 data error") as info:
        apply_policy(groups, "reject", XNYS)
    assert (info.value.row, info.value.rule, info.value.field) == (3, "missing_value", "low")
    assert info.value.path == str(path)
    checked = apply_policy(groups, "quarantine", XNYS)
    assert list(checked.quarantined["row"]) == [3, 5]
    assert list(checked.quarantined["reason"]) == ["missing_value(low)", "high_low_bound(high)"]
    kept = checked.groups["T"][0]
    assert list(kept.lines) == [2, 4]
    assert len(load_frames(str(path), policy="quarantine", checks=XNYS)["T"]) == 2


def test_a_bad_row_with_a_corporate_action_is_not_set_aside(tmp_path: Path) -> None:
    """Quarantining the 2:1 split's row (its high is below its close) dropped the split
    too, so the history before it was stored unadjusted; now it is an error naming it."""
    path = tmp_path / "t.csv"
    rows = [
        "2024-01-02,100,101,99,100,10,1",
        "2024-01-03,100,101,99,100,10,1",
        "2024-01-04,50,51,49,52,20,2",
        "2024-01-05,50,51,49,50,20,1",
    ]
    path.write_text("\n".join(["date,open,high,low,close,volume,split_coefficient", *rows]))
    with pytest.raises(DataError, match="carries a corporate action") as info:
        apply_policy({"T": read_file(path)}, "quarantine", XNYS)
    assert (info.value.row, info.value.field) == (4, "split")
    rows[2] = "2024-01-04,50,52,49,52,20,2"  # fixed: the split is kept
    path.write_text("\n".join(["date,open,high,low,close,volume,split_coefficient", *rows]))
    assert apply_policy({"T": read_file(path)}, "quarantine", XNYS).quarantined.empty


def test_sp500_known_issues(data_root: Path) -> None:
    syms = ["CHD", "DHR", "LNT", "AAPL"]
    res = load_checked("sp500_daily_2013_2018", syms, root=data_root)
    errs = {(i.symbol, str(i.timestamp.date()), i.rule) for i in res.report.errors}
    assert ("CHD", "2014-05-19", "high_low_bound") in errs
    assert ("LNT", "2016-05-19", "high_low_bound") in errs
    assert ("DHR", "2015-07-17", "missing_value") in errs
    assert ("DHR", "2016-01-12", "missing_value") in errs
    assert not [i for i in res.report.errors if i.symbol == "AAPL"]
    chd = res.report.by_rule("high_low_bound")[0]
    assert (chd.row, chd.field, chd.value) == (322, "low", 33.695)
    dhr_gaps = [i for i in res.report.by_rule("gap") if i.symbol == "DHR"]
    assert sum(float(i.value or 0) for i in dhr_gaps) == 16  # 16 missing days inside DHR
    assert pd.Timestamp("2014-05-19", tz="UTC") not in res.frames["CHD"].index
    with pytest.raises(DataError, match="high_low_bound"):
        load_frames("sp500_daily_2013_2018", ["CHD"], root=data_root, policy="reject")


def test_sp500_whole_dataset_counts(data_root: Path) -> None:
    report = validate(read_source("sp500_daily_2013_2018", root=data_root))
    bound_rows = {(i.symbol, i.row) for i in report.by_rule("high_low_bound")}
    missing_rows = {(i.symbol, i.row) for i in report.by_rule("missing_value")}
    assert len(bound_rows) == 12 and len(missing_rows) == 11
    assert len(report.by_rule("zero_volume")) == 4


def test_binance_known_issues(data_root: Path) -> None:
    res = load_checked("crypto_binance_1h", root=data_root)
    dups = [i for i in res.report.by_rule("duplicate_timestamp") if i.symbol == "BTCUSDT"]
    assert len(dups) == 4
    assert {str(i.timestamp.date()) for i in dups} == {"2017-09-26"}
    assert len(res.quarantined) == 8 and len(res.frames["BTCUSDT"]) == 27_096
    first_bar = [i for i in res.report.by_rule("extreme_range") if i.row == 27_102]
    assert {i.symbol for i in first_bar} == {"BTCUSDT", "ETHUSDT"}  # the bad oldest bar
    assert len([i for i in res.report.by_rule("zero_volume") if i.symbol == "BTCUSDT"]) == 115


def test_coinbase_out_of_order(data_root: Path) -> None:
    report = validate(read_source("crypto_coinbase_btcusd_1h", root=data_root))
    ooo = report.by_rule("out_of_order")
    assert ooo and all(str(i.timestamp.date()) == "2017-11-12" for i in ooo)
    assert len(report.by_rule("zero_volume")) == 28
    assert not report.by_rule("duplicate_timestamp")


def test_clean_datasets(data_root: Path) -> None:
    for name in ("intraday_1min_2024", "zipline_samples_with_actions"):
        report = validate(read_source(name, root=data_root))
        assert report.ok and not report.by_rule("high_low_bound"), name
    spy = validate(read_source("spy_1min_2011_ninjatrader", root=data_root))
    assert spy.ok and [i.value for i in spy.by_rule("gap")] == [19.0]  # February is absent


# -- one validation path for `data validate` and `data import` -------------------------
BAD_FILES = {
    "inf": (["2024-01-02,10,11,9.5,10.5,100", "2024-01-03,10.5,inf,10,11.5,120"], "non_finite"),
    "1e309": (["2024-01-02,10,11,9.5,10.5,100", "2024-01-03,1e309,1e309,10,11,120"], "non_finite"),
    "1e308": (["2024-01-02,10,11,9.5,10.5,100", "2024-01-03,1,1e308,1,1,1"], "implausible_value"),
    "volume": (["2024-01-02,10,11,9.5,10.5,1e16"], "implausible_value"),
    "header only": ([], "no_rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_validate_reports_what_import_refuses(tmp_path: Path, case: str) -> None:
    rows, rule = BAD_FILES[case]
    path = tmp_path / "t.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    report = load_checked(str(path), policy="report").report
    assert rule in {i.rule for i in report.errors}
    with pytest.raises(DataError, match=rule) as info:
        load_checked(str(path), policy="reject")
    assert info.value.path == str(path)


def test_bad_symbol_is_a_row_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("symbol,date,open,high,low,close,volume\nOK,2024-01-02,1,2,0.5,1.5,1\n"
                    "A B!,2024-01-02,1,2,0.5,1.5,1\n")  # fmt: skip
    with pytest.raises(DataError, match="bad_symbol") as info:
        load_checked(str(path), policy="reject")
    assert (info.value.path, info.value.row) == (str(path), 3)
    assert "line 3" in str(info.value)
    kept = load_checked(str(path), policy="quarantine")
    assert list(kept.frames) == ["OK"] and list(kept.quarantined["row"]) == [3]


def test_quarantine_sets_an_inf_row_aside(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("\n".join([HEADER, GOOD[0], "2024-01-03,10.5,inf,10,11.5,120", *GOOD[2:]]))
    res = load_checked(str(path), policy="quarantine")
    assert list(res.quarantined["row"]) == [3]
    assert len(res.frames["T"]) == 3


@pytest.mark.parametrize("stamp", ["2999-01-03", "1600-01-03"])
@pytest.mark.parametrize("policy", ["report", "reject", "quarantine"])
def test_dates_beyond_pandas_range_name_the_line(tmp_path: Path, stamp: str, policy: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("\n".join([HEADER, *GOOD[:2], f"{stamp},1,2,0.5,1.5,1"]) + "\n")
    with pytest.raises(DataError, match="outside 1677-09-22") as info:
        load_checked(str(path), policy=policy)  # type: ignore[arg-type]
    assert (info.value.path, info.value.row, info.value.field) == (str(path), 4, "date")


def test_naive_stamps_mixed_with_offsets_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-02 10:00,1,2,0.5,1.5,1\n"
                    "2024-01-02T11:00:00+05:00,1,2,0.5,1.5,1\n")  # fmt: skip
    with pytest.raises(DataError, match="mixed time zones") as info:
        load_checked(str(path), policy="report")
    assert info.value.row == 2


def test_dst_offsets_in_one_file_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-03-10T01:00:00-05:00,1,2,0.5,1.5,1\n"
                    "2024-03-10T03:00:00-04:00,1,2,0.5,1.5,1\n")  # fmt: skip
    frame = load_checked(str(path), policy="report").frames["T"]
    assert list(pd.DatetimeIndex(frame.index).hour) == [6, 7]


# -- dividend and split columns ---------------------------------------------------------
ACTION_ROWS = {  # (dividend, split) of line 3 -> rule
    ("inf", "1"): "non_finite",
    ("-1", "1"): "negative_action",
    ("0", "-2"): "negative_action",
    ("10.5", "1"): "dividend_above_close",  # the previous close is 10.5
    ("6", "2"): "dividend_above_close",  # 10.5 is 5.25 per post-split share
}


@pytest.mark.parametrize(("cells", "rule"), sorted(ACTION_ROWS.items()))
def test_action_columns_validate_as_import_refuses(
    tmp_path: Path, cells: tuple[str, str], rule: str
) -> None:
    path = tmp_path / "t.csv"
    row = "{},10,11,9,10.5,1000,{},{}"
    rows = [row.format("2024-01-02", 0, 1), row.format("2024-01-03", *cells)]
    path.write_text("\n".join([f"{HEADER},dividend,split", *rows, row.format("2024-01-04", 0, 0)]))
    report = load_checked(str(path), policy="report").report
    assert [(i.rule, i.row) for i in report.errors] == [(rule, 3)]
    with pytest.raises(DataError, match=rule) as info:
        load_checked(str(path), policy="reject")
    assert (info.value.path, info.value.row) == (str(path), 3)
