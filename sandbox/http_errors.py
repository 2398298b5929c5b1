"""Error bodies the way Kindful writes them (001), shared by the API and admin routes."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, JSONResponse

from sandbox.auth import UNAUTHENTICATED

# 001 shows Kindful's HTML 404 page for missing endpoints; a short version of it.
_NOT_FOUND_HTML = (
    "<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist (404)"
    "</title></head><body><h1>The page you were looking for doesn't exist.</h1>"
    "<p>You may have mistyped the address or the page may have moved.</p></body></html>"
)


class Unauthenticated(Exception):
    """No token, or one the sandbox does not know."""


def unauthenticated() -> JSONResponse:
    return JSONResponse({"status": "error", "message": UNAUTHENTICATED}, status_code=401)


def not_found() -> HTMLResponse:
    return HTMLResponse(_NOT_FOUND_HTML, status_code=404)


def error(status: int, message: str, validation_messages: list[str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"status": "error", "message": message}
    if validation_messages is not None:
        body["validation_messages"] = validation_messages
    return JSONResponse(body, status_code=status)
