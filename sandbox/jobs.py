"""The job runner: one worker thread per app, jobs one at a time in submission order.

001: "Kindful imports are worked one by one" and "There will only ever be one 'working' job
per app". Statuses (001, "Import Statuses"): ready -> working -> complete | load_failed | error
(an internal exception); `failed` and `setup_failed` only through the `fail_jobs` fault knob.

Per app, the runner also records how many jobs were ever `working` at once and how many were
active (queued or working) at once, for tests of clients that must send one job at a time per
account (`GET /__sandbox/jobs`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.fetch import LoadFailed, load_rows
from sandbox.importer import run_import
from sandbox.request import ImportSpec
from sandbox.store import Job, Store

logger = logging.getLogger(__name__)
_IDLE_POLL = 1.0  # a safety net: wake() notifies workers at once
# What a job ended by the fail_jobs knob says (001's description of each status).
_INJECTED = {
    "load_failed": "files failed to load due to wrong file type or data in the file",
    "failed": "Import job TAR file not present",
    "setup_failed": "error in import setup worker",
    "error": "data that we cannot process",
}


@dataclass
class JobPeaks:
    """What one app's jobs looked like at their busiest, since this sandbox started."""

    submitted: int = 0
    peak_active: int = 0  # jobs ready, scheduled, pending or working at once (at a submit)
    peak_working: int = 0  # jobs `working` at once (when one starts)


class JobRunner:
    """Queues jobs in the store and works them from per-app daemon threads."""

    def __init__(self, store: Store, config: SandboxConfig, faults: Faults) -> None:
        self._store = store
        self._config = config
        self._faults = faults
        self._wakeup = threading.Condition()
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._peaks: dict[str, JobPeaks] = {}
        self._peaks_lock = threading.Lock()

    def start(self) -> None:
        """Resume jobs a previous run left queued (SQLite state)."""
        for app in self._store.requeue_interrupted():
            self.wake(app)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def submit(self, app: str, spec: ImportSpec, body: dict[str, Any]) -> Job:
        row_count = len(spec.data) if spec.data is not None else None
        with self._store.lock:  # the count is the one this job joined
            job = self._store.add_job(str(uuid.uuid4()), app, body, row_count)
            active = len(self._store.active_jobs(app))
        with self._peaks_lock:
            peaks = self._peaks.setdefault(app, JobPeaks())
            peaks.submitted += 1
            peaks.peak_active = max(peaks.peak_active, active)
        self.wake(app)
        return job

    def peaks(self, app: str) -> dict[str, int]:
        """`submitted`, `peak_active` and `peak_working` for the app's jobs so far."""
        with self._peaks_lock:
            return asdict(self._peaks.get(app, JobPeaks()))

    def wake(self, app: str | None = None) -> None:
        """Make sure `app` has a worker and nudge every worker to look for work."""
        with self._wakeup:
            if app is not None and not self._stop.is_set() and app not in self._threads:
                thread = threading.Thread(
                    target=self._work, args=(app,), name=f"sandbox-jobs-{app[:6]}", daemon=True
                )
                self._threads[app] = thread
                thread.start()
            self._wakeup.notify_all()

    def _next_job(self, app: str) -> Job | None:
        with self._wakeup:
            while not self._stop.is_set():
                if not self._faults.settings.hold_jobs:
                    job = self._store.next_pending_job(app)
                    if job is not None:
                        self._start(app, job)
                        return job
                self._wakeup.wait(_IDLE_POLL)
        return None

    def _start(self, app: str, job: Job) -> None:
        """Mark the job working and count the app's working jobs (the store's, not threads)."""
        with self._store.lock:
            self._store.set_job_status(job.id, "working")
            working = sum(j.status == "working" for j in self._store.active_jobs(app))
        with self._peaks_lock:
            peaks = self._peaks.setdefault(app, JobPeaks())
            peaks.peak_working = max(peaks.peak_working, working)

    def _work(self, app: str) -> None:
        while (job := self._next_job(app)) is not None:
            try:
                self._run(job)
            except Exception as exc:  # a bug must fail the job, not kill the worker
                if self._stop.is_set():
                    return
                logger.exception("sandbox job %s failed", job.id)
                self._store.finish_job(job.id, "error", message=f"internal error: {exc!r}")

    def _run(self, job: Job) -> None:
        injected = self._faults.take_job_failure()
        if injected is not None:
            self._store.finish_job(job.id, injected, message=_INJECTED[injected])
            return
        spec = ImportSpec.model_validate(job.body)
        if spec.data_url is not None and self._faults.settings.fetch_delay:
            self._stop.wait(self._faults.settings.fetch_delay)
        try:
            rows = load_rows(spec, timeout=self._config.fetch_timeout)
        except LoadFailed as exc:
            self._store.finish_job(job.id, "load_failed", message=str(exc))
            return
        if self._stop.wait(self._config.processing_delay):
            return  # stopping: the job stays "working" and is ready again on the next start
        outcome = run_import(self._store, job.app, spec, rows)
        self._store.finish_job(
            job.id,
            "complete",
            stats=outcome.stats(),
            update_stats=outcome.update_stats(),
            notifications=outcome.notifications,
        )
