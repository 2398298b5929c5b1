"""The one error an unreadable export raises, and how a failure to read a source becomes it.

`ExportError`'s message is one line, names the file (without any URL query string, which may
carry a signature) and never contains a cell value, so it is safe to log and to print.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pipelines.errors import KindfulEtlError
from pipelines.staging.safe_urls import SourceRefused


class ExportError(KindfulEtlError):
    """A file that cannot be processed at all; str(e) is one line, safe to print (no donor data)."""


@contextlib.contextmanager
def _export_errors(name: str) -> Iterator[None]:
    """Any failure to open or read a source as one ExportError line that names the source."""
    try:
        yield
    except ExportError:
        raise
    except SourceRefused as refused:
        raise ExportError(f"cannot read {name}: {refused}") from None
    except FileNotFoundError:
        raise ExportError(f"cannot read {name}: file not found") from None
    except IsADirectoryError:
        raise ExportError(f"cannot read {name}: it is a directory") from None
    except PermissionError:
        raise ExportError(f"cannot read {name}: permission denied") from None
    except Exception as exc:  # network and storage errors: their text may echo signed URLs
        raise ExportError(f"cannot read {name}: {_describe_io_error(exc)}") from None


def _describe_io_error(exc: BaseException) -> str:
    """A one-line reason for a transport failure that never quotes a URL or response body.

    smart_open wraps botocore and requests errors, whose own text can echo presigned URLs, so
    only status codes and S3 error codes found along the exception chain are reported.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        response = getattr(link, "response", None)
        status = getattr(response, "status_code", None)  # requests.HTTPError
        if isinstance(status, int):
            return "not found (HTTP 404)" if status == 404 else f"HTTP error {status}"
        error = response.get("Error") if isinstance(response, dict) else None  # botocore
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and code:
            if code in {"NoSuchKey", "404", "NotFound"}:
                return "not found (S3 NoSuchKey)"
            return f"S3 error {code}"
        link = link.__cause__ or link.__context__
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__
