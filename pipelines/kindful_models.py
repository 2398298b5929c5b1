"""Typed requests and answers of the Kindful Imports API (001/002/003).

Read models keep fields they do not name (`extra="allow"`), so a richer answer from the
live API does not break parsing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DataFormat = Literal[
    "contact",
    "contact_with_transaction",
    "split_transaction",
    "contact_with_note",
    "contact_with_pledge",
    "contact_with_non_cash_gift",
    "contact_with_soft_credit",
    "contact_with_cause_team",
]
ActionType = Literal["create", "update"]
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


class ImportJob(_Answer):
    """POST /imports answer: `{"id": "<uuid>", "status": "pending"}`."""

    id: str
    status: str


class Notification(_Answer):
    """A dropped or questionable row; the sandbox puts the 1-based file row in object.row."""

    code: str
    desc: str = ""
    id: int | str | None = None
    status: str | None = None
    object: dict[str, Any] = Field(default_factory=dict)

    @property
    def row(self) -> int | None:
        value = self.object.get("row")
        return value if isinstance(value, int) else None


class ImportResult(_Answer):
    """GET /imports/{id}: status, created (`stats`) and updated (`update_stats`) counts."""

    id: str
    status: str
    stats: dict[str, int] = Field(default_factory=dict)
    update_stats: dict[str, int] = Field(default_factory=dict)
    notifications: list[Notification] = Field(default_factory=list)
    notification_count: int = 0
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "complete"

    @classmethod
    def from_api(cls, body: dict[str, Any], notifications: list[dict[str, Any]]) -> ImportResult:
        block = body.get("notifications") or {}
        count = block.get("count", len(notifications)) if isinstance(block, dict) else 0
        fields = {k: v for k, v in body.items() if k != "notifications"}
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
