"""No record is ever lost or duplicated: read = accepted + rejected, whatever the input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.transform.job import validate_export
from pipelines.transform.options import RunOptions
from pipelines.transform.prepare import prepare_chunk

VALUES = {
    "id": st.one_of(st.none(), st.text(max_size=5)),
    "first_name": st.one_of(st.none(), st.just("Ada"), st.text(max_size=3), st.just("x" * 300)),
    "last_name": st.one_of(st.none(), st.just("Example"), st.text(max_size=3)),
    "company_name": st.one_of(st.none(), st.just("Acme")),
    "email": st.one_of(st.none(), st.just("a@example.org"), st.just("nope"), st.text(max_size=4)),
    "amount_in_cents": st.one_of(
        st.none(), st.sampled_from(["500", "0", "50.5", "-1", "1e3", "5000.0"]), st.text(max_size=4)
    ),
    "transaction_time": st.one_of(
        st.none(),
        st.sampled_from(["1444762572", "2015-10-13 18:56:12 UTC", "13/45/2015", "soon"]),
        st.text(max_size=6),
    ),
    "fund": st.one_of(st.none(), st.just("Restricted")),
    "was_refunded": st.one_of(st.none(), st.sampled_from(["Y", "no", "maybe", "1"])),
    "country": st.one_of(st.none(), st.sampled_from(["USA", "uk", "Narnia"])),
}
ROWS = st.lists(st.fixed_dictionaries(VALUES), min_size=0, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, action=st.sampled_from(["create", "update"]))
def test_every_record_is_accepted_or_rejected_exactly_once(
    rows: list[dict[str, str | None]], action: str
) -> None:
    frame = pd.DataFrame(rows, columns=list(VALUES), dtype="object")
    result = prepare_chunk(
        frame, None, RunOptions(data_format="contact_with_transaction", action=action)
    )
    accepted = set(result.accepted.index)
    rejected = set(result.rejected_rows)
    assert accepted.isdisjoint(rejected)
    assert accepted | rejected == set(range(len(rows)))
    assert len(result.accepted) == len(accepted)
    assert set(result.rejects["source_row"]) == {r + 1 for r in rejected}


def test_chunked_runs_write_exactly_what_a_whole_file_run_writes(tmp_path: Path) -> None:
    rows = []
    for i in range(250):
        rows.append(
            {
                "id": str(i),
                "first_name": "Ada" if i % 7 else "",
                "last_name": "Example",
                "email": "nope" if i % 11 == 0 else f"a{i}@example.org",
                "amount_in_cents": "50.5" if i % 13 == 0 else str(100 + i),
                "transaction_time": "1444762572",
                "fund": "" if i % 5 == 0 else "Restricted",
            }
        )
    source = tmp_path / "gifts.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    outputs = {}
    for chunk_rows in (1_000_000, 17):
        out = tmp_path / f"out{chunk_rows}"
        summary = validate_export(
            str(source), data_format="contact_with_transaction", out_dir=out, chunk_rows=chunk_rows
        )
        assert summary["rows_read"] == 250
        assert summary["rows_accepted"] + summary["rows_rejected"] == 250
        outputs[chunk_rows] = {
            name: (out / name).read_bytes()
            for name in ("normalized.csv", "rejects.csv", "warnings.csv")
        }
    assert outputs[17] == outputs[1_000_000]
