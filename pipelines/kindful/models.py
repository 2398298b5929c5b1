"""Typed requests and answers of the Kindful Imports API (001/002/003).

Read models keep fields they do not name (`extra="allow"`), so a richer answer from the
live API does not break parsing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.columns import Action, DataFormat

ActionType = Action
MAX_INLINE_ROWS = 100  # 002, "Import Record Limits"
# 001, "Import Statuses": the ones after which a job never changes again.
TERMINAL_STATUSES = frozenset({"complete", "load_failed", "failed", "setup_failed", "error"})


class ImportRequest(BaseModel):
    """The body of POST /imports: inline `data` (<= 100 rows) or a `data_url` file.

    `data` and `data_url` stay out of reprs: rows are donor data, a presigned URL is a
    credential.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_format: DataFormat
    action_type: ActionType = "create"
    data: list[dict[str, Any]] | None = Field(default=None, repr=False)
    data_url: str | None = Field(default=None, repr=False)
    data_type: Literal["csv", "json"] | None = None
    compression: Literal["gzip"] | None = None
    match_by: dict[str, str] | None = None
    update_exceptions: dict[str, Literal["create", "insert", "update"]] | None = None
    update_columns_except: dict[str, list[str]] | None = None
    update_columns_only: dict[str, list[str]] | None = None
    custom_fields: list[str] | None = None
    custom_field_identifiers: list[str] | None = None
    chapter_id: str | None = None
    encrypted: bool | None = None
    webhook_status_url: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ImportRequest:
        if (self.data is None) == (self.data_url is None):
            raise ValueError("exactly one of data or data_url is required")
        if self.data_url is not None and self.data_type is None:
            raise ValueError("data_type (csv or json) is required with data_url")
        return self

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ErrorAnswer(_Answer):
    """001's error body: `{status: "error", message, validation_messages}`.

    Also what a refused POST /imports returns (e.g. "Couldn't find contact information for
    transaction") and what GET /custom_fields answers for an unknown group.
    """

    status: Literal["error"]
    message: str = ""
    validation_messages: list[str] = Field(default_factory=list)


class ImportJob(_Answer):
    """POST /imports answer: `{"id": "<uuid>", "status": "pending"}`."""

    id: str
    status: str


def submit_answer(body: Any) -> ImportJob | ErrorAnswer:
    """What POST /imports said: a queued job, or the whole request refused."""
    if isinstance(body, dict) and body.get("status") == "error":
        return ErrorAnswer.model_validate(body)
    return ImportJob.model_validate(body)


class Notification(_Answer):
    """A note on a job: `object` is the affected record (001), a transaction, contact, ...

    It carries no row number: a note is tied to the rows sent by the record's external id
    (`object.external_id`, or `object.contact.external_id` for a contact's).
    """

    code: str
    desc: str = ""
    id: int | str | None = None
    status: str | None = None
    object: dict[str, Any] | None = None

    @property
    def record(self) -> dict[str, Any]:
        return self.object if isinstance(self.object, dict) else {}

    @property
    def record_type(self) -> str | None:
        value = self.record.get("record_type")
        return value if isinstance(value, str) else None

    @property
    def external_id(self) -> str | None:
        return _text(self.record.get("external_id"))

    @property
    def contact_external_id(self) -> str | None:
        contact = self.record.get("contact")
        return _text(contact.get("external_id")) if isinstance(contact, dict) else None


def _text(value: Any) -> str | None:
    """An external id as text: Kindful shows ids as strings, numbers or null."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value)
    return text or None


class NotificationPage(_Answer):
    """001: `notifications: {page, count, results}`; how to reach other pages is undocumented."""

    page: int = 0
    count: int = 0
    results: list[Notification] = Field(default_factory=list)


class ImportResult(_Answer):
    """GET /imports/{id}: status, created (`stats`) and updated (`update_stats`) counts.

    001's `ready` job has `stats: {}`, `update_stats: {}` and no `notifications` key; a complete
    one lists only non-zero `stats` and a zero-filled `update_stats`. `notifications` here is
    every distinct notification read (over however many answers), `notification_count` what
    Kindful's `count` said.
    """

    id: str
    status: str
    stats: dict[str, int] = Field(default_factory=dict)
    update_stats: dict[str, int] = Field(default_factory=dict)
    notifications: list[Notification] = Field(default_factory=list)
    notification_count: int = 0
    message: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        """001's prose writes "Complete", "Load_failed"; its JSON, lowercase."""
        return value.lower() if isinstance(value, str) else value

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "complete"

    @property
    def notifications_unread(self) -> int:
        """Notifications Kindful counted that could not be read (pages out of reach)."""
        return max(0, self.notification_count - len(self.notifications))

    @classmethod
    def from_api(
        cls,
        body: dict[str, Any],
        notifications: list[dict[str, Any]] | None = None,
        count: int | None = None,
    ) -> ImportResult:
        """The answer, with the notifications gathered from it (and any further pages)."""
        block = body.get("notifications")
        page = NotificationPage.model_validate(block) if isinstance(block, dict) else None
        fields = {k: v for k, v in body.items() if k != "notifications"}
        if notifications is None:
            notifications = [n.model_dump() for n in page.results] if page else []
        if count is None:
            count = max(page.count, len(notifications)) if page else len(notifications)
        return cls.model_validate(
            {**fields, "notifications": notifications, "notification_count": count}
        )


class ImportStats(_Answer):
    """GET /imports/stats: whether it is a good time to sync."""

    sync_enabled: bool
    message: str = ""
    pending_jobs: int = 0
    pending_updates: int = 0


class QueryPage(_Answer):
    """One page of contacts/query or transactions/query."""

    page: int = 0
    has_more: bool = False
    model: str | None = None
    query_token: str | None = None
    results: list[dict[str, Any]] = Field(default_factory=list)
    warning: str | None = None
    estimated_results_delay: float | None = None


class OrganizationDetails(_Answer):
    """GET /details."""

    name: str | None = None
    email: str | None = None
    subdomain: str | None = None
    root_url: str | None = None
    time_zone: str | None = None


class Campaign(_Answer):
    id: int
    name: str
    external_id: str | None = None


class Fund(_Answer):
    id: int
    name: str
    external_id: str | None = None


class Group(_Answer):
    id: str | int
    name: str
    member_count: str | int | None = None


class CustomField(_Answer):
    id: int
    name: str
    field_type: str | None = None
    field_values: list[str] | None = None


class CustomFieldGroup(_Answer):
    id: int
    name: str


class EmailExists(_Answer):
    """GET /contacts/email_exist."""

    exist: bool


class QueryErrorAnswer(_Answer):
    """A query Kindful refused: `{query_token, errors: ["query 'example' does not exist"]}`."""

    query_token: str | None = None
    errors: list[str]
