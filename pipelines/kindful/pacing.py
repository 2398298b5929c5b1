"""When to look at a submitted Kindful job: shortly before it should be done, then often.

Kindful runs an app's jobs one at a time at a fairly steady rate, so the previous batch's rows
per second predicts the next batch's duration. Polling from submission at a fixed interval costs
a call per interval and up to a whole interval of idle wait per batch; waiting out most of the
expected time first and then looking at a tenth of it costs one or two calls and little idle
time. Without a measurement (the first batch, a resumed job) it polls at the fixed interval.
"""

from __future__ import annotations

from dataclasses import dataclass

EARLY = 0.8  # of the expected time: the measured duration overstates it by the polling lag
LOOK_FRACTION = 0.1  # later looks every tenth of the expected time ...
MIN_LOOK = 0.25  # ... but not more often than this (seconds)


@dataclass(frozen=True)
class PollPlan:
    """Seconds before the first look at a job, and between later looks."""

    first_after: float
    every: float


@dataclass
class JobPacer:
    """Plans each batch's polling from the rate the run's earlier jobs ran at."""

    poll_interval: float
    rows_per_second: float | None = None

    def plan(self, rows: int) -> PollPlan:
        if not self.rows_per_second or rows <= 0:
            return PollPlan(0.0, self.poll_interval)
        expected = rows / self.rows_per_second
        every = min(self.poll_interval, max(MIN_LOOK, LOOK_FRACTION * expected))
        return PollPlan(EARLY * expected, every)

    def observe(self, rows: int, seconds: float) -> None:
        """A job of `rows` rows finished `seconds` after it was submitted (as far as we saw)."""
        if rows > 0 and seconds > 0:
            self.rows_per_second = rows / seconds
