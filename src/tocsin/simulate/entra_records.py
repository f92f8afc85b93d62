"""Build Entra ID sign-in records in the Azure Monitor diagnostic-settings shape.

The shape follows the real records in ``shared/data/identity/entra_diagnostic_records`` and
Microsoft's "Azure Monitor sign-in log schema": the top-level envelope (``time``,
``category``, ``resultType``…) around a Graph ``signIn`` object in ``properties``, including
the nested ``status``, ``deviceDetail``, ``location`` and ``authenticationDetails`` parts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tocsin.sources.entra_codes import ENTRA_CODES

_MEANING = {c.code: c.meaning for c in ENTRA_CODES}
_INTERACTIVE = "SignInLogs"
_NON_INTERACTIVE = "NonInteractiveUserSignInLogs"


@dataclass(frozen=True, slots=True)
class Place:
    ip: str
    country: str = "US"
    city: str = "Washington"
    state: str = "District of Columbia"
    lat: float = 38.9
    lon: float = -77.03
    asn: int | None = None


def entra_time(moment: datetime) -> str:
    """Azure Monitor's UTC timestamp layout: seven fractional digits and a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def signin_record(
    *,
    moment: datetime,
    user: str,
    place: Place,
    error_code: int = 0,
    tenant_id: str = "6f1a0c9e-3b2d-4f5e-8a7b-1c2d3e4f5a6b",
    app: str = "Office 365 Exchange Online",
    app_id: str = "00000002-0000-0ff1-ce00-000000000000",
    client_app: str = "Browser",
    user_agent: str = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    ),
    browser: str = "Chrome 126.0.0",
    operating_system: str = "Windows10",
    device_id: str = "",
    interactive: bool = True,
    record_id: str | None = None,
    seed: int | None = None,
    display_name: str | None = None,
    additional_details: str | None = None,
) -> dict[str, Any]:
    """One sign-in record. ``seed`` makes the generated ids reproducible."""
    ids = uuid.UUID(int=seed) if seed is not None else uuid.uuid4()
    rid = record_id or str(ids)
    correlation = str(uuid.UUID(int=(ids.int ^ 0x5A5A5A5A5A5A5A5A) & ((1 << 128) - 1)))
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{user}"))
    failure = "Other." if error_code == 0 else _MEANING.get(error_code, "Other.")
    when = entra_time(moment)
    status: dict[str, Any] = {"errorCode": error_code, "failureReason": failure}
    if additional_details:
        status["additionalDetails"] = additional_details
    properties: dict[str, Any] = {
        "id": rid,
        "createdDateTime": when,
        "userDisplayName": display_name or user.split("@")[0].replace(".", " ").title(),
        "userPrincipalName": user,
        "userId": user_id,
        "appId": app_id,
        "appDisplayName": app,
        "ipAddress": place.ip,
        "clientAppUsed": client_app,
        "userAgent": user_agent,
        "correlationId": correlation,
        "conditionalAccessStatus": "notApplied",
        "originalRequestId": rid,
        "isInteractive": interactive,
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "processingTimeInMilliseconds": 120,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "resourceDisplayName": app,
        "resourceId": app_id,
        "authenticationRequirement": "singleFactorAuthentication",
        "userType": "Member",
        "status": status,
        "deviceDetail": {
            "deviceId": device_id,
            "displayName": "",
            "operatingSystem": operating_system,
            "browser": browser,
            "isCompliant": False,
            "isManaged": False,
            "trustType": "",
        },
        "location": {
            "city": place.city,
            "state": place.state,
            "countryOrRegion": place.country,
            "geoCoordinates": {"latitude": place.lat, "longitude": place.lon},
        },
        "authenticationDetails": [
            {
                "authenticationStepDateTime": when,
                "authenticationMethod": "Password",
                "authenticationMethodDetail": "Password in the cloud",
                "succeeded": error_code == 0,
                "authenticationStepResultDetail": "Correct password"
                if error_code in (0, 50074, 50076)
                else failure,
                "authenticationStepRequirement": "Primary authentication",
            }
        ],
        "appliedConditionalAccessPolicies": [],
    }
    if place.asn is not None:
        properties["autonomousSystemNumber"] = place.asn
    return {
        "time": when,
        "resourceId": f"/tenants/{tenant_id}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": _INTERACTIVE if interactive else _NON_INTERACTIVE,
        "tenantId": tenant_id,
        "resultType": str(error_code),
        "resultSignature": "None",
        "resultDescription": failure,
        "durationMs": 0,
        "callerIpAddress": place.ip,
        "correlationId": correlation,
        "identity": properties["userDisplayName"],
        "Level": "4",
        "location": place.country,
        "properties": properties,
    }
