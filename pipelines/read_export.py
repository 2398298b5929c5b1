"""Read a donor export (CSV/TSV, XLSX, JSON lines) into all-string DataFrames.

Exports arrive from Classy, Stripe, PayPal and hand-kept spreadsheets in whatever encoding,
delimiter and container the sender's tool produced. This module makes them uniform so the
rest of the pipeline never guesses: every cell is a string or missing, header names are
trimmed, and the index is the 0-based data-record number (`source_row = index + 1`).

Nothing is coerced here: "00123", "NA", "null" and "5000.50" stay exactly as written, because
a reader that guesses types silently corrupts ZIP codes, ids and amounts (in CSV text a bare CR,
the old-Mac line break, is read as LF: see `_ToUtf8`). Anything that makes a
file unreadable as a whole raises `ExportError`, whose message is one line, names the file
(without any URL query string, which may carry a signature) and never contains a cell value.

Entry points: `read_export` (whole file) and `iter_export` (bounded-memory chunks). Both take
local paths, ``s3://`` and ``http(s)://`` URIs (through smart_open), gzip detected by magic bytes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import math
import os
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Final, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import smart_open

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["ExportError", "display_name", "iter_export", "read_export"]

_HEAD_BYTES: Final = 64 * 1024  # how much decoded text the format/delimiter sniffing sees
_BLOCK: Final = 256 * 1024  # read size from the source; matches pandas' own buffer
_DELIMITERS: Final = (",", ";", "\t", "|")
_SNIFF_RECORDS: Final = 200  # records of the head used to score delimiter candidates
_MAX_HEADER_SHOWN: Final = 80

_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_UTF8_BOM: Final = codecs.BOM_UTF8

_ENCODING_LABELS: Final = {
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}

Kind = Literal["csv", "jsonl", "xlsx"]


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes | None: ...


class ExportError(Exception):
    """A file that cannot be processed at all; str(e) is one line, safe to print (no donor data)."""

    def __init__(self, message: str) -> None:
        # Collapse newlines so a log line or a CLI error can never be split or spoofed.
        super().__init__(" ".join(message.split()))


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def read_export(uri: str, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a whole export; same frame as concatenating `iter_export`'s chunks.

    `sheet` picks an XLSX worksheet by name or 0-based position (default: the first one); it is
    ignored for CSV and JSON lines so one config can serve files of either kind.
    """
    frames = list(_frames(uri, None, sheet))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, sort=False)  # pragma: no cover - each reader yields one frame


def iter_export(
    uri: str, *, chunk_rows: int = 100_000, sheet: str | int | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the export in DataFrames of at most `chunk_rows` rows, memory bounded by a chunk.

    The index carries on across chunks (the second chunk starts at `chunk_rows`). A file with a
    header and no data yields one empty frame so the caller still learns the columns. Every
    chunk has the file's columns: for JSON lines, whose keys may first appear anywhere, a first
    streaming pass collects them (the source is read twice; a bad line is refused before the
    first chunk). Errors surface as `ExportError` while iterating.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError("chunk_rows must be a positive integer")
    return _frames(uri, chunk_rows, sheet)


# --------------------------------------------------------------------------------------------
# dispatch and error mapping
# --------------------------------------------------------------------------------------------


def _frames(uri: str, chunk_rows: int | None, sheet: str | int | None) -> Iterator[pd.DataFrame]:
    """Open `uri`, route it to the right reader, and turn every failure into an ExportError."""
    name = display_name(uri)
    try:
        with contextlib.ExitStack() as stack:
            source = _open_source(uri, name, stack)
            if source.kind == "xlsx":
                yield from _xlsx_frames(source, name, chunk_rows, sheet, stack)
            elif source.kind == "jsonl":
                columns = _JsonColumns()
                if chunk_rows is not None:
                    # Every chunk gets the whole file's keys, so a first pass collects them
                    # (streaming, like the reading pass); then the source is opened afresh.
                    columns = _json_columns(source.text_stream(), name)
                    stack.close()
                    source = _open_source(uri, name, stack)
                    if source.kind != "jsonl":
                        raise ExportError(f"cannot read {name}: the file changed while it was read")
                yield from _jsonl_frames(source.text_stream(), name, chunk_rows, columns)
            else:
                yield from _csv_frames(uri, source, name, chunk_rows)
    except ExportError:
        raise
    except (gzip.BadGzipFile, zlib.error, EOFError):
        raise ExportError(f"cannot read {name}: corrupt or truncated gzip data") from None
    except FileNotFoundError:
        raise ExportError(f"cannot read {name}: file not found") from None
    except IsADirectoryError:
        raise ExportError(f"cannot read {name}: it is a directory") from None
    except PermissionError:
        raise ExportError(f"cannot read {name}: permission denied") from None
    except MemoryError:
        raise ExportError(f"cannot read {name}: out of memory; use iter_export") from None
    except Exception as exc:  # network and storage errors: their text may echo signed URLs
        raise ExportError(f"cannot read {name}: {_describe_io_error(exc)}") from None


def _describe_io_error(exc: BaseException) -> str:
    """A one-line reason for a transport failure that never quotes a URL or response body.

    smart_open wraps botocore and requests errors, whose own text can echo presigned URLs, so
    only status codes and S3 error codes found along the exception chain are reported.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        response = getattr(link, "response", None)
        status = getattr(response, "status_code", None)  # requests.HTTPError
        if isinstance(status, int):
            return "not found (HTTP 404)" if status == 404 else f"HTTP error {status}"
        error = response.get("Error") if isinstance(response, dict) else None  # botocore
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and code:
            if code in {"NoSuchKey", "404", "NotFound"}:
                return "not found (S3 NoSuchKey)"
            return f"S3 error {code}"
        link = link.__cause__ or link.__context__
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def display_name(uri: str) -> str:
    """The URI as it may appear in messages: no query string, fragment or user:password@."""
    parts = urlsplit(uri)
    if len(parts.scheme) > 1 and parts.netloc:
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return uri.split("?", 1)[0].split("#", 1)[0]


def _extension(uri: str) -> str:
    """Lower-case file extension of the URI's path, looking through a .gz suffix."""
    path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]
    base = path.rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".gzip"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base.rsplit(".", 1)[-1] if "." in base else ""


def _is_local(uri: str) -> bool:
    scheme = urlsplit(uri).scheme
    return len(scheme) <= 1 or scheme == "file"


def _open_binary(uri: str) -> IO[bytes]:
    """Open any supported URI as raw bytes; compression is handled by magic bytes later."""
    transport: dict[str, Any] = {}
    scheme = urlsplit(uri).scheme.lower()
    if scheme in {"s3", "s3a", "s3n"}:
        import boto3  # type: ignore[import-untyped]

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        transport["client"] = boto3.client("s3", endpoint_url=endpoint or None)
    elif scheme in {"http", "https"}:
        transport["timeout"] = 60.0
    stream: IO[bytes] = smart_open.open(
        uri, "rb", compression="disable", transport_params=transport or None
    )
    return stream


# --------------------------------------------------------------------------------------------
# byte plumbing: replaying sniffed bytes, decoding to UTF-8 in one pass
# --------------------------------------------------------------------------------------------


class _Prefixed(io.RawIOBase):
    """Replays bytes already read for sniffing, then continues with the rest of the stream.

    Lets format, encoding and delimiter detection look at the head without reading twice and
    without needing a seekable source (S3 and HTTP bodies are not).
    """

    def __init__(self, prefix: bytes, rest: _Readable | None) -> None:
        super().__init__()
        self._prefix = prefix
        self._pos = 0
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos < len(self._prefix):
            n = min(len(view), len(self._prefix) - self._pos)
            view[:n] = self._prefix[self._pos : self._pos + n]
            self._pos += n
            return n
        if self._rest is None:
            return 0
        data = self._rest.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)


def _read_head(stream: _Readable, size: int) -> bytes:
    """Read up to `size` bytes, looping because network streams return short reads."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


class _ToUtf8(io.RawIOBase):
    """Decodes the source and emits UTF-8 without bare CRs, all pandas' C parser ever sees.

    With no BOM the encoding is decided at the first non-ASCII byte: valid UTF-8 locks UTF-8,
    anything else switches to Windows-1252. Everything before that byte was ASCII, which both
    encodings read identically, so the decision never needs a second pass over the file. Bytes
    that are invalid in the chosen encoding raise ExportError instead of producing mojibake.
    """

    def __init__(self, source: _Readable, encoding: str | None, name: str) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._mode = "auto" if encoding is None else encoding
        self._decoder = codecs.getincrementaldecoder(encoding or "utf-8")("strict")
        self._out = b""
        self._out_pos = 0
        self._consumed = 0
        self._eof = False
        self._cr = False  # the last block ended in CR, held back until the next byte is known

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while self._out_pos >= len(self._out):
            if self._eof:
                return 0
            data = self._source.read(_BLOCK) or b""
            self._eof = not data
            self._out = self._lf_line_ends(self._convert(data, final=self._eof), self._eof)
            self._out_pos = 0
            self._consumed += len(data)
        n = min(len(view), len(self._out) - self._out_pos)
        view[:n] = self._out[self._out_pos : self._out_pos + n]
        self._out_pos += n
        return n

    def _lf_line_ends(self, out: bytes, final: bool) -> bytes:
        """A bare CR (not part of CRLF) as LF: pandas' C parser drops the leading empty field of
        a record that follows a blank line ended by a bare CR (old-Mac files), shifting its
        values one column left. Record boundaries are unchanged (CR, LF and CRLF all end a line
        for it); a bare CR inside a quoted value becomes LF, as normalize_strings makes it
        anyway. CR is one byte in UTF-8 and never part of another character, so bytes are safe.
        """
        if self._cr:
            out = b"\r" + out
            self._cr = False
        if b"\r" not in out:
            return out
        if not final and out.endswith(b"\r"):
            out, self._cr = out[:-1], True  # a CRLF may be split across two blocks
        if out.count(b"\r") == out.count(b"\r\n"):
            return out  # CRLF files: nothing to do
        return b"\r\n".join(part.replace(b"\r", b"\n") for part in out.split(b"\r\n"))

    def _undecodable(self, exc: UnicodeDecodeError, pending: int, detail: str) -> ExportError:
        offset = max(0, self._consumed - pending + exc.start)
        return ExportError(
            f"cannot decode {self._name} as UTF-8, UTF-16 or Windows-1252 "
            f"({detail} at byte {offset})"
        )

    def _convert(self, data: bytes, final: bool) -> bytes:
        if self._mode == "auto":
            pending = self._decoder.getstate()[0]
            if not pending and data.isascii():
                return data
            try:
                self._decoder.decode(data, final)
            except UnicodeDecodeError as exc:
                if not (pending + data)[: max(0, exc.start)].isascii():
                    raise self._undecodable(
                        exc, len(pending), "invalid UTF-8 after earlier UTF-8 text"
                    ) from None
                # Only ASCII came before, so reading this block as cp1252 is consistent.
                self._mode = "cp1252"
                self._decoder = codecs.getincrementaldecoder("cp1252")("strict")
                return self._transcode(pending + data, final, len(pending))
            tail = self._decoder.getstate()[0]
            combined = pending + data
            out = combined[: len(combined) - len(tail)]
            if not out.isascii():
                self._mode = "utf-8"
            return out
        if self._mode == "utf-8":
            pending = self._decoder.getstate()[0]
            try:
                self._decoder.decode(data, final)
            except UnicodeDecodeError as exc:
                raise self._undecodable(
                    exc, len(pending), "invalid UTF-8 after earlier UTF-8 text"
                ) from None
            tail = self._decoder.getstate()[0]
            combined = pending + data
            return combined[: len(combined) - len(tail)]
        return self._transcode(data, final, 0)

    def _transcode(self, data: bytes, final: bool, pending: int) -> bytes:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            label = _ENCODING_LABELS.get(self._mode, self._mode)
            raise self._undecodable(exc, pending, f"invalid {label} data") from None
        return text.encode("utf-8")


def _sniff_encoding(head: bytes) -> tuple[str | None, int]:
    """(encoding, or None for UTF-8/cp1252 auto-detection; number of BOM bytes to skip)."""
    if head.startswith(_UTF8_BOM):
        return "utf-8", len(_UTF8_BOM)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0  # the utf-16 codec reads the BOM itself to learn the byte order
    sample = head[:4096]
    if len(sample) >= 8:
        # BOM-less UTF-16 of mostly-ASCII text: every other byte is NUL.
        even_nul = sample[0::2].count(0) / len(sample[0::2])
        odd_nul = sample[1::2].count(0) / len(sample[1::2])
        if odd_nul > 0.4 and even_nul < 0.05:
            return "utf-16-le", 0
        if even_nul > 0.4 and odd_nul < 0.05:
            return "utf-16-be", 0
    return None, 0


# --------------------------------------------------------------------------------------------
# opening: container, format and encoding detection
# --------------------------------------------------------------------------------------------


class _Source:
    """An opened export: its kind plus what the matching reader needs."""

    def __init__(
        self,
        kind: Kind,
        *,
        binary: io.RawIOBase | None = None,
        local_path: str | None = None,
        decoded: io.BufferedReader[_Prefixed] | None = None,
        head_text: str = "",
        complete: bool = False,
    ) -> None:
        self.kind = kind
        self.binary = binary  # xlsx: the (decompressed) bytes
        self.local_path = local_path  # xlsx: a seekable local file openpyxl can open directly
        self.decoded = decoded  # csv/jsonl: the whole file re-encoded as UTF-8, BOM removed
        self.head_text = head_text  # csv/jsonl: first ~64 KiB of decoded text, for sniffing
        self.complete = complete  # head_text holds the whole file

    def text_stream(self) -> io.TextIOWrapper:
        """The decoded file as text; newline="" keeps quoted line breaks intact for csv."""
        if self.decoded is None:
            raise ExportError("internal error: no text stream")  # pragma: no cover
        return io.TextIOWrapper(self.decoded, encoding="utf-8", newline="")


def _open_source(uri: str, name: str, stack: contextlib.ExitStack) -> _Source:
    """Open the URI and classify it by magic bytes first, by extension second."""
    raw = stack.enter_context(_open_binary(uri))
    head = _read_head(raw, _HEAD_BYTES)
    stream: io.RawIOBase = _Prefixed(head, raw)
    gzipped = head.startswith(_GZIP_MAGIC)
    if gzipped:
        unzipped = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        head = _read_head(unzipped, _HEAD_BYTES)
        stream = _Prefixed(head, unzipped)
    ext = _extension(uri)

    if head.startswith(_ZIP_MAGIC):
        local = None
        if _is_local(uri) and not gzipped:
            local = urlsplit(uri).path if uri.startswith("file://") else os.path.expanduser(uri)
        return _Source("xlsx", binary=stream, local_path=local)
    if head.startswith(_OLE2_MAGIC) or ext == "xls":
        raise ExportError(
            f"cannot read {name}: legacy .xls workbooks are not supported; save it as .xlsx or CSV"
        )
    if ext in {"xlsx", "xlsm"}:
        raise ExportError(f"cannot read {name}: not an Excel .xlsx workbook (no zip signature)")
    if not head:
        raise ExportError(f"cannot read {name}: the file is empty (no header row)")

    encoding, bom = _sniff_encoding(head)
    _read_head(stream, bom)  # drop a UTF-8 BOM so it can never leak into the first header
    decoder = _ToUtf8(stream, encoding, name)
    decoded_head = _read_head(decoder, _HEAD_BYTES)
    complete = len(decoded_head) < _HEAD_BYTES
    decoded = io.BufferedReader(_Prefixed(decoded_head, decoder), buffer_size=_BLOCK)
    head_text = decoded_head.decode("utf-8", "ignore").lstrip("\ufeff")

    first = head_text.lstrip()[:1]
    if ext == "json" and first == "[":
        raise ExportError(
            f"cannot read {name}: JSON arrays are not supported; export JSON lines instead"
        )
    kind: Kind = "jsonl" if ext in {"jsonl", "ndjson"} or first == "{" else "csv"
    return _Source(kind, decoded=decoded, head_text=head_text, complete=complete)


# --------------------------------------------------------------------------------------------
# shared frame building
# --------------------------------------------------------------------------------------------


# BOMs and control characters other than tab, LF and CR: junk in a header (a NUL inside
# "first_name" would otherwise hide the column from the mapping), as normalize_strings treats it
# in values.
_HEADER_JUNK: Final = dict.fromkeys(
    [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFEFF]
)


def _clean_text(value: object) -> str:
    """Header text without BOMs, control characters or surrounding whitespace ("" if blank)."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text.translate(_HEADER_JUNK).strip()


def _clean_name(value: object, position: int) -> str:
    """A usable column name; blank headers get pandas' positional name "Unnamed: N"."""
    return _clean_text(value) or f"Unnamed: {position}"


def _shown(header: str) -> str:
    """A header as quoted in a message: repr keeps it on one line; long ones are cut."""
    if len(header) > _MAX_HEADER_SHOWN:
        header = header[:_MAX_HEADER_SHOWN] + "..."
    return repr(header)


def _header_names(cells: list[object], name: str) -> list[str]:
    """Cleaned, unique column names; duplicates would make a mapping ambiguous."""
    if not any(_clean_text(cell) for cell in cells):
        raise ExportError(f"cannot read {name}: the header row is blank")
    names = [_clean_name(cell, i) for i, cell in enumerate(cells)]
    repeated = _first_repeat(names)
    if repeated is not None:
        raise ExportError(f"cannot read {name}: duplicate column header {_shown(repeated)}")
    return names


def _first_repeat(items: Iterable[str]) -> str | None:
    """The first item that equals an earlier one, if any."""
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _records_frame(rows: list[list[str | None]], names: list[str], start: int) -> pd.DataFrame:
    """An all-string frame from row lists, indexed by data-record number."""
    columns = {col: pd.array([row[i] for row in rows], dtype="str") for i, col in enumerate(names)}
    index = pd.RangeIndex(start, start + len(rows))
    return pd.DataFrame(columns, index=index, columns=pd.Index(names))


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_frames(
    uri: str, source: _Source, name: str, chunk_rows: int | None
) -> Iterator[pd.DataFrame]:
    """Parse with pandas' C engine, reading the header as data so no row can be misplaced.

    With header=None the header line fixes the expected field count: a longer row anywhere
    raises, where header=0 would instead turn an over-long first row into an index or, with
    index_col=False, silently drop its extra field.
    """
    sep = _sniff_delimiter(source.head_text, complete=source.complete)
    if source.decoded is None:  # pragma: no cover - _open_source always sets it for csv
        raise ExportError(f"cannot read {name}: internal error (no text stream)")
    try:
        reader = pd.read_csv(
            source.decoded,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            engine="c",
            encoding="utf-8",
            quotechar='"',
            doublequote=True,
            skip_blank_lines=True,
            iterator=True,
        )
    except pd.errors.EmptyDataError:
        raise ExportError(f"cannot read {name}: the file is empty (no header row)") from None
    except pd.errors.ParserError as exc:
        raise _parse_failure(uri, name, sep, exc) from None
    with reader:
        try:
            first = reader.read(None if chunk_rows is None else chunk_rows + 1)
        except pd.errors.ParserError as exc:
            raise _parse_failure(uri, name, sep, exc) from None
        names = _header_names(first.iloc[0].tolist(), name)
        data = first.iloc[1:]
        yield _relabel(data, names, 0)
        if chunk_rows is None:
            return
        start = len(data)
        while True:
            try:
                chunk = reader.read(chunk_rows)
            except StopIteration:
                return
            except pd.errors.ParserError as exc:
                raise _parse_failure(uri, name, sep, exc) from None
            if chunk.empty:
                return
            yield _relabel(chunk, names, start)
            start += len(chunk)


def _relabel(frame: pd.DataFrame, names: list[str], start: int) -> pd.DataFrame:
    """Put the cleaned header on a chunk and renumber it from `start` (copy-on-write, cheap)."""
    return frame.set_axis(pd.Index(names), axis=1).set_axis(
        pd.RangeIndex(start, start + len(frame)), axis=0
    )


def _parse_failure(uri: str, name: str, sep: str, exc: Exception) -> ExportError:
    """Turn a C-parser error into a one-line message without cell values."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Expected" in text and "fields" in text:
        record = _find_long_record(uri, sep)
        where = f"record {record}" if record is not None else "a record"
        return ExportError(
            f"cannot read {name}: {where} has more fields than the header "
            "(unquoted delimiter in a value, or a missing header)"
        )
    if "EOF inside string" in text:
        return ExportError(
            f"cannot read {name}: a quoted field is never closed (unbalanced quotes)"
        )
    detail = text.split("C error:", 1)[-1].strip()
    return ExportError(f"cannot read {name}: malformed CSV ({detail})")


def _find_long_record(uri: str, sep: str) -> int | None:
    """1-based data-record number of the first row longer than the header (error path only).

    pandas reports a physical line that counts blank lines and quoted line breaks unevenly, so
    the file is scanned again with the csv module to name the record the caller can find.
    """
    try:
        with contextlib.ExitStack() as stack:
            source = _open_source(uri, display_name(uri), stack)
            width: int | None = None
            number = 0
            reader = csv.reader(source.text_stream(), delimiter=sep, quotechar='"')
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # pandas skips blank and whitespace-only lines
                if width is None:
                    width = len(record)
                    continue
                number += 1
                if len(record) > width:
                    return number
    except (csv.Error, ExportError, OSError, ValueError):
        return None
    return None


def _sniff_delimiter(text: str, *, complete: bool) -> str:
    """Pick comma, semicolon, tab or pipe from the head of the file.

    Each candidate is scored by how the first records parse with it: a header of more than
    one column, no record longer than the header, and the most records as wide as the header.
    csv.Sniffer only breaks ties, because on its own it is easily fooled by delimiters that
    appear inside quoted values.
    """
    if not complete:
        cut = text.rfind("\n")
        if cut > 0:
            text = text[: cut + 1]
    scores = {d: _delimiter_score(text, d, complete=complete) for d in _DELIMITERS}
    best = max(scores.values())
    sample = text[:16384]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed] == best:
        return sniffed
    return next(d for d in _DELIMITERS if scores[d] == best)


def _delimiter_score(text: str, sep: str, *, complete: bool) -> tuple[bool, bool, int, float, int]:
    widths: list[int] = []
    named = False  # the header holds a name, not only blanks and delimiters ("\t" in a TSV)
    try:
        for record in csv.reader(io.StringIO(text), delimiter=sep, quotechar='"'):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if not widths:
                named = any(cell.strip().strip("".join(_DELIMITERS)) for cell in record)
            widths.append(len(record))
            if len(widths) > _SNIFF_RECORDS:
                break
    except csv.Error:
        return (False, False, -sys.maxsize, 0.0, 0)
    if not complete and len(widths) > 1:
        widths.pop()  # the head may end inside a quoted multi-line record
    if not widths:
        return (False, False, 0, 0.0, 0)
    width, body = widths[0], widths[1:]
    longer = sum(n > width for n in body)
    same = sum(n == width for n in body) / len(body) if body else 1.0
    return (width > 1, named, -longer, same, width)


# --------------------------------------------------------------------------------------------
# JSON lines
# --------------------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Verbatim(str):
    """JSON text kept exactly as the file wrote it: a number, NaN or Infinity ("1e309", "-0",
    "1.10"), or a piece of syntax while `_compact_json` writes a nested value back out."""

    __slots__ = ()


def _int_text(text: str) -> _Verbatim:
    """json's parse_int: the digits as written, refused past Python's own int() digit limit
    (as parsing them to an int did) so a runaway number is still an error, not a column."""
    limit = sys.get_int_max_str_digits()
    if limit and len(text) - text.startswith("-") > limit:
        raise ValueError("integer literal too long")
    return _Verbatim(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object hook: a repeated key would otherwise silently keep only the last value."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise _DuplicateKeyError(_first_repeat(key for key, _ in pairs) or "")
    return obj


# One decoder for every line: json.loads with keyword arguments builds a new one per call.
_DECODER: Final = json.JSONDecoder(
    parse_float=_Verbatim,
    parse_int=_int_text,
    parse_constant=_Verbatim,
    object_pairs_hook=_unique_keys,
)


def _compact_json(value: object) -> str:
    """A nested value as compact JSON with its numbers as written (json.dumps would rewrite
    or quote them). Iterative, so nesting as deep as the parser took cannot overflow."""
    parts: list[str] = []
    todo: list[object] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, _Verbatim):
            parts.append(item)
        elif isinstance(item, str):
            parts.append(json.dumps(item, ensure_ascii=False))
        elif item is None:
            parts.append("null")
        elif isinstance(item, bool):
            parts.append("true" if item else "false")
        elif isinstance(item, list):
            pieces: list[object] = [_Verbatim("[")]
            for i, element in enumerate(item):
                pieces.extend([_Verbatim(","), element] if i else [element])
            pieces.append(_Verbatim("]"))
            todo.extend(reversed(pieces))
        elif isinstance(item, dict):
            pieces = [_Verbatim("{")]
            for i, (key, element) in enumerate(item.items()):
                label = json.dumps(key, ensure_ascii=False) + ":"
                pieces.extend([_Verbatim(("," if i else "") + label), element])
            pieces.append(_Verbatim("}"))
            todo.extend(reversed(pieces))
        else:  # pragma: no cover - the decoder yields only the types above
            raise TypeError(type(item).__name__)
    return "".join(parts)


def _json_text(value: object) -> str | None:
    """A JSON value as cell text: numbers keep their written form, nested values stay JSON."""
    if value is None:
        return None
    if isinstance(value, _Verbatim):
        return str(value)  # a plain str, not the marker subclass
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _compact_json(value)


class _JsonColumns:
    """Column names of a JSON lines file in the order their keys are first seen.

    Each key is named once (a blank key's "Unnamed: N" is fixed where it first appears), so a
    first pass over the file and the reading pass name every key alike. Once `complete`, the
    set is the whole file's: a key it lacks means the file changed between the two passes.
    """

    def __init__(self) -> None:
        self.names: dict[str, None] = {}
        self._by_key: dict[str, str] = {}
        self.complete = False
        self.objects = 0
        self._last: tuple[tuple[str, ...], list[str]] = ((), [])

    def of(self, obj: dict[str, Any], lineno: int, name: str) -> list[str]:
        """The column of each key of one line's object, in the object's order (do not modify)."""
        self.objects += 1
        keys = tuple(obj)
        if keys == self._last[0]:  # lines mostly repeat the keys of the line before
            return self._last[1]
        columns: list[str] = []
        for key in obj:
            col = self._by_key.get(key)
            if col is None:
                if self.complete:
                    raise ExportError(f"cannot read {name}: the file changed while it was read")
                col = _clean_name(key, len(self.names))
                self._by_key[key] = col
                self.names.setdefault(col)
            columns.append(col)
        if len(set(columns)) < len(columns):  # two keys that differ only in junk or spaces
            repeated = _first_repeat(columns) or ""
            raise ExportError(
                f"cannot read {name}: line {lineno} repeats the key {_shown(repeated)}"
            )
        self._last = (keys, columns)
        return columns

    def check(self, name: str) -> None:
        """The file-level refusals once every line has been seen."""
        if not self.names:
            if self.objects:
                raise ExportError(f"cannot read {name}: no JSON object has any key (no columns)")
            raise ExportError(f"cannot read {name}: the file is empty (no JSON objects)")


def _json_objects(text: io.TextIOWrapper, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; anything else is an ExportError."""
    for lineno, raw_line in enumerate(text, start=1):
        line = raw_line.strip()
        if not line:
            continue
        try:
            if line.startswith("\ufeff"):  # as json.loads says it; JSONDecoder does not check
                raise json.JSONDecodeError("Unexpected UTF-8 BOM", line, 0)
            obj, end = _DECODER.raw_decode(line)  # what decode() does, less its whitespace
            if end != len(line):  # placed where json.loads places it, past JSON whitespace
                rest = line[end:]
                end += len(rest) - len(rest.lstrip(" \t\n\r"))
                raise json.JSONDecodeError("Extra data", line, end)
        except _DuplicateKeyError as exc:
            raise ExportError(
                f"cannot read {name}: line {lineno} repeats the key {_shown(exc.key)}"
            ) from None
        except json.JSONDecodeError as exc:
            raise ExportError(
                f"cannot read {name}: invalid JSON on line {lineno} ({exc.msg}, column {exc.colno})"
            ) from None
        except (ValueError, RecursionError):  # an int past the digit limit, or nesting too deep
            raise ExportError(
                f"cannot read {name}: invalid JSON on line {lineno} "
                "(a number too long or nesting too deep)"
            ) from None
        if not isinstance(obj, dict):
            raise ExportError(f"cannot read {name}: line {lineno} is not a JSON object")
        yield lineno, obj


def _json_columns(text: io.TextIOWrapper, name: str) -> _JsonColumns:
    """A first pass for chunked reading: the whole file's columns, holding only the keys.

    It checks every line as the reading pass does, so the first bad line is refused here with
    the same message a whole-file read gives.
    """
    columns = _JsonColumns()
    for lineno, obj in _json_objects(text, name):
        columns.of(obj, lineno, name)
    columns.check(name)
    columns.complete = True
    return columns


def _jsonl_frames(
    text: io.TextIOWrapper, name: str, chunk_rows: int | None, columns: _JsonColumns
) -> Iterator[pd.DataFrame]:
    """One object per line; columns are the union of keys in first-seen order (`columns`
    already holds them all when a first pass collected them)."""
    rows: list[dict[str, str | None]] = []
    start = 0

    def frame() -> pd.DataFrame:
        names = list(columns.names)
        lists = [[row.get(col) for col in names] for row in rows]
        return _records_frame(lists, names, start)

    for lineno, obj in _json_objects(text, name):
        keys = columns.of(obj, lineno, name)
        rows.append({col: _json_text(value) for col, value in zip(keys, obj.values(), strict=True)})
        if chunk_rows is not None and len(rows) >= chunk_rows:
            yield frame()
            start += len(rows)
            rows = []
    columns.check(name)
    if rows or start == 0:
        yield frame()


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


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
) -> Iterator[pd.DataFrame]:
    """Stream a worksheet with openpyxl's read-only mode.

    Blank rows between data rows are kept as all-missing records, so `source_row + 1` is the
    Excel row number when the header is on row 1; blank rows after the last data row (often
    just formatting) are dropped.
    """
    import openpyxl  # type: ignore[import-untyped]

    target: IO[bytes]
    if source.local_path is not None:  # a file object: openpyxl would refuse a path not *.xlsx
        target = stack.enter_context(open(source.local_path, "rb"))  # noqa: SIM115
    else:  # zip needs random access: spool remote or gzipped workbooks to a temp file
        spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - stack closes it
        if source.binary is not None:
            shutil.copyfileobj(source.binary, spool, _BLOCK)
        spool.seek(0)
        target = spool
    try:
        workbook = openpyxl.load_workbook(target, read_only=True, data_only=True)
    except Exception:
        raise ExportError(
            f"cannot read {name}: a zip archive but not an Excel .xlsx workbook"
        ) from None
    stack.callback(workbook.close)
    worksheet = _pick_sheet(workbook, sheet, name)
    worksheet.reset_dimensions()  # some writers record a wrong used range; read every row

    rows = worksheet.iter_rows(values_only=True)
    names: list[str] | None = None
    for cells in rows:
        texts = [_cell_text(v) for v in cells]
        if any(t is not None for t in texts):
            while texts and texts[-1] is None:
                texts.pop()
            names = _header_names(list(texts), name)
            break
    if names is None:
        raise ExportError(f"cannot read {name}: the worksheet is empty (no header row)")

    width = len(names)
    batch: list[list[str | None]] = []
    start = 0
    blank = 0  # blank rows seen since the last data row, emitted only if data follows
    number = 0
    for cells in rows:
        texts = [_cell_text(v) for v in cells]
        if all(t is None for t in texts):
            blank += 1
            continue
        empty: list[str | None] = [None] * width
        pending = [empty] * blank + [texts]
        blank = 0
        for cells_text in pending:
            number += 1
            if any(t is not None for t in cells_text[width:]):
                raise ExportError(
                    f"cannot read {name}: record {number} has more cells than the header "
                    "(a value in a column without a header)"
                )
            batch.append((cells_text + empty)[:width])
            if chunk_rows is not None and len(batch) >= chunk_rows:
                yield _records_frame(batch, names, start)
                start += len(batch)
                batch = []
    if batch or start == 0:
        yield _records_frame(batch, names, start)


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
