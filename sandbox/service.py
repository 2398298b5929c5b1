"""The sandbox Kindful as plain Python: what each endpoint does, without HTTP."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sandbox.auth import Authenticator
from sandbox.config import SandboxConfig
from sandbox.faults import Faults, FaultSettings
from sandbox.jobs import JobRunner
from sandbox.matching import contact_keys, name_keys
from sandbox.query import QueryPager
from sandbox.render import dump_record, named_json
from sandbox.request import ImportSpec, parse_import_request
from sandbox.store import Job, Record, Store

SYNC_BLOCKED = "There are prior jobs queued up.  Sync could not be started"  # 001
TERMINAL_FAILURES = frozenset({"load_failed", "failed", "setup_failed", "error"})
DUMP_KINDS = {
    "contacts": "contact",
    "transactions": "transaction",
    "split_transactions": "split_transaction",
    "notes": "note",
    "pledges": "pledge",
    "non_cash_gifts": "non_cash_gift",
    "soft_credits": "soft_credit",
    "funds": "fund",
    "campaigns": "campaign",
    "groups": "group",
    "events": "event",
    "causes": "cause",
    "teams": "team",
    "team_members": "team_member",
    "custom_fields": "custom_field",
}


class Sandbox:
    """State, job runner, query pager and fault knobs of one sandbox server."""

    def __init__(
        self,
        tokens: list[str],
        *,
        db: str | None = None,
        config: SandboxConfig | None = None,
        faults: FaultSettings | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.store = Store(db)
        self.faults = Faults(faults)
        self.auth = Authenticator(tokens)
        self.runner = JobRunner(self.store, self.config, self.faults)
        self.pager = QueryPager(
            self.store, page_max=self.config.query_page_max, ttl=self.config.query_token_ttl
        )
        # Requests received, "METHOD /path" with the base path stripped; for tests.
        self.requests: Counter[str] = Counter()
        for app in self.auth.apps:
            self._ensure_app(app)

    def start(self) -> None:
        self.runner.start()

    def add_token(self, token: str) -> str:
        """Another app (organization) on the same server; returns its app id."""
        app = self.auth.add(token)
        self._ensure_app(app)
        return app

    def close(self) -> None:
        self.runner.stop()
        self.store.close()

    def _ensure_app(self, app: str) -> None:
        """A new organization has a General fund and campaign, like a fresh Kindful account."""
        if self.store.add_app(app):
            for kind, name in (("fund", "General"), ("campaign", "General")):
                self.store.insert(app, kind, data={"name": name}, keys=name_keys(name))

    # -- imports ----------------------------------------------------------------------------

    def submit(self, app: str, body: object) -> Job:
        spec: ImportSpec = parse_import_request(
            body, allowed_hosts=self.config.allowed_data_url_hosts
        )
        return self.runner.submit(app, spec, spec.model_dump(exclude_none=True))

    def job_status(self, app: str, job_id: str, page: int = 0) -> dict[str, Any] | None:
        """001's "Import Status by Job ID" answer for the job's status.

        ready / working: `stats: {}`, `update_stats: {}`, no `notifications` (001's ready
        example). complete: non-zero `stats`, the zero-filled `update_stats`, `notifications:
        {page, count, results}`. A failure: like ready, plus `message` (001: "we will note more
        in the error response").
        """
        job = self.store.job(app, job_id)
        if job is None:
            return None
        result: dict[str, Any] = {"id": job.id, "status": job.status, "stats": {}}
        result["update_stats"] = {}
        if job.status == "complete":
            result["stats"] = job.stats
            result["update_stats"] = job.update_stats
            result["notifications"] = self._notification_page(job.notifications, page)
        elif job.status in TERMINAL_FAILURES and job.message:
            result["message"] = job.message
        return result

    def _notification_page(self, notes: list[dict[str, Any]], page: int) -> dict[str, Any]:
        size = self.config.notifications_per_page
        if size is None:
            return {"page": 0, "count": len(notes), "results": notes}
        if not self.config.notifications_follow_page:
            page = 0
        return {
            "page": page,
            "count": len(notes),
            "results": notes[page * size : (page + 1) * size],
        }

    def import_stats(self, app: str) -> dict[str, Any]:
        active = self.store.active_jobs(app)
        pending_updates = sum(job.row_count or 0 for job in active)
        enabled = len(active) <= self.config.sync_pending_threshold
        return {
            "sync_enabled": enabled,
            "message": "ready" if enabled else SYNC_BLOCKED,
            "pending_jobs": len(active),
            "pending_updates": pending_updates,
        }

    # -- reads ------------------------------------------------------------------------------

    def email_exists(self, app: str, email: str) -> bool:
        key = contact_keys({"email": email}).get("email")
        return bool(key and self.store.by_key(app, "contact", "email", key))

    def details(self) -> dict[str, Any]:
        return {
            "name": self.config.org_name,
            "email": "sandbox@example.org",
            "subdomain": "sandbox",
            "root_url": "https://sandbox.kindful.com/",
            "time_zone": "UTC",
            "ein": "00-0000000",
            "city": "Nashville",
            "state": "TN",
            "country": "United States",
        }

    def campaigns(self, app: str) -> list[dict[str, Any]]:
        raised: dict[int, int] = {}
        for txn in self.store.records(app, "transaction"):
            pk = txn.data.get("campaign_pk")
            if pk is not None:
                raised[int(pk)] = raised.get(int(pk), 0) + int(txn.data.get("amount_in_cents", 0))
        result = []
        for lft, rec in enumerate(self.store.records(app, "campaign"), start=1):
            name = str(rec.data.get("name"))
            result.append(
                {
                    "id": rec.pk,
                    "name": name,
                    "lft": lft,
                    "raised": str(raised.get(rec.pk, 0)),
                    "goal": "0",
                    "full_name": name,
                    "indented_name": name,
                    "url": f"https://sandbox.kindful.com/campaigns/{rec.pk}",
                    "external_id": rec.external_id,
                }
            )
        return result

    def funds(self, app: str) -> list[dict[str, Any]]:
        return [
            {**(named_json(rec) or {}), "_links": {"self": ""}}
            for rec in self.store.records(app, "fund")
        ]

    def groups(self, app: str) -> list[dict[str, Any]]:
        members: dict[int, int] = {}
        for contact in self.store.records(app, "contact"):
            for pk in contact.data.get("groups", []):
                members[int(pk)] = members.get(int(pk), 0) + 1
        return [
            {
                "id": str(rec.pk),
                "name": rec.data.get("name"),
                "member_count": str(members.get(rec.pk, 0)),
            }
            for rec in self.store.records(app, "group")
        ]

    def custom_fields(self, app: str) -> list[dict[str, Any]]:
        return [
            {
                "id": rec.pk,
                "name": rec.data.get("name"),
                "custom_field_group": {"id": 1, "name": "General"},
                "field_type": "text",
                "field_values": None,
            }
            for rec in self.store.records(app, "custom_field")
        ]

    # -- test helpers (admin endpoints and the in-process handle) ---------------------------

    def dump(self, app: str) -> dict[str, list[dict[str, Any]]]:
        """Every record of the app by kind, soft-deleted ones included."""
        return {
            plural: [dump_record(rec) for rec in self.store.records(app, kind, with_deleted=True)]
            for plural, kind in DUMP_KINDS.items()
        }

    def seed_contact(self, app: str, data: dict[str, Any]) -> Record:
        """A contact entered in Kindful itself: no external id, so "not linked"."""
        fields = {k: v for k, v in data.items() if v not in (None, "")}
        return self.store.insert(
            app, "contact", data=fields, keys=contact_keys(fields), linked=False
        )

    def edit_in_kindful(self, app: str, pk: int, changes: dict[str, Any]) -> Record | None:
        """A change made in Kindful's UI: bumps sync_version and the updated time to now."""
        record = self.store.get(pk)
        if record is None or record.app != app:
            return None
        record.data.update(changes)
        record.sync_version += 1
        record.updated_at = time.time()
        keys = contact_keys(record.data) if record.kind == "contact" else None
        self.store.save(record, keys=keys)
        return record

    def set_faults(self, changes: dict[str, Any]) -> FaultSettings:
        settings = self.faults.update(changes)
        self.runner.wake()
        return settings
