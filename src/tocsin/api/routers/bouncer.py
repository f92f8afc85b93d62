"""The endpoints CrowdSec bouncers use, with CrowdSec's wire format (see respond.crowdsec).

Only enforced decisions are served: in simulate mode a bouncer receives nothing to apply.
Unknown query parameters are ignored, as CrowdSec does (newer bouncers send a few more);
malformed values of known ones are answered 400.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.background import BackgroundTask

from tocsin.api.deps import ApiError, BouncerDep, RuntimeDep
from tocsin.respond import crowdsec
from tocsin.respond.crowdsec import FilterError, Filters

router = APIRouter(prefix="/v1", tags=["bouncers (CrowdSec Local API)"])

_DECISION = {
    "type": "object",
    "required": ["origin", "type", "scope", "value", "duration", "scenario"],
    "properties": {
        "id": {"type": "integer"},
        "origin": {"type": "string", "example": "alert"},
        "type": {"type": "string", "example": "ban"},
        "scope": {"type": "string", "example": "Ip"},
        "value": {"type": "string", "example": "203.0.113.7"},
        "duration": {"type": "string", "example": "167h59m58s"},
        "until": {"type": "string", "format": "date-time"},
        "scenario": {"type": "string", "example": "tocsin/distributed_spray"},
        "simulated": {"type": "boolean"},
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a malformed parameter"},
    403: {"description": "missing or unknown X-Api-Key"},
}
Text = Annotated[str | None, Query(max_length=2000)]


def _json(body: Any, background: BackgroundTask | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", background=background)


@router.get(
    "/decisions/stream",
    summary="New and deleted decisions since this bouncer's last pull",
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "new": {"type": "array", "items": _DECISION},
                            "deleted": {"type": "array", "items": _DECISION},
                        },
                    }
                }
            }
        },
        **_ERRORS,
    },
)
def decisions_stream(
    request: Request,
    runtime: RuntimeDep,
    bouncer: BouncerDep,
    startup: Text = None,
    scopes: Text = None,
    origins: Text = None,
    scenarios_containing: Text = None,
    scenarios_not_containing: Text = None,
) -> Response:
    now = runtime.store.clock()
    try:
        starting = crowdsec._bool(startup, "startup", False)
        filters = Filters.parse(scopes, origins, scenarios_containing, scenarios_not_containing)
    except FilterError as exc:
        raise ApiError(400, str(exc)) from None
    fresh = runtime.bouncers.get(bouncer.id)  # the snapshot's last_pull may be stale
    if fresh is None:
        raise ApiError(403, "access forbidden: this bouncer was deleted")
    decisions = runtime.store.query(
        active_only=False,
        ended_after=now - crowdsec.RETENTION,
        simulated=False,
        scopes=filters.scopes,
    )
    body = crowdsec.stream(
        decisions,
        now=now,
        last_pull=fresh.last_pull,
        startup=starting,
        filters=filters,
        allowlist=runtime.allowlist,
        allowlist_since=runtime.started_at,
    )
    # last_pull moves only once the whole answer has been sent.
    done = BackgroundTask(
        runtime.bouncers.record_pull, bouncer.id, now, request.headers.get("user-agent")
    )
    return _json(body, done)


@router.head("/decisions/stream", include_in_schema=False)
async def decisions_stream_head(bouncer: BouncerDep) -> Response:
    return Response(status_code=200)


@router.get(
    "/decisions",
    summary="Active decisions matching CrowdSec's filters (null when there are none)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": _DECISION, "nullable": True}
                }
            }
        },
        **_ERRORS,
    },
)
def decisions_list(
    request: Request,
    runtime: RuntimeDep,
    bouncer: BouncerDep,
    scope: Text = None,
    value: Text = None,
    type: Text = None,  # CrowdSec's parameter names
    ip: Text = None,
    range: Text = None,
    contains: Text = None,
    origins: Text = None,
    scenarios_containing: Text = None,
    scenarios_not_containing: Text = None,
) -> Response:
    params = {k: v for k, v in request.query_params.items() if v != ""}
    now = runtime.store.clock()
    try:
        found = crowdsec.query(
            runtime.store.query(active_only=True, simulated=False),
            now=now,
            allowlist=runtime.allowlist,
            params=params,
        )
    except FilterError as exc:
        raise ApiError(400, str(exc)) from None
    # CrowdSec answers JSON null, not [], when nothing matches; bouncers test for it.
    return _json(found or None)


@router.head("/decisions", include_in_schema=False)
async def decisions_head(bouncer: BouncerDep) -> Response:
    return Response(status_code=200)
