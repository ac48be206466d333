"""Retries with exponential backoff and jitter, Retry-After parsing, and a rate limiter.

Only errors whose classified form is ``retryable`` (timeouts, connection errors, HTTP 429
and 5xx) are retried; everything else is raised at once. Sleep, clock and random source
are injectable so tests run instantly and deterministically.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
    ProviderUnavailableError,
    error_for_status,
)

__all__ = [
    "ProviderAuthError",
    "ProviderError",
    "ProviderRateLimitError",
    "ProviderUnavailableError",
    "RateLimiter",
    "RetryPolicy",
    "call_with_retry",
    "error_for_status",
    "parse_retry_after",
]

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    The n-th retry waits ``min(max_delay, base_delay * 2**(n-1))`` scaled by a random
    factor in ``[1 - jitter, 1]``; a server-sent Retry-After replaces that delay. A
    Retry-After longer than ``max_retry_after`` is not waited for: the error is raised.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before the ``retry``-th retry (1-based), jitter applied."""
        raw = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return raw * (1.0 - self.jitter * rng.random())


def parse_retry_after(value: str | None, *, now: Clock = time.time) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def retry_after_from_headers(
    headers: Mapping[str, str] | None, *, now: Clock = time.time
) -> float | None:
    """Retry-After from a response's headers, matched case-insensitively."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            return parse_retry_after(value, now=now)
    return None


class RateLimiter:
    """Token bucket: ``rate`` requests per second, bursts of up to ``burst``.

    ``acquire`` reserves a token and sleeps until it is due, so concurrent callers are
    spaced out too. ``RateLimiter.every(s)`` is the minimum-interval special case.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._lock = threading.Lock()

    @classmethod
    def every(
        cls, interval: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> RateLimiter:
        """At most one request per ``interval`` seconds (no bursts)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        return cls(1.0 / interval, 1.0, clock=clock, sleep=sleep)

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def call_with_retry(
    fn: Callable[[], T],
    *,
    classify: Callable[[Exception], ProviderError],
    policy: RetryPolicy,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
    limiter: RateLimiter | None = None,
) -> T:
    """Call ``fn`` until it succeeds, retrying only retryable classified errors.

    ``classify`` turns any exception ``fn`` raises into a :class:`ProviderError`; the
    classified error (chained to the original) is what callers see.
    """
    rand = rng if rng is not None else random.Random()
    attempt = 0
    while True:
        attempt += 1
        if limiter is not None:
            limiter.acquire()
        try:
            return fn()
        except Exception as exc:
            error = exc if isinstance(exc, ProviderError) else classify(exc)
            cause = error.__cause__ if error is exc else exc
            if not error.retryable:
                raise error from cause
            if attempt >= policy.max_attempts:
                raise error.after_attempts(attempt) from cause
            if error.retry_after is not None:
                if error.retry_after > policy.max_retry_after:
                    raise error from cause
                delay = error.retry_after
            else:
                delay = policy.backoff(attempt, rand)
        sleep(delay)
