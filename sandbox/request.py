"""POST /imports body checks: refuse at submit what Kindful refuses, before a job exists."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from sandbox.columns import cell_text
from sandbox.formats import FORMATS, MATCH_BY_OPTIONS

MAX_INLINE_ROWS = 100  # 002, "Import Record Limits"
TOO_MANY_ROWS = "Too many rows specified in data request"  # 001, the documented error
CONTACT_NOT_FOUND = "Couldn't find contact information for {kind}"  # 001's validation message
INVALID = "Invalid import request"


class RequestRejected(Exception):
    """A body Kindful would not queue; rendered as {status, message, validation_messages}."""

    def __init__(self, message: str, validation_messages: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.validation_messages = validation_messages or []


class ImportSpec(BaseModel):
    """Every body parameter of 001/003. The "coming soon" ones (update_columns_except,
    update_columns_only, encrypted, webhook_status_url, chapter_id, custom_field_identifiers)
    are accepted and ignored: nothing reads them."""

    model_config = ConfigDict(extra="forbid")

    data_format: str
    action_type: Literal["create", "update"] = "create"
    data_type: Literal["csv", "json"] | None = None
    data: list[dict[str, Any]] | None = None
    data_url: str | None = None
    compression: Literal["gzip"] | None = None
    match_by: dict[str, str] = {}
    update_exceptions: dict[str, Literal["create", "insert", "update"]] = {}
    update_columns_except: dict[str, list[str]] = {}
    update_columns_only: dict[str, list[str]] = {}
    custom_fields: list[str] = []
    custom_field_identifiers: list[str] = []
    chapter_id: str | int | None = None
    encrypted: bool | str | None = None
    webhook_status_url: str | None = None


def parse_import_request(
    body: object, *, allowed_hosts: frozenset[str] | None = None
) -> ImportSpec:
    """The validated spec, or RequestRejected with one message per problem."""
    if not isinstance(body, dict):
        raise RequestRejected("Request body must be a JSON object")
    if isinstance(body.get("data"), list) and len(body["data"]) > MAX_INLINE_ROWS:
        raise RequestRejected(
            TOO_MANY_ROWS,
            [f"data has {len(body['data'])} rows; at most {MAX_INLINE_ROWS} are allowed"],
        )
    try:
        spec = ImportSpec.model_validate(body)
    except ValidationError as exc:
        messages = [
            f"{'.'.join(str(part) for part in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise RequestRejected(INVALID, messages) from None
    problems = _problems(spec, allowed_hosts) or contactless_rows(spec)
    if problems:
        raise RequestRejected(INVALID, problems)
    return spec


def _problems(spec: ImportSpec, allowed_hosts: frozenset[str] | None) -> list[str]:
    problems: list[str] = []
    if spec.data_format not in FORMATS:
        problems.append(
            f"data_format {spec.data_format!r} is not one of {', '.join(sorted(FORMATS))}"
        )
    if (spec.data is None) == (spec.data_url is None):
        problems.append("exactly one of data or data_url is required")
    if spec.data_url is not None:
        problems += _url_problems(spec.data_url, allowed_hosts)
        if spec.data_type is None:
            problems.append("data_type (csv or json) is required with data_url")
    for key, how in spec.match_by.items():
        options = MATCH_BY_OPTIONS.get(key)
        if options is None:
            problems.append(f"match_by: unknown record type {key!r}")
        elif how not in options:
            problems.append(f"match_by.{key}: {how!r} is not one of {', '.join(sorted(options))}")
    problems += [
        f"update_exceptions: unknown record type {key!r}"
        for key in spec.update_exceptions
        if key not in MATCH_BY_OPTIONS
    ]
    return problems


def contactless_rows(spec: ImportSpec) -> list[str]:
    """001's documented refusal of a whole request: inline activity rows with no contact.

    A row whose activity columns are filled but that names no contact at all (no first and
    last name, no company_name, no `id`, nothing in the contact match_by column) gets
    "Couldn't find contact information for transaction" (for a note: "... for note").
    A data_url file is read only when its job runs; its such rows are dropped there instead.
    """
    fmt = FORMATS.get(spec.data_format)
    if spec.data is None or fmt is None or fmt.activity is None:
        return []
    activity = set(fmt.activity.columns)
    contact_key = spec.match_by.get("contact", "external_id")
    keys = ("id", contact_key) if contact_key not in ("external_id", "id") else ("id",)
    messages: list[str] = []
    for row in spec.data:
        filled = {col for col, value in row.items() if cell_text(value) is not None}
        named = {"first_name", "last_name"} <= filled or "company_name" in filled
        if filled & activity and not named and not filled & set(keys):
            message = CONTACT_NOT_FOUND.format(kind=fmt.activity.kind)
            if message not in messages:
                messages.append(message)
    return messages


def _url_problems(url: str, allowed_hosts: frozenset[str] | None) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ["data_url must be an http(s) URL"]
    if allowed_hosts is not None and parts.hostname not in allowed_hosts:
        return [f"data_url host {parts.hostname!r} is not allowed"]
    return []
