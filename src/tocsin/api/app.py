"""The FastAPI application: routers put together, errors answered as CrowdSec does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tocsin import __version__
from tocsin.api.fastpath import TocsinApi
from tocsin.api.routers import admin, bouncer, check
from tocsin.api.runtime import ApiSettings, Runtime

__all__ = ["ApiSettings", "create_app"]


def create_app(settings: ApiSettings) -> FastAPI:
    runtime = Runtime(settings)  # migrates the state database before serving anything

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = TocsinApi(
        title="tocsin",
        version=__version__,
        description=(
            "Decisions for enforcement points: a CrowdSec-compatible bouncer API "
            "(`/v1/decisions`, `/v1/decisions/stream`), pre-auth checks (`/v1/check`) and "
            "decision administration. Every endpoint but `/health` needs an `X-Api-Key`."
        ),
        lifespan=lifespan,
    )
    app.state.runtime = app.runtime = runtime
    app.include_router(bouncer.router)
    app.include_router(check.router)
    app.include_router(admin.router)

    @app.get("/health", tags=["health"], summary="Whether the API is up")
    async def health() -> dict[str, str]:
        return {"status": "up"}

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body: dict[str, Any] = {"message": str(exc.detail)}
    errors = getattr(exc, "errors", None)
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """400 with each bad field named (the input itself is not echoed back)."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return JSONResponse(
        {"message": "bad request: " + "; ".join(problems[:10]), "errors": problems[:10]},
        status_code=400,
    )
