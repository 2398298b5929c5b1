"""The state one import job carries while it writes: its settings, its counts, its caches."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sandbox.columns import cell_text, clean_value
from sandbox.formats import FORMATS, RECORD_TYPES, FormatSpec
from sandbox.outcome import Outcome
from sandbox.render import (
    activity_object,
    contact_object,
    stored_activity_object,
    stored_contact_object,
)
from sandbox.request import ImportSpec
from sandbox.store import Record, Store

DEFAULT_CAMPAIGN = "Sandbox App"  # 001: campaign "Defaults to Partner Name"


@dataclass
class ImportContext:
    """One job's view: who (app), what (spec), and which records it created or updated."""

    store: Store
    app: str
    spec: ImportSpec
    outcome: Outcome = field(default_factory=Outcome)
    created: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    updated: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    links: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    contact_by_id: dict[str, int] = field(default_factory=dict)

    @property
    def format(self) -> FormatSpec:
        return FORMATS[self.spec.data_format]

    @property
    def action(self) -> str:
        return self.spec.action_type

    def match_by(self, kind: str) -> str:
        """002: every record type defaults to external_id."""
        return self.spec.match_by.get(kind, "external_id")

    def exception(self, kind: str) -> str | None:
        return self.spec.update_exceptions.get(kind)

    # -- notifications: 001's `object` is the affected record ---------------------------------

    def notify(self, code: str, desc: str, record: dict[str, Any]) -> None:
        self.outcome.notify(code, desc, record)

    def stored(self, record: Record) -> dict[str, Any]:
        """A stored record as a notification object."""
        if record.kind == "contact":
            return stored_contact_object(record)
        return stored_activity_object(self.store, record)

    def draft(self, contact: dict[str, Any], activity: dict[str, Any]) -> dict[str, Any]:
        """The record a row is about, as it would have been: for a row Kindful did not import.

        Its activity (a transaction, ...) with the contact nested, a split, or the contact of a
        contact-only row; external ids are the row's own, Kindful ids are those of records
        that exist (the contact, when found).
        """
        spec = self.format
        if spec.split:
            return activity_object(
                "split_transaction", activity, contact=None, external_id=activity.get("id")
            )
        contact_id = contact.get("id")
        known = self.contact_by_id.get(str(contact_id)) if contact_id is not None else None
        found = self.store.get(known) if known is not None else None
        person = (
            stored_contact_object(found)
            if found is not None
            else contact_object(contact, external_id=contact_id)
        )
        if spec.activity is None or not activity:
            return person
        return activity_object(
            spec.activity.kind,
            activity,
            contact=person,
            external_id=activity.get(spec.activity.id_column),
        )

    def draft_raw(self, raw: dict[str, Any]) -> dict[str, Any]:
        """`draft` of a row as submitted: values cleaned, null where they are not valid."""
        spec = self.format
        activity_columns = set(spec.activity.columns) if spec.activity is not None else set()
        contact: dict[str, Any] = {}
        activity: dict[str, Any] = {}
        for column, value in raw.items():
            text = cell_text(value)
            if text is None or column not in spec.columns:
                continue
            try:
                cleaned: Any = clean_value(column, text)
            except ValueError:
                # The record cannot hold it (desc says why); an id still names the row.
                cleaned = text if column == "id" or column.endswith("_id") else None
            if spec.split or column in activity_columns:
                activity[column] = cleaned
            else:
                contact[column] = cleaned
        return self.draft(contact, activity)

    def finish(self) -> Outcome:
        """Turn the sets of touched records into the stats of GET /imports/{id}."""
        for kind, pks in self.created.items():
            self.outcome.created[RECORD_TYPES[kind]] += len(pks)
        for kind, pks in self.updated.items():
            self.outcome.updated[RECORD_TYPES[kind]] += len(pks - self.created[kind])
        for record_type, count in self.links.items():
            self.outcome.created[f"Integrations {record_type} Link"] += count
        return self.outcome
