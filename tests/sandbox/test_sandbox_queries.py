"""contacts/query and transactions/query paging, and the small read endpoints."""

from __future__ import annotations

import httpx
import pytest
from conftest import Run

from pipelines.kindful.client import KindfulClient
from pipelines.kindful.errors import KindfulQueryError
from sandbox.serve import SandboxHandle


@pytest.fixture
def loaded(run: Run, sandbox: SandboxHandle) -> SandboxHandle:
    """12 linked contacts with one gift each (2015 and 2016), one contact entered in Kindful."""
    rows = [
        {
            "id": f"c{i}",
            "first_name": "A",
            "last_name": f"L{i}",
            "email": f"a{i}@example.org",
            "transaction_id": f"t{i}",
            "amount_in_cents": 100,
            "fund": "General",
            "campaign": "Gala" if i % 2 else "General",
            "transaction_time": "2015-06-01T00:00:00Z" if i < 6 else "2016-06-01T00:00:00Z",
        }
        for i in range(12)
    ]
    run(data_format="contact_with_transaction", data=rows)
    sandbox.sandbox.seed_contact(sandbox.app, {"first_name": "Walk", "last_name": "In"})
    return sandbox


def ids(items: list[dict[str, object]]) -> list[object]:
    return sorted(str(item["external_id"]) for item in items)


def test_linked_and_not_linked(client: KindfulClient, loaded: SandboxHandle) -> None:
    assert len(list(client.query_contacts(["linked"], per_page=5))) == 12
    assert [c["first_name"] for c in client.query_contacts(["not_linked"])] == ["Walk"]
    assert len(list(client.query_contacts([]))) == 13


def test_paging_follows_query_token(client: KindfulClient, loaded: SandboxHandle) -> None:
    pages = list(client.query_pages("contact", {"query": ["linked"], "per_page": 5}))
    assert [len(p.results) for p in pages] == [5, 5, 2]
    assert [p.has_more for p in pages] == [True, True, False]
    assert len({p.query_token for p in pages}) == 1


def test_changed_after_an_edit_in_kindful(client: KindfulClient, loaded: SandboxHandle) -> None:
    assert list(client.query_contacts(["changed"])) == []
    pk = loaded.records()["contacts"][0]["id"]
    loaded.sandbox.edit_in_kindful(loaded.app, pk, {"city": "Nashville"})
    changed = list(client.query_contacts(["changed"]))
    assert [c["id"] for c in changed] == [pk]
    assert len(list(client.query_contacts([{"not": ["changed"]}]))) == 12


def test_transactions_after_before_or_and(client: KindfulClient, loaded: SandboxHandle) -> None:
    after = list(client.query_transactions([{"after": "2016/01/01"}]))
    assert ids(after) == sorted(f"t{i}" for i in range(6, 12))
    both = list(client.query_transactions([{"after": "2015-01-01", "before": "2016-01-01"}]))
    assert len(both) == 6
    either = list(client.query_transactions([{"or": ["not_linked", {"after": "2016/01/01"}]}]))
    assert len(either) == 6
    anded = list(client.query_transactions([{"and": ["linked", {"before": "2015/01/01"}]}]))
    assert anded == []


def test_transaction_columns_and_embedded_records(
    client: KindfulClient, loaded: SandboxHandle
) -> None:
    columns = {
        "transaction": ["id", "external_id", "amount_in_cents", "campaign"],
        "contact": ["id", "first_name"],
        "campaign": ["name"],
    }
    first = next(iter(client.query_transactions(["linked"], columns=columns)))
    assert set(first) == {
        "id",
        "external_id",
        "amount_in_cents",
        "campaign",
        "contact",
        "record_type",
    }
    assert set(first["contact"]) == {"id", "first_name", "record_type"}
    assert first["campaign"]["name"] in ("General", "Gala")


def test_campaign_id_query(client: KindfulClient, loaded: SandboxHandle) -> None:
    gala = next(c for c in client.campaigns() if c.name == "Gala")
    assert gala.model_extra is not None and gala.model_extra["raised"] == "600"
    assert len(list(client.query_transactions([{"campaign_id": str(gala.id)}]))) == 6


def test_unknown_query_is_an_error(client: KindfulClient, loaded: SandboxHandle) -> None:
    with pytest.raises(KindfulQueryError, match="query 'example' does not exist"):
        list(client.query_contacts(["example"]))


def test_results_not_ready_are_waited_for(client: KindfulClient, loaded: SandboxHandle) -> None:
    """001: empty results with has_more and estimated_results_delay: wait and ask again."""
    loaded.set_faults(query_not_ready=2, query_results_delay=0)
    assert len(list(client.query_contacts(["linked"]))) == 12
    assert loaded.sandbox.faults.settings.query_not_ready == 0


def test_read_endpoints(client: KindfulClient, loaded: SandboxHandle) -> None:
    assert client.email_exists("a3@example.org") is True
    assert client.email_exists("A3@example.org") is False  # exact, like matching (assumption)
    assert client.email_exists("nobody@example.org") is False
    assert client.details().name == "Sandbox Organization"
    assert {f.name for f in client.funds()} == {"General"}
    assert {c.name for c in client.campaigns()} == {"General", "Gala"}
    assert client.groups() == []
    assert client.custom_fields() == []


def test_custom_fields_listing_and_unknown_group(
    run: Run, client: KindfulClient, api: httpx.Client
) -> None:
    run(
        data_format="contact",
        custom_fields=["Hours Worked"],
        data=[{"id": "1", "first_name": "J", "last_name": "S", "Hours Worked": "32"}],
    )
    assert [f.name for f in client.custom_fields()] == ["Hours Worked"]
    contact = next(iter(client.query_contacts(["linked"])))
    assert contact["custom_fields"]["Hours Worked"]["value"] == "32"
    missing = api.get("/custom_fields", params={"custom_field_group_id": "77"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "No Custom Field Group matches that id."
