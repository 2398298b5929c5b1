"""Job lifecycle, /imports/stats, notifications paging, SQLite persistence across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import finish, make_client

from pipelines.kindful_client import KindfulClient
from pipelines.kindful_errors import KindfulNotFound
from pipelines.kindful_models import ImportRequest
from sandbox.serve import SandboxHandle, running_sandbox


def contact(i: int, **extra: object) -> dict[str, object]:
    return {"id": f"p{i}", "first_name": "Ada", "last_name": f"L{i}", **extra}


def request(*rows: dict[str, object]) -> ImportRequest:
    return ImportRequest(data_format="contact", data=list(rows))


def test_statuses_go_pending_working_complete() -> None:
    with (
        running_sandbox(processing_delay=0.3, faults={"hold_jobs": True}) as sb,
        make_client(sb.base_url, sb.token) as client,
    ):
        first = client.submit_import(request(contact(1)))
        second = client.submit_import(request(contact(2), contact(3)))
        assert (first.status, second.status) == ("pending", "pending")
        stats = client.import_stats()
        assert (stats.sync_enabled, stats.pending_jobs, stats.pending_updates) == (False, 2, 3)
        assert stats.message == "There are prior jobs queued up.  Sync could not be started"
        sb.set_faults(hold_jobs=False)
        seen = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            statuses = (client.get_import(first.id).status, client.get_import(second.id).status)
            seen.add(statuses)
            if statuses == ("complete", "complete"):
                break
            time.sleep(0.02)
        # one job at a time, in submission order
        assert ("working", "pending") in seen
        assert ("working", "working") not in seen
        assert ("pending", "working") not in seen
        assert ("complete", "complete") in seen
        assert client.import_stats().sync_enabled is True


def test_unknown_job_is_404(client: KindfulClient) -> None:
    with pytest.raises(KindfulNotFound) as caught:
        client.get_import("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404


def test_notifications_are_paged_and_the_client_follows_pages(client: KindfulClient) -> None:
    rows = [{"id": f"x{i}", "first_name": "A"} for i in range(100)]  # no last_name: all dropped
    for _ in range(2):
        job = client.submit_import(ImportRequest(data_format="contact", data=rows))
        result = finish(client, job.id)
    assert result.notification_count == 100
    assert len(result.notifications) == 100
    assert [n.row for n in result.notifications] == list(range(1, 101))


def test_state_survives_a_restart_with_a_db_file(tmp_path: Path) -> None:
    db = str(tmp_path / "kindful.sqlite")
    with running_sandbox(token="persist", db=db) as sb, make_client(sb.base_url, "persist") as c:
        result = finish(c, c.submit_import(request(contact(1, email="ada@example.org"))).id)
        assert result.stats["Contact"] == 1
    with running_sandbox(token="persist", db=db) as sb, make_client(sb.base_url, "persist") as c:
        assert [r["external_id"] for r in sb.records()["contacts"]] == ["p1"]
        again = finish(c, c.submit_import(request(contact(1))).id)
        assert again.stats["Contact"] == 0  # external id still matches
        assert c.get_import(result.id).status == "complete"  # old jobs are kept
        assert c.email_exists("ADA@example.org") is True


def test_a_queued_job_runs_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "queued.sqlite")
    with (
        running_sandbox(token="q", db=db, faults={"hold_jobs": True}) as sb,
        make_client(sb.base_url, "q") as c,
    ):
        job = c.submit_import(request(contact(7)))
    with running_sandbox(token="q", db=db) as sb, make_client(sb.base_url, "q") as c:
        assert finish(c, job.id).stats["Contact"] == 1


def test_apps_do_not_see_each_other(shared_server: SandboxHandle) -> None:
    one, two = shared_server.new_org(), shared_server.new_org()
    with make_client(one.base_url, one.token) as c1, make_client(two.base_url, two.token) as c2:
        job = c1.submit_import(request(contact(1)))
        finish(c1, job.id)
        assert finish(c2, c2.submit_import(request(contact(1))).id).stats["Contact"] == 1
        with pytest.raises(KindfulNotFound):
            c2.get_import(job.id)  # another app's job is not visible
