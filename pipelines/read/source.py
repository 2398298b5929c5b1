"""Open an export's bytes and tell what it is: CSV, JSON lines or an XLSX workbook.

Sources are local paths, ``s3://`` (through smart_open) and ``http(s)://`` URIs
(`safe_urls.open_http`: no redirect to another host, no private address). gzip is detected by
magic bytes, the format by magic bytes first and extension second, the encoding from the head;
the head is replayed rather than read again, because S3 and HTTP bodies cannot seek, and text
reaches the parsers as UTF-8 decoded in one pass (`_ToUtf8`).

Files come from many hands, so every size a file can ask for is bounded while it streams
(`limits.Limits`): bytes in, bytes out of gzip and their ratio, header columns, record and value
length. Past a limit the file is refused with one line naming the setting that raises it.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import os
import stat
from typing import IO, TYPE_CHECKING, Any, Final, Literal, Protocol
from urllib.parse import urlsplit

import numpy as np

from pipelines.read.errors import ExportError
from pipelines.read.limits import RATIO_FLOOR_BYTES, Limits, human_bytes
from pipelines.staging.safe_urls import SourcePolicy, open_http

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_HEAD_BYTES: Final = 64 * 1024  # how much decoded text the format/delimiter sniffing sees
_BLOCK: Final = 256 * 1024  # read size from the source; matches pandas' own buffer

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


# --------------------------------------------------------------------------------------------
# opening the bytes: local, S3 or http(s), within the input limit
# --------------------------------------------------------------------------------------------


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
        return open(_local_path(uri), "rb")  # the caller's ExitStack closes it
    if scheme in {"http", "https"}:
        return open_http(uri, timeout=60.0, policy=SourcePolicy.from_env())
    transport: dict[str, Any] = {}
    if scheme in {"s3", "s3a", "s3n"}:
        import boto3  # type: ignore[import-untyped]

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        transport["client"] = boto3.client("s3", endpoint_url=endpoint or None)
    import smart_open  # not for local files: it imports boto3 and requests (~0.1 s)

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
# byte plumbing: replaying sniffed bytes, counting, decoding to UTF-8 in one pass
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
    """The source's bytes as stored, refused once more than the input limit has been read.

    `count` is also what progress reports as bytes read, against `total` (the stored size,
    when `_stored_size` can tell it).
    """

    def __init__(self, raw: _Readable, name: str, limits: Limits) -> None:
        self._raw = raw
        self._name = name
        self._limits = limits
        self.count = 0
        self.total: int | None = None

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size) or b""
        self.count += len(data)
        if self.count > self._limits.input_bytes:
            _check_input_size(self.count, self._name, self._limits)
        return data


def _stored_size(uri: str, stream: object) -> int | None:
    """The source's size as stored, when known without another request: a local file's size,
    an S3 object's ContentLength (smart_open learns it on the first read), an http response's
    Content-Length unless a content coding makes it count other bytes than those read."""
    if _is_local(uri):
        try:
            return os.stat(_local_path(uri)).st_size
        except OSError:  # pragma: no cover - it was opened a moment ago
            return None
    length = getattr(getattr(stream, "_raw_reader", None), "_content_length", None)
    if isinstance(length, int):  # smart_open's S3 Reader (a private attribute: best effort)
        return length
    headers = getattr(stream, "headers", None)  # urllib3's response (open_http)
    if headers is not None and not headers.get("content-encoding"):
        value = str(headers.get("content-length") or "")
        return int(value) if value.isdigit() else None
    return None


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

    For CSV (`sep` set once sniffed) quoting is followed as pandas' C parser (and pyarrow's)
    reads it: a quote opens a value only at the start of a field, `""` inside one is a quote, and
    a quote anywhere else is a plain character. `record_start` tells `csv_blocks` where it may
    cut the text between records. Most blocks cost a few C-speed `find` calls; the exact numpy
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
        self.header_end: int | None = None  # just past the header's line break, once read

    # -- where the parser may cut: read by csv_blocks --------------------------------------------

    @property
    def record_start(self) -> int:
        """Where the record in progress starts: every byte before it ends a whole record."""
        return self._record

    @property
    def header_fields(self) -> int:
        return self._header_fields

    @property
    def in_quote(self) -> bool:
        """A quoted value is open (at the end of the file: it is never closed)."""
        return self._in_quote

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
        if after.size:
            self.header_end = int(after[0]) + 1

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
    """Decodes the source and emits UTF-8 without bare CRs, all the CSV parsers ever see.

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
        counted: _Counted | None = None,
    ) -> None:
        self.kind = kind
        self.counted = counted  # the bytes as stored, as counted: what progress reports
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


def _extension(uri: str) -> str:
    """Lower-case file extension of the URI's path, looking through a .gz suffix."""
    path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]
    base = path.rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".gzip"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base.rsplit(".", 1)[-1] if "." in base else ""


def _open_source(uri: str, name: str, stack: contextlib.ExitStack, limits: Limits) -> _Source:
    """Open the URI and classify it by magic bytes first, by extension second.

    Bytes in and, for gzip, bytes out are counted against the limits as they stream.
    """
    binary = stack.enter_context(_open_binary(uri, name, limits))
    raw = _Counted(binary, name, limits)
    head = _read_head(raw, _HEAD_BYTES)
    raw.total = _stored_size(uri, binary)  # after a first read: smart_open knows it by then
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
        return _Source("xlsx", binary=stream, local_path=local, counted=raw)
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
    return _Source(kind, decoded=decoded, head_text=head_text, complete=complete, counted=raw)
