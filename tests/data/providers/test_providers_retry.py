"""Retry policy, Retry-After parsing, typed errors and the rate limiter (no network)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from alphapulse.core.errors import AlphaPulseError
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
    ProviderUnavailableError,
    error_for_status,
)
from alphapulse.data.providers.retry import (
    RateLimiter,
    RetryPolicy,
    call_with_retry,
    parse_retry_after,
    retry_after_from_headers,
)

NO_JITTER = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=1.5, jitter=0.0)


class Flaky:
    """Raises the queued exceptions, then returns ``"ok"``; counts calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def unavailable(retry_after: float | None = None) -> ProviderUnavailableError:
    return ProviderUnavailableError("down", provider="t", status=503, retry_after=retry_after)


def must_not_classify(exc: Exception) -> ProviderError:
    raise AssertionError(f"classify called for {exc!r}")


def test_errors_are_alphapulse_errors() -> None:
    for cls in (ProviderError, ProviderAuthError, ProviderRateLimitError, ProviderUnavailableError):
        assert issubclass(cls, AlphaPulseError)
    assert issubclass(ProviderAuthError, ProviderError)
    assert not ProviderAuthError.retryable
    assert ProviderRateLimitError.retryable and ProviderUnavailableError.retryable


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, ProviderAuthError),
        (403, ProviderAuthError),
        (429, ProviderRateLimitError),
        (500, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (408, ProviderUnavailableError),
        (404, ProviderError),
        (422, ProviderError),
    ],
)
def test_error_for_status(status: int, cls: type[ProviderError]) -> None:
    error = error_for_status("p", status, "detail", retry_after=2.0, auth_hint="Set P_KEY.")
    assert type(error) is cls
    assert error.status == status and error.provider == "p"
    if cls is ProviderAuthError:
        assert "Set P_KEY." in str(error) and error.retry_after is None


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2024, 1, 2, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(datetime(2024, 1, 2, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now.timestamp) == 30.0
    assert retry_after_from_headers({"retry-after": "4"}) == 4.0
    assert retry_after_from_headers({"Content-Type": "x"}) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rng = random.Random(1)
    assert [NO_JITTER.backoff(n, rng) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]
    jittered = RetryPolicy(base_delay=1.0, max_delay=100.0, jitter=0.5)
    delays = [jittered.backoff(3, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100


def test_retries_transient_errors_then_succeeds() -> None:
    fn = Flaky(unavailable(), unavailable())
    sleeps: list[float] = []
    assert call_with_retry(fn, classify=must_not_classify, policy=NO_JITTER, sleep=sleeps.append)
    assert fn.calls == 3
    assert sleeps == [0.5, 1.0]


def test_retry_after_replaces_backoff() -> None:
    limited = ProviderRateLimitError("slow down", provider="t", status=429, retry_after=7.0)
    fn = Flaky(limited, unavailable(retry_after=2.0))
    sleeps: list[float] = []
    call_with_retry(fn, classify=must_not_classify, policy=NO_JITTER, sleep=sleeps.append)
    assert sleeps == [7.0, 2.0]


def test_retry_after_beyond_limit_is_not_waited_for() -> None:
    limited = ProviderRateLimitError("slow down", provider="t", status=429, retry_after=3600.0)
    fn = Flaky(limited)
    sleeps: list[float] = []
    with pytest.raises(ProviderRateLimitError):
        call_with_retry(fn, classify=must_not_classify, policy=NO_JITTER, sleep=sleeps.append)
    assert fn.calls == 1 and sleeps == []


def test_auth_and_other_errors_are_not_retried() -> None:
    for error in (
        ProviderAuthError("bad key", provider="t", status=401),
        ProviderError("bad symbol", provider="t", status=404),
    ):
        fn = Flaky(error)
        sleeps: list[float] = []
        with pytest.raises(type(error)) as info:
            call_with_retry(fn, classify=must_not_classify, policy=NO_JITTER, sleep=sleeps.append)
        assert info.value is error
        assert fn.calls == 1 and sleeps == []


def test_gives_up_after_max_attempts() -> None:
    fn = Flaky(*(unavailable() for _ in range(10)))
    sleeps: list[float] = []
    with pytest.raises(ProviderUnavailableError, match="gave up after 4 attempts"):
        call_with_retry(fn, classify=must_not_classify, policy=NO_JITTER, sleep=sleeps.append)
    assert fn.calls == 4 and len(sleeps) == 3


def test_foreign_exceptions_are_classified_and_chained() -> None:
    def classify(exc: Exception) -> ProviderError:
        if isinstance(exc, TimeoutError):
            return ProviderUnavailableError(f"t: {exc}", provider="t")
        return ProviderError(f"t: {exc}", provider="t")

    fn = Flaky(TimeoutError("read timed out"), KeyError("boom"))
    sleeps: list[float] = []
    with pytest.raises(ProviderError) as info:
        call_with_retry(fn, classify=classify, policy=NO_JITTER, sleep=sleeps.append)
    assert type(info.value) is ProviderError
    assert isinstance(info.value.__cause__, KeyError)
    assert fn.calls == 2 and sleeps == [0.5]


def test_limiter_is_acquired_before_every_attempt(fake_clock) -> None:
    limiter = RateLimiter.every(2.0, clock=fake_clock, sleep=fake_clock.sleep)
    fn = Flaky(unavailable(retry_after=0.5))
    call_with_retry(
        fn, classify=must_not_classify, policy=NO_JITTER, sleep=fake_clock.sleep, limiter=limiter
    )
    # attempt 1 free; retry sleeps 0.5; the limiter then waits the remaining 1.5
    assert fake_clock.sleeps == [0.5, 1.5]


def test_min_interval_spacing(fake_clock) -> None:
    limiter = RateLimiter.every(0.5, clock=fake_clock, sleep=fake_clock.sleep)
    starts = []
    for _ in range(4):
        limiter.acquire()
        starts.append(fake_clock.now)
    assert [b - a for a, b in itertools.pairwise(starts)] == [0.5, 0.5, 0.5]
    fake_clock.now += 10.0  # idle: the next request goes at once, then spacing resumes
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.5)


def test_token_bucket_allows_bursts(fake_clock) -> None:
    limiter = RateLimiter(rate=2.0, burst=3, clock=fake_clock, sleep=fake_clock.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == [pytest.approx(0.5), pytest.approx(0.5)]
    fake_clock.now += 60.0  # refills to the burst size, not beyond
    assert [limiter.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: RateLimiter(rate=0),
        lambda: RateLimiter(rate=1, burst=0.5),
        lambda: RateLimiter.every(0),
        lambda: RetryPolicy(max_attempts=0),
        lambda: RetryPolicy(jitter=2),
    ],
)
def test_invalid_settings_are_rejected(make) -> None:
    with pytest.raises(ValueError):
        make()
