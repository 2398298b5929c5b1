"""Fault knobs for tests: throttling, server errors, latency, slow fetches, held jobs.

Random faults (`rate_429`, `rate_500`) use a seeded generator; `fail_next` answers the next
requests with the given statuses in order, so tests need no luck.
"""

from __future__ import annotations

import random
import threading
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FaultSettings(BaseModel):
    """The knobs; POST /__sandbox/faults takes any subset of them."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    rate_429: Annotated[float, Field(ge=0, le=1)] = 0.0
    retry_after: Annotated[float, Field(ge=0)] = 1.0
    rate_500: Annotated[float, Field(ge=0, le=1)] = 0.0
    latency: Annotated[float, Field(ge=0)] = 0.0
    fetch_delay: Annotated[float, Field(ge=0)] = 0.0
    hold_jobs: bool = False
    fail_next: list[int] = []  # statuses for the next API requests, one each, in order
    fail_match: str | None = None  # only requests whose "METHOD /path" contains this
    query_not_ready: Annotated[int, Field(ge=0)] = (
        0  # next query pages answer "not gathered in time"
    )
    query_results_delay: Annotated[int, Field(ge=0)] = (
        1  # the estimated_results_delay they announce
    )
    # The next jobs end in these statuses (001's failures), one each, in order, with a message.
    fail_jobs: list[Literal["load_failed", "failed", "setup_failed", "error"]] = []
    # The next POST /imports are refused whole, as 001 shows a refusal: {status: "error",
    # message, validation_messages}. Each entry is the validation_messages of one refusal.
    refuse_imports: list[list[str]] = []
    seed: int | None = None


class Faults:
    """The live knobs, shared by the HTTP middleware, the job runner and the query pager."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.settings = settings or FaultSettings()
        self._rng = random.Random(self.settings.seed)

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        with self._lock:
            merged = self.settings.model_dump() | changes
            self.settings = FaultSettings.model_validate(merged)
            if "seed" in changes:
                self._rng = random.Random(self.settings.seed)
            return self.settings

    def failure_for(self, method: str, path: str) -> int | None:
        """The status to answer instead of serving this request, if any."""
        with self._lock:
            knobs = self.settings
            if knobs.fail_match is not None and knobs.fail_match not in f"{method} {path}":
                return None
            if knobs.fail_next:
                status = knobs.fail_next[0]
                self.settings = knobs.model_copy(update={"fail_next": knobs.fail_next[1:]})
                return status
            if knobs.rate_429 and self._rng.random() < knobs.rate_429:
                return 429
            if knobs.rate_500 and self._rng.random() < knobs.rate_500:
                return 500
            return None

    def take_refusal(self) -> list[str] | None:
        """The validation_messages to refuse the POST /imports at hand with, if any."""
        with self._lock:
            if not self.settings.refuse_imports:
                return None
            refusal = self.settings.refuse_imports[0]
            self.settings = self.settings.model_copy(
                update={"refuse_imports": self.settings.refuse_imports[1:]}
            )
            return refusal

    def take_job_failure(self) -> str | None:
        """The status the job about to run must end in instead of running, if any."""
        with self._lock:
            if not self.settings.fail_jobs:
                return None
            status = self.settings.fail_jobs[0]
            self.settings = self.settings.model_copy(
                update={"fail_jobs": self.settings.fail_jobs[1:]}
            )
            return status

    def take_query_not_ready(self) -> int | None:
        """The announced delay when this query page must come back empty, else None."""
        with self._lock:
            if self.settings.query_not_ready <= 0:
                return None
            self.settings = self.settings.model_copy(
                update={"query_not_ready": self.settings.query_not_ready - 1}
            )
            return self.settings.query_results_delay
