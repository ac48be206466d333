"""``hybrid``: a regime-gated mixture of experts.

Per bar: the detector (``regimes``) takes the market proxy's log return (a symbol of the
universe, or the cross-sectional mean) and answers the regime; every expert (any
registered strategy, ``ml`` and ``sentiment`` included) sees the same Context and its
standing directions enter its shadow book (``fusion.shadow``). Every
``rebalance_every`` bars the hybrid decides: the rule of the current regime (``regimes:``
in the params; ``default`` in warmup or without a detector) gives the expert weights,
the fuser (vote, confidence average, risk budget, stacking) fuses the standing
directions, and the rule's limits size the result: each non-flat name gets
``min(max_position, gross / active names)`` of equity (via the default EqualSlot
construction: confidence = that weight x N, at most 1), a position ``stop`` beyond its
entry is closed and stays flat until the fused view changes, and ``execution: limit``
sends passive DAY limit orders at the close (less/plus ``limit_offset_bps``) instead of
market targets; at the first market decision after limits, names with a view go to
their target with explicit market orders once (the planner did not see the limit
fills, so an unchanged target would not trade). A regime change takes effect at the
next decision and is kept as an event. Outputs: ``regimes.csv``, ``regime_events.csv``,
``regime_fits.csv`` (per HMM model or failed fit: the last bar of its data, the first
bar it was used at or the failure taken, ``failed``), ``fusion_weights.csv`` (the
weights used at each decision) and the experts' own tables prefixed by their name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import ConfigError
from alphapulse.engine.context import Context
from alphapulse.fusion.config import HybridParams, RegimeRule
from alphapulse.fusion.kernels import apply_stops, fuse, mean_log_return, risk_budget
from alphapulse.fusion.shadow import ShadowBooks
from alphapulse.fusion.stacking import StackingFuser
from alphapulse.model.orders import OrderType, Side, TimeInForce
from alphapulse.model.signals import OrderRequest, Signals
from alphapulse.regimes.base import WARMUP, Detector
from alphapulse.regimes.hmm import HMMRegime
from alphapulse.strategies.base import Strategy
from alphapulse.strategies.registry import load_strategy

FloatArray = npt.NDArray[np.float64]


class Hybrid(Strategy):
    Params = HybridParams

    def __init__(self, params: HybridParams | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        p: HybridParams = self.p
        self.names = p.expert_names
        self.experts = [load_strategy(e.strategy, e.params) for e in p.experts]
        self.detector: Detector | None = p.detector.build() if p.detector else None
        self.stacker = StackingFuser(**p.stacking.model_dump()) if p.fuser == "stacking" else None
        self.books: ShadowBooks | None = None
        self.regime = WARMUP  # in force (changes at decisions)
        self._conf: FloatArray | None = None
        self._stopped: FloatArray | None = None
        self._resync: npt.NDArray[np.bool_] | None = None  # names traded by limits since
        self._proxy_sid: int | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._events: list[tuple[int, str, str, int]] = []
        self._weights: list[tuple[Any, ...]] = []

    def paper_mode(self) -> None:
        """Paper trading (called by the session before the first bar): HMM refits run
        off the decision path and swap in when done (``regimes/hmm.py``)."""
        if isinstance(self.detector, HMMRegime):
            self.detector.background()

    def model_fits(self, since: int = 0) -> list[tuple[int, int, int, bool]]:
        """The HMM fits taken so far from the ``since``-th on, in order, as (bar time
        its data ends at, bar time it was first used at, rows, failed): a paper
        session's RunJournal stores each new one with its step (``regime_fits``)."""
        if not isinstance(self.detector, HMMRegime):
            return []
        rows = self._rows
        fits = self.detector.fits[since:]
        return [(rows[f.data_bar][0], rows[f.used_bar][0], f.n_rows, f.failed) for f in fits]

    def replay_fits(self, fits: Sequence[tuple[int, int, bool]], until: int) -> None:
        """A restart re-runs the journaled bars up to ``until`` with the journaled fits
        ``fits`` (data bar time, first-used bar time, failed) taken as they were."""
        if isinstance(self.detector, HMMRegime):
            self.detector.replay(fits, until)

    # -- per bar ---------------------------------------------------------------------
    def on_bar(self, ctx: Context) -> Signals | None:
        n = ctx.n_symbols
        if self.books is None:
            self.books = ShadowBooks(len(self.experts), n, self.p.shadow_cost_bps)
            self._conf = np.full((len(self.experts), n), np.nan)
            self._stopped = np.zeros(n)
            self._resync = np.zeros(n, dtype=bool)
        seen = self._detect(ctx)
        dirs = np.full((len(self.experts), n), np.nan)
        for i, ex in enumerate(self.experts):
            sig = ex.on_bar(ctx)
            if sig is not None:
                dirs[i] = sig.direction
                if sig.confidence is not None:
                    assert self._conf is not None
                    self._conf[i] = np.where(np.isnan(sig.direction), self._conf[i], sig.confidence)
        close = ctx.prices(1)[0]
        self.books.update(close, dirs)
        if self.stacker is not None:
            self.stacker.observe(ctx.ts_ns, self.books.dirs, close)
        if ctx.t % self.p.rebalance_every:
            return None
        if seen != self.regime:
            self._events.append((ctx.ts_ns, self.regime, seen, ctx.t))
            self.regime = seen
        return self._decide(ctx)

    def _detect(self, ctx: Context) -> str:
        if self.detector is None:
            return WARMUP
        assert self.p.detector is not None
        proxy = self.p.detector.proxy
        px = ctx.prices(2)
        if proxy == "mean":
            r = mean_log_return(px[0], px[1]) if len(px) == 2 else np.nan
            name = "market"
        else:
            if self._proxy_sid is None:
                if proxy not in ctx.symbols:
                    raise ConfigError(
                        f"detector.proxy {proxy!r} is not a symbol of the run's universe"
                        " (name one of data.symbols, or 'mean')"
                    )
                self._proxy_sid = ctx.symbols.index(proxy)
            sid = self._proxy_sid
            r = (
                mean_log_return(px[0, sid : sid + 1], px[1, sid : sid + 1])
                if len(px) == 2
                else np.nan
            )
            name = proxy
        if isinstance(self.detector, HMMRegime):
            self.detector.now = ctx.ts_ns  # the bar time a replayed swap is matched by
        step = self.detector.update(r)
        label = WARMUP if step.state < 0 else self.detector.labels[step.state]
        self._rows.append((ctx.ts_ns, name, label, step.bars_since, *step.probs.tolist()))
        return label

    def execution_algo(self, sid: int, ctx: Context) -> str | None:
        """The regime in force's execution algorithm for its market targets (None: the
        strategy's ``execution:`` block's own); read by the algorithm stage."""
        return self._rule().algo

    def _rule(self) -> RegimeRule:
        rule = self.p.regimes.get(self.regime) if self.regime != WARMUP else None
        return rule or self.p.default or RegimeRule(weights=dict.fromkeys(self.names, 1.0))

    def _decide(self, ctx: Context) -> Signals:
        assert self.books is not None and self._conf is not None
        rule = self._rule()
        w = np.array([rule.weights.get(nm, 0.0) for nm in self.names])
        dirs = self.books.dirs
        if self.p.fuser == "vote":  # the fusers' values, one compiled call (fusion.kernels)
            d = fuse(dirs, self._conf, w, -1.0)
        elif self.p.fuser == "confidence":
            d = fuse(dirs, self._conf, w, self.p.threshold)
        elif self.p.fuser == "risk_budget":
            w = risk_budget(self.books.trailing_vol(self.p.vol_lookback), w)
            d = fuse(dirs, self._conf, w, self.p.threshold)
        else:
            assert self.stacker is not None
            d, _ = self.stacker.fuse(ctx.ts_ns, np.where(w[:, None] > 0, dirs, np.nan))
        self._weights.append((ctx.ts_ns, self.regime, *w.tolist()))
        d = self._apply_stops(ctx, d, rule.stop)
        active = int(np.count_nonzero((d != 0) & ~np.isnan(d)))
        size = rule.gross / max(active, 1)
        if rule.max_position is not None:
            size = min(size, rule.max_position)
        conf = np.full(len(d), min(1.0, size * ctx.n_symbols))
        assert self._resync is not None
        if rule.execution == "limit":
            self._resync[:] = True  # the planner does not see what limit orders do
            bps = rule.limit_offset_bps
            return self._orders(ctx, d, size, OrderType.LIMIT, bps, "hybrid_limit")
        # Back from limit: the planner's remembered targets are stale (an unchanged
        # target would not trade), so those names go to their target explicitly once.
        if not self._resync.any():
            return Signals(d, conf)
        sync = self._resync & np.isfinite(d)
        if not sync.any():
            return Signals(d, conf)
        self._resync &= ~sync
        each = min(size, 1.0 / max(ctx.n_symbols, 1))  # EqualSlot's weight for ``conf``
        tag = f"algo:{rule.algo}" if rule.algo else "hybrid_resync"  # the regime's algorithm
        req = self._orders(ctx, np.where(sync, d, np.nan), each, OrderType.MARKET, 0.0, tag)
        return Signals(np.where(sync, np.nan, d), conf, req.orders)

    def _apply_stops(self, ctx: Context, d: FloatArray, stop: float | None) -> FloatArray:
        """A name ``stop`` against its entry is stopped (flat) until the fused view changes."""
        assert self._stopped is not None
        at = np.nan if stop is None else stop
        return apply_stops(d, self._stopped, at, ctx.positions, ctx.avg_prices, ctx.last_prices)

    def _orders(
        self,
        ctx: Context,
        d: FloatArray,
        size: float,
        kind: OrderType,
        bps: float,
        tag: str,
    ) -> Signals:
        """Explicit orders tagged ``tag`` to ``d x size`` of equity per finite name: DAY
        limits at the close less/plus ``bps`` (passive), or market orders (a resync after
        limits)."""
        px = ctx.last_prices
        orders = []
        for sid in np.flatnonzero(np.isfinite(d) & np.isfinite(px)).tolist():
            want = np.floor(d[sid] * size * ctx.equity / px[sid])
            delta = want - ctx.positions[sid]
            if abs(delta) < 1:
                continue
            side = Side.BUY if delta > 0 else Side.SELL
            limit = px[sid] * (1 - side * bps * 1e-4)
            passive = kind == OrderType.LIMIT
            orders.append(
                OrderRequest(
                    sid,
                    side,
                    float(abs(delta)),
                    kind,
                    limit_price=float(limit) if passive else None,
                    tif=TimeInForce.DAY if passive else TimeInForce.GTC,
                    cancel_working=True,
                    tag=tag,
                )
            )
        return Signals(np.full(len(d), np.nan), orders=tuple(orders))

    def regime_state(self) -> dict[str, Any] | None:
        """The last bar's regime row for the paper runtime's bus (None without a
        detector or before the first bar): ts_ns, symbol, regime, bars_since, labels,
        probs, and ``previous`` (the regime before, when it changed at this bar)."""
        if self.detector is None or not self._rows:
            return None
        ts, symbol, regime, since, *probs = self._rows[-1]
        ev = self._events[-1] if self._events else None
        previous = ev[1] if ev is not None and ev[0] == ts else ""
        labels, p = self.detector.labels, np.array(probs)
        return {"ts_ns": ts, "symbol": symbol, "regime": regime, "bars_since": since,
                "labels": labels, "probs": p, "previous": previous}  # fmt: skip

    # -- outputs ---------------------------------------------------------------------
    def strategy_outputs(self) -> dict[str, pd.DataFrame]:
        """regimes, regime_events, fusion_weights, and each expert's tables as
        ``<expert>_<table>``."""
        ts = _utc
        out: dict[str, pd.DataFrame] = {}
        if self.detector is not None:
            cols = ["timestamp", "symbol", "regime", "bars_since"]
            cols += [f"p_{lab}" for lab in self.detector.labels]
            reg = pd.DataFrame(self._rows, columns=cols)
            reg["timestamp"] = ts(reg["timestamp"])
            ev = pd.DataFrame(self._events, columns=["timestamp", "from", "to", "bar"])
            ev["timestamp"] = ts(ev["timestamp"])
            out |= {"regimes": reg, "regime_events": ev}
        if isinstance(self.detector, HMMRegime):
            cols = ["data_until", "used_from", "n_rows", "failed"]
            fr = pd.DataFrame(self.model_fits(), columns=cols)
            fr[["data_until", "used_from"]] = fr[["data_until", "used_from"]].apply(ts)
            out["regime_fits"] = fr
        wf = pd.DataFrame(self._weights, columns=["timestamp", "regime", *self.names])
        wf["timestamp"] = ts(wf["timestamp"])
        out["fusion_weights"] = wf
        for name, ex in zip(self.names, self.experts, strict=True):
            for stem, frame in ex.strategy_outputs().items():
                out[f"{name}_{stem}".replace("-", "_").replace(".", "_")] = frame
        return out


def _utc(ns: pd.Series) -> pd.Series:
    return pd.to_datetime(ns.astype("int64"), unit="ns", utc=True)
