"""Decision administration over HTTP (keys with role ``admin`` only): list, add, delete, audit.

The same checks as the CLI: a target that is malformed, too wide, allowlisted or otherwise
unblockable is refused with a 400 naming the reason — never stored, never served.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, ApiError, RuntimeDep
from tocsin.respond.decision import Proposal
from tocsin.respond.durations import parse_duration

router = APIRouter(prefix="/v1/admin", tags=["decision administration"])


class NewDecision(BaseModel):
    """A decision to add. Unknown fields are refused (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["ip", "range", "asn", "country", "user_agent", "user"]
    value: str = Field(min_length=1, max_length=2048)
    action: Literal[
        "ban", "captcha", "mfa_stepup", "reset_password", "revoke_sessions", "notify_only"
    ] = "ban"
    duration: str = Field(default="4h", max_length=32, examples=["4h", "7d", "1h30m"])
    reason: str = Field(min_length=1, max_length=1000)
    simulated: bool | None = Field(
        default=None, description="default: simulated unless response.mode is enforce"
    )


@router.get("/decisions", summary="Decisions, enforced and simulated")
def list_decisions(
    runtime: RuntimeDep,
    admin: AdminDep,
    active: bool = True,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    now = runtime.store.clock()
    return [d.to_dict(now) for d in runtime.store.query(active_only=active, limit=limit)]


@router.post("/decisions", status_code=201, summary="Add a decision (checked, allowlist first)")
def add_decision(runtime: RuntimeDep, admin: AdminDep, body: NewDecision) -> dict[str, Any]:
    try:
        seconds = parse_duration(body.duration)
    except ValueError as exc:
        raise ApiError(400, f"duration: {exc}") from None
    simulated = runtime.mode != "enforce" if body.simulated is None else body.simulated
    proposal = Proposal(
        scope=body.scope,
        value=body.value,
        action=body.action,
        seconds=seconds,
        origin="manual",
        scenario="tocsin/manual",
        reason=body.reason,
        simulated=simulated,
        created_by=f"api:{admin.name}",
    )
    outcome = runtime.store.apply([proposal])
    if outcome.refused and not outcome.created:
        raise ApiError(400, f"refused: {outcome.refused[0].reason}")
    runtime.reload()
    now = runtime.store.clock()
    return {
        "created": [d.to_dict(now) for d in outcome.created],
        "split_around_allowlist": bool(outcome.split),
    }


@router.delete("/decisions/{decision_id}", summary="Stop a decision now")
def delete_decision(
    runtime: RuntimeDep,
    admin: AdminDep,
    decision_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Query(min_length=1, max_length=1000)] = "deleted through the API",
) -> dict[str, str]:
    done = runtime.store.delete([decision_id], actor=f"api:{admin.name}", reason=reason)
    if not done:
        raise ApiError(404, f"no active decision {decision_id}")
    runtime.reload()
    return {"nbDeleted": str(len(done))}


@router.get("/decisions/{decision_id}/audit", summary="Everything that happened to a decision")
def decision_audit(
    runtime: RuntimeDep,
    admin: AdminDep,
    decision_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> list[dict[str, Any]]:
    if runtime.store.get(decision_id) is None:
        raise ApiError(404, f"no decision {decision_id}")
    return runtime.store.audit(decision_id)
