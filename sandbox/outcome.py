"""What a job reports back: created and updated counts per record type, and notifications."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """Counts and notifications of one import job, as GET /imports/{id} shows them."""

    record_types: tuple[str, ...] = ()
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, code: str, desc: str, row: int | None, **details: Any) -> None:
        """Record a dropped or questionable row; `row` is 1-based within the submitted data."""
        obj: dict[str, Any] = {"row": row}
        obj.update({key: value for key, value in details.items() if value is not None})
        self.notifications.append(
            {
                "id": len(self.notifications) + 1,
                "code": code,
                "desc": desc,
                "status": "open",
                "object": obj,
            }
        )

    def stats(self) -> dict[str, int]:
        return _with_zeros(self.record_types, self.created)

    def update_stats(self) -> dict[str, int]:
        return _with_zeros(self.record_types, self.updated)


def _with_zeros(keys: tuple[str, ...], counts: Counter[str]) -> dict[str, int]:
    result = dict.fromkeys(keys, 0)
    result.update({key: value for key, value in counts.items() if value})
    return result
