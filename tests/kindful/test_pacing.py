"""Polling paced by the previous job's rate: fewer looks at a job, the same result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.models import ImportRequest
from pipelines.kindful.pacing import EARLY, MIN_LOOK, JobPacer, PollPlan
from pipelines.kindful.settings import KindfulSettings
from sandbox.serve import SandboxHandle, running_sandbox


def test_without_a_measurement_it_polls_at_the_fixed_interval() -> None:
    pacer = JobPacer(poll_interval=2.0)
    assert pacer.plan(10_000) == PollPlan(0.0, 2.0)
    pacer.observe(0, 5.0)  # nothing learned from an empty job
    assert pacer.plan(10_000) == PollPlan(0.0, 2.0)


def test_after_a_job_it_waits_most_of_the_expected_time_then_looks_often() -> None:
    pacer = JobPacer(poll_interval=2.0)
    pacer.observe(10_000, 8.0)  # 1,250 rows a second
    plan = pacer.plan(5_000)  # expected 4 s
    assert plan.first_after == pytest.approx(EARLY * 4.0)
    assert plan.every == pytest.approx(0.4)
    assert pacer.plan(100).every == MIN_LOOK  # tiny jobs: not a busy loop
    pacer.observe(10_000, 1000.0)  # a slow service: looks no rarer than the fixed interval
    assert pacer.plan(10_000).every == 2.0


def _gets(kindful: SandboxHandle, job_id: str) -> int:
    return kindful.sandbox_requests().get(f"GET /imports/{job_id}", 0)


@pytest.fixture
def kindful(sandbox_db: Path) -> Iterator[SandboxHandle]:
    with running_sandbox(token="test-token-pacing", db=str(sandbox_db), processing_delay=1.0) as sb:
        yield sb


def test_a_paced_wait_looks_once_and_a_fixed_one_several_times(kindful: SandboxHandle) -> None:
    settings = KindfulSettings(token=SecretStr(kindful.token), base_url=kindful.base_url)
    rows = [{"id": str(i), "first_name": "Ada", "last_name": f"Example{i}"} for i in range(3)]
    with KindfulClient(settings) as client:
        fixed = client.submit_import(ImportRequest(data_format="contact", data=rows))
        assert client.wait_for_import(fixed.id, poll_interval=0.2).succeeded
        paced = client.submit_import(ImportRequest(data_format="contact", data=rows))
        result = client.wait_for_import(paced.id, poll_interval=0.2, first_poll_after=1.5)
    assert result.succeeded
    assert _gets(kindful, fixed.id) >= 4  # a 1 s job looked at every 0.2 s
    assert _gets(kindful, paced.id) == 1  # finished by the first look, nothing fetched again
