"""Test-only endpoints under /__sandbox: fault knobs, state dump, Kindful-side changes.

Authenticated with the same token as the API; they act on the caller's app.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from sandbox.http_errors import Unauthenticated, error
from sandbox.render import dump_record
from sandbox.service import Sandbox

admin_router = APIRouter()


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _app(request: Request) -> str:
    app = _sandbox(request).auth.app_for(request.headers.get("authorization"))
    if app is None:
        raise Unauthenticated
    return app


AppDep = Annotated[str, Depends(_app)]
SandboxDep = Annotated[Sandbox, Depends(_sandbox)]


@admin_router.get("/faults")
def get_faults(app: AppDep, sandbox: SandboxDep) -> dict[str, Any]:
    return sandbox.faults.settings.model_dump()


@admin_router.post("/faults")
def set_faults(
    app: AppDep, sandbox: SandboxDep, changes: Annotated[dict[str, Any], Body()]
) -> Response:
    try:
        settings = sandbox.set_faults(changes)
    except ValidationError as exc:
        return error(422, "Invalid fault settings", [str(e["msg"]) for e in exc.errors()])
    return JSONResponse(settings.model_dump())


@admin_router.get("/records")
def records(app: AppDep, sandbox: SandboxDep) -> dict[str, Any]:
    return sandbox.dump(app)


@admin_router.get("/requests")
def request_counts(app: AppDep, sandbox: SandboxDep) -> dict[str, int]:
    return dict(sandbox.requests)


@admin_router.get("/jobs")
def job_peaks(app: AppDep, sandbox: SandboxDep) -> dict[str, int]:
    """Jobs submitted, and the most ever active (queued or working) and working at once."""
    return sandbox.runner.peaks(app)


@admin_router.post("/contacts")
def seed_contact(
    app: AppDep, sandbox: SandboxDep, data: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return dump_record(sandbox.seed_contact(app, data))


@admin_router.post("/records/{pk}/edit")
def edit_record(
    pk: int, app: AppDep, sandbox: SandboxDep, changes: Annotated[dict[str, Any], Body()]
) -> Response:
    record = sandbox.edit_in_kindful(app, pk, changes)
    if record is None:
        return error(404, f"No record {pk}")
    return JSONResponse(dump_record(record))
