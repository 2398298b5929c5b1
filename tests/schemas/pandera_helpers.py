"""What the tests compare schemas.rules with: pandera's own names for its checks."""

from __future__ import annotations

import pandera.pandas as pa


def check_name(check: pa.Check) -> str:
    """The name pandera reports a failed check by (its error text, else its name)."""
    return str(check.error if check.error is not None else check.name)
