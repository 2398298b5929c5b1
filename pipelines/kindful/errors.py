"""Typed Kindful API errors carrying the API's `message` and `validation_messages`.

They never hold headers, the token, or httpx objects (whose requests carry the token).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipelines.errors import KindfulEtlError


class KindfulError(KindfulEtlError):
    """Base of every error the client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        validation_messages: Sequence[str] = (),
        errors: Sequence[str] = (),
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.validation_messages = list(validation_messages)
        self.errors = list(errors)
        self.attempts = attempts

    def __str__(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.message)
        text = ": ".join(parts)
        details = self.validation_messages + self.errors
        if details:
            text += " [" + "; ".join(details) + "]"
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts)"
        return " ".join(text.split())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class KindfulConfigError(KindfulError):
    """Settings are missing or invalid (e.g. no KINDFUL_TOKEN)."""


class KindfulInlineLimitError(KindfulError, ValueError):
    """More than 100 inline rows: refused locally, Kindful would refuse it too (002)."""


class KindfulTransportError(KindfulError):
    """No HTTP answer: connection refused, DNS, timeouts."""

    def __init__(self, message: str, *, connect: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # True when the request certainly never reached the server (safe to resend a POST).
        self.connect = connect


class KindfulHTTPError(KindfulError):
    """Kindful answered with a non-2xx status."""


class KindfulAuthError(KindfulHTTPError):
    """401/403: "You couldn't be authenticated"."""


class KindfulNotFound(KindfulHTTPError):
    """404: unknown path or record (also what Kindful answers for some auth failures)."""


class KindfulRejected(KindfulHTTPError):
    """400/422: the request was refused, see `message` and `validation_messages`."""


class KindfulQueryError(KindfulHTTPError):
    """A contacts/transactions query Kindful refused or could not finish, see `errors`."""


class KindfulRateLimited(KindfulHTTPError):
    """429; `retry_after` holds the server's Retry-After in seconds when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class KindfulServerError(KindfulHTTPError):
    """5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
