"""Mappings shipped for the exports analysts meet most: Classy, Stripe and PayPal.

Each preset is a mapping YAML file in this package (package data, read with importlib.resources
so it works from a wheel too) plus the headers that identify its export, so `mapping suggest`
can recognise a file and start from the preset, skip rules included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from pipelines.mapping.spec import Mapping, parse_mapping_text


@dataclass(frozen=True)
class Preset:
    """A shipped mapping and the headers that tell its export apart from others."""

    name: str  # the YAML file's stem
    title: str
    identifying_headers: tuple[str, ...]

    def text(self) -> str:
        """The preset's YAML, comments included."""
        return resources.files(__name__).joinpath(f"{self.name}.yaml").read_text("utf-8")

    def mapping(self) -> Mapping:
        return parse_mapping_text(self.text(), self.name, f"preset {self.name}")


PRESETS: tuple[Preset, ...] = (
    Preset(
        "classy_transactions",
        "Classy transactions export",
        (
            "supporter_id",
            "billing_first_name",
            "member_email_address",
            "total_gross_amount",
            "purchased_at",
        ),
    ),
    Preset(
        "stripe_payments",
        "Stripe payments export",
        ("id", "Created (UTC)", "Amount Refunded", "Card Name", "Customer Email"),
    ),
    Preset(
        "paypal_activity",
        "PayPal activity download",
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


def detect_preset(headers: Iterable[str]) -> Preset | None:
    """The preset whose identifying headers are all among `headers`, else None."""
    have = {_key(h) for h in headers}
    for preset in PRESETS:
        if all(_key(h) in have for h in preset.identifying_headers):
            return preset
    return None
