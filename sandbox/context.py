"""The state one import job carries while it writes: its settings, its counts, its caches."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sandbox.formats import FORMATS, RECORD_TYPES, FormatSpec
from sandbox.outcome import Outcome
from sandbox.request import ImportSpec
from sandbox.store import Store

DEFAULT_CAMPAIGN = "Sandbox App"  # 001: campaign "Defaults to Partner Name"


@dataclass
class ImportContext:
    """One job's view: who (app), what (spec), and which records it created or updated."""

    store: Store
    app: str
    spec: ImportSpec
    outcome: Outcome = field(init=False)
    created: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    updated: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    links: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    contact_by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome = Outcome(record_types=self.format.record_types)

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

    def columns_only(self, kind: str) -> list[str] | None:
        return self.spec.update_columns_only.get(kind)

    def columns_except(self, kind: str) -> list[str] | None:
        return self.spec.update_columns_except.get(kind)

    def finish(self) -> Outcome:
        """Turn the sets of touched records into the stats of GET /imports/{id}."""
        for kind, pks in self.created.items():
            self.outcome.created[RECORD_TYPES[kind]] += len(pks)
        for kind, pks in self.updated.items():
            self.outcome.updated[RECORD_TYPES[kind]] += len(pks - self.created[kind])
        for record_type, count in self.links.items():
            self.outcome.created[f"Integrations {record_type} Link"] += count
        return self.outcome
