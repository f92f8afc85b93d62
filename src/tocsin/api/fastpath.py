"""``GET /v1/check`` straight on ASGI, ahead of FastAPI.

The check is on the sign-in path of every user, so ``TocsinApi.__call__`` answers it before
routing, middleware, dependency injection or request objects: the same parsing
(``split_query``, ``parse_check``), the same key lookup (the snapshot, then the database for a
key created since), the same index, the same answers — in a fraction of the time. Everything
else goes to FastAPI, which also documents /v1/check (its route answers identically).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import FastAPI

from tocsin.api.routers.check import CheckError, parse_check, split_query
from tocsin.api.runtime import Runtime
from tocsin.respond.bouncers import hash_key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_FORBIDDEN = b'{"message":"access forbidden: missing or unknown X-Api-Key"}'


class TocsinApi(FastAPI):
    """FastAPI, with /v1/check answered first."""

    runtime: Runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/v1/check"
            and scope["method"] in ("GET", "HEAD")
        ):
            status, body = await answer_check(self.runtime, scope)
            headers = [_JSON, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            head = scope["method"] == "HEAD"
            await send({"type": "http.response.body", "body": b"" if head else body})
            return
        await super().__call__(scope, receive, send)


async def answer_check(runtime: Runtime, scope: Scope) -> tuple[int, bytes]:
    key = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            key = value.decode("latin-1")
            break
    bouncer = None
    if key and len(key) <= 200:
        bouncer = runtime.snapshot.keys.get(hash_key(key))
        if bouncer is None:  # created since the last snapshot?
            bouncer = await asyncio.to_thread(runtime.bouncers.by_key, key)
    if bouncer is None:
        return 403, _FORBIDDEN
    try:
        args = parse_check(split_query(scope["query_string"].decode("utf-8")))
    except (CheckError, UnicodeDecodeError) as exc:
        return 400, orjson.dumps({"message": str(exc)[:500]})
    answer = runtime.snapshot.index.check(runtime.store.clock(), **args)
    return 200, orjson.dumps(answer)
