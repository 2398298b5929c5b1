"""The FastAPI app: Kindful's paths under both base paths, auth, fault injection.

`/api/v1/...` is direct access (`Token token="..."`), `/admin/oauth2/api/v1/...` the OAuth2
partner path (`Bearer ...`); each takes only its own header style.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.admin import admin_router
from sandbox.auth import BEARER, TOKEN
from sandbox.http_errors import Unauthenticated, error, not_found, unauthenticated
from sandbox.query import QueryError
from sandbox.request import RequestRejected
from sandbox.service import Sandbox

BASE_PATHS = ("/api/v1", "/admin/oauth2/api/v1")
_FAULT_STATUS_TEXT = {429: "Too many requests", 500: "Internal server error"}


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


OAUTH_BASE = "/admin/oauth2/api/v1"


def require_app(request: Request) -> str:
    """The calling app, from the Authorization header in its base path's style; 401 otherwise."""
    style = BEARER if request.url.path.startswith(OAUTH_BASE + "/") else TOKEN
    app = sandbox_of(request).auth.app_for(request.headers.get("authorization"), style)
    if app is None:
        raise Unauthenticated
    return app


App = Annotated[str, Depends(require_app)]
SandboxDep = Annotated[Sandbox, Depends(sandbox_of)]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _INVALID


_INVALID = object()
api = APIRouter()


@api.post("/imports")
async def submit_import(request: Request, app: App, sandbox: SandboxDep) -> Response:
    body = await _json_body(request)
    if body is _INVALID:
        return error(400, "Request body is not valid JSON")
    try:
        job = await run_in_threadpool(sandbox.submit, app, body)
    except RequestRejected as exc:
        return error(422, exc.message, exc.validation_messages)
    # 001's answer says "pending" while GET shows the job "ready" (a pending synonym, 001).
    return JSONResponse({"id": job.id, "status": "pending"})


@api.get("/imports/stats")
def import_stats(app: App, sandbox: SandboxDep) -> dict[str, Any]:
    return sandbox.import_stats(app)


@api.get("/imports/{job_id}")
def import_status(
    job_id: str, app: App, sandbox: SandboxDep, page: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """001 documents no paging; `page` is read only when the paging knobs ask for it."""
    status = sandbox.job_status(app, job_id, page)
    if status is None:
        return error(404, f"No import job {job_id}")
    return JSONResponse(status)


async def _query(request: Request, app: str, sandbox: Sandbox, model: str) -> Response:
    body = await _json_body(request)
    if not isinstance(body, dict):
        return error(400, "Request body is not a JSON object")
    token = body.get("query_token") or None
    try:
        if token is None:
            token = await run_in_threadpool(sandbox.pager.start, app, model, body)
        delay = sandbox.faults.take_query_not_ready()
        page = await run_in_threadpool(sandbox.pager.next_page, app, str(token), delay)
    except QueryError as exc:
        return JSONResponse({"query_token": token, "errors": exc.errors}, status_code=400)
    return JSONResponse(page)


@api.post("/contacts/query")
async def contacts_query(request: Request, app: App, sandbox: SandboxDep) -> Response:
    return await _query(request, app, sandbox, "contact")


@api.post("/transactions/query")
async def transactions_query(request: Request, app: App, sandbox: SandboxDep) -> Response:
    return await _query(request, app, sandbox, "transaction")


@api.get("/contacts/email_exist")
def email_exist(app: App, sandbox: SandboxDep, email: str = "") -> Response:
    if not email.strip():
        return error(400, "email is required")
    return JSONResponse({"exist": sandbox.email_exists(app, email)})


@api.get("/details")
def details(app: App, sandbox: SandboxDep) -> dict[str, Any]:
    return sandbox.details()


@api.get("/campaigns")
def campaigns(app: App, sandbox: SandboxDep, chapter_id: str | None = None) -> list[Any]:
    return sandbox.campaigns(app)


@api.get("/funds")
def funds(app: App, sandbox: SandboxDep) -> list[Any]:
    return sandbox.funds(app)


@api.get("/groups")
def groups(app: App, sandbox: SandboxDep) -> list[Any]:
    return sandbox.groups(app)


@api.get("/custom_fields")
def custom_fields(
    app: App, sandbox: SandboxDep, custom_field_group_id: str | None = None
) -> Response:
    if custom_field_group_id not in (None, "1"):
        return error(404, "No Custom Field Group matches that id.")  # 001's error text
    return JSONResponse(sandbox.custom_fields(app))


@api.get("/custom_field_groups")
def custom_field_groups(app: App) -> list[dict[str, Any]]:
    return [{"id": 1, "name": "General"}]


def _is_api(path: str) -> bool:
    return any(path == base or path.startswith(base + "/") for base in BASE_PATHS)


# 001's printed refusal pairs "Too many rows specified in data request" with messages about
# something else; the sandbox's injected refusals say what they are.
REFUSAL_MESSAGE = "The import request was refused"


def _short_path(path: str) -> str:
    for base in sorted(BASE_PATHS, key=len, reverse=True):
        if path.startswith(base):
            return path[len(base) :] or "/"
    return path


def create_app(sandbox: Sandbox) -> FastAPI:
    """The ASGI app serving `sandbox`; state lives in the Sandbox, not in the app."""
    app = FastAPI(title="Kindful sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox
    for base in BASE_PATHS:
        app.include_router(api, prefix=base)
    app.include_router(admin_router, prefix="/__sandbox")

    @app.middleware("http")
    async def faults_and_counts(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if not _is_api(path):
            return await call_next(request)
        short = _short_path(path)
        sandbox.requests[f"{request.method} {short}"] += 1
        knobs = sandbox.faults.settings
        if knobs.latency:
            await asyncio.sleep(knobs.latency)
        if (request.method, short) == ("POST", "/imports"):
            refusal = sandbox.faults.take_refusal()
            if refusal is not None:  # 001's refusal; the HTTP status is our assumption
                return error(422, REFUSAL_MESSAGE, refusal)
        status = sandbox.faults.failure_for(request.method, short)
        if status is not None:
            response = error(status, _FAULT_STATUS_TEXT.get(status, "Injected fault"))
            if status in {429, 503}:
                response.headers["Retry-After"] = f"{knobs.retry_after:g}"
            return response
        return await call_next(request)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> Response:
        return unauthenticated()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            return not_found()
        return error(exc.status_code, str(exc.detail))

    return app
