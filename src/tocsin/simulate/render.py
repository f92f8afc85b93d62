"""Turn one simulated sign-in into one line of Azure Monitor diagnostic JSON, fast.

A record is built once per *shape* (error code, interactive or not, MFA detail) by
:func:`tocsin.simulate.entra_records.signin_record` with placeholder values, serialised,
and kept as a ``%``-format template; each event then only fills in its values (who, from
where, with which client, when, ids). Every value is JSON-escaped once, when its identity,
address or client is created, never per event. This is what makes millions of records a
minute possible in pure Python.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

import orjson

from tocsin.simulate.entra_records import Place, signin_record
from tocsin.simulate.geo import City

_M: Final = "\u00a7\u00a7"  # "§§": cannot occur in a record otherwise
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# The failure reasons Entra ID itself writes for the codes the simulator uses.
FAILURE_TEXT: Final = {
    0: "Other.",
    50034: "The user account does not exist in the directory. To sign into this application, "
    "the account must be added to the directory.",
    50053: "Account is locked because user tried to sign in too many times with an incorrect "
    "user ID or password.",
    50055: "The password is expired.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a "
    "new location, you must use multi-factor authentication to access '%(rid)s'.",
    50126: "Error validating credentials due to invalid username or password.",
    500121: "Authentication failed during strong authentication request.",
}
MFA_DENIED: Final = "MFA denied; user declined the authentication"
MFA_NO_RESPONSE: Final = "MFA denied; user did not respond to mobile app notification"
MFA_REQUIRED: Final = "MFA required in Azure AD"


class Shape(NamedTuple):
    """What fixes a record's layout: the code, the log category and the MFA story."""

    code: int
    interactive: bool = True
    detail: str | None = None  # status.additionalDetails
    mfa: str | None = None  # MFA method, on a sign-in that completed MFA


def _block(pairs: dict[str, Any]) -> str:
    """``pairs`` as the inside of a JSON object: a run of members to splice into a record."""
    return orjson.dumps(pairs).decode()[1:-1]


class Spot:
    """One source address with its network and geolocation (the same wherever it is used)."""

    __slots__ = ("asn", "block", "city", "ip", "network", "top")

    def __init__(self, ip: str, asn: int, city: City, network: str = "") -> None:
        self.ip, self.asn, self.city, self.network = ip, asn, city, network
        location = {
            "city": city.name,
            "state": city.state,
            "countryOrRegion": city.country,
            "geoCoordinates": {"latitude": city.lat, "longitude": city.lon},
        }
        self.top = _block({"callerIpAddress": ip, "location": city.country})
        self.block = _block({"ipAddress": ip, "location": location, "autonomousSystemNumber": asn})


class Who:
    """An account name as the sign-in names it (an account that exists, or a guess)."""

    __slots__ = ("block", "exists", "top", "upn")

    def __init__(self, upn: str, display: str, tenant: str, exists: bool = True) -> None:
        self.upn, self.exists = upn, exists
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{upn}")) if exists else ""
        display = display if exists else ""
        self.top = _block({"identity": display})
        self.block = _block(
            {"userDisplayName": display, "userPrincipalName": upn, "userId": user_id}
        )


class App(NamedTuple):
    name: str
    app_id: str
    resource: str
    resource_id: str


class Agent(NamedTuple):
    user_agent: str
    browser: str
    client_app: str  # clientAppUsed


class Device(NamedTuple):
    os: str
    device_id: str = ""
    name: str = ""
    trust: str = ""  # "Azure AD joined", "Azure AD registered" or ""
    managed: bool = False


class Client:
    """An application, as run by a user agent on a device."""

    __slots__ = ("agent", "app", "block")

    def __init__(self, app: App, agent: Agent, device: Device) -> None:
        self.app, self.agent = app, agent
        detail = {
            "deviceId": device.device_id,
            "displayName": device.name,
            "operatingSystem": device.os,
            "browser": agent.browser,
            "isCompliant": device.managed,
            "isManaged": device.managed,
            "trustType": device.trust,
        }
        self.block = _block(
            {
                "appId": app.app_id,
                "appDisplayName": app.name,
                "clientAppUsed": agent.client_app,
                "userAgent": agent.user_agent,
                "resourceDisplayName": app.resource,
                "resourceId": app.resource_id,
                "deviceDetail": detail,
            }
        )


def new_id(rng: random.Random) -> str:
    """A random (version 4 layout) UUID from ``rng``: reproducible for a seed."""
    h = "%032x" % rng.getrandbits(128)  # noqa: UP031 - the fastest way, and this runs per event
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _marker(key: str) -> str:
    return f"{_M}{key}{_M}"


_WHO, _WHERE, _WITH = (f"{_M}{k}{_M}" for k in ("W", "S", "C"))
_WHO_TOP, _WHERE_TOP = f"{_M}WT{_M}", f"{_M}ST{_M}"
_PER_EVENT_KEYS = {
    "userDisplayName": _WHO, "userPrincipalName": _WHO, "userId": _WHO,
    "appId": _WITH, "appDisplayName": _WITH, "clientAppUsed": _WITH, "userAgent": _WITH,
    "resourceDisplayName": _WITH, "resourceId": _WITH, "deviceDetail": _WITH,
    "ipAddress": _WHERE, "location": _WHERE, "autonomousSystemNumber": _WHERE,
}  # fmt: skip


def build_template(shape: Shape, tenant: str) -> str:
    """The record layout for ``shape`` with ``%(name)s`` where each event's values go.

    The members that come from the account (``W``), the client (``C``) and the address
    (``S``) are spliced in as pre-serialised runs, so an event fills in nine values, not forty.
    """
    record = signin_record(
        moment=datetime(2001, 1, 1, tzinfo=UTC),
        user="-",
        place=Place("-"),
        error_code=shape.code,
        tenant_id=tenant,
        interactive=shape.interactive,
        record_id=_marker("id"),
        seed=0,
        additional_details=shape.detail,
    )
    _fill_in(record, shape)
    # The same members as signin_record wrote, with each per-event group kept together.
    props: dict[str, Any] = {}
    for key, value in record.pop("properties").items():
        group = _PER_EVENT_KEYS.get(key)
        if group is None:
            props[key] = value
        elif group not in props:
            props[group] = None
    top: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("callerIpAddress", "location"):
            top.setdefault(_WHERE_TOP, None)
        elif key == "identity":
            top.setdefault(_WHO_TOP, None)
        else:
            top[key] = value
    top["properties"] = props
    text = orjson.dumps(top).decode().replace("%", "%%")
    text = text.replace("2001-01-01T00:00:00.0000000Z", "%(t)s")
    for key in ("W", "S", "C", "WT", "ST"):
        text = text.replace(f'"{_M}{key}{_M}":null', f"%({key})s")
    text = text.replace(f'"{_marker("ms")}"', "%(ms)s")
    text = text.replace(_marker("FAIL"), FAILURE_TEXT.get(shape.code, "Other."))
    while _M in text:
        head, key, tail = text.split(_M, 2)
        text = f"{head}%({key})s{tail}"
    return text


def _fill_in(record: dict[str, Any], shape: Shape) -> None:
    """Adjust the generic record to what Entra writes for this shape."""
    props = record["properties"]
    record["correlationId"] = props["correlationId"] = _marker("co")
    props["processingTimeInMilliseconds"] = _marker("ms")
    record["resultDescription"] = props["status"]["failureReason"] = _marker("FAIL")
    step = props["authenticationDetails"][0]
    if shape.code in (50055, 50074, 50076, 500121):  # the password was right
        step.update(succeeded=True, authenticationStepResultDetail="Correct password")
    if shape.code not in (0, 50074, 50076, 500121, 50055):
        step["authenticationStepResultDetail"] = _marker("FAIL")
    if not shape.interactive:
        props["incomingTokenType"] = "refreshToken"
        step.update(authenticationMethod="Previously satisfied", authenticationMethodDetail="")
        step["authenticationStepResultDetail"] = (
            "First factor requirement satisfied by claim in the token"
        )
    if shape.code in (50074, 50076, 500121) or shape.mfa:
        props["authenticationRequirement"] = "multiFactorAuthentication"
    if shape.mfa and shape.code == 0:
        props["conditionalAccessStatus"] = "success"
        props["mfaDetail"] = {"authMethod": shape.mfa, "authDetail": None}
        props["authenticationDetails"].append(
            _second_step(shape.mfa, True, "MFA successfully completed")
        )
    elif shape.code == 500121:
        detail = shape.detail or MFA_DENIED
        props["authenticationDetails"].append(
            _second_step("Mobile app notification", False, detail)
        )


def _second_step(method: str, ok: bool, detail: str) -> dict[str, Any]:
    return {
        "authenticationStepDateTime": "2001-01-01T00:00:00.0000000Z",
        "authenticationMethod": method,
        "authenticationMethodDetail": "",
        "succeeded": ok,
        "authenticationStepResultDetail": detail,
        "authenticationStepRequirement": "Multi-factor authentication",
    }


_MS: Final = [str(40 + (n * 379) % 380) for n in range(256)]  # processing times, ms


class Renderer:
    """Fills templates for one tenant: one line of JSON per event."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self._templates: dict[Shape, str] = {}
        self._minutes: dict[int, str] = {}

    def time(self, ts: float) -> str:
        """Azure Monitor's layout: ``2020-09-01T13:04:05.1234560Z`` (to the microsecond)."""
        minute, micros = divmod(round(ts * 1_000_000), 60_000_000)
        prefix = self._minutes.get(minute)
        if prefix is None:
            moment = _EPOCH + timedelta(minutes=minute)
            prefix = self._minutes[minute] = moment.strftime("%Y-%m-%dT%H:%M:")
        seconds, micros = divmod(micros, 1_000_000)
        return f"{prefix}{seconds:02d}.{micros:06d}0Z"

    def line(
        self,
        ts: float,
        shape: Shape,
        who: Who,
        spot: Spot,
        client: Client,
        rng: random.Random,
        correlation: str | None = None,
    ) -> str:
        template = self._templates.get(shape)
        if template is None:
            template = self._templates[shape] = build_template(shape, self.tenant)
        # Two random UUIDs (record and correlation id) from one draw: this runs per event.
        h = "%064x" % rng.getrandbits(256)  # noqa: UP031
        return template % {
            "t": self.time(ts),
            "id": f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}",
            "co": correlation or f"{h[32:40]}-{h[40:44]}-4{h[45:48]}-b{h[49:52]}-{h[52:]}",
            "ms": _MS[int(h[62:], 16)],
            "W": who.block,
            "WT": who.top,
            "S": spot.block,
            "ST": spot.top,
            "C": client.block,
            "rid": client.app.resource_id,
        }
