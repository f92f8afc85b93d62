"""Account actions (reset a password, revoke sessions, require a fresh MFA, disable an account)
as a checklist of the exact Microsoft Graph and Okta API calls, and their execution.

Nothing is sent to a real tenant unless its credentials are in the environment *and* the
decision is enforced (not simulated) *and* the caller asks to execute; otherwise every call is
a dry run that prints (and audits) what would be sent. The HTTP transport is injectable, so the
real request-building and sending code is tested against a mock tenant.

Credentials (never in tocsin.toml): ``TOCSIN_GRAPH_TOKEN`` (an access token with
User.ReadWrite.All / User-PasswordProfile.ReadWrite.All), ``TOCSIN_OKTA_ORG_URL`` and
``TOCSIN_OKTA_TOKEN`` (an API token of an admin allowed to manage users).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import httpx

from tocsin.respond.decision import Decision, iso

GRAPH: Final = "https://graph.microsoft.com/v1.0"
OKTA_PLACEHOLDER: Final = "https://YOUR-ORG.okta.com"
ACCOUNT_ACTIONS: Final = ("ban", "reset_password", "revoke_sessions", "mfa_stepup", "notify_only")


@dataclass(frozen=True, slots=True)
class Call:
    provider: str  # entra, okta
    method: str
    url: str
    body: dict[str, Any] | None = None
    resolve_okta_id: bool = False  # the URL holds {id}: look the login up first

    def line(self) -> str:
        body = f" {_json(self.body)}" if self.body is not None else ""
        return f"{self.method} {self.url}{body}"


@dataclass(slots=True)
class Step:
    decision: Decision
    calls: list[Call]
    note: str


@dataclass(slots=True)
class Result:
    decision_id: int
    provider: str
    request: str
    executed: bool
    status: int | None = None
    error: str | None = None
    reason: str = ""


@dataclass(slots=True)
class Credentials:
    graph_token: str | None = None
    okta_url: str | None = None
    okta_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        url = env.get("TOCSIN_OKTA_ORG_URL")
        return cls(
            env.get("TOCSIN_GRAPH_TOKEN") or None,
            url.rstrip("/") if url and url.startswith("https://") else None,
            env.get("TOCSIN_OKTA_TOKEN") or None,
        )

    def has(self, provider: str) -> bool:
        if provider == "entra":
            return bool(self.graph_token)
        return bool(self.okta_url and self.okta_token)


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, separators=(",", ":"))


def plan(decisions: Sequence[Decision], okta_url: str | None = None) -> list[Step]:
    """The calls each account decision asks for, for Entra ID and for Okta."""
    okta = okta_url or OKTA_PLACEHOLDER
    steps: list[Step] = []
    for d in decisions:
        if d.scope != "user" or d.action not in ACCOUNT_ACTIONS:
            continue
        upn = quote(d.value, safe="")
        g_user = f"{GRAPH}/users/{upn}"
        revoke_g = Call("entra", "POST", f"{g_user}/revokeSignInSessions")
        revoke_o = Call(
            "okta", "DELETE", f"{okta}/api/v1/users/{{id}}/sessions?oauthTokens=true",
            resolve_okta_id=True,
        )  # fmt: skip
        calls: list[Call]
        if d.action == "revoke_sessions":
            calls, note = [revoke_g, revoke_o], "sign the account out everywhere"
        elif d.action == "reset_password":
            calls = [
                Call("entra", "PATCH", g_user,
                     {"passwordProfile": {"forceChangePasswordNextSignIn": True}}),
                revoke_g,
                Call("okta", "POST", f"{okta}/api/v1/users/{{id}}/lifecycle/expire_password",
                     resolve_okta_id=True),
                revoke_o,
            ]  # fmt: skip
            note = "force a new password at next sign-in and end current sessions"
        elif d.action == "mfa_stepup":
            calls = [revoke_g, revoke_o]
            note = "end sessions so the next sign-in must pass MFA (per your sign-in policy)"
        elif d.action == "ban":
            calls = [
                Call("entra", "PATCH", g_user, {"accountEnabled": False}),
                revoke_g,
                Call("okta", "POST", f"{okta}/api/v1/users/{{id}}/lifecycle/suspend",
                     resolve_okta_id=True),
                revoke_o,
            ]  # fmt: skip
            note = "disable the account and end its sessions (confirm with its owner first)"
        else:
            calls, note = [], "tell the person (tocsin notify) — no account change"
        steps.append(Step(d, calls, note))
    return steps


def checklist(steps: Sequence[Step], mode: str) -> str:
    """A Markdown checklist a person can follow by hand, with the exact API calls."""
    lines = [
        f"# Account actions: {len(steps)} (response mode {mode})",
        "",
        "Entra ID calls use Microsoft Graph with an `Authorization: Bearer <token>` header; Okta "
        "calls use `Authorization: SSWS <api token>`, and `{id}` is the `id` returned by "
        "`GET /api/v1/users/<login>`.",
        "",
    ]
    for step in steps:
        d = step.decision
        sim = " **[SIMULATED — not enforced]**" if d.simulated else ""
        lines.append(
            f"- [ ] `{d.value}`: **{d.action}** — {step.note} (decision {d.id}, "
            f"{d.scenario}, until {iso(d.until)}){sim}"
        )
        for provider, title in (("entra", "Microsoft Entra ID"), ("okta", "Okta")):
            calls = [c for c in step.calls if c.provider == provider]
            if not calls:
                continue
            lines.append(f"  - {title}:")
            if provider == "okta":
                base = calls[0].url.split("/api/v1/")[0]
                lines.append(f"    - `GET {base}/api/v1/users/{quote(d.value, safe='')}` → `id`")
            lines.extend(f"    - `{c.line()}`" for c in calls)
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Executor:
    """Sends the calls for enforced decisions where credentials exist; dry-runs the rest."""

    credentials: Credentials
    transport: httpx.BaseTransport | None = None
    timeout: float = 20.0
    done: set[tuple[int, str]] = field(default_factory=set)  # (decision, provider) already sent

    def run(self, steps: Sequence[Step], *, execute: bool) -> list[Result]:
        results: list[Result] = []
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            for step in steps:
                for provider in ("entra", "okta"):
                    calls = [c for c in step.calls if c.provider == provider]
                    if calls:
                        results += self._provider(client, step, provider, calls, execute)
        return results

    def _provider(
        self, client: httpx.Client, step: Step, provider: str, calls: list[Call], execute: bool
    ) -> list[Result]:
        d = step.decision
        why = ""
        if d.simulated:
            why = "simulated decision"
        elif not self.credentials.has(provider):
            why = f"no {provider} credentials configured"
        elif not execute:
            why = "dry run asked for"
        elif (d.id, provider) in self.done:
            why = "already executed"
        if why:
            return [Result(d.id, provider, c.line(), False, reason=why) for c in calls]
        out: list[Result] = []
        headers = self._headers(provider)
        okta_id: str | None = None
        for call in calls:
            url = call.url
            if call.resolve_okta_id:
                if okta_id is None:
                    okta_id, error = self._okta_id(client, d.value, headers)
                    if okta_id is None:
                        out.append(Result(d.id, provider, call.line(), False, error=error))
                        return out
                url = url.replace("{id}", quote(okta_id, safe=""))
            try:
                resp = client.request(call.method, url, json=call.body, headers=headers)
            except httpx.HTTPError as exc:
                out.append(Result(d.id, provider, call.line(), False, error=str(exc)[:300]))
                return out
            ok = resp.status_code < 300
            out.append(
                Result(d.id, provider, f"{call.method} {url}", ok, resp.status_code,
                       None if ok else resp.text[:300])
            )  # fmt: skip
            if not ok:
                return out
        self.done.add((d.id, provider))
        return out

    def _headers(self, provider: str) -> dict[str, str]:
        if provider == "entra":
            return {"Authorization": f"Bearer {self.credentials.graph_token}"}
        return {
            "Authorization": f"SSWS {self.credentials.okta_token}",
            "Accept": "application/json",
        }

    def _okta_id(
        self, client: httpx.Client, login: str, headers: dict[str, str]
    ) -> tuple[str | None, str | None]:
        url = f"{self.credentials.okta_url}/api/v1/users/{quote(login, safe='')}"
        try:
            resp = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return None, str(exc)[:300]
        if resp.status_code != 200:
            return None, f"GET {url}: {resp.status_code}"
        user_id = resp.json().get("id")
        return (str(user_id), None) if user_id else (None, "no id in Okta's answer")
