"""Injected resources: the runtime, and the caller authenticated by its ``X-Api-Key``.

The dependencies are ``async`` so the hot path (``/v1/check``) never hops to a thread: keys
are looked up in the in-memory snapshot, and only an unknown key asks the database.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from tocsin.api.runtime import Runtime
from tocsin.respond.bouncers import Bouncer, hash_key


class ApiError(HTTPException):
    """An error answered as CrowdSec does: ``{"message": …}`` with the status code."""

    def __init__(self, status: int, message: str, errors: Any = None) -> None:
        super().__init__(status_code=status, detail=message)
        self.errors = errors


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ApiKey = Annotated[
    str | None,
    Header(alias="X-Api-Key", description="A key from `tocsin decisions bouncer add NAME`."),
]


async def get_bouncer(runtime: RuntimeDep, x_api_key: ApiKey = None) -> Bouncer:
    bouncer = None
    if x_api_key and len(x_api_key) <= 200:
        bouncer = runtime.snapshot.keys.get(hash_key(x_api_key))
        if bouncer is None:  # created since the last snapshot?
            bouncer = await asyncio.to_thread(runtime.bouncers.by_key, x_api_key)
    if bouncer is None:
        raise ApiError(403, "access forbidden: missing or unknown X-Api-Key")
    return bouncer


async def get_admin(bouncer: Annotated[Bouncer, Depends(get_bouncer)]) -> Bouncer:
    if bouncer.role != "admin":
        raise ApiError(403, "access forbidden: this key may read decisions, not change them")
    return bouncer


BouncerDep = Annotated[Bouncer, Depends(get_bouncer)]
AdminDep = Annotated[Bouncer, Depends(get_admin)]
