"""Gaussian HMM regimes with *filtered* state probabilities.

Features per bar: ``[100 r_t, log(100 rv_t)]`` (log return, ``window``-bar realised vol).
The model (hmmlearn ``GaussianHMM``, diagonal covariances) is refitted every
``refit_every`` bars on the feature rows up to that bar only (the last ``train_window``
of them), warm-started from the previous fit. The probability used at t is
P(state_t | x_1..x_t), from our own forward recursion on the fitted startprob, transmat,
means and covars, one bar at a time (never hmmlearn's predict/predict_proba: those are
Viterbi or smoothed and look ahead). States are labelled from their own statistics
(``state_labels``): the highest mean volatility is ``high_vol``; the others rank by mean
return (``trend_up`` > ``chop`` > ``trend_down``; with 2 states the other is ``calm``),
so a label means the same thing after every refit and probabilities are kept per label.

Backtests refit synchronously at the refit bar (deterministic); a fit that fails (one
that leaves a state without data is refused) is recorded and the model in force stays.
After ``background()`` (paper mode) a due refit is submitted to an executor (a thread by
default) on a copy of the rows up to that bar and the decision goes on with the model in
force; the new model is swapped in at the first bar after the fit completes. ``fits``
records, per model, the bar whose data it was fitted on (t') and the first bar it was
used at (t >= t'), and each failed fit with the bar its failure was taken at.

A restarted paper session replays its journaled bars first (``replay``): there each
journaled model is fitted synchronously at its data bar and held until the bar it was
first used at, a journaled failure is held as failed until the bar it was taken at, a
refit due while one is held is skipped as it was, and a fit submitted before the crash
that was never taken (no journaled row) is submitted again at its bar and not swapped in
before the replay ends (unless a journaled fit falls due first: a journal written before
failures were journaled, where it had failed); after it, background mode as above. The
caller stamps each bar's time (``now``) before ``update``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.regimes.base import Detector, FloatArray, IntArray, RegimeSeries
from alphapulse.regimes.base import series_from_states as _series
from alphapulse.regimes.vol import realised_vol
from alphapulse.sweep.kernels import pairwise_sum

if TYPE_CHECKING:  # hmmlearn loads on the first fit
    from hmmlearn.hmm import GaussianHMM

LABELS: dict[int, tuple[str, ...]] = {
    2: ("calm", "high_vol"),
    3: ("trend_up", "chop", "high_vol"),
    4: ("trend_up", "chop", "trend_down", "high_vol"),
}
_LOG2PI = float(np.log(2.0 * np.pi))
log = logging.getLogger(__name__)


def state_labels(means: FloatArray) -> IntArray:
    """For each label (``LABELS[K]`` order) the fitted state it names: the highest mean
    log-vol (column 1) is high_vol, the rest by mean return (column 0), highest first."""
    k = len(means)
    hv = int(np.argmax(means[:, 1]))
    rest = [s for s in np.argsort(-means[:, 0], kind="stable").tolist() if s != hv]
    if k == 2:
        return np.array([rest[0], hv], dtype=np.int64)
    if k == 3:
        return np.array([rest[0], rest[1], hv], dtype=np.int64)
    return np.array([rest[0], rest[1], rest[2], hv], dtype=np.int64)


@dataclass(frozen=True)
class Fitted:
    """A fit in label order: log start/transition probabilities, means, variances."""

    log_start: FloatArray
    trans: FloatArray
    means: FloatArray
    var: FloatArray
    model: GaussianHMM

    @cached_property
    def log_var(self) -> FloatArray:
        return np.log(self.var)

    def log_emission(self, x: FloatArray) -> FloatArray:
        """log N(x | state) for rows x [T, 2] -> [T, K] (diagonal Gaussian)."""
        d = x[:, None, :] - self.means[None, :, :]
        return -0.5 * np.sum(_LOG2PI + self.log_var[None] + d * d / self.var[None], axis=2)


@dataclass(frozen=True, slots=True)
class FitRecord:
    """A model's provenance: fitted on rows up to bar ``data_bar`` (t'), first used
    at bar ``used_bar`` (t >= t'; equal in backtests), from ``n_rows`` rows. ``failed``:
    a background fit that raised, taken (and dropped) at bar ``used_bar``."""

    data_bar: int
    used_bar: int
    n_rows: int
    failed: bool = False


def forward_step(alpha: FloatArray | None, fit: Fitted, logb: FloatArray) -> FloatArray:
    """P(state_t | x_1..t) from the previous filtered probabilities (None: the start)."""
    prior = np.exp(fit.log_start) if alpha is None else alpha @ fit.trans
    return _filtered(prior, logb)


@njit(cache=True, error_model="numpy")
def _filtered(prior: FloatArray, logb: FloatArray) -> FloatArray:
    """``prior x exp(logb - max logb)``, normalised (``prior`` when that fails); the
    numpy expressions' values (a sum of K < 8 terms is left to right in numpy too).
    ``alpha @ trans`` stays numpy's (BLAS: its order and fused multiply-adds)."""
    m = logb.max()
    w = prior * np.exp(logb - m)
    s = pairwise_sum(w, 0, len(w))
    return w / s if s > 0 and math.isfinite(s) else prior.copy()


@njit(cache=True, error_model="numpy")
def _feature_row(
    r: FloatArray, n: int, window: int, means: FloatArray, var: FloatArray, log_var: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Bar ``n - 1``'s feature row ``[100 r, log(100 rv)]`` (NaN row when not finite)
    from the returns ``r[:n]``, and its log emission per state [K] (``Fitted.log_emission``;
    ``means`` empty: no model yet)."""
    rt = r[n - 1]
    rv = np.nan
    if n >= window:
        sq = r[n - window : n] * r[n - window : n]
        rv = math.sqrt(pairwise_sum(sq, 0, window) / window)
    x = np.array([100.0 * rt, np.log(100.0 * rv)])
    if not (math.isfinite(x[0]) and math.isfinite(x[1])):
        x[:] = np.nan
    k = means.shape[0]
    logb = np.empty(k)
    for s in range(k):
        d0, d1 = x[0] - means[s, 0], x[1] - means[s, 1]
        a0 = _LOG2PI + log_var[s, 0] + d0 * d0 / var[s, 0]
        a1 = _LOG2PI + log_var[s, 1] + d1 * d1 / var[s, 1]
        logb[s] = -0.5 * (a0 + a1)
    return x, logb


@contextlib.contextmanager
def _quiet_hmmlearn() -> Iterator[None]:
    """Drop hmmlearn's own log records during a fit (convergence notes, empty states):
    a degenerate fit reaches the caller as our ValueError, logged once by the detector."""
    loggers = [logging.getLogger(f"hmmlearn.{m}") for m in ("base", "hmm")]
    for lg in loggers:
        lg.addFilter(_drop)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(_drop)


def _drop(record: logging.LogRecord) -> bool:
    return False


def fit_hmm(x: FloatArray, k: int, prev: Fitted | None, n_iter: int, seed: int) -> Fitted:
    """Fit on rows ``x`` (all known at the fit bar), warm-started from ``prev``."""
    from hmmlearn.hmm import GaussianHMM

    m = GaussianHMM(k, "diag", n_iter=n_iter, random_state=seed, min_covar=1e-4)
    if prev is not None:
        m.init_params = ""
        m.startprob_ = prev.model.startprob_
        m.transmat_ = prev.model.transmat_
        m.means_ = prev.model.means_
        m.covars_ = np.array([np.diag(c) for c in prev.model.covars_])
    with warnings.catch_warnings(), _quiet_hmmlearn():
        warnings.simplefilter("ignore")
        m.fit(x)
    params = (m.startprob_, m.transmat_, m.means_, m.covars_)
    if not all(np.isfinite(p).all() for p in params) or not np.allclose(m.transmat_.sum(1), 1):
        # a state that got no data (NaN means, a zero transition row): its label would be
        # arbitrary and a fit warm-started from it is refused by hmmlearn
        raise ValueError(f"HMM fit on {len(x)} rows is degenerate: a state has no data")
    order = state_labels(m.means_)
    start = np.clip(m.startprob_[order], 1e-12, None)
    var = np.array([np.diag(c) for c in m.covars_])[order]
    trans = m.transmat_[np.ix_(order, order)]
    return Fitted(np.log(start / start.sum()), trans, m.means_[order], var, m)


def features(r: FloatArray, window: int) -> FloatArray:
    """[T, 2] rows ``[100 r, log(100 rv)]``; NaN where not yet defined."""
    rv = realised_vol(r, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.stack([100.0 * r, np.log(100.0 * rv)], axis=1)
    x[~np.isfinite(x).all(axis=1)] = np.nan
    return x


class HMMRegime(Detector):
    """See the module docstring; ``min_train`` valid rows before the first fit."""

    def __init__(
        self,
        n_states: int = 2,
        window: int = 20,
        min_train: int = 250,
        refit_every: int = 63,
        train_window: int | None = 1000,
        n_iter: int = 30,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if n_states not in LABELS:
            raise ValueError("n_states must be 2, 3 or 4")
        self.labels = LABELS[n_states]
        self.k, self.window, self.min_train = n_states, window, min_train
        self.refit_every, self.train_window = refit_every, train_window
        self.n_iter, self.seed = n_iter, seed
        self.fit: Fitted | None = None
        self._r = np.empty(256)  # log returns so far (the first ``len(self._x)``)
        self._x: list[FloatArray] = []
        self._alpha: FloatArray | None = None
        self._valid = 0  # valid feature rows seen
        self._next_fit = min_train
        self.fits: list[FitRecord] = []
        self._pool: Executor | None = None  # set: refits off the decision path
        # fit, t', rows, and the bar time it was first used at when replayed (else None)
        self._pending: tuple[Future[Fitted], int, int, int | None] | None = None
        self.now = 0  # the current bar's time (set by the caller; used by ``replay``)
        # journaled fits: data bar time -> (used-from time, failed)
        self._plan: dict[int, tuple[int, bool]] = {}
        self._until: int | None = None  # replaying bars up to this time

    def background(self, executor: Executor | None = None) -> None:
        """Refit off the decision path from now on (paper mode; see the module
        docstring). ``executor``: where fits run (default: one worker thread)."""
        self._pool = executor or ThreadPoolExecutor(1, thread_name_prefix="hmm-refit")
        # Load the compiled filter now: the first decision with a model is a swap bar here.
        k = np.ones((self.k, 2))
        _filtered(k[:, 0] / self.k, _feature_row(np.zeros(1), 1, self.window, k, k, k)[1])

    def replay(self, fits: Sequence[tuple[int, int, bool]], until: int) -> None:
        """Reproduce a session's swaps while its bars up to time ``until`` are re-run:
        ``fits`` are its journaled fits as (data bar time, first-used bar time, failed)."""
        self._plan, self._until = {d: (u, bad) for d, u, bad in fits}, until

    def _replaying(self) -> bool:
        return self._until is not None and self.now <= self._until

    def _train_rows(self, x: FloatArray) -> FloatArray:
        ok = x[np.isfinite(x).all(axis=1)]
        return ok if self.train_window is None else ok[-self.train_window :]

    def due(self) -> bool:
        """A refit is due at this bar (after ``update`` counted its row)."""
        return self._valid >= self._next_fit

    def refit(self) -> None:
        """Fit on every feature row so far, now (the backtest path; a caller may run it
        between bars and time it on its own)."""
        rows = self._train_rows(np.array(self._x))
        self._next_fit = self._valid + self.refit_every
        try:
            self.fit = fit_hmm(rows, self.k, self.fit, self.n_iter, self.seed)
        except ValueError as exc:  # as in background mode: recorded, the model stays
            log.warning("HMM refit on rows up to bar %d failed: %s", len(self._x) - 1, exc)
            self._fitted(len(self._x) - 1, len(rows), failed=True)
            return
        self._fitted(len(self._x) - 1, len(rows))

    @property
    def n_fits(self) -> int:
        """Models fitted so far (failed fits left out)."""
        return sum(not f.failed for f in self.fits)

    def _fitted(self, data_bar: int, n_rows: int, failed: bool = False) -> None:
        self.fits.append(FitRecord(data_bar, len(self._x) - 1, n_rows, failed))

    def _submit(self) -> None:
        """Start a fit on a copy of the rows so far; the decision does not wait."""
        assert self._pool is not None
        self._next_fit = self._valid + self.refit_every
        if self._pending is not None:  # the previous fit is still running: skip this one
            if not (self._replaying() and self.now in self._plan and self._pending[3] is None):
                return
            # a journaled fit's bar: the unjournaled one had failed (an old journal)
            self._pending = None
        rows = self._train_rows(np.array(self._x))
        used_from, failed = self._plan.get(self.now, (None, False))
        if not self._replaying():
            used_from = None
        job: Future[Fitted]
        if used_from is None:
            job = self._pool.submit(fit_hmm, rows, self.k, self.fit, self.n_iter, self.seed)
        else:  # replaying a journaled fit: made now, as the original did later
            job = Future()
            try:
                if failed:
                    raise RuntimeError("failed in the journaled session")
                job.set_result(fit_hmm(rows, self.k, self.fit, self.n_iter, self.seed))
            except Exception as exc:
                job.set_exception(exc)
        self._pending = (job, len(self._x) - 1, len(rows), used_from)

    def _swap(self) -> None:
        """Take a completed background fit (a failed one is logged and recorded; the
        model stays)."""
        assert self._pending is not None
        job, data_bar, n_rows, used_from = self._pending
        if self._replaying() and (used_from is None or self.now < used_from):
            return  # swapped in at its journaled bar; one never swapped before: not yet
        if not job.done():
            return
        self._pending = None
        try:
            self.fit = job.result()
        except Exception as exc:  # a fit that fails keeps the model in force
            if isinstance(exc, ValueError):  # degenerate rows: one line, as in ``refit``
                log.warning("HMM refit on rows up to bar %d failed: %s", data_bar, exc)
            else:
                log.exception("HMM refit on rows up to bar %d failed", data_bar)
            self._fitted(data_bar, n_rows, failed=True)
            return
        self._fitted(data_bar, n_rows)

    def _step(self, r: float) -> tuple[int, FloatArray]:
        n = len(self._x) + 1
        if n > len(self._r):
            self._r = np.concatenate([self._r, np.empty(len(self._r))])
        self._r[n - 1] = r
        fit = self.fit
        if fit is None:
            none = np.zeros((0, 2))
            x, logb = _feature_row(self._r, n, self.window, none, none, none)
        else:
            x, logb = _feature_row(self._r, n, self.window, fit.means, fit.var, fit.log_var)
        ok = not np.isnan(x[0])
        self._x.append(x)
        self._valid += ok
        if self._pending is not None:
            self._swap()
        if ok and self.due():
            if self._pool is None:
                self.refit()
            else:
                self._submit()
        if self.fit is None:
            return -1, np.full(self.k, np.nan)
        if ok:
            if self.fit is not fit:  # refitted at this bar: its emissions
                logb = self.fit.log_emission(x[None])[0]
            self._alpha = forward_step(self._alpha, self.fit, logb)
        if self._alpha is None:
            return -1, np.full(self.k, np.nan)
        return int(np.argmax(self._alpha)), self._alpha.copy()

    def detect(self, returns: FloatArray) -> RegimeSeries:
        """Batch: emissions per fit segment at once, then the same forward recursion."""
        x = features(np.asarray(returns, dtype=np.float64), self.window)
        ok: npt.NDArray[np.bool_] = np.asarray(np.isfinite(x).all(axis=1))
        valid = np.cumsum(ok)
        t_n = len(x)
        state = np.full(t_n, -1, dtype=np.int64)
        probs = np.full((t_n, self.k), np.nan)
        fit: Fitted | None = None
        alpha: FloatArray | None = None
        nxt, t = self.min_train, 0
        while t < t_n:
            hit = np.flatnonzero(ok[t:] & (valid[t:] >= nxt))
            stop = t + int(hit[0]) if len(hit) else t_n  # the next refit bar
            if fit is not None:
                logb = fit.log_emission(np.nan_to_num(x[t:stop]))
                for i in range(t, stop):
                    if ok[i]:
                        alpha = forward_step(alpha, fit, logb[i - t])
                    if alpha is not None:
                        probs[i], state[i] = alpha, int(np.argmax(alpha))
            if stop == t_n:
                break
            with contextlib.suppress(ValueError):  # a failed refit keeps the model (``refit``)
                fit = fit_hmm(self._train_rows(x[: stop + 1]), self.k, fit, self.n_iter, self.seed)
            nxt = int(valid[stop]) + self.refit_every
            if fit is not None:
                alpha = forward_step(alpha, fit, fit.log_emission(x[stop][None])[0])
                probs[stop], state[stop] = alpha, int(np.argmax(alpha))
            t = stop + 1
        return _series(self.labels, state, probs)
