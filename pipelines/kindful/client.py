"""HTTP client for the Kindful Imports API and its read endpoints.

Retries (stamina: exponential backoff with jitter, bounded attempts and total time) cover
429, 5xx, timeouts and connection errors and honour Retry-After. Reads retry freely;
POST /imports is resent only when the request certainly never reached Kindful (connect
errors), so a job is not submitted twice. The token lives in an httpx.Auth and SecretStr:
never in client headers, reprs, logs or the errors raised.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any

import httpx
import stamina

from pipelines.kindful.errors import (
    KindfulAuthError,
    KindfulError,
    KindfulHTTPError,
    KindfulInlineLimitError,
    KindfulNotFound,
    KindfulQueryError,
    KindfulRateLimited,
    KindfulRejected,
    KindfulServerError,
    KindfulTransportError,
)
from pipelines.kindful.models import (
    MAX_INLINE_ROWS,
    Campaign,
    CustomField,
    ErrorAnswer,
    Fund,
    Group,
    ImportJob,
    ImportRequest,
    ImportResult,
    ImportStats,
    OrganizationDetails,
    QueryPage,
    submit_answer,
)
from pipelines.kindful.settings import KindfulSettings

logger = logging.getLogger(__name__)

__all__ = ["KindfulClient"]


class _DistinctNotifications:
    """Notifications in the order first seen, each once (by its `id`, else its content)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    def add(self, results: Any) -> int:
        """Keep the new ones among `results`; returns how many were new."""
        if not isinstance(results, list):
            return 0
        before = len(self.items)
        for note in results:
            if not isinstance(note, dict):
                continue
            key = (
                f"id:{note['id']}"
                if note.get("id") is not None
                else "body:" + json.dumps(note, sort_keys=True, default=str)
            )
            if key not in self._seen:
                self._seen.add(key)
                self.items.append(note)
        return len(self.items) - before


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class _KindfulAuth(httpx.Auth):
    """Adds the Authorization header at send time, so it is never stored on the client."""

    def __init__(self, settings: KindfulSettings) -> None:
        self._settings = settings

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._settings.authorization()
        yield request

    def __repr__(self) -> str:
        return "_KindfulAuth(<hidden>)"


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_from(response: httpx.Response, method: str, path: str) -> KindfulHTTPError:
    """The typed error for a non-2xx answer, with Kindful's message and details."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = response.reason_phrase or "error"
    validation: list[str] = []
    errors: list[str] = []
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or message)
        validation = [str(m) for m in body.get("validation_messages") or []]
        errors = [str(e) for e in body.get("errors") or []]
        if errors and not body.get("message"):
            message = "query refused"
    status = response.status_code
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "validation_messages": validation,
        "errors": errors,
    }
    if status == 429:
        return KindfulRateLimited(message, retry_after=_retry_after(response), **common)
    if status >= 500:
        return KindfulServerError(message, retry_after=_retry_after(response), **common)
    if status in (401, 403):
        return KindfulAuthError(message, **common)
    if status == 404:
        return KindfulNotFound(message, **common)
    if errors:
        return KindfulQueryError(message, **common)
    if status in (400, 422):
        return KindfulRejected(message, **common)
    return KindfulHTTPError(message, **common)


class KindfulClient:
    """Kindful Imports API: submit and follow import jobs, and read what Kindful holds."""

    def __init__(
        self,
        settings: KindfulSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            auth=_KindfulAuth(settings),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.write_timeout,
                pool=settings.pool_timeout,
            ),
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            transport=transport,
        )

    @classmethod
    def from_env(cls, **overrides: Any) -> KindfulClient:
        """A client configured from KINDFUL_BASE_URL, KINDFUL_TOKEN and KINDFUL_AUTH."""
        return cls(KindfulSettings.from_env(**overrides))

    def __repr__(self) -> str:
        return f"KindfulClient(base_url={self.settings.base_url!r}, auth={self.settings.auth})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KindfulClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _once(self, method: str, path: str, json: Any, params: dict[str, Any] | None) -> Any:
        failure: tuple[str, bool] | None = None
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            # ConnectError/ConnectTimeout: nothing was sent. Anything else may have been.
            connect = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            failure = (f"{type(exc).__name__}: {exc}", connect)
        if failure is not None:
            # Raised outside `except` so the httpx error (its request holds the token) is not
            # even the hidden __context__ of ours.
            raise KindfulTransportError(failure[0], connect=failure[1], method=method, path=path)
        logger.debug("kindful %s %s -> %s", method, path, response.status_code)
        if response.is_success:
            return response.json() if response.content else None
        raise _error_from(response, method, path)

    def _retry_hook(self, resend_safe: bool) -> Callable[[Exception], bool | float]:
        policy = self.settings.retry

        def backoff(retry_after: float | None) -> bool | float:
            return True if retry_after is None else min(retry_after, policy.retry_after_max)

        def hook(exc: Exception) -> bool | float:
            if isinstance(exc, KindfulTransportError):
                return resend_safe or exc.connect
            if isinstance(exc, KindfulRateLimited):
                if resend_safe or policy.retry_submit_on_429:
                    return backoff(exc.retry_after)
                return False
            if isinstance(exc, KindfulServerError) and resend_safe:
                return backoff(exc.retry_after)
            return False

        return hook

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        resend_safe: bool = True,
    ) -> Any:
        """One API call with retries; `resend_safe=False` for calls that must not repeat."""
        policy = self.settings.retry
        attempts = 0
        try:
            for attempt in stamina.retry_context(
                on=self._retry_hook(resend_safe),
                attempts=policy.attempts,
                timeout=policy.timeout,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
                wait_exp_base=policy.wait_exp_base,
            ):
                with attempt:
                    attempts += 1
                    if attempts > 1:
                        logger.info("kindful %s %s: retry %d", method, path, attempts - 1)
                    return self._once(method, path, json, params)
        except KindfulError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- imports -----------------------------------------------------------------------------

    def submit_import(self, request: ImportRequest) -> ImportJob:
        """POST /imports; inline data above 100 rows is refused here, before any request.

        A refusal, whether an HTTP error or a 2xx `{status: "error", message,
        validation_messages}` (001), raises KindfulRejected with Kindful's words.
        """
        if request.data is not None and len(request.data) > MAX_INLINE_ROWS:
            raise KindfulInlineLimitError(
                f"{len(request.data)} inline rows; Kindful takes at most {MAX_INLINE_ROWS}"
                " (send a data_url file instead)"
            )
        body = self._call("POST", "imports", json=request.to_body(), resend_safe=False)
        answer = submit_answer(body)
        if isinstance(answer, ErrorAnswer):
            raise KindfulRejected(
                answer.message or "import refused",
                method="POST",
                path="imports",
                validation_messages=answer.validation_messages,
            )
        return answer

    def get_import(self, job_id: str, *, all_notifications: bool = True) -> ImportResult:
        """GET /imports/{id}, with every notification Kindful lets us read.

        001 shows `notifications: {page: 0, count: N, results}` and no way to reach a second
        page. When `count` exceeds what came back, `?page=1, 2, ...` is tried, but nothing
        relies on it: asking stops as soon as an answer repeats notifications already seen or
        brings none, each notification (by `id`) is kept once, and what stays out of reach is
        left to `ImportResult.notifications_unread`.
        """
        body = self._call("GET", f"imports/{job_id}")
        block = body.get("notifications") if isinstance(body, dict) else None
        notes = _DistinctNotifications()
        count = 0
        if isinstance(block, dict):
            notes.add(block.get("results"))
            count = _count(block.get("count"))
            page = _count(block.get("page"))
            # Bounded: one ask per page the first answer's size implies, and one more.
            asks = -(-count // max(1, len(notes.items)))
            while all_notifications and len(notes.items) < count and asks > 0:
                asks -= 1
                page += 1
                more = self._call("GET", f"imports/{job_id}", params={"page": page})
                more_block = more.get("notifications") if isinstance(more, dict) else None
                results = more_block.get("results") if isinstance(more_block, dict) else None
                if notes.add(results) == 0:
                    break  # a repeat or nothing: this Kindful does not page this way
        return ImportResult.from_api(body, notes.items, max(count, len(notes.items)))

    def wait_for_import(
        self,
        job_id: str,
        *,
        poll_interval: float = 2.0,
        timeout: float = 3600.0,
        first_poll_after: float = 0.0,
    ) -> ImportResult:
        """Poll GET /imports/{id} until the job reaches a terminal status.

        The first look comes `first_poll_after` seconds in (see job_pacing), later ones every
        `poll_interval`. A finished job whose first page holds every notification is not
        fetched again.
        """
        deadline = time.monotonic() + timeout
        if first_poll_after > 0:
            self._sleep(min(first_poll_after, timeout))
        while True:
            result = self.get_import(job_id, all_notifications=False)
            if result.finished:
                if len(result.notifications) >= result.notification_count:
                    return result
                return self.get_import(job_id)
            if time.monotonic() >= deadline:
                raise KindfulError(
                    f"import {job_id} still {result.status} after {timeout:g}s",
                    path=f"imports/{job_id}",
                )
            self._sleep(poll_interval)

    def import_stats(self) -> ImportStats:
        """GET /imports/stats: pending jobs and whether a sync may start."""
        return ImportStats.model_validate(self._call("GET", "imports/stats"))

    # -- queries -----------------------------------------------------------------------------

    def query_pages(self, model: str, body: dict[str, Any]) -> Iterator[QueryPage]:
        """Pages of contacts/query or transactions/query, following query_token and has_more.

        An empty page with has_more and estimated_results_delay means "not gathered in time":
        wait that long and ask again with the same token, up to settings.query_wait_max.
        """
        path = f"{model}s/query"
        waited = 0.0
        page = QueryPage.model_validate(self._call("POST", path, json=body))
        while True:
            if page.results or not page.estimated_results_delay:
                yield page
                if not page.has_more:
                    return
            else:
                delay = float(page.estimated_results_delay)
                if waited + delay > self.settings.query_wait_max:
                    raise KindfulQueryError(
                        f"query results not ready after waiting {waited:g}s",
                        method="POST",
                        path=path,
                    )
                self._sleep(delay)
                waited += delay
            if not page.query_token:
                raise KindfulQueryError("has_more without a query_token", method="POST", path=path)
            page = QueryPage.model_validate(
                self._call("POST", path, json={"query_token": page.query_token})
            )

    def _query(self, model: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for page in self.query_pages(model, body):
            yield from page.results

    def query_contacts(
        self,
        query: list[Any] | None = None,
        *,
        columns: dict[str, list[str]] | None = None,
        custom_fields: list[Any] | None = None,
        per_page: int = 50,
    ) -> Iterator[dict[str, Any]]:
        """Contacts matching a query such as ["linked", {"after": "2016/01/31"}]."""
        body: dict[str, Any] = {"query": query or [], "per_page": per_page}
        if columns is not None:
            body["columns"] = columns
        if custom_fields is not None:
            body["custom_fields"] = custom_fields
        return self._query("contact", body)

    def query_transactions(
        self,
        query: list[Any] | None = None,
        *,
        columns: dict[str, list[str]] | None = None,
        contact_custom_fields: list[Any] | None = None,
        per_page: int = 50,
    ) -> Iterator[dict[str, Any]]:
        """Transactions matching a query such as [{"or": ["changed", "not_linked"]}]."""
        body: dict[str, Any] = {"query": query or [], "per_page": per_page}
        if columns is not None:
            body["columns"] = columns
        if contact_custom_fields is not None:
            body["contact_custom_fields"] = contact_custom_fields
        return self._query("transaction", body)

    # -- reads -------------------------------------------------------------------------------

    def email_exists(self, email: str) -> bool:
        body = self._call("GET", "contacts/email_exist", params={"email": email})
        return bool(body.get("exist"))

    def details(self) -> OrganizationDetails:
        return OrganizationDetails.model_validate(self._call("GET", "details"))

    def campaigns(self, chapter_id: str | None = None) -> list[Campaign]:
        params = {"chapter_id": chapter_id} if chapter_id else None
        return [Campaign.model_validate(c) for c in self._call("GET", "campaigns", params=params)]

    def funds(self) -> list[Fund]:
        return [Fund.model_validate(f) for f in self._call("GET", "funds")]

    def groups(self) -> list[Group]:
        return [Group.model_validate(g) for g in self._call("GET", "groups")]

    def custom_fields(self, custom_field_group_id: str | None = None) -> list[CustomField]:
        params = {"custom_field_group_id": custom_field_group_id} if custom_field_group_id else None
        body = self._call("GET", "custom_fields", params=params)
        return [CustomField.model_validate(f) for f in body]
