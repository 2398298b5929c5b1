"""report.html: the run on one self-contained page, with counts and row numbers, never values.

* The figures and the flow picture's bands equal reconciliation.json's, in the file and in the
  DOM a headless Chromium renders (and Chromium draws a real screenshot of it).
* Reasons, codes and source row numbers appear; row lists are capped with "and N more".
* No cell of normalized.csv, rejects.csv or a findings description appears; a reason that
  repeats a value of its row is masked; hostile column names and reasons are escaped.
* Nothing is loaded from anywhere (no src, href, url(), @import), the file is 0600, and missing
  run files give a shorter page, not an error.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.outputs.report_html import MASK, ROW_LIST_CAP, write_report

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
CLI = str(Path(sys.executable).parent / "kindful-etl")
CHROMIUM = "/usr/bin/chromium"
FIGURE_KEYS = (
    "rows_read",
    "rows_rejected",
    "rows_created",
    "rows_updated",
    "rows_no_effect",
    "rows_dropped",
    "rows_not_imported",
    "rows_already_imported",
)
# attributes that make a browser fetch something, and tags that load or run anything
FETCHING = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data"}
LOADING = {"script", "link", "img", "iframe", "object", "embed", "image", "use", "base"}


# --- reading the page --------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag's attributes, and the text of each element that has an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag not in {"meta", "br", "rect", "path"}:
            self._open.append((tag, values.get("id")))
            if values.get("id"):
                self.text_by_id[values["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def by_id(self, element_id: str) -> dict[str, str]:
        (found,) = [a for _, a in self.tags if a.get("id") == element_id]
        return found

    def with_attr(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a]


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def check_figures(page: str, report: dict[str, Any]) -> None:
    """The figures table and the flow picture say what reconciliation.json says."""
    dom = parse(page)
    for key in FIGURE_KEYS:
        cell = dom.by_id(f"fig-{key}")
        assert int(cell["data-count"]) == report[key], key
        assert dom.text_by_id[f"fig-{key}"].replace(",", "") == str(report[key])
    assert int(dom.by_id("flow-read")["data-count"]) == report["rows_read"]
    bands = {a["data-band"]: int(a["data-count"]) for a in dom.with_attr("data-band")}
    already = report["rows_already_imported"]
    assert bands == {
        "rejected": report["rows_rejected"],
        "created": report["rows_created"],
        "updated": report["rows_updated"],
        "no_effect": report["rows_no_effect"] - already,
        "already_imported": already,
        "dropped": report["rows_dropped"],
        "not_imported": report["rows_not_imported"],
    }
    assert sum(bands.values()) == report["rows_read"]
    assert dom.text_by_id["run-id"] == report["run_id"]
    assert dom.text_by_id["status"] == report["status"]


def values_in(path: Path, skip: tuple[str, ...] = ()) -> set[str]:
    """The cells of a CSV that would identify a donor if they appeared on the page.

    Short cells (under 4 characters) and numbers under 7 digits are left out: they would match
    counts, row numbers and SVG coordinates by chance, and say nothing about a donor.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cells = {
        (value or "").strip().lstrip("'")
        for row in rows
        for name, value in row.items()
        if name not in skip
    }
    return {c for c in cells if len(c) >= 4 and not re.fullmatch(r"[\d.,-]{1,6}", c)}


def self_contained(page: str) -> None:
    """No tag or attribute that fetches, no url() or @import in the CSS; CSP says load nothing."""
    tags = parse(page).tags
    assert not [t for t, _ in tags if t in LOADING]
    assert not [(t, a) for t, a in tags if FETCHING & set(a)]
    assert "url(" not in page and "@import" not in page
    (csp,) = [
        a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp["content"].startswith("default-src 'none'")


# --- a run folder written by hand ----------------------------------------------------------------

HOSTILE_COLUMN = '<script>alert("column")</script>'
HOSTILE_REASON = "<img src=x onerror=alert(1)> & \"quoted\" 'reason'"
DONOR = {"name": "Zebulon Quaxley", "email": "zebulon.quaxley@example.org", "phone": "615-555-0199"}


def write_csv_rows(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def reconciliation(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "status": "failed",
        "run_id": "20260101T000000Z-abc123",
        "source": "s3://drop/exports/givebutter.csv?X-Amz-Signature=SIGNED",
        "data_format": "contact_with_transaction",
        "action": "update",
        "main_record": "Transaction",
        "rows_read": 180,
        "rows_accepted": 160,
        "rows_rejected": 20,
        "rows_created": 100,
        "rows_updated": 20,
        "rows_no_effect": 15,
        "rows_dropped": 5,
        "rows_already_imported": 10,
        "rows_not_imported": 20,
        "warnings": 2,
        "findings": 6,
        "batches_submitted": 3,
        "batches_skipped": 1,
        "batches": [
            {
                "number": 1,
                "name": "batch-00001",
                "rows": 50,
                "status": "complete",
                "job_id": "job-1",
                "created": 40,
                "updated": 5,
                "dropped": 5,
                "no_effect": 0,
                "message": f"contact {DONOR['email']} invalid",
                "already_imported_by": None,
                "resubmitted": False,
                "completed_at": "2026-01-01T00:05:00+00:00",
            },
            {
                "number": 2,
                "name": "batch-00002",
                "rows": 80,
                "status": "complete",
                "job_id": "job-2",
                "created": 60,
                "updated": 15,
                "dropped": 0,
                "no_effect": 5,
                "message": None,
                "already_imported_by": None,
                "resubmitted": True,
            },
            {
                "number": 3,
                "name": "batch-00003",
                "rows": 10,
                "status": "skipped",
                "job_id": "job-0",
                "created": 0,
                "updated": 0,
                "dropped": 0,
                "no_effect": 10,
                "message": None,
                "already_imported_by": "20251231T000000Z-000000",
                "resubmitted": False,
            },
            {
                "number": 4,
                "name": "batch-00004",
                "rows": 20,
                "status": "load_failed",
                "job_id": "job-4",
                "created": 0,
                "updated": 0,
                "dropped": 0,
                "no_effect": 0,
                "message": f"row {DONOR['name']} broke it",
                "already_imported_by": None,
                "resubmitted": False,
            },
        ],
        "totals_close": True,
        "out_dir": "/tmp/somewhere",
        "kindful_target": "https://user:pw@app.kindful.com/api/v1?token=TOKENVALUE#fp",
        "staging_location": "s3://staging/runs/x/?X-Amz-Credential=CREDVALUE",
        "batch_rows": 50,
    }
    report.update(changes)
    return report


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "reconciliation.json").write_text(json.dumps(reconciliation()))
    summary = {
        "rows_read": 180, "rows_accepted": 160, "rows_rejected": 20, "warnings": 2,
        "reasons": {}, "warning_reasons": {}, "ignored_columns": ["Internal Notes"],
        "data_format": "contact_with_transaction", "action": "update",
        "match_by": {"contact": "external_id", "transaction": "external_id"},
        "source_timezone": "America/Chicago", "custom_fields": ["Tribute"],
        "mapping": "givebutter",
    }  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    header = ["source_row", "column", "value", "reason", "Name", "Email", "Phone", "Status"]
    donor = [DONOR["name"], DONOR["email"], DONOR["phone"]]
    rejects: list[list[object]] = [
        [row, "amount_in_cents", "12.345", "fraction of a cent", *donor, "paid"]
        for row in range(1, 15)
    ]
    rejects += [[15, HOSTILE_COLUMN, "x", HOSTILE_REASON, *donor, "paid"]]
    # a reason that repeats its row's value (a future rule text that quotes data)
    rejects += [[16, "email", DONOR["email"], f"{DONOR['email']} is on the block list", *donor, ""]]
    rejects += [[17, "Status", "refunded", "skipped: refunded payment", *donor, "refunded"]]
    rejects += [[18 + i, "first_name/last_name/company_name", "", "needs a name", *donor, ""]
                for i in range(3)]  # fmt: skip
    write_csv_rows(folder / "rejects.csv", header, rejects)
    write_csv_rows(
        folder / "warnings.csv",
        ["source_row", "column", "value", "reason"],
        [[30, "country", "Atlantis Republic", "unknown country, kept as given"],
         [31, "fund", "", "blank fund defaulted to General"]],
    )  # fmt: skip
    write_csv_rows(
        folder / "findings.csv",
        ["source_row", "batch", "job_id", "code", "description", "dropped"],
        [[40 + i, "batch-00001", "job-1", "contact_not_found",
          f"Couldn't find contact {DONOR['name']}", "yes"] for i in range(5)]
        + [["", "batch-00004", "", "request_refused", f"bad email {DONOR['email']}", "no"]],
    )  # fmt: skip
    write_csv_rows(
        folder / "normalized.csv",
        ["id", "first_name", "last_name", "email"],
        [["D-7781", "Zebulon", "Quaxley", DONOR["email"]]],
    )
    return folder


def test_the_figures_and_bands_are_reconciliation_jsons(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")
    check_figures(page, reconciliation())
    dom = parse(page)
    assert int(dom.by_id("fig-rows_accepted")["data-count"]) == 160
    assert "batch-00004" in page and "load_failed" in page and "20251231T000000Z-000000" in page
    assert "2026-01-01T00:05:00+00:00" in page  # a batch time, when the run records one
    batch_rows = [a for _, a in dom.tags if a.get("class") == "batch"]
    assert [a["data-number"] for a in batch_rows] == ["1", "2", "3", "4"]


def test_reasons_codes_and_row_numbers_appear(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert "fraction of a cent" in page and "amount_in_cents" in page
    assert "1–14" in page  # rows 1..14 as one range
    assert "needs a name" in page and "18–20" in page
    assert "skipped: refunded payment" not in page  # "refunded" is the row's Status cell
    assert f"skipped: {MASK} payment" in page
    assert "unknown country, kept as given" in page and "blank fund defaulted to General" in page
    assert "contact_not_found" in page and "40–44" in page
    assert "request_refused" in page and "1 with no row (whole request)" in page
    groups = {a["data-lines"] for a in parse(page).with_attr("data-lines")}
    assert "14" in groups


def test_no_donor_value_reaches_the_page(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")
    leaked = {v for v in values_in(run_dir / "normalized.csv") if v in page}
    leaked |= {
        v
        for v in values_in(run_dir / "rejects.csv", skip=("source_row", "column", "reason"))
        if v in page
    }
    leaked |= {v for v in values_in(run_dir / "findings.csv") if v in page and "Couldn" in v}
    leaked |= {v for v in ("Zebulon", "Quaxley", "zebulon", "615-555-0199") if v in page}
    assert not leaked
    assert f"{MASK} is on the block list" in page  # the reason, its value masked
    assert "Atlantis" not in page  # a warning's value


def test_the_page_loads_nothing_and_hides_secrets_of_urls(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")
    self_contained(page)
    for secret in ("TOKENVALUE", "CREDVALUE", "SIGNED", "user:pw", "#fp"):
        assert secret not in page
    dom = parse(page)
    assert dom.text_by_id["setting-kindful_target"] == "https://app.kindful.com/api/v1"
    assert dom.text_by_id["setting-staging"] == "s3://staging/runs/x/"
    assert dom.text_by_id["setting-batch_rows"] == "50"
    assert dom.text_by_id["setting-match_by"] == "contact: external_id, transaction: external_id"
    assert dom.text_by_id["setting-source_timezone"] == "America/Chicago"
    assert "givebutter.csv" in page


def test_hostile_names_and_reasons_are_escaped(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert HOSTILE_COLUMN not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;column&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot; &#x27;reason&#x27;" in page
    assert [t for t, _ in parse(page).tags].count("img") == 0


def test_hostile_json_values_are_escaped(tmp_path: Path) -> None:
    bad = "<b onmouseover=x>"
    report = reconciliation(run_id=bad, status=bad, data_format=bad, batches=[{"status": bad}])
    (tmp_path / "reconciliation.json").write_text(json.dumps(report))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert bad not in page and "&lt;b onmouseover=x&gt;" in page
    self_contained(page)


def test_row_lists_are_capped(tmp_path: Path) -> None:
    rows = [[2 * i + 1, "email", "x", "not an email address"] for i in range(ROW_LIST_CAP + 70)]
    write_csv_rows(tmp_path / "rejects.csv", ["source_row", "column", "value", "reason"], rows)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    listed = ", ".join(str(2 * i + 1) for i in range(ROW_LIST_CAP))
    assert f"{listed} and 70 more" in page
    assert str(2 * ROW_LIST_CAP + 1) + "," not in page


def test_missing_files_give_a_shorter_page_0600(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    page = path.read_text(encoding="utf-8")
    assert "No rejects.csv file" in page and "no reconciliation.json" in page
    self_contained(page)
    # a validation-only folder: read, accepted and rejected from summary.json
    (tmp_path / "summary.json").write_text(
        json.dumps({"rows_read": 9, "rows_accepted": 7, "rows_rejected": 2, "reasons": {}})
    )
    (tmp_path / "findings.csv").write_text("not,the,columns\n1,2,3\n")
    page = write_report(tmp_path).read_text(encoding="utf-8")
    dom = parse(page)
    assert dom.by_id("fig-rows_read")["data-count"] == "9"
    bands = {a["data-band"]: a["data-count"] for a in dom.with_attr("data-band")}
    assert bands == {"rejected": "2", "accepted": "7"}
    assert "findings.csv has no source_row, code, dropped column" in page
    assert not list(tmp_path.glob(".*partial"))


# --- real runs, and a real browser ---------------------------------------------------------------

SAMPLE_RUNS = {
    "classy": ["classy_transactions.csv", "--mapping", "classy_transactions.mapping.yaml"],
    "split": ["split_transaction.csv", "--format", "split_transaction"],  # Kindful drops 2
}


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The samples imported by the CLI (embedded sandbox) in a home of their own, reported."""
    base = tmp_path_factory.mktemp("report-runs")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KINDFUL_", "AWS_", "PREFECT_API"))
    }
    env["KINDFUL_ETL_HOME"] = str(base / "home")
    runs: dict[str, Path] = {}
    for name, (source, *args) in SAMPLE_RUNS.items():
        out = base / name
        argv = [CLI, "import", str(SAMPLES / source), *args, "--out", str(out)]
        argv = [a if not a.endswith(".yaml") else str(SAMPLES / a) for a in argv]
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, cwd=base, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        write_report(out)
        runs[name] = out
    return runs


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium; missing, the test skips, except on CI (`.ci/run` installs it)."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found is None:
        reason = f"{CHROMIUM} not found: apt-get install chromium, as .ci/run does"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def browse(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", *args, page.as_uri()]
    home = page.parent / ".chromium-home"  # its profile and caches, not the user's
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(home),
    }
    args_all = [*argv[:-1], f"--user-data-dir={home / 'profile'}", argv[-1]]
    done = subprocess.run(
        args_all, check=False, capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.slow
@pytest.mark.parametrize("sample", list(SAMPLE_RUNS))
def test_a_real_runs_page_holds_no_donor_value(real_runs: dict[str, Path], sample: str) -> None:
    folder = real_runs[sample]
    page = (folder / "report.html").read_text(encoding="utf-8")
    report = json.loads((folder / "reconciliation.json").read_text())
    check_figures(page, report)
    self_contained(page)
    warnings = pd.read_csv(folder / "warnings.csv", dtype=str)
    # values kindful-etl filled in itself ("blank fund defaulted to General") are not donors'
    defaults = set(warnings["reason"].str.extract(r"defaulted to (.+)$")[0].dropna())
    cells = values_in(folder / "normalized.csv")
    cells |= values_in(folder / "rejects.csv", skip=("source_row", "column", "reason"))
    cells |= values_in(folder / "findings.csv", skip=("source_row", "batch", "job_id", "code"))
    cells -= defaults
    assert len(cells) > 40  # the check has something to check
    assert not {c for c in cells if c in page}
    summary = json.loads((folder / "summary.json").read_text())
    for key in summary["reasons"]:  # "column: reason": every reject reason is listed
        column, _, reason = key.partition(": ")
        assert column in page and reason in page


@pytest.mark.slow
@pytest.mark.parametrize("sample", list(SAMPLE_RUNS))
def test_chromium_renders_the_figures(
    real_runs: dict[str, Path], sample: str, chromium: str
) -> None:
    folder = real_runs[sample]
    report = json.loads((folder / "reconciliation.json").read_text())
    dom = browse(chromium, folder / "report.html", "--dump-dom").stdout
    assert "<svg" in dom and 'id="flow"' in dom
    check_figures(dom, report)  # the figures as the browser's DOM holds them
    if report["rows_dropped"]:
        assert int(parse(dom).by_id("band-dropped")["data-count"]) == report["rows_dropped"]

    shot = folder / "report.png"
    browse(chromium, folder / "report.html", f"--screenshot={shot}", "--window-size=1200,1600")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 1600)
    assert len(data) > 30_000  # a drawn page, not a blank one (a blank 1200x1600 PNG is ~6 KB)


def test_findings_that_name_no_row_at_all_are_counted_without_row_numbers(tmp_path: Path) -> None:
    write_csv_rows(
        tmp_path / "findings.csv",
        ["source_row", "batch", "job_id", "code", "description", "dropped"],
        [["", "batch-00001", "", "request_refused", "refused", "yes"]] * 2,
    )
    page = write_report(tmp_path).read_text()
    assert "request_refused" in page
