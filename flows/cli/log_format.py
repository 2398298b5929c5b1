"""Console log lines without tracebacks, for the command line."""

from __future__ import annotations

import logging

from prefect.logging.formatters import PrefectFormatter


class OneLineFormatter(PrefectFormatter):
    """Prefect's formatter minus tracebacks: the message already says what failed.

    Other handlers (Prefect's API log handler) still see the full record; only this
    formatter's output leaves the exception out, so the exception text cached on the record by
    another handler is set aside while formatting.
    """

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
