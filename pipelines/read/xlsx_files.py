"""XLSX workbooks through openpyxl's read-only mode, every cell turned into text as Excel shows it.

A workbook is a zip, so before openpyxl loads anything its unpacked sizes are held to the
decompression limits and its shared strings to `xlsx_shared_strings`; worksheet rows are held to
`xlsx_rows` and cells to `field_bytes`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Final

import pandas as pd

from pipelines.read.errors import ExportError
from pipelines.read.frames import _header_names, _records_frame, _rows_per_chunk, _shown
from pipelines.read.limits import Limits, human_bytes
from pipelines.read.source import _BLOCK, _check_decompressed, _check_ratio, _Source


def _cell_text(value: object) -> str | None:
    """An Excel cell as text: whole numbers without ".0", datetimes as naive ISO seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        # Excel shows 15 significant digits; this drops binary noise like 0.1+0.2's tail.
        return repr(float(f"{value:.15g}"))
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        if value.microsecond >= 500_000 and value < dt.datetime.max - dt.timedelta(seconds=1):
            value += dt.timedelta(seconds=1)  # Excel stores days as floats: 04.999999 is 05
        return value.replace(microsecond=0).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00"
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")
    return str(value)


def _xlsx_frames(
    source: _Source,
    name: str,
    chunk_rows: int | None,
    sheet: str | int | None,
    stack: contextlib.ExitStack,
    limits: Limits,
) -> Iterator[pd.DataFrame]:
    """Stream a worksheet with openpyxl's read-only mode.

    Blank rows between data rows are kept as all-missing records, so `source_row + 1` is the
    Excel row number when the header is on row 1; blank rows after the last data row (often
    just formatting) are dropped. The archive's sizes and shared strings are checked before
    openpyxl loads anything, and rows are read as their cells are stored, never padded out to
    the widest cell (a styled cell at column XFD would make every row 16,384 wide).
    """
    import openpyxl  # type: ignore[import-untyped]

    target: IO[bytes]
    if source.local_path is not None:  # a file object: openpyxl would refuse a path not *.xlsx
        target = stack.enter_context(open(source.local_path, "rb"))  # noqa: SIM115
    else:  # zip needs random access: spool remote or gzipped workbooks to a temp file
        spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - stack closes it
        if source.binary is not None:  # counted as it is copied: a bomb stops at the limits
            shutil.copyfileobj(source.binary, spool, _BLOCK)
        spool.seek(0)
        target = spool
    _check_workbook(target, name, limits)
    target.seek(0)
    try:
        workbook = openpyxl.load_workbook(target, read_only=True, data_only=True)
    except Exception:
        raise ExportError(
            f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
        ) from None
    stack.callback(workbook.close)
    worksheet = _pick_sheet(workbook, sheet, name)

    rows = _worksheet_rows(worksheet, name, limits)
    names: list[str] | None = None
    last = 0  # the Excel row number of the last row seen
    for index, cells in rows:
        last = index
        texts = _row_texts(cells, limits.columns, name, limits)
        if texts is None or any(t is not None for t in texts):
            if texts is None:
                raise ExportError(
                    f"cannot read {name}: the header has more than {limits.columns} columns "
                    f"(limit {limits.setting('columns')})"
                )
            while texts and texts[-1] is None:
                texts.pop()
            names = _header_names(list(texts), name)
            break
    if names is None:
        raise ExportError(f"cannot read {name}: the worksheet is empty (no header row)")

    width = len(names)
    per_chunk = _rows_per_chunk(chunk_rows, width)
    empty: list[str | None] = [None] * width
    batch: list[list[str | None]] = []
    start = 0
    blank = 0  # blank rows seen since the last data row, emitted only if data follows
    number = 0
    for index, cells in rows:
        blank += index - last - 1  # rows the sheet does not store are blank
        last = index
        texts = _row_texts(cells, width, name, limits)
        if texts is None:
            raise ExportError(
                f"cannot read {name}: record {number + blank + 1} has more cells than the header "
                "(a value in a column without a header)"
            )
        if all(t is None for t in texts):
            blank += 1
            continue
        pending = [empty] * blank + [texts]
        blank = 0
        for cells_text in pending:
            number += 1
            batch.append(list(cells_text))
            if per_chunk is not None and len(batch) >= per_chunk:
                yield _records_frame(batch, names, start)
                start += len(batch)
                batch = []
    if batch or start == 0:
        yield _records_frame(batch, names, start)


def _row_texts(
    cells: list[dict[str, Any]], width: int, name: str, limits: Limits
) -> list[str | None] | None:
    """One stored row as `width` texts; None when a value lies beyond `width`."""
    texts: list[str | None] = [None] * width
    for cell in cells:
        text = _cell_text(cell["value"])
        if text is None:
            continue
        if len(text) > limits.field_bytes and len(text.encode()) > limits.field_bytes:
            raise ExportError(
                f"cannot read {name}: a cell longer than {human_bytes(limits.field_bytes)} "
                f"(limit {limits.setting('field_bytes')})"
            )
        column = int(cell["column"])
        if column > width:
            return None
        texts[column - 1] = text
    return texts


def _worksheet_rows(
    worksheet: Any, name: str, limits: Limits
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(Excel row number, stored cells) per stored row, in order, through openpyxl's own sheet
    parser: `iter_rows` would pad each row to its last cell and yield every missing row."""
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]

    parent = worksheet.parent
    with worksheet._get_source() as src:
        parser = WorkSheetParser(
            src,
            worksheet._shared_strings,
            data_only=parent.data_only,
            epoch=parent.epoch,
            date_formats=parent._date_formats,
            timedelta_formats=parent._timedelta_formats,
        )
        last = 0
        for index, cells in parser.parse():
            parser.row_dimensions.clear()  # row heights and styles: not needed, kept per row
            if index > limits.xlsx_rows:
                raise ExportError(
                    f"cannot read {name}: the worksheet has more than {limits.xlsx_rows} rows "
                    f"(limit {limits.setting('xlsx_rows')})"
                )
            if index <= last:  # a repeated or out-of-order row, which openpyxl skips too
                continue
            last = index
            yield index, cells


_SHARED_STRING: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")


def _check_workbook(target: IO[bytes], name: str, limits: Limits) -> None:
    """Refuse a workbook whose parts unpack past the limits or that holds more shared strings
    than allowed, reading only the zip directory and the shared strings part (streamed)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(target)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ExportError(
            f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
        ) from None
    with archive:
        total = 0
        for info in archive.infolist():  # zipfile never inflates a member past its stated size
            total += info.file_size
            _check_decompressed(total, name, limits)
            _check_ratio(info.file_size, info.compress_size, name, limits)
        part = _shared_strings_part(archive)
        if part is None:
            return
        count = 0
        tail = b""
        with archive.open(part) as stream:
            # a final "<" so that the last tag is counted too
            for block in itertools.chain(iter(lambda: stream.read(1 << 20), b""), [b"<"]):
                data = tail + block
                cut = max(data.rfind(b"<"), 0)  # a tag before the last "<" is complete
                count += len(_SHARED_STRING.findall(data, 0, cut))
                tail = data[cut:]
                if count > limits.xlsx_shared_strings:
                    raise ExportError(
                        f"cannot read {name}: more than {limits.xlsx_shared_strings} shared "
                        f"strings (limit {limits.setting('xlsx_shared_strings')})"
                    )


def _shared_strings_part(archive: Any) -> str | None:
    """The shared strings part as openpyxl finds it: through [Content_Types].xml."""
    from openpyxl.packaging.manifest import Manifest  # type: ignore[import-untyped]
    from openpyxl.xml.constants import (  # type: ignore[import-untyped]
        ARC_CONTENT_TYPES,
        SHARED_STRINGS,
    )
    from openpyxl.xml.functions import fromstring  # type: ignore[import-untyped]

    try:
        manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
    except Exception:
        return None  # openpyxl refuses it as no workbook
    found = manifest.find(SHARED_STRINGS)
    if found is None:
        return None
    part = str(found.PartName).lstrip("/")
    return part if part in archive.namelist() else None


def _pick_sheet(workbook: Any, sheet: str | int | None, name: str) -> Any:
    sheets = list(workbook.worksheets)
    if sheet is None:
        if not sheets:
            raise ExportError(f"cannot read {name}: the workbook has no worksheets")
        return sheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise ExportError(
                f"cannot read {name}: no worksheet number {sheet} (it has {len(sheets)})"
            )
        return sheets[sheet]
    for candidate in sheets:
        if candidate.title == sheet:
            return candidate
    titles = ", ".join(_shown(s.title) for s in sheets)
    raise ExportError(f"cannot read {name}: no worksheet named {_shown(sheet)} (found {titles})")
