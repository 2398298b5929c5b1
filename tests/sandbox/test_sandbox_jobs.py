"""Job lifecycle, /imports/stats, notifications paging, SQLite persistence across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from conftest import FileServer, finish, make_client

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulNotFound
from pipelines.kindful.models import ImportRequest
from sandbox.serve import SandboxHandle, running_sandbox


def contact(i: int, **extra: object) -> dict[str, object]:
    return {"id": f"p{i}", "first_name": "Ada", "last_name": f"L{i}", **extra}


def request(*rows: dict[str, object]) -> ImportRequest:
    return ImportRequest(data_format="contact", data=list(rows))


def test_statuses_go_ready_working_complete() -> None:
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
        # one job at a time, in submission order; a queued job is "ready" (001)
        assert ("working", "ready") in seen
        assert ("working",) in seen
        assert ("working", "working") not in seen
        assert ("ready", "working") not in seen
        assert client.get_import(first.id).status == "complete"
        assert client.get_import(second.id).status == "complete"
        assert client.import_stats().sync_enabled is True


def test_unknown_job_is_404(client: KindfulClient) -> None:
    with pytest.raises(KindfulNotFound) as caught:
        client.get_import("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404


def test_all_notifications_come_in_one_answer_by_default(client: KindfulClient) -> None:
    """001 shows `page: 0, count: N` and no way to page: the sandbox sends all N at once."""
    rows = [{"id": f"x{i}", "first_name": "A"} for i in range(100)]  # no last_name: all dropped
    job = client.submit_import(ImportRequest(data_format="contact", data=rows))
    result = finish(client, job.id)
    assert result.notification_count == 100 == len(result.notifications)
    assert [n.external_id for n in result.notifications] == [f"x{i}" for i in range(100)]
    assert [n.id for n in result.notifications] == list(range(1, 101))


@pytest.mark.parametrize("follow", [True, False])
def test_the_client_reads_paged_notifications_without_relying_on_pages(follow: bool) -> None:
    """Paged 30 at a time: where `?page=` works every note is read once; where it is
    ignored (each answer is page 0 again) the client stops at the first repeat and says how
    many it could not read."""
    with (
        running_sandbox(notifications_per_page=30, notifications_follow_page=follow) as sb,
        make_client(sb.base_url, sb.token) as client,
    ):
        rows = [{"id": f"x{i}", "first_name": "A"} for i in range(100)]
        job = client.submit_import(request(*rows))
        finish(client, job.id)
        before = sb.sandbox_requests()[f"GET /imports/{job.id}"]
        result = client.get_import(job.id)
        asked = sb.sandbox_requests()[f"GET /imports/{job.id}"] - before
    ids = [n.id for n in result.notifications]
    assert len(ids) == len(set(ids))  # never twice
    assert result.notification_count == 100
    if follow:
        assert ids == list(range(1, 101)) and result.notifications_unread == 0
        assert asked == 1 + 3  # the answer, then pages 1, 2, 3
    else:
        assert ids == list(range(1, 31)) and result.notifications_unread == 70
        assert asked == 1 + 1  # the answer, then one page that repeated it: stop


def test_a_ready_job_looks_like_the_reference(api: httpx.Client, sandbox: SandboxHandle) -> None:
    """001: `{"id", "status": "ready", "stats": {}, "update_stats": {}}`, no notifications."""
    sandbox.set_faults(hold_jobs=True)
    posted = api.post("/imports", json={"data_format": "contact", "data": [contact(1)]})
    assert posted.json() == {"id": posted.json()["id"], "status": "pending"}
    answer = api.get(f"/imports/{posted.json()['id']}").json()
    assert answer == {"id": posted.json()["id"], "status": "ready", "stats": {}, "update_stats": {}}


@pytest.mark.parametrize("status", ["load_failed", "failed", "setup_failed", "error"])
def test_failed_jobs_end_in_the_reference_statuses(
    client: KindfulClient, sandbox: SandboxHandle, status: str
) -> None:
    sandbox.set_faults(fail_jobs=[status])
    result = finish(client, client.submit_import(request(contact(1))).id)
    assert (result.status, result.finished, result.succeeded) == (status, True, False)
    assert result.message and result.stats == {} and result.notifications == []
    assert sandbox.records()["contacts"] == []


def test_state_survives_a_restart_with_a_db_file(tmp_path: Path) -> None:
    db = str(tmp_path / "kindful.sqlite")
    with running_sandbox(token="persist", db=db) as sb, make_client(sb.base_url, "persist") as c:
        result = finish(c, c.submit_import(request(contact(1, email="ada@example.org"))).id)
        assert result.stats.get("Contact", 0) == 1
    with running_sandbox(token="persist", db=db) as sb, make_client(sb.base_url, "persist") as c:
        assert [r["external_id"] for r in sb.records()["contacts"]] == ["p1"]
        again = finish(c, c.submit_import(request(contact(1))).id)
        assert again.stats.get("Contact", 0) == 0  # external id still matches
        assert c.get_import(result.id).status == "complete"  # old jobs are kept
        assert c.email_exists("ada@example.org") is True


def test_a_queued_job_runs_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "queued.sqlite")
    with (
        running_sandbox(token="q", db=db, faults={"hold_jobs": True}) as sb,
        make_client(sb.base_url, "q") as c,
    ):
        job = c.submit_import(request(contact(7)))
    with running_sandbox(token="q", db=db) as sb, make_client(sb.base_url, "q") as c:
        assert finish(c, job.id).stats.get("Contact", 0) == 1


def test_apps_do_not_see_each_other(shared_server: SandboxHandle) -> None:
    one, two = shared_server.new_org(), shared_server.new_org()
    with make_client(one.base_url, one.token) as c1, make_client(two.base_url, two.token) as c2:
        job = c1.submit_import(request(contact(1)))
        finish(c1, job.id)
        assert finish(c2, c2.submit_import(request(contact(1))).id).stats.get("Contact", 0) == 1
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
        assert finish(client, job.id).stats.get("Contact", 0) == 1
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
