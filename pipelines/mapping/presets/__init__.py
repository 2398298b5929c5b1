"""Mappings shipped for the exports analysts meet most: Classy, Stripe and PayPal.

Each preset is a mapping YAML file in this package (package data, read with importlib.resources
so it works from a wheel too) plus the layouts of its export that it knows. Providers rename and
add columns over the years, so a preset lists several layouts: each is named, has the headers
that identify it and, for a layout other than the one the YAML is written for, the preset's
headers as that layout spells them (`renames`). `mapping suggest` recognises a file by the first
layout whose identifying headers it has, says which, and fits the preset to it.

Where each layout is known from is written next to it (`known_from`); a layout only the issue
describes says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

from pipelines.mapping.spec import Mapping as MappingSpec
from pipelines.mapping.spec import parse_mapping_text


@dataclass(frozen=True)
class Layout:
    """One layout of a provider's export: the headers that identify it, and how it spells the
    preset's headers (preset header -> this layout's header; empty for the preset's own)."""

    name: str
    identifying_headers: tuple[str, ...]
    known_from: str
    renames: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    note: str = ""  # said in the suggested mapping's header comment when this layout matches

    def spelled(self, header: str) -> str:
        """The preset's `header` as this layout spells it."""
        return self.renames.get(header, header)


@dataclass(frozen=True)
class Preset:
    """A shipped mapping and the layouts of the export it reads, in the order they are tried
    (the most specific first)."""

    name: str  # the YAML file's stem
    title: str
    layouts: tuple[Layout, ...]

    @property
    def own_layout(self) -> Layout:
        """The layout the YAML is written for (the one without renames)."""
        return next(layout for layout in self.layouts if not layout.renames)

    @property
    def identifying_headers(self) -> tuple[str, ...]:
        return self.own_layout.identifying_headers

    def text(self) -> str:
        """The preset's YAML, comments included."""
        return resources.files(__name__).joinpath(f"{self.name}.yaml").read_text("utf-8")

    def mapping(self) -> MappingSpec:
        return parse_mapping_text(self.text(), self.name, f"preset {self.name}")


PRESETS: tuple[Preset, ...] = (
    Preset(
        "classy_transactions",
        "Classy transactions export",
        (
            Layout(
                "API field names",
                (
                    "supporter_id",
                    "billing_first_name",
                    "member_email_address",
                    "total_gross_amount",
                    "purchased_at",
                ),
                "the field names of Classy's API transaction object (developers.classy.org, "
                "from memory, not checked here); the shipped sample",
            ),
            Layout(
                "transactions report, Billing columns",
                (
                    "Transaction ID",
                    "Billing First Name",
                    "Billing Last Name",
                    "Email",
                    "Total Gross Amount",
                    "Date",
                ),
                "issue 16 (not confirmed by a document read here)",
                MappingProxyType(
                    {
                        "id": "Transaction ID",
                        "member_email_address": "Email",
                        "purchased_at": "Date",
                    }
                ),
            ),
            Layout(
                "transactions report, Donor columns (older)",
                (
                    "Transaction ID",
                    "Donor First Name",
                    "Donor Last Name",
                    "Donor Email",
                    "Gross Amount",
                    "Transaction Date",
                ),
                'issue 16; Classy\'s support articles name "Transaction ID" (Account Level '
                'Reporting Guide, 2016) and "Gross Amount" (Passport reporting, 2018) as '
                "transactions report columns, the rest is not confirmed",
                MappingProxyType(
                    {
                        "id": "Transaction ID",
                        "billing_first_name": "Donor First Name",
                        "billing_last_name": "Donor Last Name",
                        "member_email_address": "Donor Email",
                        "total_gross_amount": "Gross Amount",
                        "purchased_at": "Transaction Date",
                    }
                ),
            ),
        ),
    ),
    Preset(
        "stripe_payments",
        "Stripe payments export",
        (
            Layout(
                "unified_payments.csv",
                ("id", "Created date (UTC)", "Amount", "Amount Refunded", "Customer Email"),
                "the Dashboard's newer payments export, quoted by many public parsers "
                '("id,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Converted '
                'Amount,...")',
                MappingProxyType({"Created (UTC)": "Created date (UTC)"}),
            ),
            Layout(
                "payments.csv",
                ("id", "Created (UTC)", "Amount Refunded", "Card Name", "Customer Email"),
                'public importers quote its header ("id,Description,Created (UTC),Amount,'
                "Amount Refunded,Currency,Converted Amount,...,Customer Email,...,Card Name,"
                'Card Address Line1,..."); the shipped sample',
            ),
            Layout(
                "payments.csv, older (Created, no UTC)",
                ("id", "Created", "Amount Refunded", "Card Name", "Customer Email"),
                "issue 16 (not confirmed by a document read here)",
                MappingProxyType({"Created (UTC)": "Created"}),
                'Its "Created" column names no zone: source_timezone says UTC, check it.',
            ),
        ),
    ),
    Preset(
        "paypal_activity",
        "PayPal activity download",
        (
            Layout(
                "history download (older)",
                (
                    "Date",
                    "Time",
                    "Time Zone",
                    "Gross",
                    "Fee",
                    "Net",
                    "From Email Address",
                    "Transaction ID",
                    "Counterparty Status",
                ),
                'public importers quote it as "Date, Time, Time Zone, Name, Type, Status, '
                "Currency, Gross, Fee, Net, From Email Address, To Email Address, Transaction ID, "
                'Counterparty Status, ..., Address Line 2/District, Town/City, ..." (headers '
                "after the first start with a space; the reader strips it)",
                MappingProxyType(
                    {"Address Line 2/District/Neighborhood": "Address Line 2/District"}
                ),
            ),
            Layout(
                "activity download",
                (
                    "Date",
                    "Time",
                    "Time zone",
                    "Gross",
                    "Fee",
                    "Net",
                    "From Email Address",
                    "Transaction ID",
                ),
                'PayPal\'s Activity download ("Date","Time","TimeZone","Name","Type","Status",'
                '"Currency","Gross","Fee","Net","From Email Address",... in public fixtures); '
                '"TimeZone", "Time zone" and "Time Zone" are one header to the matcher; the '
                "shipped sample",
            ),
        ),
    ),
)


def _key(header: str) -> str:
    """Header spelling that still identifies: case, spacing and punctuation do not matter."""
    return re.sub(r"[^0-9a-z]+", "", header.casefold())


def preset_named(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)


def detect_layout(headers: Iterable[str]) -> tuple[Preset, Layout] | None:
    """The first preset and layout whose identifying headers are all among `headers`."""
    have = {_key(h) for h in headers}
    for preset in PRESETS:
        for layout in preset.layouts:
            if all(_key(h) in have for h in layout.identifying_headers):
                return preset, layout
    return None


def detect_preset(headers: Iterable[str]) -> Preset | None:
    """The preset one of whose layouts `headers` has, else None."""
    found = detect_layout(headers)
    return None if found is None else found[0]
