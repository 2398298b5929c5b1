"""A starting mapping YAML from an export's headers, for the analyst to check and edit.

Writing a mapping by hand is where imports go wrong, so `mapping suggest` does the obvious part
and says how sure it is. Each header is matched to a Kindful column of the format by its exact
name (confidence 1.0), the same name spelled differently (case, spaces, punctuation: 0.9), or a
synonym from a table ("Zip" -> postal: 0.6-0.8), also after dropping a source prefix
("billing_", "Card Address ...") or taking one of the alternatives of "Zip/Postal Code" (0.1
less). A "Name" column becomes a `split_name`; a payment status with failed values a `skip`
rule. Amounts written with a decimal comma ("30,00") in the money column give `decimal: ","`.

A header that matches nothing but looks like a misspelling of a Kindful column or a synonym
("Frist Name", "Emial") gets a "did you mean" comment with its similarity (rapidfuzz's
`fuzz.ratio` on the normalized text, 0-100, at least HINT_SIMILARITY) and stays unmapped: a
guessed column is worse than an unmapped one, so the analyst decides. Only headers are compared,
never values, so the cost does not grow with the file.

When the headers are a shipped preset's (Classy, Stripe, PayPal), the suggestion is the preset,
skip rules included, fitted to the layout of the export the headers match (named in the header
comment). Every suggestion ends with the columns it leaves unused.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml
from rapidfuzz import fuzz, process

from pipelines.errors import InputError
from pipelines.mapping.presets import Layout, Preset, detect_layout
from pipelines.mapping.spec import Unit, parse_mapping
from schemas.columns import FORMATS, ImportFormat, Kind

EXACT, NORMALIZED, VARIANT_PENALTY = 1.0, 0.9, 0.1
SAMPLE_ROWS = 1000  # rows of the export read to look at values (amount units, statuses)

# Kindful column -> {normalized header: confidence}. "{record}_time", "{record}_id" and
# "{record}_note" stand for the format's own record (transaction_time, note_time, ...).
SYNONYMS: dict[str, dict[str, float]] = {
    "id": {"contact_id": 0.8, "donor_id": 0.8, "supporter_id": 0.7, "constituent_id": 0.7,
           "external_id": 0.7},
    "first_name": {"first": 0.8, "firstname": 0.8, "given_name": 0.8, "fname": 0.7,
                   "forename": 0.7},
    "last_name": {"last": 0.8, "lastname": 0.8, "surname": 0.8, "family_name": 0.8,
                  "lname": 0.7},
    "company_name": {"company": 0.8, "organization": 0.8, "organisation": 0.8,
                     "organization_name": 0.8, "business_name": 0.7, "org": 0.6},
    "employer": {"employer_name": 0.8},
    "email": {"e_mail": 0.8, "email_address": 0.8, "e_mail_address": 0.8, "mail": 0.6,
              "primary_email": 0.8},
    "alt_email": {"alternate_email": 0.8, "secondary_email": 0.8, "other_email": 0.7},
    "addr1": {"address": 0.7, "address1": 0.8, "address_1": 0.8, "address_line_1": 0.8,
              "address_line1": 0.8, "line1": 0.7, "street": 0.7, "street_address": 0.8},
    "addr2": {"address2": 0.8, "address_2": 0.8, "address_line_2": 0.8, "address_line2": 0.8,
              "line2": 0.7, "apt": 0.6, "suite": 0.6},
    "city": {"town": 0.8, "locality": 0.7},
    "state": {"province": 0.8, "region": 0.7, "state_province": 0.8, "st": 0.6},
    "postal": {"zip": 0.8, "zip_code": 0.8, "zipcode": 0.8, "postal_code": 0.8,
               "postcode": 0.8, "post_code": 0.8, "zip_postal": 0.8, "zip_postal_code": 0.8},
    "country": {"country_code": 0.7, "nation": 0.6},
    "primary_phone": {"phone": 0.8, "phone_number": 0.8, "telephone": 0.8, "tel": 0.7,
                      "mobile": 0.7, "cell": 0.6, "contact_phone_number": 0.8},
    "birthday": {"birth_date": 0.8, "date_of_birth": 0.8, "dob": 0.8, "birthdate": 0.8},
    "gender": {"sex": 0.7},
    "created_at": {"created": 0.7, "date_created": 0.7, "creation_date": 0.7},
    "updated_at": {"updated": 0.7, "last_updated": 0.7, "modified": 0.6, "date_modified": 0.6,
                   "last_modified": 0.6},
    "email_opt_in": {"opt_in": 0.7, "subscribed": 0.6, "newsletter": 0.6},
    "amount_in_cents": {"amount": 0.8, "gross": 0.7, "total": 0.7, "total_amount": 0.8,
                        "gift_amount": 0.8, "donation_amount": 0.8, "gross_amount": 0.8,
                        "payment_amount": 0.7, "total_gross_amount": 0.8},
    "unit_amount_in_cents": {"unit_amount": 0.8, "amount": 0.7, "split_amount": 0.7},
    "currency": {"currency_code": 0.8, "iso_currency": 0.7},
    "{record}_time": {"date": 0.7, "{record}_date": 0.8, "gift_date": 0.7,
                      "donation_date": 0.7, "payment_date": 0.7, "created": 0.6,
                      "created_utc": 0.6, "date_time": 0.7, "datetime": 0.7, "timestamp": 0.6},
    "{record}_id": {"{record}": 0.6, "{record}_number": 0.7, "gift_id": 0.6,
                    "donation_id": 0.6, "payment_id": 0.6},
    "{record}_note": {"note": 0.7, "notes": 0.7, "memo": 0.7, "comment": 0.6,
                      "comments": 0.6, "description": 0.6},
    "note_body": {"body": 0.7, "note": 0.6, "notes": 0.6, "text": 0.6},
    "note_subject": {"subject": 0.8},
    "campaign": {"campaign_name": 0.8, "appeal": 0.7},
    "fund": {"fund_name": 0.8, "designation": 0.7, "designation_name": 0.7},
    "fund_id": {"designation_id": 0.7},
    "team_id": {"fundraising_team_id": 0.7},
    "team": {"team_name": 0.8, "fundraising_team": 0.7},
    "was_refunded": {"refunded": 0.8, "is_refunded": 0.8},
    "check_num": {"check_number": 0.8, "check_no": 0.8, "cheque_number": 0.8},
    "card_type": {"card_brand": 0.8, "brand": 0.6},
    "transaction_type": {"payment_type": 0.7, "payment_method": 0.7},
    "acknowledged": {"thanked": 0.7, "receipted": 0.6},
    "stripe_customer_id": {"customer_id": 0.6},
    "stripe_charge_id": {"charge_id": 0.7},
}  # fmt: skip
# Source-system prefixes that hide a Kindful name ("billing_postal_code", "Card Address Zip").
PREFIXES = (
    "card_address_", "billing_address_", "billing_", "member_", "donor_", "customer_",
    "supporter_", "contact_", "primary_", "mailing_", "home_", "payer_", "from_", "card_",
)  # fmt: skip
FULL_NAMES = {"name", "full_name", "fullname", "donor_name", "customer_name", "card_name",
              "billing_name", "contact_name", "supporter_name", "payer_name"}  # fmt: skip
FULL_NAME_CONFIDENCE = 0.7
STATUSES = {"status", "payment_status", "transaction_status", "charge_status"}
FAILED = {"failed", "declined", "denied", "canceled", "cancelled", "void", "voided"}
REFUND_AMOUNTS = {"amount_refunded", "refunded_amount", "refund_amount"}
RULE_CONFIDENCE = 0.6
# "Did you mean": the least fuzz.ratio (0-100) between a header and a Kindful column or synonym,
# both normalized. A typo in a 10-letter name scores 90 ("frist_name" ~ "first_name"), a missing
# letter in a 5-letter one 89 ("emal" ~ "email"); unrelated names sharing a word score far lower
# ("notes" ~ "note_type" 57, "status" ~ "state" 73). In a 5-letter word any one changed letter
# scores 80, a typo ("emial" ~ "email") as much as another word ("stage" ~ "state"), so 80 to 84
# counts only when the header has exactly the name's letters, in another order (a swap).
HINT_SIMILARITY = 85
SWAP_SIMILARITY = 80
_DOLLAR_HINT = re.compile(r"[$,]|\.\d")
# A money value with a decimal comma ("30,00", "1.234,56", "1 234,56") or a decimal point, two
# decimals each, after any sign, parenthesis or currency symbol.
_COMMA_CENTS = re.compile(r"\d{1,3}(?:([. \u00a0\u202f'])\d{3}(?:\1\d{3})*)?,\d{2}|\d+,\d{2}")
_POINT_CENTS = re.compile(r"\d{1,3}(?:,\d{3})+\.\d{2}|\d+\.\d{2}")
_AMOUNT_DECORATION = re.compile(r"^[(+-]*[$€£]?\s?[+-]?|\)$")
_COMMENT_AT = 48
_DECIMAL_KEY = 'decimal: ","'


@dataclass(frozen=True)
class ColumnSuggestion:
    source: str
    target: str
    confidence: float
    how: str
    unit: Unit | None = None


@dataclass(frozen=True)
class RuleSuggestion:
    """A split_name, flags or skip entry: its YAML line(s) and why."""

    key: str  # split_name | flags | skip
    source: str
    targets: tuple[str, ...]
    line: str
    confidence: float
    how: str


@dataclass(frozen=True)
class Hint:
    """An unmapped header that looks like a misspelling: never mapped, only commented."""

    source: str
    target: str  # the Kindful column it may mean
    similarity: int  # fuzz.ratio, 0-100
    like: str  # the name it resembles: the Kindful column itself or one of its synonyms


@dataclass(frozen=True)
class Suggestion:
    data_format: str
    columns: tuple[ColumnSuggestion, ...]
    rules: tuple[RuleSuggestion, ...]
    unmapped: tuple[str, ...]
    notes: dict[str, str] = field(default_factory=dict)  # unmapped column -> why
    hints: tuple[Hint, ...] = ()
    decimal_comma: str | None = None  # the money column whose values have a decimal comma


@dataclass(frozen=True)
class SuggestedMapping:
    """The suggested YAML and what it started from: a preset and the layout its headers match
    (None when suggested from the headers), and the "did you mean" hints it carries."""

    text: str
    preset: Preset | None = None
    layout: Layout | None = None
    hints: tuple[Hint, ...] = ()


def normalized(header: str) -> str:
    """Case, spaces and punctuation do not matter: "First Name" -> "first_name"."""
    return re.sub(r"[^0-9a-z]+", "_", header.casefold()).strip("_")


def _variants(header: str) -> list[str]:
    """Other readings of a header: each "a/b" alternative, and without a source prefix."""
    spelled = [normalized(part) for part in header.split("/")] if "/" in header else []
    out = [v for v in spelled if v]
    for name in [normalized(header), *out]:
        out += [name.removeprefix(p) for p in PREFIXES if name.startswith(p) and name != p]
    return [v for v in dict.fromkeys(out) if v and v != normalized(header)]


def _record(fmt: ImportFormat) -> str | None:
    """The format's own record ("transaction", "note", ...), from its *_time column."""
    times = [c.removesuffix("_time") for c in fmt.names if c.endswith("_time")]
    return times[0] if times else None


def _synonyms(fmt: ImportFormat) -> dict[str, list[tuple[str, float]]]:
    """Normalized header -> [(Kindful column, confidence)] for the columns `fmt` has."""
    record = _record(fmt)
    table: dict[str, list[tuple[str, float]]] = {}
    for target, headers in SYNONYMS.items():
        if "{record}" in target:
            if record is None:
                continue
            target = target.format(record=record)  # noqa: PLW2901
        if fmt.column(target) is None:
            continue
        for header, confidence in headers.items():
            if "{record}" in header:
                header = header.format(record=record)  # noqa: PLW2901
            table.setdefault(header, []).append((target, confidence))
    return table


def _candidates(
    header: str, fmt: ImportFormat, synonyms: dict[str, list[tuple[str, float]]]
) -> list[tuple[str, float, str]]:
    """(Kindful column, confidence, how) for one header, best first."""
    found: list[tuple[str, float, str]] = []
    if fmt.column(header) is not None:
        found.append((header, EXACT, "exact name"))
    name = normalized(header)
    if fmt.column(name) is not None and name != header:
        found.append((name, NORMALIZED, "same name, other spelling"))
    found += [(t, c, f"synonym of {t}") for t, c in synonyms.get(name, [])]
    for variant in _variants(header):
        if fmt.column(variant) is not None:
            found.append((variant, NORMALIZED - VARIANT_PENALTY, f"reads as {variant}"))
        for target, confidence in synonyms.get(variant, []):
            found.append((target, confidence - VARIANT_PENALTY, f"reads as {variant}"))
    best: dict[str, tuple[str, float, str]] = {}
    for target, confidence, how in found:
        if target not in best or confidence > best[target][1]:
            best[target] = (target, round(confidence, 2), how)
    return sorted(best.values(), key=lambda c: -c[1])


def _present(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text[text.fillna("").str.len() > 0].astype(str)


def _money(column: ColumnSuggestion, values: pd.Series) -> ColumnSuggestion:
    """Decide the unit of a money column from its name and what its values look like."""
    if "cents" in normalized(column.source):
        return column
    present = _present(values)
    if present.str.contains(_DOLLAR_HINT).any():
        return ColumnSuggestion(
            column.source, column.target, column.confidence, f"{column.how}; dollars", "dollars"
        )
    how = f"{column.how}; whole numbers: dollars assumed, check (cents: drop the unit)"
    return ColumnSuggestion(
        column.source, column.target, min(column.confidence, 0.6), how, "dollars"
    )


def decimal_comma(values: pd.Series) -> bool:
    """Whether a money column's sampled values are written with a decimal comma: most of them
    look like "30,00" or "1.234,56" and none like "30.00" or "1,234.56"."""
    present = _present(values).str.replace(_AMOUNT_DECORATION, "", regex=True)
    if present.empty:
        return False
    comma = present.str.fullmatch(_COMMA_CENTS)
    point = present.str.fullmatch(_POINT_CENTS)
    return bool(comma.sum() * 2 > len(present) and not point.any())


def suggest_columns(sample: pd.DataFrame, fmt: ImportFormat) -> Suggestion:
    """Match every header of `sample` to at most one Kindful column (the surest match wins)."""
    synonyms = _synonyms(fmt)
    headers = [str(h) for h in sample.columns]
    options = {h: _candidates(h, fmt, synonyms) for h in headers}
    ranked = sorted(
        ((c[1], -headers.index(h), h, c) for h, found in options.items() for c in found),
        key=lambda item: (item[0], item[1]),
        reverse=True,
    )
    chosen: dict[str, ColumnSuggestion] = {}
    taken: dict[str, str] = {}
    for _, _, header, (target, confidence, how) in ranked:
        if header in chosen or target in taken:
            continue
        column = ColumnSuggestion(header, target, confidence, how)
        if (col := fmt.column(target)) is not None and col.kind is Kind.CENTS:
            column = _money(column, sample[header])
        chosen[header] = column
        taken[target] = header
    notes = {
        h: f"looks like {found[0][0]}, which {taken[found[0][0]]} already fills"
        for h, found in options.items()
        if h not in chosen and found and found[0][0] in taken
    }
    rules = _rules(sample, fmt, [h for h in headers if h not in chosen], set(taken))
    used = {*chosen, *(r.source for r in rules)}
    columns = tuple(chosen[h] for h in headers if h in chosen)
    unmapped = tuple(h for h in headers if h not in used)
    hints = _hints([h for h in unmapped if not options[h]], fmt, synonyms, set(taken))
    money = [c.source for c in columns if c.unit is not None or _is_money(fmt, c.target)]
    comma = next((h for h in money if decimal_comma(sample[h])), None)
    return Suggestion(fmt.name, columns, tuple(rules), unmapped, notes, hints, comma)


def _is_money(fmt: ImportFormat, target: str) -> bool:
    column = fmt.column(target)
    return column is not None and column.kind is Kind.CENTS


def _decimal_line(source: str) -> str:
    """The active `decimal` key, with why (to the comment column of the lines around it)."""
    return f"{_DECIMAL_KEY:<30} # amounts like 30,00 in {_scalar(source)}: a decimal comma"


def _hints(
    headers: list[str],
    fmt: ImportFormat,
    synonyms: dict[str, list[tuple[str, float]]],
    taken: set[str],
) -> tuple[Hint, ...]:
    """A "did you mean" for each header that is close to a Kindful column or a synonym whose
    column no other header fills. Compares names only: a few hundred short strings at most."""
    names = {name: name for name in fmt.names}  # normalized name -> Kindful column
    for name, found in synonyms.items():
        names.setdefault(name, max(found, key=lambda item: item[1])[0])
    choices = [name for name, target in names.items() if target not in taken]
    hints: list[Hint] = []
    for header in headers:
        name = normalized(header)
        close = process.extract(
            name, choices, scorer=fuzz.ratio, score_cutoff=SWAP_SIMILARITY, limit=None
        )
        for like, score, _ in close:  # best first
            if score >= HINT_SIMILARITY or sorted(name) == sorted(like):
                hints.append(Hint(header, names[like], round(score), like))
                break
    return tuple(hints)


def _rules(
    sample: pd.DataFrame, fmt: ImportFormat, free: list[str], taken: set[str]
) -> list[RuleSuggestion]:
    """split_name for a full-name column, flags for refunds, skip for failed payments."""
    rules: list[RuleSuggestion] = []
    names = [h for h in free if normalized(h) in FULL_NAMES]
    if fmt.has_contact and names and not {"first_name", "last_name"} & taken:
        source = names[0]
        rules.append(
            RuleSuggestion(
                "split_name",
                source,
                ("first_name", "last_name"),
                f"{_scalar(source)}: {{first: first_name, last: last_name}}",
                FULL_NAME_CONFIDENCE,
                "a full name: the last word is the last name",
            )
        )
        taken |= {"first_name", "last_name"}
    refunds = [h for h in free if normalized(h) in REFUND_AMOUNTS]
    if fmt.column("was_refunded") is not None and "was_refunded" not in taken and refunds:
        rules.append(
            RuleSuggestion(
                "flags",
                refunds[0],
                ("was_refunded",),
                f"was_refunded: {{column: {_scalar(refunds[0])}, positive: true}}",
                0.7,
                "refunded when the refund amount is > 0",
            )
        )
        taken.add("was_refunded")
    for header in (h for h in free if normalized(h) in STATUSES):
        seen = _present(sample[header]).unique().tolist()
        failed = sorted({v for v in seen if v.casefold() in FAILED})
        if failed and fmt.name != "contact":
            values = ", ".join(_scalar(v) for v in failed)
            rules.append(
                RuleSuggestion(
                    "skip",
                    header,
                    (),
                    f"- {{column: {_scalar(header)}, in: [{values}], reason: payment failed}}",
                    RULE_CONFIDENCE,
                    "failed payments seen in the file are no gifts",
                )
            )
            break
    return rules


def _scalar(text: str) -> str:
    """`text` as a YAML scalar that is safe anywhere (quoted only when it must be)."""
    dumped = yaml.safe_dump([text], default_flow_style=True, width=10**6, allow_unicode=True)
    return dumped.strip()[1:-1]


def _line(text: str, comment: str) -> str:
    return f"{text.ljust(_COMMENT_AT - 1)} # {comment}"


def render(suggestion: Suggestion, source_name: str) -> str:
    """The suggestion as a commented mapping YAML."""
    lines = [
        f"# Suggested by `kindful-etl mapping suggest` from the headers of {source_name}, for",
        f"# Kindful's {suggestion.data_format} format. Check it, edit it, then use it with",
        "# `kindful-etl validate SOURCE --mapping FILE`. The comment on each line is its",
        "# confidence: 1.0 the Kindful name itself, 0.9 the same name spelled differently,",
        "# 0.6-0.8 a synonym or a prefixed name (check those first).",
        f"data_format: {suggestion.data_format}",
        "# source_system: NAME          # names the source for derived ids (default: file name)",
        "source_timezone: UTC           # timestamps written without an offset are in this zone",
        "day_first: false               # true when dates are written dd/mm/yyyy",
    ]
    if suggestion.decimal_comma is not None:
        lines.append(_decimal_line(suggestion.decimal_comma))
    lines += [
        "columns:" if suggestion.columns else "columns: {}",
    ]
    for column in suggestion.columns:
        target = _scalar(column.target)
        if column.unit:
            target = f"{{to: {target}, unit: {column.unit}}}"
        lines.append(
            _line(f"  {_scalar(column.source)}: {target}", f"{column.confidence:.1f} {column.how}")
        )
    for key in ("split_name", "flags", "skip"):
        rules = [r for r in suggestion.rules if r.key == key]
        if rules:
            lines.append(f"{key}:")
            lines += [_line(f"  {r.line}", f"{r.confidence:.1f} {r.how}") for r in rules]
    lines += ["constants: {}", "custom_fields: []"]
    lines += _hint_block(suggestion.hints)
    lines += _unmapped_block(suggestion.unmapped, suggestion.notes)
    return "\n".join(lines) + "\n"


def _hint_block(hints: Sequence[Hint]) -> list[str]:
    """Comments only: a hinted header stays unmapped until the analyst maps it."""
    if not hints:
        return []
    example = f"{_scalar(hints[0].source)}: {_scalar(hints[0].target)}"
    lines = [
        "# Did you mean? These headers look like misspellings, so they are left unmapped for you",
        f"# to decide (to use one, add its line under columns, e.g. `{example}`):",
    ]
    for hint in hints:
        like = "" if hint.like == hint.target else f", like {hint.like}"
        lines.append(
            f'# "{hint.source}": did you mean {hint.target}? (similarity {hint.similarity}{like})'
        )
    return lines


def _unmapped_block(unmapped: Sequence[str], notes: dict[str, str] | None = None) -> list[str]:
    if not unmapped:
        return ["# Every column of the file is used."]
    lines = ["# Unmapped columns (not imported; map them above or list them in custom_fields):"]
    for name in unmapped:
        note = (notes or {}).get(name)
        lines.append(f"#   - {name}" + (f"  ({note})" if note else ""))
    return lines


def _preset_text(preset: Preset, layout: Layout, headers: list[str], source_name: str) -> str:
    """The preset, verbatim when the file has every column it reads as the preset spells it,
    else fitted to the file: respelled as its layout has them, lines of missing columns out."""
    mapping = preset.mapping()
    used = set(mapping.source_columns) | set(mapping.custom_fields)
    intro = (
        f"Suggested by `kindful-etl mapping suggest` from the headers of {source_name}: they are "
        f'a {preset.title}, layout "{layout.name}" ({", ".join(layout.identifying_headers)}), '
        f"so this starts from the shipped preset {preset.name}, skip rules included. Check it "
        "and edit it like any mapping."
    )
    if layout.note:
        intro += f" {layout.note}"
    if used <= set(headers):
        body = preset.text()
    else:
        document, left_out = _fit(yaml.safe_load(preset.text()), headers, layout)
        parse_mapping(document, preset.name)  # the fitted preset must still be a mapping
        intro += (
            " Its columns are spelled as this file has them (the preset's comments are left out)."
        )
        if left_out:
            intro += (
                " This file lacks some columns the preset reads, so their lines were left out "
                f"(and the preset's comments with them): {', '.join(left_out)}."
            )
        body = yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=None
        )
    used = {layout.spelled(u) for u in used} | used
    unused = [h for h in headers if h not in _fitted_sources(headers, used)]
    comment = "\n".join(textwrap.wrap(intro, 96, initial_indent="# ", subsequent_indent="# "))
    return comment + "\n" + body + "\n".join(_unmapped_block(unused)) + "\n"


def _preset_decimal_comma(preset: Preset, layout: Layout, sample: pd.DataFrame) -> str | None:
    """The file's header of a money column the preset maps whose values have a decimal comma."""
    mapping = preset.mapping()
    fmt = FORMATS.get(mapping.data_format or "")
    if fmt is None:
        return None
    by_fold = {_fold(str(h)): str(h) for h in sample.columns}
    for column in mapping.columns:
        if not _is_money(fmt, column.target):
            continue
        header = by_fold.get(_fold(layout.spelled(column.source))) or by_fold.get(
            _fold(column.source)
        )
        if header is not None and decimal_comma(sample[header]):
            return header
    return None


def _fitted_sources(headers: list[str], used: set[str]) -> set[str]:
    keys = {_fold(u) for u in used}
    return {h for h in headers if _fold(h) in keys}


def _fold(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", header.casefold())


def _fit(
    document: dict[str, Any], headers: list[str], layout: Layout
) -> tuple[dict[str, Any], list[str]]:
    """The preset's YAML document fitted to a file: source columns renamed as `layout` names
    them and respelled as the file has them, entries reading columns it lacks removed; also the
    names of those columns (as the layout names them)."""
    spelled = {_fold(h): h for h in headers}
    left_out: list[str] = []

    def find(name: Any) -> str | None:
        wanted = layout.spelled(str(name))
        found = spelled.get(_fold(wanted)) or spelled.get(_fold(str(name)))
        if found is None and wanted not in left_out:
            left_out.append(wanted)
        return found

    def keyed(section: Any) -> dict[str, Any]:
        return {s: spec for n, spec in (section or {}).items() if (s := find(n)) is not None}

    def respelled(spec: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
        """`spec` with the columns under `keys` respelled; None when the first is missing."""
        out = dict(spec)
        for key in keys:
            if key in spec:
                found = find(spec[key])
                if found is None and key == keys[0]:
                    return None
                out[key] = found
        return {k: v for k, v in out.items() if v is not None}

    fitted = dict(document)
    fitted["columns"] = keyed(document.get("columns"))
    fitted["split_name"] = keyed(document.get("split_name"))
    for key, columns in (("flags", ("column",)), ("combine_time", ("date", "time", "zone"))):
        entries = {t: respelled(spec, columns) for t, spec in (document.get(key) or {}).items()}
        fitted[key] = {t: spec for t, spec in entries.items() if spec is not None}
    rules = [respelled(rule, ("column",)) for rule in document.get("skip") or []]
    fitted["skip"] = [rule for rule in rules if rule is not None]
    custom = [find(c) for c in document.get("custom_fields") or []]
    fitted["custom_fields"] = [c for c in custom if c is not None]
    return {k: v for k, v in fitted.items() if v not in ({}, [])}, left_out


def suggest_mapping(
    sample: pd.DataFrame, data_format: str | None, source_name: str
) -> SuggestedMapping:
    """The suggested mapping for an export whose first rows are `sample`, and what it started
    from (a preset and its layout, or the headers with their "did you mean" hints)."""
    headers = [str(h) for h in sample.columns]
    found = detect_layout(headers)
    if found is not None and data_format in (None, found[0].mapping().data_format):
        preset, layout = found
        text = _preset_text(preset, layout, headers, source_name)
        comma = _preset_decimal_comma(preset, layout, sample)
        if comma is not None and preset.mapping().decimal != ",":
            text += _decimal_line(comma) + "\n"
        return SuggestedMapping(text, *found)
    if data_format is None:
        raise InputError("pass --format: the headers are not those of a shipped preset")
    if data_format not in FORMATS:
        raise InputError(f"unknown format {data_format!r}; one of: {', '.join(FORMATS)}")
    suggestion = suggest_columns(sample, FORMATS[data_format])
    text = render(suggestion, source_name)
    if found is not None:
        preset = found[0]
        note = (
            f"# The headers are a {preset.title}, but its preset {preset.name} is for "
            f"{preset.mapping().data_format}, not {data_format}: suggested from the headers.\n"
        )
        text = note + text
    return SuggestedMapping(text, hints=suggestion.hints)


def suggest_mapping_text(sample: pd.DataFrame, data_format: str | None, source_name: str) -> str:
    """The suggested mapping YAML for an export whose first rows are `sample`."""
    return suggest_mapping(sample, data_format, source_name).text
