"""What a job reports back: created and updated counts per record type, and notifications."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.formats import UPDATE_STATS_KEYS


@dataclass
class Outcome:
    """Counts and notifications of one import job, as GET /imports/{id} shows them."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, code: str, desc: str, record: dict[str, Any]) -> None:
        """001's notification: `object` is the affected record (see render.py), nothing else."""
        self.notifications.append(
            {
                "code": code,
                "desc": desc,
                "id": len(self.notifications) + 1,
                "status": "open",
                "object": record,
            }
        )

    def stats(self) -> dict[str, int]:
        """001's complete job lists only the record types it created."""
        return {key: value for key, value in self.created.items() if value}

    def update_stats(self) -> dict[str, int]:
        """001's complete job lists its eight types at zero, and (assumption) any other updated."""
        result = dict.fromkeys(UPDATE_STATS_KEYS, 0)
        result.update({key: value for key, value in self.updated.items() if value})
        return result
