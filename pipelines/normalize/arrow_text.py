"""Text columns as Arrow string arrays, and questions about every value asked of their bytes.

A pandas "str" column keeps its values in Arrow buffers: the values' UTF-8 bytes one after the
other, and where each value starts. Whether any value holds a control character, or which values
may start or end with whitespace, is then a few numpy passes over bytes, where asking each value
in Python costs 50-100 ns a value and first turns every value into a Python string. The screens
here err towards suspicion; the few suspects get the exact answer from Python's str methods, so
nothing depends on Arrow and Python agreeing about Unicode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

# UTF-8 of the characters `core.clean_distinct` drops or changes: U+0000-0008 and U+000B-001F
# (\r included: it becomes \n) and U+007F are bytes of their own; U+0080-009F are C2 80-C2 9F;
# the BOM U+FEFF is EF BB BF. No other character's UTF-8 holds a byte below 0x20 or 0x7F.
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x09), *range(0x0B, 0x20), 0x7F]] = True
# First and last bytes of the UTF-8 of every character str.strip removes (str.isspace).
_SPACES = [  # the characters whose str.isspace() is True (Unicode 14 and 15 alike)
    c.encode()
    for c in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
    "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
]
_SPACE_FIRST = np.zeros(256, dtype=bool)
_SPACE_FIRST[[space[0] for space in _SPACES]] = True
_SPACE_LAST = np.zeros(256, dtype=bool)
_SPACE_LAST[[space[-1] for space in _SPACES]] = True
_OFFSETS = {pa.string(): np.int32, pa.large_string(): np.int64}


def arrow_text(values: pd.Series) -> pa.Array | None:
    """An Arrow-backed text Series ("str" with pyarrow storage) as one string array; None for
    any other Series (object, numbers, Python-backed strings)."""
    dtype = values.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    data = values.array.__arrow_array__()  # the Arrow protocol: the Series' own buffers
    if data.type not in _OFFSETS:
        data = data.cast(pa.large_string())
    if not isinstance(data, pa.ChunkedArray):
        return data
    return data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()


def arrow_from_objects(values: np.ndarray) -> pa.Array | None:
    """An object array of str and missing values (what `pd.isna` calls missing) as an Arrow
    string array with those as nulls; None if any value is neither (numbers, bytes, str with
    lone surrogates, which UTF-8 cannot hold)."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeEncodeError):
        return None


def valid_mask(array: pa.Array) -> np.ndarray:
    """Which values are not null, as a numpy bool array."""
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class TextBytes:
    """A string array's bytes: value i is data[starts[i]:ends[i]] (for a valid value)."""

    data: np.ndarray  # uint8
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    valid: np.ndarray  # bool

    @classmethod
    def of(cls, array: pa.Array) -> TextBytes:
        _, offsets_buffer, data_buffer = array.buffers()
        dtype = _OFFSETS[array.type]
        offsets = np.frombuffer(offsets_buffer, dtype=dtype)
        offsets = offsets[array.offset : array.offset + len(array) + 1].astype(np.int64)
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)
            if data_buffer is not None and len(offsets) > 1
            else np.zeros(0, dtype=np.uint8)
        )
        return cls(data, offsets[:-1], offsets[1:], valid_mask(array))

    @property
    def lengths(self) -> np.ndarray:
        """Each value's length in bytes (0 for a null)."""
        return np.where(self.valid, self.ends - self.starts, 0)

    def may_hold_control_characters(self) -> bool:
        """False only if no value holds a character `core.clean_distinct` drops or changes.

        Exact for valid UTF-8 except that it looks at the bytes of null slots too (Arrow
        leaves them empty in practice): a True only sends the caller down its exact path.
        """
        if not len(self.starts):
            return False
        used = self.data[int(self.starts.min()) : int(self.ends.max())]
        if (used < 0x20).any() or (used == 0x7F).any():
            low = used[(used < 0x20) | (used == 0x7F)]
            if _CONTROL_BYTES[low].any():
                return True
        c1 = np.flatnonzero(used[:-1] == 0xC2)  # U+0080-009F: C2 80-C2 9F
        if len(c1) and ((used[c1 + 1] >= 0x80) & (used[c1 + 1] <= 0x9F)).any():
            return True
        bom = np.flatnonzero(used[:-2] == 0xEF)  # U+FEFF: EF BB BF
        return bool(len(bom) and ((used[bom + 1] == 0xBB) & (used[bom + 2] == 0xBF)).any())

    def edge_suspects(self) -> np.ndarray:
        """Valid, non-empty values whose first or last byte could belong to whitespace that
        str.strip removes (a superset of the values it would change)."""
        present = self.valid & (self.ends > self.starts)
        suspects = np.zeros(len(self.starts), dtype=bool)
        rows = np.flatnonzero(present)
        if len(rows):
            first = self.data[self.starts[rows]]
            last = self.data[self.ends[rows] - 1]
            suspects[rows] = _SPACE_FIRST[first] | _SPACE_LAST[last]
        return suspects

    def empty(self) -> np.ndarray:
        """Valid values of no characters."""
        return np.asarray(self.valid & (self.ends == self.starts))


def objects(array: pa.Array, valid: np.ndarray | None = None) -> np.ndarray:
    """The array's values as an object array of Python str, pd.NA for nulls."""
    out: np.ndarray = np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
    if array.null_count:
        out[~(valid if valid is not None else valid_mask(array))] = pd.NA
    return out


def lowered(array: pa.Array) -> pa.Array:
    """Each value as str.lower gives it: Arrow lowercases ASCII values; the others are
    lowercased in Python, whose rules (final sigma, dotted capital I, one character becoming
    two) Arrow's Unicode lowercasing does not share."""
    lower = pc.ascii_lower(array)
    ascii_ = pc.string_is_ascii(array).fill_null(True).to_numpy(zero_copy_only=False)
    other = ~np.asarray(ascii_, dtype=bool)
    if not other.any():
        return lower
    mask = pa.array(other)
    texts = [text.lower() for text in array.filter(mask).to_pylist()]
    return pc.replace_with_mask(lower, mask, pa.array(texts, type=array.type))


def text_array(values: pd.Series) -> pa.Array:
    """A "str" Series (as normalizers get them) as one Arrow string array."""
    array = arrow_text(values)
    if array is None:
        array = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    return array
