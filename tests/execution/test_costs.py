"""Cost models (numbers worked out by hand) and their YAML configuration."""

from __future__ import annotations

import math

import pytest
import yaml
from pydantic import ValidationError

from alphapulse.core.errors import ConfigError
from alphapulse.execution import (
    ExecutionConfig,
    FixedBpsSlippage,
    HalfSpreadSlippage,
    MakerTakerCommission,
    NoCommission,
    NoSlippage,
    PercentCommission,
    PerShareCommission,
    SquareRootImpact,
)
from alphapulse.model.orders import Side

BUY, SELL = Side.BUY, Side.SELL


# -- commission -------------------------------------------------------------------------
def test_percent_commission() -> None:
    assert PercentCommission(0.001).fee(100, 50.0, "taker") == pytest.approx(5.0)
    assert PercentCommission().fee(100, 50.0, "maker") == pytest.approx(2.5)  # 5 bps


@pytest.mark.parametrize(
    ("qty", "price", "cap", "fee"),
    [
        (100, 50.0, None, 1.0),  # 100 x 0.005 = 0.50 -> the $1 minimum
        (1000, 50.0, None, 5.0),  # 1000 x 0.005 = 5.00
        (1000, 50.0, 0.01, 5.0),  # cap 1% of 50_000 = 500, not binding
        (1000, 0.10, 0.01, 1.0),  # 5.00 capped at 1% of 100 = 1.00
        (10, 1.0, 0.01, 0.1),  # minimum 1.00 capped at 1% of 10 = 0.10
        (0, 50.0, 0.01, 0.0),  # nothing traded, nothing paid
    ],
)
def test_per_share_commission(qty: float, price: float, cap: float | None, fee: float) -> None:
    model = PerShareCommission(per_share=0.005, minimum=1.0, maximum_pct=cap)
    assert model.fee(qty, price, "taker") == pytest.approx(fee)


def test_maker_taker_commission() -> None:
    model = MakerTakerCommission(maker_bps=1.0, taker_bps=4.0)
    assert model.fee(10, 1000.0, "maker") == pytest.approx(1.0)  # 10_000 x 1e-4
    assert model.fee(10, 1000.0, "taker") == pytest.approx(4.0)


def test_no_commission() -> None:
    assert NoCommission().fee(1e6, 1e3, "taker") == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: PercentCommission(-0.1),
        lambda: PerShareCommission(per_share=math.nan),
        lambda: MakerTakerCommission(taker_bps=-1.0),
        lambda: FixedBpsSlippage(-1.0),
        lambda: SquareRootImpact(coefficient=math.inf),
    ],
)
def test_models_reject_bad_parameters(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]


# -- slippage ---------------------------------------------------------------------------
def test_no_slippage() -> None:
    assert NoSlippage().price(BUY, 100.0, 10, 1e6, 0.02) == 100.0


def test_fixed_bps_slippage() -> None:
    model = FixedBpsSlippage(5.0)
    assert model.price(BUY, 100.0, 10, 1e6, 0.02) == pytest.approx(100.05)
    assert model.price(SELL, 100.0, 10, 1e6, 0.02) == pytest.approx(99.95)


def test_half_spread_slippage() -> None:
    model = HalfSpreadSlippage(spread_bps=10.0)  # pays 5 bps
    assert model.price(BUY, 200.0, 1, 1e6, 0.0) == pytest.approx(200.1)
    assert model.price(SELL, 200.0, 1, 1e6, 0.0) == pytest.approx(199.9)


def test_square_root_impact() -> None:
    model = SquareRootImpact(coefficient=0.5, spread_bps=4.0)
    # half spread 2 bps + 0.5 x 0.02 x sqrt(10_000 / 1_000_000) = 0.0002 + 0.001 = 0.0012
    assert model.price(BUY, 100.0, 10_000, 1_000_000, 0.02) == pytest.approx(100.12)
    assert model.price(SELL, 100.0, 10_000, 1_000_000, 0.02) == pytest.approx(99.88)
    # impact grows with the square root of participation: 4x the size, 2x the impact
    assert model.price(BUY, 100.0, 40_000, 1_000_000, 0.02) == pytest.approx(100.22)


def test_square_root_impact_fallbacks() -> None:
    model = SquareRootImpact(coefficient=1.0, spread_bps=0.0, default_volatility=0.01)
    # unknown volatility -> default 0.01; participation 1/100 -> sqrt 0.1 -> 10 bps
    assert model.price(BUY, 100.0, 100, 10_000, math.nan) == pytest.approx(100.1)
    # no volume -> participation counts as 1 -> 1% impact
    assert model.price(BUY, 100.0, 100, 0.0, 0.01) == pytest.approx(101.0)
    # a sell never goes below zero
    assert SquareRootImpact(coefficient=100.0).price(SELL, 1.0, 1, 1, 0.5) == 0.0


# -- configuration ----------------------------------------------------------------------
def test_defaults_charge_costs() -> None:
    cfg = ExecutionConfig()
    commission, slippage = cfg.build_commission(), cfg.build_slippage()
    assert commission.fee(100, 100.0, "taker") == pytest.approx(5.0)  # 5 bps of 10_000
    assert slippage.price(BUY, 100.0, 1, 1e6, 0.0) == pytest.approx(100.01)  # 1 bp
    assert cfg.max_participation is None
    assert cfg.latency_ns == 0 and cfg.allow_short is False and cfg.lot_size == 1.0


def test_loads_from_yaml() -> None:
    text = """
    commission: {model: per_share, per_share: 0.01, minimum: 2.0, maximum_pct: null}
    slippage: {model: sqrt_impact, coefficient: 0.7, spread_bps: 3.0}
    max_participation: 0.05
    latency_ns: 1000000
    allow_short: true
    lot_size: 1.0e-8
    """
    cfg = ExecutionConfig.model_validate(yaml.safe_load(text))
    assert cfg.build_commission() == PerShareCommission(0.01, 2.0, None)
    assert cfg.build_slippage() == SquareRootImpact(0.7, 3.0)
    assert cfg.max_participation == 0.05 and cfg.latency_ns == 1_000_000
    assert cfg.allow_short is True and cfg.lot_size == 1e-8


@pytest.mark.parametrize(
    ("model", "built"),
    [
        ({"model": "percent", "rate": 0.002}, PercentCommission(0.002)),
        ({"model": "maker_taker"}, MakerTakerCommission(2.0, 5.0)),
        ({"model": "none"}, NoCommission()),
    ],
)
def test_commission_discriminator(model: dict[str, object], built: object) -> None:
    assert ExecutionConfig.model_validate({"commission": model}).build_commission() == built


@pytest.mark.parametrize(
    ("model", "built"),
    [
        ({"model": "fixed_bps", "bps": 3}, FixedBpsSlippage(3.0)),
        ({"model": "half_spread", "spread_bps": 6}, HalfSpreadSlippage(6.0)),
        ({"model": "none"}, NoSlippage()),
    ],
)
def test_slippage_discriminator(model: dict[str, object], built: object) -> None:
    assert ExecutionConfig.model_validate({"slippage": model}).build_slippage() == built


@pytest.mark.parametrize(
    "data",
    [
        {"commision": {"model": "none"}},  # typo: unknown key
        {"commission": {"model": "flat"}},  # unknown model
        {"commission": {"model": "percent", "rate": -0.1}},
        {"commission": {"model": "percent", "fee": 1.0}},  # unknown key inside a model
        {"slippage": {"model": "fixed_bps", "bps": float("nan")}},
        # a cost of the whole price or more: a sell would get nothing (a percent typo)
        {"slippage": {"model": "fixed_bps", "bps": 10_000}},
        {"slippage": {"model": "half_spread", "spread_bps": 20_000}},
        {"slippage": {"model": "sqrt_impact", "spread_bps": 25_000}},
        {"commission": {"model": "percent", "rate": 1.0}},
        {"commission": {"model": "maker_taker", "taker_bps": 10_000}},
        {"max_participation": 0.0},
        {"max_participation": 1.5},
        {"latency_ns": -1},
        {"latency_ns": 10**30},  # past any timestamp (more than a day)
        {"lot_size": 0},
    ],
)
def test_bad_config_is_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExecutionConfig.model_validate(data)
