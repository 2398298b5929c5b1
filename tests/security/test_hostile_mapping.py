"""Hostile mapping files: alias bombs fail fast and small, only plain scalars where scalars
belong, and no error echoes a whole value."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from support.measure import CPU_SECONDS, PEAK_MB, run_measured

from pipelines.errors import InputError
from pipelines.mapping.spec import load_mapping, parse_mapping_text
from pipelines.read.limits import Limits

pytestmark = pytest.mark.slow

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def alias_bomb(last: str) -> str:
    """The billion laughs: nine levels of nine aliases, ~10^9 strings once expanded."""
    return 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + LAUGHS + last


BOMBS = {
    "list-valued data_format": alias_bomb("data_format: *i\n"),
    "!!pairs constant": alias_bomb("constants: {campaign: !!pairs [{x: *i}]}\n"),
    "columns target list": alias_bomb("columns: {email: *i}\n"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_an_alias_bomb_fails_fast_small_and_in_one_short_line(name: str, tmp_path: Path) -> None:
    text = BOMBS[name]
    assert len(text.encode()) < 600  # as small as bombs seen in the wild (469 and 519 bytes)
    mapping = tmp_path / "bomb.mapping.yaml"
    mapping.write_text(text)
    export = tmp_path / "tiny.csv"
    export.write_text("email\nada@example.org\n")
    out = tmp_path / "out"
    cost = run_measured(
        [
            "validate",
            str(export),
            "--format",
            "contact",
            "--mapping",
            str(mapping),
            "--out",
            str(out),
        ],
        out,
    )
    assert cost.returncode == 2, cost.stderr
    (line,) = cost.stderr.strip().splitlines()
    assert "expands to more than 100000 YAML nodes" in line
    assert "KINDFUL_ETL_MAX_MAPPING_NODES" in line and len(line) < 400
    assert "lol" not in line
    assert cost.cpu < CPU_SECONDS and cost.peak_mb < PEAK_MB, cost


def test_the_bomb_is_refused_before_anything_is_built() -> None:
    with pytest.raises(InputError, match="expands to more than 1000 YAML nodes"):
        parse_mapping_text(BOMBS["list-valued data_format"], "m", limits=Limits(mapping_nodes=1000))


def test_a_recursive_alias_is_refused_too() -> None:
    with pytest.raises(InputError, match="expands to more than"):
        parse_mapping_text("data_format: &x [*x]\n", "m")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data_format: [contact]\n", "data_format must be a text value"),
        ("data_format: {contact: 1}\n", "data_format must be a text value"),
        ("source_system: !!binary aGVsbG8=\n", "source_system must be a text value"),
        ("source_timezone: [UTC]\n", "source_timezone must be a text value"),
        ("source_timezone: 2024-01-01\n", "source_timezone must be a text value"),
        ("constants: {campaign: !!set {a, b}}\n", "constants.campaign must be a text value"),
        ("columns: {email: !!pairs [{a: b}]}\n", "columns.email must be a text value"),
        ("columns: {email: !!omap [{a: b}]}\n", "columns.email must be a text value"),
        ("custom_fields: [[a]]\n", "custom_fields must be a text value"),
        ("match_by: {contact: [email]}\n", "match_by.contact must be a text value"),
        ("flags: {was_refunded: {column: [x], positive: true}}\n", "must be a text value"),
    ],
)
def test_only_plain_scalars_where_scalars_belong(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_mapping_text(text, "m")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_list_valued_data_format_is_a_one_line_cli_error(tmp_path: Path) -> None:
    """It was a TypeError traceback (and, in a sync, stopped every other file)."""
    mapping = tmp_path / "m.mapping.yaml"
    mapping.write_text("data_format: [contact]\n")
    export = tmp_path / "tiny.csv"
    export.write_text("email\nada@example.org\n")
    out = tmp_path / "out"
    cost = run_measured(
        ["validate", str(export), "--mapping", str(mapping), "--out", str(out)], out
    )
    assert cost.returncode == 2
    assert cost.stderr.strip() == "kindful-etl: error: mapping: data_format must be a text value"


HUGE = "s3cr3t" * 5000


@pytest.mark.parametrize(
    "text",
    [
        f"data_format: {HUGE}\n",
        f"source_timezone: {HUGE}\n",
        f"action: {HUGE}\n",
        f"columns: {{{HUGE}: {{to: first_name, unit: {HUGE}}}}}\n",
        f"columns: {{{HUGE}: {{}}}}\n",
        f"split_name: {{{HUGE}: {{first: [x], last: y}}}}\n",
        f"combine_time: {{transaction_time: {{date: D, zones: {{{HUGE}: nowhere}}}}}}\n",
        f"{HUGE}: 1\n",
        "".join(f"unknown_{i}: 1\n" for i in range(1000)),
    ],
)
def test_an_error_never_echoes_a_whole_value(text: str) -> None:
    from pipelines.mapping.spec import resolve_format

    with pytest.raises(InputError) as caught:
        resolve_format(None, parse_mapping_text(text, "m"))
    message = str(caught.value)
    assert len(message) < 700, message
    assert HUGE not in message and "\n" not in message


def test_targets_not_in_the_format_are_listed_short() -> None:
    from pipelines.mapping.spec import check_mapping
    from schemas.columns import FORMATS

    text = "columns:\n" + "".join(f"  c{i}: {'t' * 500}{i}\n" for i in range(50))
    with pytest.raises(InputError) as caught:
        check_mapping(parse_mapping_text(text, "m"), FORMATS["contact"])
    assert len(str(caught.value)) < 1000


def test_a_mapping_file_past_its_size_limit_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "big.mapping.yaml"
    path.write_text("data_format: contact\n# " + "x" * 300_000 + "\n")
    with pytest.raises(InputError, match=r"larger than 256 KiB \(limit KINDFUL_ETL_MAX_MAPPING"):
        load_mapping(path)
    assert load_mapping(path, Limits(mapping_bytes=1 << 20)).data_format == "contact"


def test_a_mapping_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "pipe.mapping.yaml"
    os.mkfifo(path)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            load_mapping(path)
        except InputError as error:
            errors.append(error)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert "not a regular file" in str(errors[0])
