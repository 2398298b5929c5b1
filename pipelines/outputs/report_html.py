"""report.html: one self-contained page of an import run that can be forwarded.

The page shows where the rows went (a flow picture whose bands are proportional to the counts),
the reject and warning reasons with the source rows they hit, Kindful's notifications by code,
the batches and the settings used. It shows counts, row numbers, column names and rule texts
only, never a value from the source file, so it can go to people who may not see donor data:

- rejects.csv and warnings.csv contribute their `source_row`, `column` and `reason` cells. A
  reason is a rule text today (normalizer problems, schema checks, row rules, a mapping's skip
  reasons, "blank fund defaulted to General"); should one ever repeat a value of its own row, that
  part is masked (`mask_row_values`), so a future reason that quotes data cannot leak it.
- findings.csv contributes `source_row`, `code` and `dropped`; its `description` quotes Kindful's
  record (external ids, amounts) and is never shown. A batch's `message` is not shown either.
- Kindful's target and the staging location, when the run files record them, go through
  `safe_url` (no query string, fragment or user:password@).

No network: inline CSS and SVG, no script, and a Content-Security-Policy that forbids loading
anything. Everything from the files is HTML-escaped. The file is 0600 like the other run files
and appears whole (written beside, then renamed).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from pipelines.outputs.private_files import write_private_text
from pipelines.staging.safe_urls import safe_url

__all__ = ["REPORT_NAME", "ROW_LIST_CAP", "IssueGroup", "mask_row_values", "write_report"]

REPORT_NAME = "report.html"
ROW_LIST_CAP = 50  # row-number ranges listed per reason; the rest are counted
MASK = "[a value of the row]"

# reconciliation.json's figures, in the CLI's order (pipelines.load.reconcile.summary_rows).
FIGURES: tuple[tuple[str, str], ...] = (
    ("rows_read", "rows read"),
    ("rows_accepted", "accepted"),
    ("rows_rejected", "rejected (rejects.csv)"),
    ("rows_created", "created"),
    ("rows_updated", "updated"),
    ("rows_no_effect", "accepted, no effect"),
    ("rows_already_imported", "of which already imported"),
    ("rows_dropped", "dropped by Kindful (findings.csv)"),
    ("rows_not_imported", "not imported (failed jobs)"),
    ("warnings", "warnings (warnings.csv)"),
    ("findings", "Kindful notifications (findings.csv)"),
    ("batches_submitted", "batches submitted"),
    ("batches_skipped", "batches skipped (already imported)"),
)

# The flow picture's bands: (key, label, colour).
_BAND_COLOURS = {
    "rejected": "#c9302c",
    "accepted": "#5b8def",
    "created": "#2e8b57",
    "updated": "#3a7bd5",
    "no_effect": "#8a96a3",
    "already_imported": "#b5bec8",
    "dropped": "#e08a1e",
    "not_imported": "#7b1e3f",
    "unaccounted": "#222222",
}

_CODE = re.compile(r"[A-Za-z0-9_.:/ -]{1,100}")
_TOKEN = re.compile(r"\w+")
_EDGE = " \t\r\n'\"`.,;:!?()[]{}<>"  # stripped from a cell before it is matched in a reason
_TIME_KEYS = re.compile(r".*(_at|_seconds|_time)$")


# --- reading the run files -------------------------------------------------------------------


def _read_json(path: Path, notes: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notes.append(f"{path.name} could not be read")
        return {}
    if not isinstance(data, dict):
        notes.append(f"{path.name} is not a JSON object")
        return {}
    return data


def _read_csv(path: Path, needed: Sequence[str], notes: list[str]) -> pd.DataFrame | None:
    """Every cell as text (no NA guessing), or None when the file is missing or unusable."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError):
        notes.append(f"{path.name} could not be read")
        return None
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        notes.append(f"{path.name} has no {', '.join(missing)} column")
        return None
    return frame


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


# --- reasons, rows, masking -------------------------------------------------------------------


@dataclass
class IssueGroup:
    """One (column, reason) or (code, dropped) line of a table: counts and row numbers."""

    key: tuple[str, ...]
    lines: int
    rows: int
    ranges: list[tuple[int, int]] = field(default_factory=list)  # first ROW_LIST_CAP ranges
    more_rows: int = 0  # rows not covered by `ranges`
    without_row: int = 0  # lines that name no source row


def _spans(text: str) -> set[str]:
    """Every stretch of `text` (lower case) that starts and ends on a word boundary."""
    lowered = text.lower()
    bounds = [(m.start(), m.end()) for m in _TOKEN.finditer(lowered)][:60]
    return {lowered[start:end] for i, (start, _) in enumerate(bounds) for _, end in bounds[i:]}


def _matchable(values: np.ndarray) -> np.ndarray:
    """Cells as they could appear in a reason: trimmed of quotes and punctuation, lower case.

    Too short to be telling (under 3 characters, or a number under 5 digits: limits like 255
    are rule text) becomes "".
    """
    text = pd.Series(values, dtype=object).astype(str).str.strip(_EDGE).str.lower()
    length = text.str.len()
    short = (length < 3) | ((length < 5) & text.str.isdigit())
    return text.where(~short, "").to_numpy(dtype=object)


def mask_row_values(frame: pd.DataFrame, reasons: pd.Series) -> dict[str, str]:
    """The text to show for each distinct reason: as is, unless it repeats a cell of a row it
    is given for, whose every occurrence is then replaced by MASK.

    `frame` holds the cells (every column but source_row, column and reason); a cell matches when
    it appears in the reason between word boundaries, ignoring case. Vectorized: each column's
    distinct cells are tested against all reasons' word-bounded stretches at once; only the
    (reason, cell) pairs that hit are looked at one by one.
    """
    reason_codes, distinct = pd.factorize(reasons.astype(str))
    spans = [_spans(str(reason)) for reason in distinct]
    every = set().union(*spans) if spans else set()
    found: list[set[str]] = [set() for _ in spans]
    for position in range(frame.shape[1] if every else 0):
        codes, uniques = pd.factorize(frame.iloc[:, position], use_na_sentinel=True)
        cells = _matchable(np.asarray(uniques, dtype=object))
        hit = pd.Series(cells).isin(every).to_numpy(dtype=bool) & (cells != "")
        if not hit.any():
            continue
        rows = np.flatnonzero((codes >= 0) & hit[np.maximum(codes, 0)])
        pairs = pd.DataFrame({"reason": reason_codes[rows], "cell": codes[rows]})
        for reason, cell in pairs.drop_duplicates().itertuples(index=False):
            if cells[cell] in spans[reason]:
                found[reason].add(str(cells[cell]))
    shown: dict[str, str] = {}
    for number, reason in enumerate(str(r) for r in distinct):
        text = reason
        for cell in sorted(found[number], key=len, reverse=True):
            pattern = rf"(?<!\w){re.escape(cell)}(?!\w)"
            text = re.sub(pattern, MASK, text, flags=re.IGNORECASE)
        shown[reason] = text
    return shown


def _groups(keys: pd.DataFrame, rows: pd.Series, cap: int = ROW_LIST_CAP) -> list[IssueGroup]:
    """Lines per distinct key (all of `keys`' columns), with their distinct rows as ranges.

    Most lines first. Vectorized: one sort of (key, row), then a range starts wherever the key
    changes or a row is not its predecessor + 1.
    """
    if keys.empty:
        return []
    names = list(keys.columns)
    frame = keys.astype(str).reset_index(drop=True)
    frame["_key"] = frame.groupby(names, sort=False).ngroup()
    frame["_row"] = pd.to_numeric(rows.reset_index(drop=True), errors="coerce")
    lines = frame.groupby("_key").size()
    without = frame["_row"].isna().groupby(frame["_key"]).sum()
    numbered = frame.loc[frame["_row"].notna(), ["_key", "_row"]].astype("int64")
    numbered = numbered.drop_duplicates().sort_values(["_key", "_row"], kind="stable")
    distinct_rows = numbered.groupby("_key").size()
    key = numbered["_key"].to_numpy()
    row = numbered["_row"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (row[1:] != row[:-1] + 1)])
    starts = starts[starts < len(row)]
    ends = np.r_[starts[1:], len(row)][: len(starts)] - 1
    ranges = pd.DataFrame({"_key": key[starts], "first": row[starts], "last": row[ends]})
    listed = ranges[ranges.groupby("_key").cumcount() < cap]
    listed_rows = (listed["last"] - listed["first"] + 1).groupby(listed["_key"]).sum()
    spans: dict[int, list[tuple[int, int]]] = {}
    for k, first, last in listed.itertuples(index=False):
        spans.setdefault(int(k), []).append((int(first), int(last)))
    labels = frame.drop_duplicates("_key").set_index("_key")[names]
    groups: list[IssueGroup] = []
    order = lines.sort_values(ascending=False, kind="stable")
    for k, count in zip(order.index.tolist(), order.tolist(), strict=True):
        total = int(distinct_rows.get(k, 0))
        groups.append(
            IssueGroup(
                key=tuple(str(v) for v in labels.loc[k]),
                lines=int(count),
                rows=total,
                ranges=spans.get(k, []),
                more_rows=total - int(listed_rows.get(k, 0)),
                without_row=int(without.get(k, 0)),
            )
        )
    return groups


def issue_groups(path: Path, notes: list[str]) -> list[IssueGroup] | None:
    """rejects.csv / warnings.csv by (column, reason), reasons masked; None when missing."""
    frame = _read_csv(path, ("source_row", "column", "reason"), notes)
    if frame is None:
        return None
    cells = frame.drop(columns=["source_row", "column", "reason"])
    shown = mask_row_values(cells, frame["reason"])
    keys = pd.DataFrame(
        {"column": frame["column"], "reason": frame["reason"].astype(str).map(shown)}
    )
    return _groups(keys, frame["source_row"])


def finding_groups(path: Path, notes: list[str]) -> list[IssueGroup] | None:
    """findings.csv by (code, dropped): never its description, which quotes Kindful's record."""
    frame = _read_csv(path, ("source_row", "code", "dropped"), notes)
    if frame is None:
        return None
    codes = frame["code"].astype(str)
    known = codes.str.fullmatch(_CODE.pattern).fillna(False).astype(bool)
    keys = pd.DataFrame(
        {
            "code": codes.where(known, "(unrecognised code)"),
            "dropped": frame["dropped"].astype(str).str.strip().str.lower(),
        }
    )
    keys["dropped"] = keys["dropped"].where(keys["dropped"].isin(["yes", "no"]), "?")
    return _groups(keys, frame["source_row"])


# --- the page ----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _ranges_text(group: IssueGroup) -> str:
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in group.ranges]
    text = ", ".join(parts)
    if group.more_rows:
        text += f" and {group.more_rows:,} more"
    if group.without_row:
        text += ("; " if text else "") + f"{group.without_row:,} with no row (whole request)"
    return _e(text or "—")


def _band_list(recon: Mapping[str, Any], summary: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(key, label, rows) for the flow picture: the rows read, each band one fate."""
    if recon:
        no_effect = _count(recon.get("rows_no_effect")) or 0
        already = _count(recon.get("rows_already_imported")) or 0
        bands = [
            ("rejected", "rejected", _count(recon.get("rows_rejected")) or 0),
            ("created", "created", _count(recon.get("rows_created")) or 0),
            ("updated", "updated", _count(recon.get("rows_updated")) or 0),
            ("no_effect", "no effect", max(no_effect - already, 0)),
            ("already_imported", "already imported", already),
            ("dropped", "dropped", _count(recon.get("rows_dropped")) or 0),
            ("not_imported", "not imported", _count(recon.get("rows_not_imported")) or 0),
        ]
        read = _count(recon.get("rows_read")) or 0
    else:
        bands = [
            ("rejected", "rejected", _count(summary.get("rows_rejected")) or 0),
            ("accepted", "accepted (not loaded)", _count(summary.get("rows_accepted")) or 0),
        ]
        read = _count(summary.get("rows_read")) or 0
    gap = read - sum(rows for _, _, rows in bands)
    if gap > 0:
        bands.append(("unaccounted", "unaccounted", gap))
    return bands


def _flow_svg(read: int, bands: list[tuple[str, str, int]]) -> str:
    """A Sankey-like picture: one node for the rows read, a band to each fate, band heights
    proportional to rows (a band of at least one row is drawn at least 1.5 px high)."""
    flow_height, gap, top = 360.0, 26.0, 24.0
    left_x, node_w, right_x, width = 150.0, 16.0, 600.0, 960
    total = max(read, sum(rows for _, _, rows in bands), 1)
    heights = [0.0 if rows == 0 else max(rows / total * flow_height, 1.5) for _, _, rows in bands]
    right_height = sum(heights) + gap * (len(bands) - 1)
    height = int(top * 2 + max(right_height, flow_height))
    left_top = top + (right_height - sum(heights)) / 2
    parts = [
        f'<svg id="flow" role="img" aria-labelledby="flow-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<title id="flow-title">Where the rows went</title>',
        f'<rect x="{left_x:.1f}" y="{left_top:.1f}" width="{node_w:.1f}" '
        f'height="{max(sum(heights), 1.5):.1f}" fill="#34495e"/>',
        f'<text x="{left_x - 10:.1f}" y="{left_top + sum(heights) / 2:.1f}" '
        f'text-anchor="end" dominant-baseline="middle" class="node-label">'
        f'read <tspan class="n" id="flow-read" data-count="{read}">{read:,}</tspan></text>',
    ]
    y_left, y_right = left_top, top
    mid = (left_x + node_w + right_x) / 2
    for (key, label, rows), h in zip(bands, heights, strict=True):
        colour = _BAND_COLOURS[key]
        x0, x1 = left_x + node_w, right_x
        path = (
            f"M{x0:.1f},{y_left:.2f} C{mid:.1f},{y_left:.2f} {mid:.1f},{y_right:.2f} "
            f"{x1:.1f},{y_right:.2f} L{x1:.1f},{y_right + h:.2f} C{mid:.1f},{y_right + h:.2f} "
            f"{mid:.1f},{y_left + h:.2f} {x0:.1f},{y_left + h:.2f} Z"
        )
        parts.append(
            f'<g class="band" id="band-{key}" data-band="{key}" data-count="{rows}">'
            f"<title>{_e(label)}: {rows:,} rows</title>"
        )
        if h > 0:
            parts.append(f'<path d="{path}" fill="{colour}" fill-opacity="0.45"/>')
        parts.append(
            f'<rect x="{right_x:.1f}" y="{y_right:.2f}" width="{node_w:.1f}" '
            f'height="{max(h, 1.0):.2f}" fill="{colour}"/>'
            f'<text x="{right_x + node_w + 10:.1f}" y="{y_right + h / 2:.2f}" '
            f'dominant-baseline="middle" class="node-label">{_e(label)} '
            f'<tspan class="n">{rows:,}</tspan>'
            f'<tspan class="pct"> ({rows / total:.1%})</tspan></text></g>'
        )
        y_left += h
        y_right += h + gap
    parts.append("</svg>")
    return "\n".join(parts)


def _figures_table(recon: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    source = recon or summary
    rows = []
    for key, label in FIGURES:
        value = _count(source.get(key))
        if value is None and key not in source:
            continue
        attr = f' data-count="{value}"' if value is not None else ""
        rows.append(
            f'<tr><th scope="row">{_e(label)}</th>'
            f'<td class="num" id="fig-{key}" data-key="{key}"{attr}>{_num(value)}</td></tr>'
        )
    if not rows:
        return "<p>No figures: neither reconciliation.json nor summary.json was found.</p>"
    return '<table id="figures">' + "".join(rows) + "</table>"


def _issue_table(
    table_id: str, groups: list[IssueGroup] | None, heads: Sequence[str], what: str
) -> str:
    if groups is None:
        return f"<p>No {_e(what)} file in the run folder.</p>"
    if not groups:
        return f'<p id="{table_id}-none">None.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    body = []
    for group in groups:
        cells = "".join(f"<td>{_e(part)}</td>" for part in group.key)
        body.append(
            f'<tr class="group" data-lines="{group.lines}" data-rows="{group.rows}">{cells}'
            f'<td class="num">{group.lines:,}</td><td class="num">{group.rows:,}</td>'
            f'<td class="rows">{_ranges_text(group)}</td></tr>'
        )
    return (
        f'<table id="{table_id}"><thead><tr>{head}<th>lines</th><th>rows</th>'
        f"<th>source rows</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _summary_reasons(summary: Mapping[str, Any], key: str) -> str:
    """summary.json's reason counts, when the CSV with the row numbers is missing."""
    reasons = summary.get(key)
    if not isinstance(reasons, dict) or not reasons:
        return ""
    rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{_num(_count(n))}</td></tr>'
        for name, n in reasons.items()
    )
    return (
        "<p>Counts from summary.json (row numbers need the CSV; a reason is shown as the "
        "run recorded it).</p><table><thead><tr><th>column: reason</th><th>lines</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _batches_table(recon: Mapping[str, Any]) -> str:
    batches = [b for b in recon.get("batches") or [] if isinstance(b, dict)]
    if not batches:
        return "<p>No batches recorded.</p>"
    time_keys = sorted({k for b in batches for k in b if _TIME_KEYS.fullmatch(str(k))})
    counts = ("rows", "created", "updated", "no_effect", "dropped")
    heads = ["#", "batch", *counts[:1], "status", "job id", *counts[1:], "already imported by"]
    heads += [*time_keys, "resubmitted"]
    head = "".join(f"<th>{_e(h.replace('_', ' '))}</th>" for h in heads)
    body = []
    for batch in batches:
        number = _count(batch.get("number"))
        cells = [
            f'<td class="num">{_num(number)}</td>',
            f'<td class="mono">{_e(batch.get("name") or "")}</td>',
            f'<td class="num" data-key="rows">{_num(_count(batch.get("rows")))}</td>',
            f'<td class="status {_e(batch.get("status") or "")}">'
            f"{_e(batch.get('status') or '—')}</td>",
            f'<td class="mono">{_e(batch.get("job_id") or "—")}</td>',
        ]
        cells += [
            f'<td class="num" data-key="{k}">{_num(_count(batch.get(k)))}</td>' for k in counts[1:]
        ]
        cells.append(f'<td class="mono">{_e(batch.get("already_imported_by") or "")}</td>')
        cells += [
            f"<td>{_e(batch.get(k) if batch.get(k) is not None else '')}</td>" for k in time_keys
        ]
        cells.append(f"<td>{'yes' if batch.get('resubmitted') else 'no'}</td>")
        body.append(f'<tr class="batch" data-number="{_e(number)}">{"".join(cells)}</tr>')
    return (
        f'<div class="scroll"><table id="batches"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _setting_text(value: Any) -> str:
    if value is None or value in ("", [], {}):
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_setting_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_setting_text(v) for v in value)
    return str(value)


def _first(sources: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> Any:
    for source in sources:
        for key in keys:
            if source.get(key) not in (None, ""):
                return source[key]
    return None


def _location(value: Any) -> str | None:
    """A URL or path without query, fragment or credentials; a nested {"uri"/"url"} too."""
    if isinstance(value, dict):
        value = _first([value], ("uri", "url", "base_url", "location", "bucket"))
    if value is None:
        return None
    return safe_url(str(value))


def _source_name(value: Any) -> str | None:
    if not value:
        return None
    return safe_url(str(value)).rstrip("/").rpartition("/")[2] or None


def _settings_table(recon: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    both = (recon, summary)
    rows: list[tuple[str, str, Any]] = [
        ("data_format", "data format", _first(both, ("data_format",))),
        ("action", "action", _first(both, ("action",))),
        ("main_record", "main record", _first(both, ("main_record",))),
        ("match_by", "match by", _first(both, ("match_by",))),
        ("source_timezone", "source timezone", _first(both, ("source_timezone",))),
        ("batch_rows", "batch rows", _first(both, ("batch_rows",))),
        (
            "kindful_target",
            "Kindful target",
            _location(_first(both, ("kindful_target", "target", "kindful_base_url", "kindful"))),
        ),
        (
            "staging",
            "staging location",
            _location(_first(both, ("staging_location", "staging_uri", "staging_url", "staging"))),
        ),
        ("mapping", "mapping", _first(both, ("mapping",))),
        ("custom_fields", "custom fields", _first(both, ("custom_fields",))),
        ("ignored_columns", "ignored source columns", _first(both, ("ignored_columns",))),
    ]
    body = "".join(
        f'<tr><th scope="row">{_e(label)}</th><td id="setting-{key}">'
        f"{_e(_setting_text(value)) if value is not None else 'not recorded'}</td></tr>"
        for key, label, value in rows
    )
    return f'<table id="settings">{body}</table>'


_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kindful import $run_id</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
  margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid #d9dee3; padding-bottom: 4px; }
.meta { color: #52606d; } .mono, .rows { font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-weight: 600; background: #7b8794; }
.badge.complete { background: #2e8b57; } .badge.failed { background: #c9302c; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #e4e7eb;
  vertical-align: top; }
thead th { background: #f5f7fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.rows { max-width: 460px; word-break: break-word; }
td.status { color: #c9302c; } td.status.complete, td.status.skipped { color: #2e8b57; }
#batches td.mono { white-space: nowrap; } #batches th, #batches td { padding: 4px 6px; }
.scroll { overflow-x: auto; }
#figures th { font-weight: normal; } #figures td { font-weight: 600; }
svg text { font-size: 13px; fill: #1f2933; } svg .n { font-weight: 700; }
svg .pct { fill: #7b8794; }
.note { color: #52606d; font-size: 12.5px; }
.warn { color: #c9302c; font-weight: 600; }
</style>
</head>
<body>
<header>
<h1>Kindful import report</h1>
<div class="meta">run <span class="mono" id="run-id">$run_id</span> ·
source file <span class="mono">$source</span> ·
status <span class="badge $status_class" id="status">$status</span> ·
totals close: <span id="totals-close">$totals_close</span></div>
$notes
</header>
<main>
<h2>Where the rows went</h2>
$flow
<h2>Figures</h2>
$figures
<h2>Rejected rows by reason</h2>
<p class="note">rejects.csv: one line per problem, so a row can count under several reasons.
Row numbers count the source file's data rows from 1 (the header row is not counted).</p>
$rejects
<h2>Warnings by reason</h2>
<p class="note">warnings.csv: rows imported with a value changed or cleared.</p>
$warnings
<h2>Kindful notifications by code</h2>
<p class="note">findings.csv: "dropped yes" rows were not imported; "dropped no" rows were
imported with a note. Kindful's descriptions quote the records, so they are left out here.</p>
$findings
<h2>Batches</h2>
$batches
<h2>Settings</h2>
$settings
</main>
<footer><p class="note">Counts, row numbers, column names and rule texts only: no value from
the source file. Details are in the run folder's CSV files. Written $written by kindful-etl.</p>
</footer>
</body>
</html>
"""
)


def render_report(run_dir: Path) -> str:
    """The page for the run folder `run_dir` (missing files give a shorter page)."""
    notes: list[str] = []
    recon = _read_json(run_dir / "reconciliation.json", notes)
    summary = _read_json(run_dir / "summary.json", notes)
    rejects = issue_groups(run_dir / "rejects.csv", notes)
    warnings = issue_groups(run_dir / "warnings.csv", notes)
    findings = finding_groups(run_dir / "findings.csv", notes)
    if not recon:
        notes.append("no reconciliation.json: nothing was loaded into Kindful (or not yet)")
    bands = _band_list(recon, summary)
    read = _count((recon or summary).get("rows_read")) or 0
    status = str(recon.get("status") or ("validated" if summary else "unknown"))
    closes = recon.get("totals_close")
    rejects_html = _issue_table("rejects", rejects, ("column", "reason"), "rejects.csv")
    if rejects is None:
        rejects_html += _summary_reasons(summary, "reasons")
    warnings_html = _issue_table("warnings", warnings, ("column", "reason"), "warnings.csv")
    if warnings is None:
        warnings_html += _summary_reasons(summary, "warning_reasons")
    return _PAGE.substitute(
        run_id=_e(recon.get("run_id") or run_dir.name),
        source=_e(_source_name(recon.get("source") or summary.get("source")) or "—"),
        status=_e(status),
        status_class=_e(re.sub(r"[^a-z_-]", "", status.lower())),
        totals_close=(
            "yes" if closes is True else '<span class="warn">NO</span>' if closes is False else "—"
        ),
        notes="".join(f'<p class="warn">{_e(n)}</p>' for n in notes),
        flow=_flow_svg(read, bands),
        figures=_figures_table(recon, summary),
        rejects=rejects_html,
        warnings=warnings_html,
        findings=_issue_table("findings", findings, ("code", "dropped"), "findings.csv"),
        batches=_batches_table(recon),
        settings=_settings_table(recon, summary),
        written=_e(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    )


def write_report(run_dir: Path) -> Path:
    """Write `run_dir/report.html` (0600, whole or not at all) and return its path."""
    run_dir = Path(run_dir)
    page = render_report(run_dir)
    target = run_dir / REPORT_NAME
    partial = run_dir / f".{REPORT_NAME}.partial"
    try:
        write_private_text(partial, page)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
