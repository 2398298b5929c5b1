"""Job lifecycle, /imports/stats, notifications paging, SQLite persistence across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from conftest import FileServer, finish, make_client

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
        seen: set[tuple[str, ...]] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # one query, so both statuses are from the same moment
            active = sb.sandbox.store.active_jobs(sb.app)
            seen.add(tuple(job.status for job in active))
            if not active:
                break
            time.sleep(0.01)
        # one job at a time, in submission order
        assert ("working", "pending") in seen
        assert ("working",) in seen
        assert ("working", "working") not in seen
        assert ("pending", "working") not in seen
        assert client.get_import(first.id).status == "complete"
        assert client.get_import(second.id).status == "complete"
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


def test_slow_fetch_and_latency_knobs(files: FileServer) -> None:
    url = files.put("slow.csv", b"id,first_name,last_name\n1,A,B\n")
    with (
        running_sandbox(faults={"fetch_delay": 0.3, "latency": 0.05}) as sb,
        make_client(sb.base_url, sb.token) as client,
    ):
        started = time.monotonic()
        job = client.submit_import(
            ImportRequest(data_format="contact", data_url=url, data_type="csv")
        )
        assert time.monotonic() - started >= 0.05
        time.sleep(0.1)
        assert client.get_import(job.id).status == "working"
        assert finish(client, job.id).stats["Contact"] == 1
        assert time.monotonic() - started >= 0.3


def test_admin_endpoints(sandbox: SandboxHandle) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    root = sandbox.root_url + "/__sandbox"
    assert httpx.get(root + "/records").status_code == 401
    seeded = httpx.post(
        root + "/contacts", json={"first_name": "W", "last_name": "I"}, headers=headers
    )
    pk = seeded.json()["id"]
    edited = httpx.post(f"{root}/records/{pk}/edit", json={"city": "X"}, headers=headers).json()
    assert (edited["city"], edited["sync_version"]) == ("X", 2)
    dump = httpx.get(root + "/records", headers=headers).json()
    assert [c["id"] for c in dump["contacts"]] == [pk]
    assert {f["name"] for f in dump["funds"]} == {"General"}
    bad = httpx.post(root + "/faults", json={"rate_429": 3}, headers=headers)
    assert bad.status_code == 422
    ok = httpx.post(root + "/faults", json={"fail_next": [503]}, headers=headers)
    assert ok.json()["fail_next"] == [503]
    assert httpx.get(sandbox.base_url + "/details", headers=headers).status_code == 503
    assert "GET /details" in httpx.get(root + "/requests", headers=headers).json()
