"""Typed errors raised by the market-data provider clients.

Every error carries the provider name and, when known, the HTTP status and the delay the
server asked for. ``retryable`` tells :func:`~alphapulse.data.providers.retry.call_with_retry`
whether another attempt may succeed.
"""

from __future__ import annotations

from typing import ClassVar, Self

from alphapulse.core.errors import AlphaPulseError


class ProviderError(AlphaPulseError):
    """A provider request failed; the message says which provider and why."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)

    def after_attempts(self, attempts: int) -> Self:
        """The same error with a note that ``attempts`` tries were made."""
        suffix = f" (gave up after {attempts} attempts)"
        return type(self)(
            f"{self.args[0]}{suffix}",
            provider=self.provider,
            status=self.status,
            retry_after=self.retry_after,
        )


class ProviderAuthError(ProviderError):
    """Credentials are missing or were rejected (HTTP 401/403); never retried."""


class ProviderRateLimitError(ProviderError):
    """The provider throttled us (HTTP 429); retried after ``retry_after`` when given."""

    retryable: ClassVar[bool] = True


class ProviderUnavailableError(ProviderError):
    """A transient failure: timeout, connection error or HTTP 5xx; retried with backoff."""

    retryable: ClassVar[bool] = True


def error_for_status(
    provider: str,
    status: int,
    detail: str,
    *,
    retry_after: float | None = None,
    auth_hint: str = "",
) -> ProviderError:
    """Map an HTTP status to the matching typed error."""
    where = f"{provider}: HTTP {status}"
    detail = detail.strip()
    text = f"{where}: {detail}" if detail else where
    if status in (401, 403):
        hint = f" {auth_hint}" if auth_hint else ""
        return ProviderAuthError(
            f"{provider} rejected the request's credentials (HTTP {status}).{hint}",
            provider=provider,
            status=status,
        )
    if status == 429:
        wait = f"; server asked to wait {retry_after:g}s" if retry_after is not None else ""
        return ProviderRateLimitError(
            f"{provider} rate limit exceeded (HTTP 429){wait}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if status == 408 or status >= 500:
        return ProviderUnavailableError(
            text, provider=provider, status=status, retry_after=retry_after
        )
    return ProviderError(text, provider=provider, status=status)
