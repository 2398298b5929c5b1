"""The preview's options, resolved by the same code as `validate`'s and `import`'s.

A preview is only worth trusting if it prepares the source as the import will: same mapping,
same defaults, same derived ids. So it has no option handling of its own.
"""

from __future__ import annotations

from pipelines.mapping.spec import Mapping as SourceMapping
from pipelines.transform.options import RunOptions, parse_match_by
from pipelines.transform.options import resolve_run as resolve_shared_run

__all__ = ["resolve_run"]


def resolve_run(
    *,
    data_format: str | None,
    mapping_path: str | None = None,
    action: str | None = None,
    match_by: tuple[str, ...] | list[str] = (),
    source_timezone: str | None = None,
    day_first: bool | None = None,
    custom_fields: tuple[str, ...] = (),
) -> tuple[SourceMapping | None, RunOptions]:
    """The mapping and options, resolved as `validate` and `import` resolve them."""
    return resolve_shared_run(
        data_format,
        mapping_path,
        action=action,
        match_by=parse_match_by(tuple(match_by)),
        source_timezone=source_timezone,
        day_first=day_first,
        custom_fields=custom_fields,
    )
