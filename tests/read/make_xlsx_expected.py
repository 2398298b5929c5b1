"""Write tests/read/expected/xlsx_records.json: what a reader gives for every workbook in
`xlsx_cases` (records, or the error). Made with the openpyxl reader before the move to
calamine (25158cd is the last commit with it):

    git show 25158cd:pipelines/read/xlsx_files.py > /tmp/old_xlsx.py
    .venv/bin/python tests/read/make_xlsx_expected.py /tmp/old_xlsx.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import xlsx_cases  # noqa: E402
from read_helpers import records  # noqa: E402

from pipelines.read import export  # noqa: E402
from pipelines.read.errors import ExportError  # noqa: E402

EXPECTED = HERE / "expected" / "xlsx_records.json"
SHEETS: list[str | int | None] = [None, 1, "Other"]


def outcome(path: Path, sheet: str | int | None) -> dict[str, Any]:
    try:
        frame = export.read_export(str(path), sheet=sheet)
    except ExportError as error:
        return {"error": str(error).replace(str(path), "<path>")}
    return {"columns": [str(c) for c in frame.columns], "records": records(frame)}


def outcomes() -> dict[str, Any]:
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        cases = {p.relative_to(xlsx_cases.ROOT).as_posix(): p for p in xlsx_cases.STORED}
        built = xlsx_cases.built_cases() | xlsx_cases.fallback_cases()
        for name, data in built.items():
            cases[name] = Path(folder) / name
            cases[name].write_bytes(data)
        for name, path in cases.items():
            for sheet in SHEETS:
                found[f"{name} sheet={sheet!r}"] = outcome(path, sheet)
    return found


def main() -> None:
    if len(sys.argv) > 1:  # another reader module, e.g. the one before calamine
        spec = importlib.util.spec_from_file_location("reader_under_test", sys.argv[1])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        export._xlsx_frames = module._xlsx_frames  # type: ignore[attr-defined]
    EXPECTED.parent.mkdir(exist_ok=True)
    EXPECTED.write_text(json.dumps(outcomes(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
