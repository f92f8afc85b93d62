"""``GET /v1/check``: should this sign-in attempt go ahead? For identity-provider hooks and
reverse proxies, answered from memory (see respond.index) in well under a millisecond.

Strict on input: an unknown or repeated parameter, a malformed address or an oversized value
is a 400 — a typo like ``?ipp=`` must not silently answer "allow".
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson
from fastapi import APIRouter, Request, Response

from tocsin.api.deps import ApiError, BouncerDep, RuntimeDep
from tocsin.respond.targets import TargetError, has_control, parse_address

router = APIRouter(prefix="/v1", tags=["pre-auth check"])

ALLOWED: Final = frozenset({"ip", "user", "user_agent", "asn", "country"})
MAX_USER_AGENT: Final = 8192
MAX_FIELDS: Final = 20
_ASN = re.compile(r"^(?:AS)?(\d{1,10})$", re.IGNORECASE)
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")

_ANSWER = {
    "type": "object",
    "properties": {
        "result": {"type": "string", "enum": ["allow", "deny", "step-up"]},
        "decision_id": {"type": "integer", "nullable": True},
        "action": {"type": "string", "nullable": True},
        "scope": {"type": "string", "nullable": True},
        "until": {"type": "string", "nullable": True},
        "scenario": {"type": "string", "nullable": True},
        "allowlisted": {"type": "string", "nullable": True},
        "simulated": {
            "type": "object",
            "nullable": True,
            "description": "what a simulated decision would answer in enforce mode",
        },
    },
}


@router.get(
    "/check",
    summary="allow / deny / step-up for an address, account and user agent",
    responses={
        200: {"content": {"application/json": {"schema": _ANSWER}}},
        400: {"description": "unknown, repeated or malformed parameter"},
        403: {"description": "missing or unknown X-Api-Key"},
    },
    openapi_extra={
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in ("ip", "user", "user_agent", "asn", "country")
        ]
    },
)
async def check(request: Request, runtime: RuntimeDep, bouncer: BouncerDep) -> Response:
    """(Served by ``tocsin.api.fastpath``; this route documents it and answers the same.)"""
    try:
        args = parse_check(split_query(request.url.query))
    except CheckError as exc:
        raise ApiError(400, str(exc)) from None
    answer = runtime.snapshot.index.check(runtime.store.clock(), **args)
    return Response(orjson.dumps(answer), media_type="application/json")


class CheckError(ValueError):
    pass


def split_query(query: str) -> list[tuple[str, str]]:
    """``a=1&b=%2F`` as pairs, decoded as ``parse_qsl`` does (blank values kept); a quicker
    path for the plain names and values sign-in checks send. CheckError past 20 fields."""
    if not query:
        return []
    parts = query.split("&")
    if len(parts) > MAX_FIELDS:
        raise CheckError(f"at most {MAX_FIELDS} parameters")
    items = []
    for part in parts:
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        items.append((name, value))
    return items


def parse_check(items: list[tuple[str, str]]) -> dict[str, Any]:
    """The lookup arguments of a /v1/check query; CheckError (a 400) if anything is off."""
    raw: dict[str, str] = {}
    for name, value in items:
        if name not in ALLOWED:
            unknown = sorted({n for n, _ in items} - ALLOWED)
            shown = ", ".join(repr(n[:40]) for n in unknown[:5])
            raise CheckError(f"unknown parameter(s) {shown}; known: {', '.join(sorted(ALLOWED))}")
        if name in raw:
            names = [n for n, _ in items]
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise CheckError(f"parameter(s) given more than once: {', '.join(repeated)}")
        raw[name] = value
    ip, user, user_agent = raw.get("ip"), raw.get("user"), raw.get("user_agent")
    if not (ip or user or user_agent):
        raise CheckError("give at least one of ip, user, user_agent")
    args: dict[str, Any] = {
        "address": None,
        "user": None,
        "user_agent": None,
        "asn": None,
        "country": None,
    }
    if ip:
        try:
            args["address"] = parse_address(ip)
        except TargetError as exc:
            raise CheckError(f"ip: {exc}") from None
    if user:
        if len(user) > 320:
            raise CheckError("user: at most 320 characters")
        if has_control(user):
            raise CheckError("user: control or bidi-override characters")
        args["user"] = user.strip().lower()
    if user_agent:
        if len(user_agent) > MAX_USER_AGENT:
            raise CheckError(f"user_agent: at most {MAX_USER_AGENT} characters")
        if has_control(user_agent):
            raise CheckError("user_agent: control or bidi-override characters")
        args["user_agent"] = user_agent.strip()
    asn, country = raw.get("asn"), raw.get("country")
    if asn:
        match = _ASN.match(asn.strip())
        if not match:
            raise CheckError("asn: an AS number like 64500 or AS64500")
        args["asn"] = str(int(match.group(1)))
    if country:
        if not _COUNTRY.match(country.strip()):
            raise CheckError("country: an ISO 3166 two-letter code")
        args["country"] = country.strip().upper()
    return args
