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
local paths, ``s3://`` (through smart_open) and ``http(s)://`` URIs (`safe_urls.open_http`: no
redirect to another host, no private address), gzip detected by magic bytes.

Files come from many hands, so every size a file can ask for is bounded while it streams
(`limits.Limits`): bytes in, bytes out of gzip and their ratio, columns, JSON keys, record and
value length, worksheet rows and shared strings. Past a limit the file is refused with one line
naming the setting that raises it; a chunk holds at most `_CHUNK_CELLS` cells however wide the
file is, so memory stays bounded by the chunk.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gzip
import io
import itertools
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Final, Literal, Protocol
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import smart_open

from pipelines.read.limits import RATIO_FLOOR_BYTES, Limits, human_bytes
from pipelines.staging.safe_urls import SourcePolicy, SourceRefused, open_http, safe_url

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "ByteSource",
    "ExportError",
    "display_name",
    "iter_export",
    "open_source_bytes",
    "read_export",
]

_HEAD_BYTES: Final = 64 * 1024  # how much decoded text the format/delimiter sniffing sees
_BLOCK: Final = 256 * 1024  # read size from the source; matches pandas' own buffer
_DELIMITERS: Final = (",", ";", "\t", "|")
_SNIFF_RECORDS: Final = 200  # records of the head used to score delimiter candidates
_MAX_HEADER_SHOWN: Final = 80
_CHUNK_CELLS: Final = 5_000_000  # rows x columns of one chunk: a wide file gets shorter chunks

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


class ByteSource(Protocol):
    """What `open_source_bytes` yields: `read(size)` until it returns b""."""

    def read(self, size: int = -1, /) -> bytes: ...


class ExportError(Exception):
    """A file that cannot be processed at all; str(e) is one line, safe to print (no donor data)."""

    def __init__(self, message: str) -> None:
        # Collapse newlines so a log line or a CLI error can never be split or spoofed.
        super().__init__(" ".join(message.split()))


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def read_export(
    uri: str, *, sheet: str | int | None = None, limits: Limits | None = None
) -> pd.DataFrame:
    """Read a whole export; same frame as concatenating `iter_export`'s chunks.

    `sheet` picks an XLSX worksheet by name or 0-based position (default: the first one); it is
    ignored for CSV and JSON lines so one config can serve files of either kind. `limits`
    default to `Limits.from_env()`.
    """
    frames = list(_frames(uri, None, sheet, limits or Limits.from_env()))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, sort=False)  # pragma: no cover - each reader yields one frame


def iter_export(
    uri: str,
    *,
    chunk_rows: int = 100_000,
    sheet: str | int | None = None,
    limits: Limits | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the export in DataFrames of at most `chunk_rows` rows, memory bounded by a chunk.

    The index carries on across chunks (the second chunk starts at `chunk_rows`). A file with a
    header and no data yields one empty frame so the caller still learns the columns. Every
    chunk has the file's columns: for JSON lines, whose keys may first appear anywhere, a first
    streaming pass collects them (the source is read twice; a bad line is refused before the
    first chunk). A file wider than `_CHUNK_CELLS / chunk_rows` columns comes in shorter chunks.
    Errors surface as `ExportError` while iterating.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError("chunk_rows must be a positive integer")
    return _frames(uri, chunk_rows, sheet, limits or Limits.from_env())


@contextlib.contextmanager
def open_source_bytes(uri: str, *, limits: Limits | None = None) -> Iterator[ByteSource]:
    """The source's bytes as stored (no gunzip), through the reader's own checks: a regular
    local file, the input limit, http(s) without private addresses or foreign redirects.

    For anything else that reads a source (hashing it for the ledger): `read(size)` until b"".
    Failures raise ExportError with a one-line message that never shows a URL's credentials.
    """
    limits = limits or Limits.from_env()
    name = display_name(uri)
    with _export_errors(name), _open_binary(uri, name, limits) as raw:
        yield _Counted(raw, name, limits)


@contextlib.contextmanager
def _export_errors(name: str) -> Iterator[None]:
    """Any failure to open or read a source as one ExportError line that names the source."""
    try:
        yield
    except ExportError:
        raise
    except SourceRefused as refused:
        raise ExportError(f"cannot read {name}: {refused}") from None
    except FileNotFoundError:
        raise ExportError(f"cannot read {name}: file not found") from None
    except IsADirectoryError:
        raise ExportError(f"cannot read {name}: it is a directory") from None
    except PermissionError:
        raise ExportError(f"cannot read {name}: permission denied") from None
    except Exception as exc:  # network and storage errors: their text may echo signed URLs
        raise ExportError(f"cannot read {name}: {_describe_io_error(exc)}") from None


# --------------------------------------------------------------------------------------------
# dispatch and error mapping
# --------------------------------------------------------------------------------------------


def _rows_per_chunk(chunk_rows: int | None, width: int) -> int | None:
    """`chunk_rows`, fewer for a wide file, so a chunk never holds more than _CHUNK_CELLS."""
    if chunk_rows is None:
        return None
    return max(1, min(chunk_rows, _CHUNK_CELLS // max(width, 1)))


def _frames(
    uri: str, chunk_rows: int | None, sheet: str | int | None, limits: Limits
) -> Iterator[pd.DataFrame]:
    """Open `uri`, route it to the right reader, and turn every failure into an ExportError."""
    name = display_name(uri)
    with _export_errors(name):
        try:
            with contextlib.ExitStack() as stack:
                source = _open_source(uri, name, stack, limits)
                if source.kind == "xlsx":
                    yield from _xlsx_frames(source, name, chunk_rows, sheet, stack, limits)
                elif source.kind == "jsonl":
                    columns = _JsonColumns(limits)
                    if chunk_rows is not None:
                        # Every chunk gets the whole file's keys, so a first pass collects them
                        # (streaming, like the reading pass); then the source is opened afresh.
                        columns = _json_columns(source.text_stream(), name, limits)
                        stack.close()
                        source = _open_source(uri, name, stack, limits)
                        if source.kind != "jsonl":
                            raise ExportError(
                                f"cannot read {name}: the file changed while it was read"
                            )
                    yield from _jsonl_frames(source.text_stream(), name, chunk_rows, columns)
                else:
                    yield from _csv_frames(uri, source, name, chunk_rows, limits)
        except (gzip.BadGzipFile, zlib.error, EOFError):
            raise ExportError(f"cannot read {name}: corrupt or truncated gzip data") from None
        except MemoryError:
            raise ExportError(f"cannot read {name}: out of memory; use iter_export") from None


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
    return safe_url(uri)


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


def _local_path(uri: str) -> str:
    return urlsplit(uri).path if uri.startswith("file://") else os.path.expanduser(uri)


def _open_binary(uri: str, name: str, limits: Limits) -> IO[bytes]:
    """Open any supported URI as raw bytes; compression is handled by magic bytes later.

    A local file must be a regular file (not a FIFO or a device, which never end) within the
    input limit; http(s) goes through `open_http`'s redirect and address checks.
    """
    scheme = urlsplit(uri).scheme.lower()
    if _is_local(uri):
        info = os.stat(_local_path(uri))  # FileNotFoundError etc. are reported by _frames
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(uri)
        if not stat.S_ISREG(info.st_mode):
            raise ExportError(f"cannot read {name}: not a regular file (a device, FIFO or socket)")
        _check_input_size(info.st_size, name, limits)
    if scheme in {"http", "https"}:
        return open_http(uri, timeout=60.0, policy=SourcePolicy.from_env())
    transport: dict[str, Any] = {}
    if scheme in {"s3", "s3a", "s3n"}:
        import boto3  # type: ignore[import-untyped]

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        transport["client"] = boto3.client("s3", endpoint_url=endpoint or None)
    stream: IO[bytes] = smart_open.open(
        uri, "rb", compression="disable", transport_params=transport or None
    )
    return stream


def _check_input_size(size: int, name: str, limits: Limits) -> None:
    if size > limits.input_bytes:
        raise ExportError(
            f"cannot read {name}: the file is larger than {human_bytes(limits.input_bytes)} "
            f"(limit {limits.setting('input_bytes')})"
        )


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
            if self._pos == len(self._prefix):  # replayed: let a large read-ahead go
                self._prefix, self._pos = b"", 0
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


class _Counted:
    """The source's bytes as stored, refused once more than the input limit has been read."""

    def __init__(self, raw: _Readable, name: str, limits: Limits) -> None:
        self._raw = raw
        self._name = name
        self._limits = limits
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size) or b""
        self.count += len(data)
        if self.count > self._limits.input_bytes:
            _check_input_size(self.count, self._name, self._limits)
        return data


class _Inflated:
    """gzip output, refused past the decompressed limit or, once past RATIO_FLOOR_BYTES, past the
    compression ratio: a bomb stops after a few tens of megabytes, not gigabytes."""

    def __init__(self, unzipped: _Readable, compressed: _Counted, name: str, limits: Limits):
        self._unzipped = unzipped
        self._compressed = compressed
        self._name = name
        self._limits = limits
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._unzipped.read(size) or b""
        self.count += len(data)
        _check_inflation(self.count, self._compressed.count, self._name, self._limits)
        return data


def _check_inflation(out: int, compressed: int, name: str, limits: Limits) -> None:
    _check_decompressed(out, name, limits)
    _check_ratio(out, compressed, name, limits)


def _check_decompressed(out: int, name: str, limits: Limits) -> None:
    if out > limits.decompressed_bytes:
        raise ExportError(
            f"cannot read {name}: it decompresses to more than "
            f"{human_bytes(limits.decompressed_bytes)} "
            f"(limit {limits.setting('decompressed_bytes')})"
        )


def _check_ratio(out: int, compressed: int, name: str, limits: Limits) -> None:
    if out > RATIO_FLOOR_BYTES and out > limits.compression_ratio * max(compressed, 1):
        raise ExportError(
            f"cannot read {name}: it decompresses more than {limits.compression_ratio} times "
            f"over (a compression bomb?; limit {limits.setting('compression_ratio')})"
        )


_QUOTE_BYTE: Final = ord('"')
_LF: Final = ord("\n")
_CR: Final = ord("\r")
_GAP_SEARCHES: Final = 64  # quoted values searched past for a line break before going exact


class _Scanned(io.RawIOBase):
    """UTF-8 text on its way to the parser, measured as it passes, so that a record, a value or
    a header too long for the limits is refused before the parser buffers it.

    For CSV (`sep` set once sniffed) quoting is followed as pandas' C parser reads it: a quote
    opens a value only at the start of a field, `""` inside one is a quote, and a quote anywhere
    else is a plain character. Most blocks cost a few C-speed `find` calls; the exact numpy
    measurement runs only when a record or value might have reached its limit, and on the
    header. Without `sep` (JSON lines) only line lengths are measured.
    """

    def __init__(self, source: _Readable, name: str, limits: Limits) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._limits = limits
        self.sep: int | None = None
        self._pos = 0  # absolute offset of the next byte
        self._record = 0  # where the current record starts
        self._field = 0  # where the current field starts
        self._prev = _LF  # the byte before the next one; the file starts as after a line break
        self._in_quote = False
        self._quote_start = 0  # where the open quoted value started ("" pairs merged)
        self._last_close = -2  # the last closing quote
        self._closed_start = 0  # where the value that quote closed started
        self._header_open = True
        self._header_from: int | None = None  # the header's first byte (blank lines skipped)
        self._header_fields = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        if not data:
            return 0
        if self.sep is None:
            self._scan_lines(data)
        else:
            self._scan_csv(data, self.sep)
        self._pos += len(data)
        self._prev = data[-1]
        view[: len(data)] = data
        return len(data)

    # -- refusals ------------------------------------------------------------------------------

    def _too_long_record(self, start: int) -> ExportError:
        limit = self._limits.line_bytes
        what = "record" if self.sep is not None else "line"
        return ExportError(
            f"cannot read {self._name}: a {what} longer than {human_bytes(limit)} "
            f"(from byte {start}; limit {self._limits.setting('line_bytes')})"
        )

    def _too_long_field(self, start: int) -> ExportError:
        return ExportError(
            f"cannot read {self._name}: a value longer than "
            f"{human_bytes(self._limits.field_bytes)} (from byte {start}; "
            f"limit {self._limits.setting('field_bytes')})"
        )

    # -- JSON lines: lines only ----------------------------------------------------------------

    def _scan_lines(self, data: bytes) -> None:
        start, end = self._pos, self._pos + len(data)
        if end - self._record > self._limits.line_bytes:
            breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _LF) + start
            starts = np.concatenate(([self._record], breaks + 1))
            lengths = np.append(breaks - starts[:-1], end - starts[-1])
            worst = int(np.argmax(lengths))
            if lengths[worst] > self._limits.line_bytes:
                raise self._too_long_record(int(starts[worst]))
        last = data.rfind(b"\n")
        if last >= 0:
            self._record = start + last + 1

    # -- CSV -----------------------------------------------------------------------------------

    def _scan_csv(self, data: bytes, sep: int) -> None:
        end = self._pos + len(data)
        opens, closes = self._quoted(data, sep)
        if (
            self._header_open
            or end - self._record > self._limits.line_bytes
            or end - self._field > self._limits.field_bytes
            or not self._cheap_update(data, opens, closes, sep)
        ):
            self._exact(data, sep, opens, closes)

    def _quoted(self, data: bytes, sep: int) -> tuple[np.ndarray, np.ndarray]:
        """The block's quoted stretches as (opening, closing) absolute offsets, the one open at
        the end (or carried in) included with no closing offset; updates the quoting state."""
        start = self._pos
        if b'"' not in data:
            if self._in_quote:
                return np.array([self._quote_start], dtype=np.int64), np.empty(0, dtype=np.int64)
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        arr = np.frombuffer(data, dtype=np.uint8)
        quotes = np.flatnonzero(arr == _QUOTE_BYTE).astype(np.int64)
        carried = self._in_quote
        openers = quotes[1::2] if carried else quotes[0::2]
        closers = quotes[0::2] if carried else quotes[1::2]
        before = arr[np.maximum(openers - 1, 0)].astype(np.int64)
        before[openers == 0] = self._prev
        # `""` inside a value reads as a closing quote and an opening one right after it.
        doubled = (before == _QUOTE_BYTE) & (openers > 0)
        if openers.size and openers[0] == 0 and self._prev == _QUOTE_BYTE:
            doubled[0] = self._last_close == start - 1
        valid = doubled | (before == sep) | (before == _LF) | (before == _CR)
        if not valid.all():
            return self._quoted_exact(data, quotes, sep)
        opens = openers + start
        closes = closers + start
        if carried:
            opens = np.concatenate(([self._quote_start], opens))
        # merged starts: an opening quote right after a closing one continues that value
        firsts = opens.copy()
        continued = np.zeros(opens.size, dtype=bool)
        continued[1:] = opens[1:] == closes[: opens.size - 1] + 1
        if opens.size and not carried and opens[0] == self._last_close + 1:
            firsts[0] = self._closed_start
        runs = np.maximum.accumulate(np.where(continued, 0, np.arange(opens.size)))
        merged = firsts[runs]
        if closes.size:
            self._last_close = int(closes[-1])
            self._closed_start = int(merged[closes.size - 1])
        self._in_quote = opens.size > closes.size
        if self._in_quote:
            self._quote_start = int(merged[-1])
        return opens, closes

    def _quoted_exact(
        self, data: bytes, quotes: np.ndarray, sep: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """`_quoted` quote by quote, for a block with a quote that opens nothing."""
        start = self._pos
        opens: list[int] = [self._quote_start] if self._in_quote else []
        closes: list[int] = []
        for offset in quotes.tolist():
            at = start + offset
            if self._in_quote:
                closes.append(at)
                self._in_quote = False
                self._last_close, self._closed_start = at, self._quote_start
                continue
            before = data[offset - 1] if offset else self._prev
            if before == _QUOTE_BYTE and at - 1 == self._last_close:
                opens.append(at)
                self._in_quote, self._quote_start = True, self._closed_start
            elif before in (sep, _LF, _CR):
                opens.append(at)
                self._in_quote, self._quote_start = True, at
        return np.array(opens, dtype=np.int64), np.array(closes, dtype=np.int64)

    def _cheap_update(self, data: bytes, opens: np.ndarray, closes: np.ndarray, sep: int) -> bool:
        """Move the record and field starts with `rfind`; False when that needs the exact pass."""
        start = self._pos
        if self._in_quote:
            self._field = self._quote_start
        else:
            after = int(closes[-1]) - start + 1 if closes.size else 0
            last = max(data.rfind(bytes((sep,)), after), data.rfind(b"\n", after))
            if last >= 0:
                self._field = start + last + 1
            elif closes.size:
                self._field = self._closed_start
        # the last line break outside quotes: search the gaps between quoted stretches
        high = len(data) if not self._in_quote else int(opens[-1]) - start
        for index in range(closes.size - 1, closes.size - 1 - _GAP_SEARCHES, -1):
            if high <= 0:
                return True
            low = int(closes[index]) - start + 1 if index >= 0 else 0
            found = data.rfind(b"\n", max(low, 0), high)
            if found >= 0:
                self._record = start + found + 1
                return True
            if index < 0:
                return True
            high = int(opens[index]) - start
        return False

    def _count_header(self, arr: np.ndarray, breaks: np.ndarray, bounds: np.ndarray) -> None:
        """Count the header's fields; like pandas, blank lines before it are skipped."""
        if self._header_from is None:
            content = np.flatnonzero((arr != 32) & (arr != 9) & (arr != _CR) & (arr != _LF))
            if not content.size:
                return
            self._header_from = self._pos + int(content[0])
        after = breaks[breaks >= self._header_from]
        header_end = int(after[0]) if after.size else self._pos + len(arr)
        inside = (bounds >= self._header_from) & (bounds < header_end)
        self._header_fields += int(np.count_nonzero(inside))
        if self._header_fields > self._limits.columns:
            raise ExportError(
                f"cannot read {self._name}: the header has more than "
                f"{self._limits.columns} columns (limit {self._limits.setting('columns')})"
            )
        self._header_open = not after.size

    def _exact(self, data: bytes, sep: int, opens: np.ndarray, closes: np.ndarray) -> None:
        """Every record and field of the block measured; the header's fields counted."""
        start, end = self._pos, self._pos + len(data)
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = closes if closes.size == opens.size else np.append(closes, np.iinfo(np.int64).max)

        def outside(found: np.ndarray) -> np.ndarray:
            at = found.astype(np.int64) + start
            if not opens.size:
                return at
            index = np.searchsorted(opens, at, side="right") - 1
            inside = (index >= 0) & (at < ends[np.maximum(index, 0)])
            return at[~inside]

        breaks = outside(np.flatnonzero(arr == _LF))
        bounds = outside(np.flatnonzero((arr == sep) | (arr == _LF)))
        if self._header_open:
            self._count_header(arr, breaks, bounds)
        for marks, limit, first, refusal in (
            (breaks, self._limits.line_bytes, self._record, self._too_long_record),
            (bounds, self._limits.field_bytes, self._field, self._too_long_field),
        ):
            starts = np.concatenate(([first], marks + 1))
            lengths = np.append(marks - starts[:-1], end - starts[-1])
            worst = int(np.argmax(lengths))
            if lengths[worst] > limit:
                raise refusal(int(starts[worst]))
        self._record = int(breaks[-1]) + 1 if breaks.size else self._record
        self._field = int(bounds[-1]) + 1 if bounds.size else self._field


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
        decoded: io.BufferedReader[_Scanned] | None = None,
        head_text: str = "",
        complete: bool = False,
    ) -> None:
        self.kind = kind
        self.binary = binary  # xlsx: the (decompressed) bytes
        self.local_path = local_path  # xlsx: a seekable local file openpyxl can open directly
        self.decoded = decoded  # csv/jsonl: the whole file re-encoded as UTF-8, BOM removed
        self.head_text = head_text  # csv/jsonl: first ~64 KiB of decoded text, for sniffing
        self.complete = complete  # head_text holds the whole file
        self.scanner = decoded.raw if decoded is not None else None  # measures what is parsed

    def text_stream(self) -> io.TextIOWrapper:
        """The decoded file as text; newline="" keeps quoted line breaks intact for csv."""
        if self.decoded is None:
            raise ExportError("internal error: no text stream")  # pragma: no cover
        return io.TextIOWrapper(self.decoded, encoding="utf-8", newline="")


def _open_source(uri: str, name: str, stack: contextlib.ExitStack, limits: Limits) -> _Source:
    """Open the URI and classify it by magic bytes first, by extension second.

    Bytes in and, for gzip, bytes out are counted against the limits as they stream.
    """
    raw = _Counted(stack.enter_context(_open_binary(uri, name, limits)), name, limits)
    head = _read_head(raw, _HEAD_BYTES)
    stream: io.RawIOBase = _Prefixed(head, raw)
    gzipped = head.startswith(_GZIP_MAGIC)
    if gzipped:
        gz = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        unzipped = _Inflated(gz, raw, name, limits)
        # Inflate up to where the ratio is judged before parsing anything: a bomb is refused
        # here, not after the rows before that point went through validation.
        head = _read_head(unzipped, RATIO_FLOOR_BYTES + 1)
        stream = _Prefixed(head, unzipped)
    ext = _extension(uri)

    if head.startswith(_ZIP_MAGIC):
        local = _local_path(uri) if _is_local(uri) and not gzipped else None
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
    scanner = _Scanned(_Prefixed(decoded_head, decoder), name, limits)
    decoded = io.BufferedReader(scanner, buffer_size=_BLOCK)
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
    uri: str, source: _Source, name: str, chunk_rows: int | None, limits: Limits
) -> Iterator[pd.DataFrame]:
    """Parse with pandas' C engine, reading the header as data so no row can be misplaced.

    With header=None the header line fixes the expected field count: a longer row anywhere
    raises, where header=0 would instead turn an over-long first row into an index or, with
    index_col=False, silently drop its extra field. The scanner under the parser refuses a
    header, record or value past the limits before pandas buffers it.
    """
    sep = _sniff_delimiter(source.head_text, complete=source.complete)
    if source.decoded is None or source.scanner is None:  # pragma: no cover - set for csv
        raise ExportError(f"cannot read {name}: internal error (no text stream)")
    source.scanner.sep = ord(sep)
    width = _head_width(source, sep, limits)
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
        raise _parse_failure(uri, name, sep, exc, limits) from None
    with reader:
        rows = _rows_per_chunk(chunk_rows, width)
        try:
            first = reader.read(None if rows is None else rows + 1)
        except pd.errors.ParserError as exc:
            raise _parse_failure(uri, name, sep, exc, limits) from None
        names = _header_names(first.iloc[0].tolist(), name)
        data = first.iloc[1:]
        yield _relabel(data, names, 0)
        if chunk_rows is None:
            return
        start = len(data)
        rows = _rows_per_chunk(chunk_rows, len(names))
        while True:
            try:
                chunk = reader.read(rows)
            except StopIteration:
                return
            except pd.errors.ParserError as exc:
                raise _parse_failure(uri, name, sep, exc, limits) from None
            if chunk.empty:
                return
            yield _relabel(chunk, names, start)
            start += len(chunk)


def _head_width(source: _Source, sep: str, limits: Limits) -> int:
    """The header's width when the sniffed head holds all of it, else the most allowed."""
    text = source.head_text
    try:
        for record in csv.reader(io.StringIO(text), delimiter=sep, quotechar='"'):
            if record and any(cell.strip() for cell in record):
                whole = source.complete or "\n" in text.lstrip()
                return min(len(record), limits.columns) if whole else limits.columns
    except csv.Error:
        pass
    return limits.columns


def _relabel(frame: pd.DataFrame, names: list[str], start: int) -> pd.DataFrame:
    """Put the cleaned header on a chunk and renumber it from `start` (copy-on-write, cheap)."""
    return frame.set_axis(pd.Index(names), axis=1).set_axis(
        pd.RangeIndex(start, start + len(frame)), axis=0
    )


def _parse_failure(uri: str, name: str, sep: str, exc: Exception, limits: Limits) -> ExportError:
    """Turn a C-parser error into a one-line message without cell values."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Expected" in text and "fields" in text:
        record = _find_long_record(uri, sep, limits)
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


def _find_long_record(uri: str, sep: str, limits: Limits) -> int | None:
    """1-based data-record number of the first row longer than the header (error path only).

    pandas reports a physical line that counts blank lines and quoted line breaks unevenly, so
    the file is scanned again with the csv module to name the record the caller can find.
    """
    try:
        with contextlib.ExitStack() as stack:
            source = _open_source(uri, display_name(uri), stack, limits)
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

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
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
                if len(self._by_key) >= self.limits.json_keys:
                    raise ExportError(
                        f"cannot read {name}: more than {self.limits.json_keys} distinct keys "
                        f"(line {lineno}; limit {self.limits.setting('json_keys')})"
                    )
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


def _json_objects(
    text: io.TextIOWrapper, name: str, limits: Limits
) -> Iterator[tuple[int, dict[str, Any]]]:
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
        if len(line) > limits.field_bytes:  # only a line this long can hold a value this long
            _check_json_values(obj, lineno, name, limits)
        yield lineno, obj


def _check_json_values(obj: dict[str, Any], lineno: int, name: str, limits: Limits) -> None:
    for value in obj.values():
        text = _json_text(value)
        if text is not None and len(text.encode()) > limits.field_bytes:
            raise ExportError(
                f"cannot read {name}: a value longer than {human_bytes(limits.field_bytes)} "
                f"(line {lineno}; limit {limits.setting('field_bytes')})"
            )


def _json_columns(text: io.TextIOWrapper, name: str, limits: Limits) -> _JsonColumns:
    """A first pass for chunked reading: the whole file's columns, holding only the keys.

    It checks every line as the reading pass does, so the first bad line is refused here with
    the same message a whole-file read gives.
    """
    columns = _JsonColumns(limits)
    for lineno, obj in _json_objects(text, name, limits):
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

    per_chunk = _rows_per_chunk(chunk_rows, len(columns.names))
    for lineno, obj in _json_objects(text, name, columns.limits):
        keys = columns.of(obj, lineno, name)
        rows.append({col: _json_text(value) for col, value in zip(keys, obj.values(), strict=True)})
        if per_chunk is not None and len(rows) >= per_chunk:
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
