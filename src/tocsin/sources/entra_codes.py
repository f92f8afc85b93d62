"""Microsoft Entra ID sign-in error codes (AADSTS) → tocsin outcome, reason, credential proof.

Source: Microsoft Learn, "Microsoft Entra authentication and authorization error codes"
(https://learn.microsoft.com/entra/identity-platform/reference-error-codes) and "Sign-in log
error codes" in the Entra troubleshooting docs. The native code is always kept in
``reason_code``; codes not listed here map to outcome ``failure``, reason ``other``.

``credential_valid`` says whether the attempt proves the password was right. Entra checks the
password before it asks for MFA, applies Conditional Access, reports an expired password or
interrupts for "keep me signed in" — so those codes mean the attacker *has the password* even
though the sign-in did not complete. Detection of compromise after a spray depends on this.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class EntraCode(NamedTuple):
    code: int
    outcome: str
    reason: str
    credential_valid: bool | None
    meaning: str


ENTRA_CODES: Final[tuple[EntraCode, ...]] = (
    EntraCode(0, "success", "ok", True, "Success"),
    EntraCode(16000, "failure", "other", None, "Interaction required: account selection"),
    EntraCode(16003, "failure", "other", None, "User account not found in the resource tenant"),
    EntraCode(50011, "failure", "other", None, "Reply URL mismatch"),
    EntraCode(50020, "failure", "unknown_user", False, "User from an identity provider does not exist in the tenant"),
    EntraCode(50034, "failure", "unknown_user", False, "User account does not exist in the directory"),
    EntraCode(50053, "blocked", "locked", None, "Account locked (Smart Lockout) or sign-in from an IP with malicious activity blocked"),
    EntraCode(50055, "failure", "password_expired", True, "Password expired (the password given was correct)"),
    EntraCode(50056, "failure", "bad_password", False, "Invalid or null password"),
    EntraCode(50057, "failure", "disabled", None, "User account is disabled"),
    EntraCode(50058, "failure", "other", None, "Session information not sufficient for single sign-on"),
    EntraCode(50059, "failure", "other", None, "Tenant-identifying information not found"),
    EntraCode(50064, "failure", "bad_password", False, "Credential validation failed"),
    EntraCode(50072, "challenge", "mfa_required", True, "User must enrol for second-factor authentication"),
    EntraCode(50074, "challenge", "mfa_required", True, "Strong authentication (MFA) required"),
    EntraCode(50076, "challenge", "mfa_required", True, "MFA required by policy or location"),
    EntraCode(50079, "challenge", "mfa_required", True, "User must register for MFA"),
    EntraCode(50089, "failure", "other", None, "Flow token expired"),
    EntraCode(50097, "challenge", "other", True, "Device authentication required"),
    EntraCode(50105, "blocked", "blocked_policy", True, "User not assigned to the application"),
    EntraCode(50125, "challenge", "other", True, "Sign-in interrupted by password reset or registration"),
    EntraCode(50126, "failure", "bad_password", False, "Invalid username or password"),
    EntraCode(50128, "failure", "unknown_user", False, "Invalid domain name: no tenant for the sign-in name"),
    EntraCode(50131, "blocked", "blocked_policy", True, "Blocked by Conditional Access"),
    EntraCode(50132, "failure", "other", None, "Session invalid after a password change"),
    EntraCode(50133, "failure", "other", None, "Session invalid after a password change or expiry"),
    EntraCode(50140, "challenge", "other", True, "'Keep me signed in' interrupt after the password step"),
    EntraCode(50144, "failure", "password_expired", True, "On-premises AD password expired"),
    EntraCode(50155, "failure", "other", None, "Device authentication failed"),
    EntraCode(50158, "challenge", "mfa_required", True, "External security challenge (third-party MFA) not yet satisfied"),
    EntraCode(50173, "failure", "other", None, "Grant expired after a password change; fresh sign-in needed"),
    EntraCode(50199, "challenge", "other", True, "Additional user confirmation required for security"),
    EntraCode(51004, "failure", "unknown_user", False, "User account not in the directory"),
    EntraCode(53000, "blocked", "blocked_policy", True, "Device not compliant (Conditional Access)"),
    EntraCode(53001, "blocked", "blocked_policy", True, "Device not domain-joined (Conditional Access)"),
    EntraCode(53002, "blocked", "blocked_policy", True, "Application not approved (Conditional Access)"),
    EntraCode(53003, "blocked", "blocked_policy", True, "Blocked by Conditional Access (after primary authentication)"),
    EntraCode(53004, "challenge", "mfa_required", True, "MFA registration (proof-up) required"),
    EntraCode(65001, "failure", "other", None, "Application consent required"),
    EntraCode(70044, "failure", "other", None, "Session expired or invalidated"),
    EntraCode(81010, "failure", "other", None, "Seamless SSO: Kerberos ticket expired or invalid"),
    EntraCode(81016, "failure", "other", None, "Seamless SSO: invalid Kerberos ticket"),
    EntraCode(500121, "failure", "mfa_denied", True, "Authentication failed during the MFA request (denied or not answered)"),
    EntraCode(500133, "failure", "other", None, "Token not within its validity period"),
    EntraCode(530002, "blocked", "blocked_policy", True, "Compliant device required (Conditional Access)"),
    EntraCode(530003, "blocked", "blocked_policy", True, "Managed device required (Conditional Access)"),
    EntraCode(530032, "blocked", "blocked_policy", True, "Blocked by a security policy (security defaults / tenant restriction)"),
    EntraCode(530034, "blocked", "other", None, "Delegated admin access blocked due to suspicious activity"),
    EntraCode(700016, "failure", "other", None, "Application not found in the directory"),
    EntraCode(700082, "failure", "other", None, "Refresh token expired due to inactivity"),
    EntraCode(7000218, "failure", "other", None, "Client assertion or secret missing"),
)  # fmt: skip


def _case(column: str, pick: str, default: str) -> str:
    whens = " ".join(f"WHEN {c.code} THEN {pick_value(c, pick)}" for c in ENTRA_CODES)
    return f"CASE TRY_CAST({column} AS BIGINT) {whens} ELSE {default} END"


def pick_value(code: EntraCode, pick: str) -> str:
    value = getattr(code, pick)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value) + "'"


# DuckDB macros shared by every Entra-based format (and Microsoft 365's STS logon records,
# which carry the same AADSTS code as `ErrorNumber`).
ENTRA_MACROS: Final = (
    f"CREATE OR REPLACE MACRO entra_outcome(code) AS {_case('code', 'outcome', chr(39) + 'failure' + chr(39))}",
    # The additional-details text refines two codes that cover several situations.
    f"""CREATE OR REPLACE MACRO entra_reason(code, detail) AS CASE
          WHEN TRY_CAST(code AS BIGINT) = 500121 AND regexp_matches(lower(detail),
               'did not respond|timed out|timeout|no response') THEN 'mfa_timeout'
          WHEN TRY_CAST(code AS BIGINT) = 50053 AND regexp_matches(lower(detail), 'malicious')
               AND NOT regexp_matches(lower(detail), 'locked') THEN 'blocked_ip'
          ELSE {_case("code", "reason", chr(39) + "other" + chr(39))} END""",
    f"CREATE OR REPLACE MACRO entra_credential_valid(code) AS {_case('code', 'credential_valid', 'NULL')}",
)
