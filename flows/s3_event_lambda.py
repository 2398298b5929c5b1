"""AWS Lambda: turn S3 "object created" notifications into Prefect events for a self-hosted server.

Prefect Cloud can take EventBridge events through a webhook; a self-hosted Prefect server has no
webhooks, so this handler receives the S3 notification (directly, through SQS or SNS, or as an
EventBridge "Object Created" event) and POSTs one `kindful-etl.s3.object.created` event per
object to `{PREFECT_API_URL}/events`. The `s3-drop-import` deployment's trigger (prefect.yaml)
runs the import with the event's bucket and key.

Duplicate deliveries: S3 delivers notifications at least once and Lambda retries failed
invocations. Every event gets an id derived from bucket, key and the object's sequencer (else
version id, else ETag), so a redelivery carries the same id and the Prefect server drops it as
already seen; the flow and the ledger catch anything that slips past (see deploy/README.md).

Only the standard library is used, so the function package is this file and a cold start is
fast. Configuration (environment):

| variable | meaning |
| --- | --- |
| `PREFECT_API_URL` | the API root, e.g. `http://prefect.internal:4200/api` (required) |
| `PREFECT_API_KEY` | sent as `Authorization: Bearer` when set (Prefect Cloud) |
| `PREFECT_API_AUTH_STRING` | `user:password` for a server with basic auth, when set |
| `KINDFUL_ETL_DROP_BUCKETS` | required: allowed `bucket` or `bucket/prefix/`, comma-separated |
| `KINDFUL_ETL_DROP_PREFIX` | only keys under this prefix (default: every key) |
| `KINDFUL_ETL_DROP_SUFFIXES` | comma-separated, any case (default `.csv,.csv.gz,.xlsx,.jsonl`) |
| `KINDFUL_ETL_PREFECT_TIMEOUT` | seconds per request (default 10) |

`KINDFUL_ETL_DROP_SUFFIXES=*` takes every key. Keys under `<prefix>processed/` and
`<prefix>failed/` (where the nightly inbox sync files what it has done) and names starting with
`.` or `_` are never drops. An object outside `KINDFUL_ETL_DROP_BUCKETS` is ignored (a
notification from another bucket must not make the flow import that bucket's files); with the
variable unset, an event naming any object is an error, so a forgotten setting is loud.

Credentials go only where `PREFECT_API_URL` says: a redirect is an error (never followed, so
Basic credentials are never sent to another host, and the events are not reported as sent), and
credentials are refused over plain http to anything but a loopback address. Keys are logged
with control characters escaped, so a key holding a line break cannot forge log lines.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

logger = logging.getLogger(__name__)

EVENT_NAME = "kindful-etl.s3.object.created"
DEFAULT_SUFFIXES = (".csv", ".csv.gz", ".xlsx", ".jsonl")
# The inbox sync (pipelines/inbox/listing.py) moves finished exports and their run files here:
# copies it makes there are not new drops.
DONE_FOLDERS = ("processed", "failed")
# Fixed forever: event ids derived under it are how duplicate deliveries are recognised.
EVENT_ID_NAMESPACE = uuid.UUID("6d3f4c1e-2b8a-5f6e-9c1d-4b7a0e2f8c35")
MAX_EVENTS_PER_REQUEST = 100
ATTEMPTS = 3
DROP_BUCKETS_ENV = "KINDFUL_ETL_DROP_BUCKETS"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
_sleep = time.sleep  # between retries; tests replace it


class DropEventError(Exception):
    """The notification could not be read or forwarded; raised so Lambda retries it."""


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`): one log line, unforgeable.

    A copy of pipelines.inbox.sweep.printable: the Lambda is deployed as this one module.
    """
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def parse_drop_buckets(raw: str) -> tuple[tuple[str, str], ...]:
    """`"drops, shared/kindful/"` -> (("drops", ""), ("shared", "kindful/"))."""
    allowed = []
    for entry in raw.split(","):
        bucket, _, prefix = entry.strip().partition("/")
        if bucket:
            allowed.append((bucket, prefix))
    return tuple(allowed)


def drop_bucket_refusal(
    bucket: str, key: str, allowed: tuple[tuple[str, str], ...] | None
) -> str | None:
    """Why `bucket`/`key` is outside the allow-list (None when inside it).

    `allowed` None (the variable unset) refuses everything: there is no safe default bucket.
    """
    if allowed is None:
        return f"{DROP_BUCKETS_ENV} is not set, so no bucket is allowed"
    for allowed_bucket, prefix in allowed:
        if bucket == allowed_bucket and key.startswith(prefix):
            return None
    return f"bucket/prefix not in {DROP_BUCKETS_ENV}"


@dataclass(frozen=True)
class DroppedObject:
    """One created object, as the notification described it (key already decoded)."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    size: int | None = None
    occurred: str | None = None  # the notification's own event time
    reason: str = ""  # "ObjectCreated:Put" (notification) or "PutObject" (EventBridge)
    via: str = "s3"  # "s3" notification or "eventbridge"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def event_id(self) -> str:
        """Same object write, same id: redeliveries by either path collapse on the server."""
        for kind, value in (
            ("sequencer", self.sequencer),
            ("version", self.version_id),
            ("etag", self.etag),
            ("time", self.occurred),
        ):
            if value:
                marker = f"{kind}:{value}"
                break
        else:
            marker = "unversioned"
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{self.bucket}\n{self.key}\n{marker}"))

    def prefect_event(self) -> dict[str, Any]:
        """The body Prefect's `POST /events` takes (a list of these); labels are strings."""
        resource = {
            "prefect.resource.id": self.uri,
            "prefect.resource.name": self.key,
            "s3.bucket": self.bucket,
            "s3.key": self.key,
        }
        optional = {
            "s3.etag": self.etag,
            "s3.version-id": self.version_id,
            "s3.sequencer": self.sequencer,
            "s3.size": None if self.size is None else str(self.size),
        }
        resource.update({label: value for label, value in optional.items() if value})
        return {
            "id": self.event_id,
            "occurred": self.occurred or _now(),
            "event": EVENT_NAME,
            "resource": resource,
            "related": [
                {
                    "prefect.resource.id": f"s3://{self.bucket}",
                    "prefect.resource.role": "bucket",
                    "prefect.resource.name": self.bucket,
                }
            ],
            "payload": {"reason": self.reason, "via": self.via},
        }


@dataclass(frozen=True)
class Ignored:
    """A record that names no object to import, and why."""

    reason: str
    uri: str | None = None


@dataclass(frozen=True)
class DropFilter:
    """Which keys are drops: in an allowed bucket/prefix, under the prefix, not in processed/ or
    failed/, with a suffix. `allowed` None: KINDFUL_ETL_DROP_BUCKETS unset, nothing allowed."""

    prefix: str = ""
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES  # empty: any key
    allowed: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DropFilter:
        env = os.environ if environ is None else environ
        raw = env.get("KINDFUL_ETL_DROP_SUFFIXES", "").strip()
        if raw == "*":
            suffixes: tuple[str, ...] = ()
        elif raw:
            suffixes = tuple(s.strip().lower() for s in raw.split(",") if s.strip())
        else:
            suffixes = DEFAULT_SUFFIXES
        buckets = env.get(DROP_BUCKETS_ENV, "").strip()
        return cls(
            prefix=env.get("KINDFUL_ETL_DROP_PREFIX", "").strip(),
            suffixes=suffixes,
            allowed=parse_drop_buckets(buckets) if buckets else None,
        )

    def why_not(self, obj: DroppedObject) -> str | None:
        """None when the object is a drop, else the reason it is not."""
        refusal = drop_bucket_refusal(obj.bucket, obj.key, self.allowed)
        if refusal is not None:
            return refusal
        if obj.key.endswith("/"):
            return "a folder marker"
        if self.prefix and not obj.key.startswith(self.prefix):
            return f"outside the prefix {self.prefix!r}"
        relative = obj.key[len(self.prefix) :].split("/")
        if relative[0] in DONE_FOLDERS:
            return f"under {relative[0]}/, where the inbox sync files what it has done"
        if relative[-1].startswith((".", "_")):
            return "a hidden or temporary file"
        if self.suffixes and not obj.key.lower().endswith(self.suffixes):
            return f"not one of {', '.join(self.suffixes)}"
        return None


@dataclass(frozen=True)
class PrefectTarget:
    """Where events go and how to authenticate; `repr` never shows a credential."""

    api_url: str
    api_key: str | None = field(default=None, repr=False)
    auth_string: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PrefectTarget:
        env = os.environ if environ is None else environ
        api_url = env.get("PREFECT_API_URL", "").strip()
        if not api_url:
            raise DropEventError("PREFECT_API_URL is not set")
        parts = urlsplit(api_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise DropEventError("PREFECT_API_URL must be an http(s) URL")
        if parts.username or parts.password:
            raise DropEventError(
                "PREFECT_API_URL must not carry credentials: use PREFECT_API_AUTH_STRING"
            )
        try:
            timeout = float(env.get("KINDFUL_ETL_PREFECT_TIMEOUT") or 10)
        except ValueError:
            raise DropEventError("KINDFUL_ETL_PREFECT_TIMEOUT must be a number") from None
        target = cls(
            api_url=api_url.rstrip("/"),
            api_key=env.get("PREFECT_API_KEY") or None,
            auth_string=env.get("PREFECT_API_AUTH_STRING") or None,
            timeout=timeout,
        )
        if (target.api_key or target.auth_string) and not _secure(parts.scheme, parts.hostname):
            raise DropEventError(
                "PREFECT_API_URL is plain http to a host that is not loopback: credentials "
                "are only sent over https"
            )
        return target

    @property
    def events_url(self) -> str:
        return f"{self.api_url}/events"

    @property
    def safe_url(self) -> str:
        """The events URL without user info or query, fit for logs and errors."""
        parts = urlsplit(self.events_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "kindful-etl-s3-drop/1"}
        if self.auth_string:  # as Prefect's own client: the auth string wins over a key
            token = base64.b64encode(self.auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def _secure(scheme: str, host: str) -> bool:
    """https, or http to this machine (nothing crosses a network)."""
    if scheme == "https" or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _size(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _from_notification_record(record: Mapping[str, Any]) -> DroppedObject | Ignored:
    """A `Records[]` entry of an S3 event notification; its key is URL-encoded (`+` = space)."""
    name = str(record.get("eventName", ""))
    s3 = record.get("s3") or {}
    bucket = str((s3.get("bucket") or {}).get("name", ""))
    obj = s3.get("object") or {}
    key = unquote_plus(str(obj.get("key", "")))
    uri = f"s3://{bucket}/{key}" if bucket and key else None
    if not name.startswith("ObjectCreated:"):
        return Ignored(f"not an object-created event ({name or 'no eventName'})", uri)
    if not bucket or not key:
        raise DropEventError("an S3 notification record names no bucket or key")
    return DroppedObject(
        bucket=bucket,
        key=key,
        etag=_text(obj.get("eTag")),
        version_id=_text(obj.get("versionId")),
        sequencer=_text(obj.get("sequencer")),
        size=_size(obj.get("size")),
        occurred=_text(record.get("eventTime")),
        reason=name,
        via="s3",
    )


def _from_eventbridge(event: Mapping[str, Any]) -> DroppedObject | Ignored:
    """An EventBridge event from S3; its `detail.object.key` is the key as stored, not encoded."""
    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    obj = detail.get("object") or {}
    key = str(obj.get("key", ""))
    uri = f"s3://{bucket}/{key}" if bucket and key else None
    if event.get("detail-type") != "Object Created":
        return Ignored(f"not an object-created event ({event.get('detail-type')})", uri)
    if not bucket or not key:
        raise DropEventError("an EventBridge S3 event names no bucket or key")
    return DroppedObject(
        bucket=bucket,
        key=key,
        etag=_text(obj.get("etag")),
        version_id=_text(obj.get("version-id")),
        sequencer=_text(obj.get("sequencer")),
        size=_size(obj.get("size")),
        occurred=_text(event.get("time")),
        reason=str(detail.get("reason", "")),
        via="eventbridge",
    )


def _parse_json(text: Any, where: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise DropEventError(f"{where} is not JSON") from None


def read_notification(event: Any) -> Iterator[DroppedObject | Ignored]:
    """Every object an S3 notification, EventBridge event, or SQS/SNS envelope names."""
    if not isinstance(event, Mapping):
        raise DropEventError(f"expected a JSON object, got {type(event).__name__}")
    if event.get("Event") == "s3:TestEvent":  # sent once when a notification is configured
        yield Ignored("S3 test event")
        return
    if event.get("source") == "aws.s3" and "detail" in event:
        yield _from_eventbridge(event)
        return
    if event.get("Type") == "Notification" and "Message" in event:  # SNS JSON via SQS
        yield from read_notification(_parse_json(event["Message"], "an SNS message"))
        return
    records = event.get("Records")
    if not isinstance(records, list):
        keys = ", ".join(sorted(str(k) for k in event)[:10])
        raise DropEventError(f"not an S3 notification or EventBridge event (keys: {keys})")
    for record in records:
        if not isinstance(record, Mapping):
            raise DropEventError("a notification record is not a JSON object")
        if record.get("eventSource") == "aws:sqs":
            yield from read_notification(_parse_json(record.get("body"), "an SQS message body"))
        elif record.get("EventSource") == "aws:sns":
            message = (record.get("Sns") or {}).get("Message")
            yield from read_notification(_parse_json(message, "an SNS message"))
        else:
            yield _from_notification_record(record)


def post_events(target: PrefectTarget, events: list[dict[str, Any]]) -> None:
    """POST events in batches; retry briefly on network errors and 5xx/429, then raise."""
    for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
        body = json.dumps(events[start : start + MAX_EVENTS_PER_REQUEST]).encode()
        _post(target, body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is here: following it would send the events,
    and the Authorization header with them, somewhere PREFECT_API_URL did not name."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(target: PrefectTarget, body: bytes) -> None:
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(
            target.events_url, data=body, headers=target.headers(), method="POST"
        )
        try:
            with _OPENER.open(request, timeout=target.timeout) as response:
                response.read()
                return
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                problem = f"HTTP {error.code}, a redirect (not followed)"
                break
            detail = error.read(300).decode("utf-8", "replace")
            problem = f"HTTP {error.code}: {printable(' '.join(detail.split()))}"
            if error.code not in _RETRY_STATUSES:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            problem = f"{type(error).__name__}: {type(reason).__name__}"
        if attempt < ATTEMPTS:
            _sleep(0.5 * 2 ** (attempt - 1))
    raise DropEventError(f"Prefect did not accept the events at {target.safe_url}: {problem}")


def handle(
    event: Any,
    *,
    target: PrefectTarget | None = None,
    drop_filter: DropFilter | None = None,
) -> dict[str, Any]:
    """Forward the drops an event names; return what was emitted and what was ignored."""
    drop_filter = drop_filter or DropFilter.from_env()
    emitted: list[dict[str, Any]] = []
    ignored: list[dict[str, str | None]] = []
    for item in read_notification(event):
        if isinstance(item, DroppedObject) and drop_filter.allowed is None:
            raise DropEventError(f"{DROP_BUCKETS_ENV} is not set: name the drop bucket(s)")
        reason = item.reason if isinstance(item, Ignored) else drop_filter.why_not(item)
        if isinstance(item, Ignored) or reason is not None:
            ignored.append({"uri": item.uri, "reason": reason})
            continue
        emitted.append(item.prefect_event())
    if emitted:
        post_events(target or PrefectTarget.from_env(), emitted)
    for sent in emitted:
        uri = printable(sent["resource"]["prefect.resource.id"])
        logger.info("emitted %s for %s", sent["id"], uri)
    for skipped in ignored:
        uri = printable(skipped["uri"] or "record")
        logger.info("ignored %s: %s", uri, printable(skipped["reason"] or ""))
    return {
        "emitted": [{"id": e["id"], "uri": e["resource"]["prefect.resource.id"]} for e in emitted],
        "ignored": ignored,
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (`flows.s3_event_lambda.handler`); errors raise so Lambda retries."""
    logger.setLevel(logging.INFO)
    return handle(event)
