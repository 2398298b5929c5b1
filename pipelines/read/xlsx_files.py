"""XLSX workbooks through calamine (Rust), every cell turned into text as Excel shows it.

A workbook is a zip, so before any reader loads anything its unpacked sizes are held to the
decompression limits and its shared strings to `xlsx_shared_strings`; the chosen worksheet's
XML is then scanned as a stream (`_scan_workbook`) for its row numbers, held to `xlsx_rows`,
for how far its cells reach, and for anything written unlike the usual writers.

Calamine reads a whole sheet into memory before its first row comes out (its cells as they
are parsed, then one dense grid from the first cell to the last, each string cell holding its
own copy of its text): a 1M-row, 6-column sheet took ~600 MB. So it is never given the whole
sheet. The sheet's XML is cut before row tags into pieces of at most `_CALAMINE_CELLS` cells
(row numbers spanned x columns reached; fewer rows where long shared strings would be copied
past `_CALAMINE_STRING_BYTES`), each written, stored, into a workbook of its own on disk (the
workbook's parts but its sheets, then the sheet's XML up to <sheetData>, the piece's rows), that
calamine reads and lets go before the next piece is cut (`_calamine_pieces`). Memory is that of
one piece, whatever the sheet's length; each piece reads the shared strings again (so a piece
has at least a cell for every `_CARRIED_PER_CELL` bytes of them).

A sheet that calamine would read otherwise than openpyxl (error cells, ISO date cells, dates
out of Excel's range, texts it trims, cells or rows written unlike the usual writers, markup a
cut could split), or whose pieces would read too much again (`_REREAD_RATIO`), goes to
openpyxl's read-only parser, which streams and keeps memory flat, as before. Either way the
records come out in frames of `chunk_rows`, built as Arrow strings every `_ARROW_ROWS` rows;
cells are held to `field_bytes`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # loaded by pandas for its "str" dtype

from pipelines.read.errors import ExportError
from pipelines.read.frames import _header_names, _rows_per_chunk, _shown
from pipelines.read.limits import Limits, human_bytes
from pipelines.read.source import _BLOCK, _check_decompressed, _check_ratio, _Source

# The most cells (row numbers spanned x columns reached, blanks included) in one piece of a
# sheet given to calamine: ~130 bytes a cell at the peak (calamine's cells and grid, then
# their Python copies), so ~9 MB and the texts.
_CALAMINE_CELLS: Final = 1 << 16
# More cells where the parts that calamine reads again for each piece are large (the shared
# strings of a workbook that Excel wrote, which calamine holds at ~1.3 bytes a byte): at least
# one for every `_CARRIED_PER_CELL` bytes of them, so that a piece costs about what they do.
_CARRIED_PER_CELL: Final = 128
# The most bytes of shared strings calamine may copy into the cells of one piece, reckoned as
# if every cell held the longest: a piece has fewer rows where strings are long.
_CALAMINE_STRING_BYTES: Final = 1 << 28
# What the pieces may read again (the parts each carries, and `_PIECE_BYTES` for each piece's
# own costs), at most `_REREAD_RATIO` times the sheet's XML and `_REREAD_FREE`: past it (long
# shared strings in many cells, thousands of short pieces for a sheet that reaches column XFD)
# openpyxl reads the sheet in one pass.
_REREAD_RATIO: Final = 4
_REREAD_FREE: Final = 1 << 26
_PIECE_BYTES: Final = 1 << 18
# the parts a piece carries besides its sheet: XML, the workbook's sheets left out
_PIECE_PARTS: Final = (".xml", ".rels")


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
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00"
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")
    return str(value)


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    # Excel shows 15 significant digits; this drops binary noise like 0.1+0.2's tail.
    return repr(float(f"{value:.15g}"))


_LAST_SECOND: Final = dt.datetime.max - dt.timedelta(seconds=1)


def _datetime_text(value: dt.datetime) -> str:
    value = value.replace(tzinfo=None)
    if value.microsecond >= 500_000 and value < _LAST_SECOND:
        value += dt.timedelta(seconds=1)  # Excel stores days as floats: 04.999999 is 05
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


# `_cell_text` by exact type, for the common cells of a calamine row
_TEXT_OF: Final[dict[type, Callable[[Any], str | None]]] = {
    float: _float_text,
    bool: _bool_text,
    dt.datetime: _datetime_text,
}


def _xlsx_frames(
    source: _Source,
    name: str,
    chunk_rows: int | None,
    sheet: str | int | None,
    stack: contextlib.ExitStack,
    limits: Limits,
) -> Iterator[pd.DataFrame]:
    """Stream a worksheet's records as all-string frames of at most `chunk_rows` rows.

    Blank rows between data rows are kept as all-missing records, so `source_row + 1` is the
    Excel row number when the header is on row 1; blank rows after the last data row (often
    just formatting) are dropped. The archive's sizes, shared strings and the sheet's extent
    are checked before a reader loads anything.
    """
    target: IO[bytes]
    if source.local_path is not None:  # a file object: a reader would refuse a path not *.xlsx
        target = stack.enter_context(open(source.local_path, "rb"))  # noqa: SIM115
    else:  # zip needs random access: spool remote or gzipped workbooks to a temp file
        spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - stack closes it
        if source.binary is not None:  # counted as it is copied: a bomb stops at the limits
            shutil.copyfileobj(source.binary, spool, _BLOCK)
        spool.seek(0)
        target = spool
    strings = _check_workbook(target, name, limits)
    target.seek(0)
    title, scan = _scan_workbook(target, name, sheet, limits)
    target.seek(0)
    span = _piece_span(scan.columns, strings.longest, scan.carried)
    most = min(-(-scan.rows // span), scan.stored)  # pieces: each starts at a stored row
    reread = most * (scan.carried + _PIECE_BYTES)
    if scan.calamine and not strings.blank and reread <= _REREAD_RATIO * scan.size + _REREAD_FREE:
        pieces = _calamine_pieces(target, scan, title, span, name, stack)
        if pieces is not None:
            yield from _calamine_frames(pieces, name, chunk_rows, limits)
            return
        target.seek(0)
    yield from _openpyxl_frames(target, name, chunk_rows, sheet, stack, limits)


def _piece_span(columns: int, longest: int, carried: int) -> int:
    """How many row numbers a piece may span: its grid within `_CALAMINE_CELLS` (or one cell
    for each `_CARRIED_PER_CELL` bytes carried), its copies of the shared strings (as if each
    were the longest) within `_CALAMINE_STRING_BYTES`."""
    columns = max(columns, 1)
    rows = max(_CALAMINE_CELLS, carried // _CARRIED_PER_CELL) // columns
    if longest:
        rows = min(rows, _CALAMINE_STRING_BYTES // (columns * longest))
    return max(rows, 1)


class _Piece(NamedTuple):
    """One piece of a sheet as calamine read it: where its first value lies (0-based), then
    its rows from there to its last value as Python lists, blanks as ""."""

    row: int
    column: int
    rows: list[list[Any]]


def _calamine_pieces(
    target: IO[bytes],
    scan: _SheetScan,
    title: str,
    span: int,
    name: str,
    stack: contextlib.ExitStack,
) -> Iterator[_Piece] | None:
    """The sheet's pieces read by python-calamine, one at a time (see `_cut_sheet`); None when
    calamine cannot read the first or does not see the sheet by its title just once (it must
    read the part that was scanned), so that openpyxl reads the workbook instead."""
    import python_calamine

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kindful-xlsx-")))
    written = _cut_sheet(target, scan, span, folder)
    stack.callback(written.close)

    def read(path: Path) -> _Piece:
        """The piece's values; calamine's own copy of them is dropped on return."""
        with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
            if workbook.sheet_names.count(title) != 1:
                raise ValueError("not the scanned sheet")
            sheet = workbook.get_sheet_by_name(title)
        if sheet.start is None:  # no cell of the piece holds a value
            return _Piece(0, 0, [])
        row, column = sheet.start
        # iter_rows() would first yield a blank row for each row above the piece
        return _Piece(row, column, sheet.to_python(skip_empty_area=True))

    try:
        first = read(next(written))
    except Exception:
        written.close()
        return None  # openpyxl tells why, as it always has

    def pieces(first: _Piece) -> Iterator[_Piece]:
        yield first
        del first  # dropped before the next piece is read
        for path in written:
            try:
                piece = read(path)
            except Exception:
                raise ExportError(
                    f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
                ) from None
            yield piece
            del piece

    return pieces(first)


# the sheet's XML is cut before a row tag (`_ROW_NUMBER`); each piece ends so
_SHEET_DATA: Final = b"<sheetData>"
_SHEET_END: Final = b"</sheetData></worksheet>"


def _cut_sheet(
    target: IO[bytes], scan: _SheetScan, span: int, folder: Path
) -> Generator[Path, None, None]:
    """Write the scanned worksheet piece by piece to one workbook in `folder`, yielding its
    path when a piece is written: the workbook's XML parts but its sheets (`_carried`, packed
    once), then the sheet's XML up to <sheetData>, rows whose numbers span at most `span` (cut
    before a row tag, never inside one: the scan saw every row tag as `<row r="N"`, in order,
    and no markup that could hide one), and </sheetData>. The piece is stored, so calamine
    reads it from disk as it parses; the XML is streamed, never held whole."""
    import zipfile

    base = folder / "base.xlsx"
    piece = folder / "piece.xlsx"
    part = scan.part
    with zipfile.ZipFile(target) as source:
        with zipfile.ZipFile(base, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as parts:
            for info in _carried(source.infolist(), scan.sheets):
                parts.writestr(info.filename, source.read(info))
        with source.open(part) as stream:
            blocks = iter(lambda: stream.read(1 << 20), b"")
            head = b""
            for block in blocks:
                head += block
                at = head.find(_SHEET_DATA)
                if at >= 0:
                    break
            else:  # <sheetData/> or written otherwise: openpyxl reads it
                raise ValueError("no <sheetData> to cut after")
            at += len(_SHEET_DATA)
            head, first = head[:at], head[at:]

            def start() -> tuple[zipfile.ZipFile, IO[bytes]]:
                shutil.copyfile(base, piece)
                archive = zipfile.ZipFile(piece, "a")
                out = archive.open(zipfile.ZipInfo(part), "w", force_zip64=True)
                out.write(head)
                return archive, out

            archive, out = start()
            limit = 0  # the first row number of the next piece; 0 until the first row
            tail = b""
            for block in itertools.chain([first], blocks):
                data = tail + block
                cut = max(data.rfind(b"<"), 0)  # a tag before the last "<" is complete
                tail = data[cut:]
                done = 0
                while True:
                    if not limit:
                        found = _ROW_NUMBER.search(data, done, cut)
                        if found is None:
                            break
                        limit = int(found[1]) + span
                    at = data.rfind(b'<row r="', done, cut)
                    last = _ROW_NUMBER.match(data, at) if at >= 0 else None
                    if last is None or int(last[1]) < limit:  # rows come in order
                        break
                    found = next(
                        row for row in _ROW_NUMBER.finditer(data, done, cut) if int(row[1]) >= limit
                    )
                    out.write(data[done : found.start()])
                    out.write(_SHEET_END)
                    out.close()
                    archive.close()
                    yield piece
                    archive, out = start()
                    done = found.start()
                    limit = int(found[1]) + span
                out.write(data[done:cut])
            out.write(tail)
            out.close()
            archive.close()
            yield piece


def _calamine_frames(
    pieces: Iterator[_Piece], name: str, chunk_rows: int | None, limits: Limits
) -> Iterator[pd.DataFrame]:
    """The sheet through python-calamine, piece by piece, each piece's rows let go as the
    records are built from them."""
    yield from _records(_piece_rows(pieces), _dense_texts(name, limits), name, chunk_rows, limits)


def _piece_rows(pieces: Iterator[_Piece]) -> Iterator[tuple[int, tuple[int, list[Any]]]]:
    """(Excel row number, (first column, cells)) for every row of every piece in turn."""
    for piece in pieces:
        rows = piece.rows
        rows.reverse()  # popped from the end: each row freed once it is used
        for index in range(piece.row + 1, piece.row + 1 + len(rows)):
            yield index, (piece.column, rows.pop())


def _dense_texts(
    name: str, limits: Limits
) -> Callable[[tuple[int, list[Any]], int], list[str | None] | None]:
    """A calamine row (its first column, then every cell from there, blanks as "") as `width`
    texts; None when a value lies beyond `width`."""
    field_bytes = limits.field_bytes
    text_of = _TEXT_OF

    def exact(row: list[str | None], width: int) -> list[str | None] | None:
        """Cell by cell, as `_row_texts`: a long cell refused unless a value before it lies
        beyond `width`."""
        out: list[str | None] = [None] * width
        for column, text in enumerate(row):
            if text is None:
                continue
            if len(text) > field_bytes and len(text.encode()) > field_bytes:
                raise ExportError(
                    f"cannot read {name}: a cell longer than {human_bytes(field_bytes)} "
                    f"(limit {limits.setting('field_bytes')})"
                )
            if column >= width:
                return None
            out[column] = text
        return out

    def texts(stored: tuple[int, list[Any]], width: int) -> list[str | None] | None:
        offset, values = stored
        row: list[str | None] = [
            (value or None)
            if value.__class__ is str
            else text_of.get(value.__class__, _cell_text)(value)
            for value in values
        ]
        if offset:
            lead: list[str | None] = [None] * offset
            row = lead + row
        if max(map(len, filter(None, row)), default=0) > field_bytes:
            return exact(row, width)
        if len(row) > width:
            if any(row[width:]):
                return None
            del row[width:]
        elif len(row) < width:
            row += [None] * (width - len(row))
        return row

    return texts


def _openpyxl_frames(
    target: IO[bytes],
    name: str,
    chunk_rows: int | None,
    sheet: str | int | None,
    stack: contextlib.ExitStack,
    limits: Limits,
) -> Iterator[pd.DataFrame]:
    """The sheet through openpyxl's read-only parser, rows as they are stored, never padded
    out to the widest cell (a styled cell at column XFD would make every row 16,384 wide)."""
    import openpyxl  # type: ignore[import-untyped]

    try:
        workbook = openpyxl.load_workbook(target, read_only=True, data_only=True)
    except Exception:
        raise ExportError(
            f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
        ) from None
    stack.callback(workbook.close)
    worksheet = _pick_sheet(workbook, sheet, name)

    rows = _worksheet_rows(worksheet, name, limits)

    def texts(cells: list[dict[str, Any]], width: int) -> list[str | None] | None:
        return _row_texts(cells, width, name, limits)

    yield from _records(rows, texts, name, chunk_rows, limits)


_Texts = Callable[[Any, int], "list[str | None] | None"]


def _records(
    rows: Iterable[tuple[int, Any]],
    texts_of: _Texts,
    name: str,
    chunk_rows: int | None,
    limits: Limits,
) -> Iterator[pd.DataFrame]:
    """Frames from (Excel row number, stored row) pairs, in order: the first row with a value
    is the header; `texts_of(row, width)` gives a row's texts, None past `width`."""
    rows = iter(rows)
    names: list[str] | None = None
    last = 0  # the Excel row number of the last row seen
    for index, cells in rows:
        last = index
        texts = texts_of(cells, limits.columns)
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
    held: list[list[str | None]] = []  # the chunk's rows not yet in `columns`
    columns: list[list[Any]] = [[] for _ in names]  # the chunk's Arrow strings, by column
    count = 0  # records in the chunk
    start = 0
    blank = 0  # blank rows seen since the last data row, emitted only if data follows
    number = 0
    for index, cells in rows:
        blank += index - last - 1  # rows the sheet does not store are blank
        last = index
        texts = texts_of(cells, width)
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
            count += 1
            held.append(cells_text)
            if per_chunk is not None and count >= per_chunk:
                yield _columns_frame(held, columns, names, start)
                start += count
                held, columns, count = [], [[] for _ in names], 0
            elif len(held) >= _ARROW_ROWS:
                _to_arrow(held, columns)
                held = []
    if count or start == 0:
        yield _columns_frame(held, columns, names, start)


# rows held as Python texts before they become Arrow strings: a chunk is never held whole as
# Python objects (~100 bytes a cell), only as Arrow strings (its bytes and an offset)
_ARROW_ROWS: Final = 8192


def _to_arrow(rows: list[list[str | None]], columns: list[list[Any]]) -> None:
    """Append each column of `rows` to `columns` as Arrow strings, as pandas' "str" holds them."""
    for i, column in enumerate(columns):
        column.append(pa.array([row[i] for row in rows], type=pa.large_string()))


def _columns_frame(
    rows: list[list[str | None]], columns: list[list[Any]], names: list[str], start: int
) -> pd.DataFrame:
    """An all-string frame of the chunk (`columns`, then `rows`), indexed by record number:
    the frame `_records_frame` makes of the same rows, column for column."""
    _to_arrow(rows, columns)
    data = {
        name: pd.array(pa.concat_arrays(parts) if len(parts) > 1 else parts[0], dtype="str")
        for name, parts in zip(names, columns, strict=True)
    }
    length = len(data[names[0]])
    index = pd.RangeIndex(start, start + length)
    return pd.DataFrame(data, index=index, columns=pd.Index(names))


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


@dataclass
class _SheetScan:
    """What the streamed scan of a worksheet's XML found."""

    part: str = ""  # the worksheet's part in the archive
    sheets: frozenset[str] = frozenset()  # the parts of all the workbook's sheets
    carried: int = 0  # unpacked bytes of the parts that each piece carries (`_carried`)
    size: int = 0  # unpacked bytes of the worksheet's XML
    rows: int = 0  # the highest row number
    stored: int = 0  # how many row tags
    columns: int = 0  # the highest column number of any cell, styled blanks included
    unusual: bool = False  # cells calamine reads otherwise or places unlike openpyxl, or
    # markup that a cut at a row tag could split

    @property
    def calamine(self) -> bool:
        return not self.unusual


# The scan is a few byte searches a block, no parsing: it reads rows and cells as the writers
# store them (`<row r="7"`, `<c r="B7"`, no namespace prefix) and calls anything else unusual.
_ROW_NUMBER: Final = re.compile(rb'<row r="(\d+)"')
_CELL_COLUMN: Final = re.compile(rb'<c r="([A-Z]+)\d')
_CELL_ROW: Final = re.compile(rb'<c r="[A-Z]+(\d+)"')
# a row or cell tag written otherwise (`<c>`, `<row\n`, `<x:c `): with `<c ` counted, these
# make sure that no cell calamine would place escapes the scan
_OTHER_TAGS: Final = re.compile(rb"<(?:c|row)[\t\n\r>/]")
_PREFIXED: Final = re.compile(rb":(?:c|row|v|t|is|f)[\s/>]")
# comments, CDATA, a DOCTYPE, processing instructions: text that may look like a row tag
_MARKUP: Final = re.compile(rb"<[!?]")
_DECLARATION: Final = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*>")
# error cells (calamine reads them as blank, openpyxl as "#DIV/0!"), ISO date cells
_TYPES: Final = re.compile(rb"t=[\"'][ed][\"']")


# a text that starts or ends with whitespace outside xml:space="preserve", or is whitespace
# only: calamine trims the one and drops the other, openpyxl keeps both as they are
_BLANK_TEXT: Final = re.compile(
    rb"<t(?:\s(?![^>]*xml:space=[\"']preserve)[^>]*)?>(?:\s|[^<]*\s</t>)"
    rb"|<t\s[^>]*>\s+</t>"
)
_OVERLAP: Final = 1 << 16


class _BlankTexts:
    """Whether a streamed part holds a text that calamine reads otherwise (see `_BLANK_TEXT`);
    blocks overlap by `_OVERLAP` bytes."""

    def __init__(self) -> None:
        self.found = False
        self._tail = b""

    def feed(self, block: bytes) -> None:
        if self.found:
            return
        data = self._tail + block
        self.found = _BLANK_TEXT.search(data) is not None
        self._tail = data[-_OVERLAP:]


# a number that a date style makes a date calamine reads otherwise: negative (calamine: a time
# of day, openpyxl: a date before 1900) or past 9999-12-31 (openpyxl: "#VALUE!")
_ODD_NUMBER: Final = re.compile(rb"<v>(?:-|\d{7})")
_NUMBER_CELL: Final = re.compile(
    rb"<c\s([^>]*)>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?<v>((?:-|\d{7})[^<]*)"
)
# past 9999-12-31 23:59:59.999 (2958465 in the 1900 system, 2957003 in the 1904 one)
_PAST_LAST_DAY: Final = {False: 2_958_466 - 1e-8, True: 2_957_004 - 1e-8}
# a value padded with spaces: openpyxl reads " 42 " as 42, calamine as text
_PADDED: Final = re.compile(rb"<v>(?:\s|[^<]*\s</v>)")
_STYLE: Final = re.compile(rb"\bs=[\"'](\d+)[\"']")


def _odd_dates(data: bytes, start: int, end: int, dates: frozenset[int], last: float) -> bool:
    """Whether a date-styled cell in data[start:end] holds a number that calamine and openpyxl
    read differently (see `_ODD_NUMBER`)."""
    if _ODD_NUMBER.search(data, start, end) is None:
        return False
    for attributes, number in _NUMBER_CELL.findall(data, start, end):
        style = _STYLE.search(attributes)
        if (int(style.group(1)) if style else 0) not in dates:
            continue
        try:
            value = float(number)
        except ValueError:
            return True
        if not 0 <= value < last:
            return True
    return False


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _scan_workbook(
    target: IO[bytes], name: str, sheet: str | int | None, limits: Limits
) -> tuple[str, _SheetScan]:
    """The chosen worksheet's title and scan, its XML streamed and never held whole; refuses a
    row number past `xlsx_rows` and a missing sheet."""
    import zipfile

    from openpyxl.reader.excel import ExcelReader  # type: ignore[import-untyped]
    from openpyxl.styles.stylesheet import apply_stylesheet  # type: ignore[import-untyped]
    from openpyxl.utils.datetime import WINDOWS_EPOCH  # type: ignore[import-untyped]

    try:
        reader = ExcelReader(target, read_only=True, data_only=True)
        archive: zipfile.ZipFile = reader.archive
        reader.read_manifest()
        reader.read_workbook()
        with warnings.catch_warnings():  # "no stylesheet, using openpyxl's defaults"
            warnings.simplefilter("ignore")
            apply_stylesheet(reader.archive, reader.wb)
        dates = frozenset(reader.wb._date_formats) | frozenset(reader.wb._timedelta_formats)
        last_day = _PAST_LAST_DAY[reader.wb.epoch != WINDOWS_EPOCH]
        found = list(reader.parser.find_sheets())
        parts = {
            sheet_.name: rel.target
            for sheet_, rel in found
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        }
    except ExportError:
        raise
    except Exception:
        raise ExportError(
            f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
        ) from None
    title = _pick_title(list(parts), sheet, name)
    sheets = frozenset(rel.target for _, rel in found)
    carried = sum(info.file_size for info in _carried(archive.infolist(), sheets))
    scan = _SheetScan(parts[title], sheets, carried, archive.getinfo(parts[title]).file_size)
    with archive, archive.open(parts[title]) as stream:
        tail = b""
        last = 0  # the last row number seen
        blank = _BlankTexts()
        skip = None  # where markup may start: past the XML declaration
        for block in itertools.chain(iter(lambda: stream.read(1 << 20), b""), [b"<"]):
            blank.feed(block)
            data = tail + block
            if skip is None:
                declaration = _DECLARATION.match(data)
                skip = declaration.end() if declaration else 0
            else:
                skip = 0
            cut = max(data.rfind(b"<"), 0)  # a tag before the last "<" is complete
            tail = data[cut:]
            tags = _ROW_NUMBER.findall(data, 0, cut)
            scan.stored += len(tags)
            numbers = list(map(int, tags))
            if any(b <= a for a, b in itertools.pairwise([last, *numbers])):
                scan.unusual = True  # a repeated or out-of-order row, which openpyxl skips
            if numbers:
                last = numbers[-1]
            cell_rows = []
            columns = set(_CELL_COLUMN.findall(data, 0, cut))
            if columns:
                widest = max(map(len, columns))
                scan.columns = max(
                    scan.columns, *(_column_number(c) for c in columns if len(c) == widest)
                )
                cell_rows = _CELL_ROW.findall(data, 0, cut)
                numbers.append(max(map(int, cell_rows)))
            if numbers:
                scan.rows = max(scan.rows, *numbers)
                if scan.rows > limits.xlsx_rows:
                    raise ExportError(
                        f"cannot read {name}: the worksheet has more than {limits.xlsx_rows} "
                        f"rows (limit {limits.setting('xlsx_rows')})"
                    )
            if scan.unusual:
                continue
            head = data[:cut]
            scan.unusual = bool(
                head.count(b"<row ") != len(tags)  # a row without r="N" first
                or head.count(b"<c ") != len(cell_rows)  # a cell without r="A1" first
                or _OTHER_TAGS.search(head)
                or _PREFIXED.search(head)
                or _MARKUP.search(head, skip)
                or _TYPES.search(head)
                or _PADDED.search(head)
                or _odd_dates(head, 0, cut, dates, last_day)
                or blank.found
            )
    return title, scan


def _carried(members: list[Any], sheets: frozenset[str]) -> list[Any]:
    """The members of a workbook that each piece carries: its XML parts (the package and
    workbook relationships, the workbook, the styles, the shared strings, ...) but its sheets,
    which calamine does not open until asked for one."""
    return [
        info
        for info in members
        if info.filename not in sheets and info.filename.lower().endswith(_PIECE_PARTS)
    ]


_SHARED_STRING: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")


class _SharedStrings(NamedTuple):
    """What calamine would make of the shared strings: whether one would be trimmed or blank
    (`_BLANK_TEXT`), and a bound on the longest in bytes (calamine copies it into every cell
    using it)."""

    blank: bool = False
    longest: int = 0


_UNKNOWN_STRINGS: Final = _SharedStrings(True, 1 << 62)


def _check_workbook(target: IO[bytes], name: str, limits: Limits) -> _SharedStrings:
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
        # calamine reads xl/sharedStrings.xml whatever the manifest says: one not checked here
        # leaves the workbook to openpyxl
        other = {n.lower() for n in archive.namelist()} & {"xl/sharedstrings.xml"}
        if part is None:
            return _UNKNOWN_STRINGS if other else _SharedStrings()
        count = 0
        tail = b""
        blank = _BlankTexts()
        longest = run = 0  # the longest <si> element in bytes, the one running on
        with archive.open(part) as stream:
            # a final "<" so that the last tag is counted too
            for block in itertools.chain(iter(lambda: stream.read(1 << 20), b""), [b"<"]):
                blank.feed(block)
                data = tail + block
                cut = max(data.rfind(b"<"), 0)  # a tag before the last "<" is complete
                count += len(_SHARED_STRING.findall(data, 0, cut))
                tail = data[cut:]
                lengths = list(map(len, data[:cut].split(b"<si")))  # "<" is never in a text
                lengths[0] += run
                run = lengths[-1] if len(lengths) > 1 else lengths[0]
                longest = max(longest, *lengths)
                if count > limits.xlsx_shared_strings:
                    raise ExportError(
                        f"cannot read {name}: more than {limits.xlsx_shared_strings} shared "
                        f"strings (limit {limits.setting('xlsx_shared_strings')})"
                    )
        if other != {part.lower()}:
            return _UNKNOWN_STRINGS
        return _SharedStrings(blank.found, longest)


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


def _pick_title(titles: list[str], sheet: str | int | None, name: str) -> str:
    if sheet is None:
        if not titles:
            raise ExportError(f"cannot read {name}: the workbook has no worksheets")
        return titles[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(titles):
            raise ExportError(
                f"cannot read {name}: no worksheet number {sheet} (it has {len(titles)})"
            )
        return titles[sheet]
    if sheet in titles:
        return sheet
    shown = ", ".join(_shown(t) for t in titles)
    raise ExportError(f"cannot read {name}: no worksheet named {_shown(sheet)} (found {shown})")


def _pick_sheet(workbook: Any, sheet: str | int | None, name: str) -> Any:
    return workbook[_pick_title([ws.title for ws in workbook.worksheets], sheet, name)]
