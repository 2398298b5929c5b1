"""Which S3 objects may be imported as drops: the bucket/prefix allow-list.

`KINDFUL_ETL_DROP_BUCKETS` names the buckets drops may come from, comma-separated, each
`bucket` (any key) or `bucket/prefix/` (keys under the prefix). Unset, nothing is allowed: a
flow run or an event naming another bucket must never import that bucket's files.

The Lambda handler (`flows/s3_event_lambda.py`) ships as a single standard-library file, so the
rule lives there and this module gives the flows the same answer from the same code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flows.s3_event_lambda import DROP_BUCKETS_ENV, drop_bucket_refusal, parse_drop_buckets

__all__ = ["DROP_BUCKETS_ENV", "drop_allowed"]


def drop_allowed(bucket: str, key: str, environ: Mapping[str, str] | None = None) -> str | None:
    """None when `bucket`/`key` may be imported as a drop, else the one-line reason it may not."""
    env = os.environ if environ is None else environ
    raw = env.get(DROP_BUCKETS_ENV, "").strip()
    return drop_bucket_refusal(bucket, key, parse_drop_buckets(raw) if raw else None)
