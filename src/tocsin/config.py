"""`tocsin.toml`: the organisations tocsin protects, their people, channels and response policy.

Validated with pydantic when loaded; every problem is reported with its key path *and the line
of the file it is on*, all at once (not only the first). Secrets are never written in the file:
a channel names the environment variable that holds its password or signing key.

See ``docs/config.md`` and ``tocsin.example.toml``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tocsin.events import SEVERITIES

LANGUAGES = ("en", "fr", "id", "ja", "zh_Hans", "ar")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _network(value: str) -> str:
    net = ipaddress.ip_network(value, strict=False)
    return str(net)


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError("a duration like 30m, 12h or 7d")
    return value


Network = Annotated[str, AfterValidator(_network)]
Duration = Annotated[str, AfterValidator(_duration)]
Language = Literal["en", "fr", "id", "ja", "zh_Hans", "ar"]


def _english() -> list[Language]:
    return ["en"]


def duration_seconds(value: str) -> int:
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str
    tenants: list[str] = Field(
        default_factory=list
    )  # Entra tenant ids, Google customer ids, hosts…
    domains: list[str] = Field(default_factory=list)
    # Addresses that are the organisation's own: never blocked, whatever a rule says.
    egress: list[Network] = Field(default_factory=list)
    mobile_ranges: list[Network] = Field(default_factory=list)  # carrier CGNAT its people use
    monitoring: list[Network] = Field(default_factory=list)
    languages: list[Language] = Field(default_factory=lambda: _english())
    security_contacts: list[str] = Field(default_factory=list)

    @field_validator("domains")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [d.strip().lower().rstrip(".") for d in value]


class Person(_Strict):
    name: str
    organisation: str
    accounts: list[str] = Field(min_length=1)  # sign-in names as they appear in the logs
    personal: list[str] = Field(default_factory=list)  # personal e-mail addresses
    language: Language | None = None  # else the organisation's first language
    vip: bool = False  # protect from display-name impersonation in mail

    @field_validator("accounts", "personal")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]


class SmtpChannel(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None  # the environment variable holding the password
    sender: str
    timeout_seconds: float = Field(default=30, gt=0)


class WebhookChannel(_Strict):
    name: str
    url: str = Field(pattern=r"^https?://")
    kind: Literal["generic", "slack", "teams"] = "generic"
    secret_env: str | None = None  # HMAC-SHA256 signing key, for kind "generic"


class Channels(_Strict):
    smtp: SmtpChannel | None = None
    webhooks: list[WebhookChannel] = Field(default_factory=list)


class NotifySettings(_Strict):
    enabled: bool = True
    max_per_recipient_per_hour: int = Field(default=5, ge=1)
    max_per_domain_per_minute: int = Field(default=30, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    min_severity: Literal["low", "medium", "high", "critical"] = "high"


Action = Literal["ban", "captcha", "mfa_stepup", "reset_password", "revoke_sessions", "notify_only"]
Scope = Literal["ip", "range", "asn", "country", "user_agent", "user"]


class PolicyRule(_Strict):
    rules: list[str] = Field(default_factory=lambda: ["*"])
    min_severity: Literal["low", "medium", "high", "critical"] = "high"
    min_confidence: float = Field(default=0.0, ge=0, le=1)
    action: Action
    scope: Scope = "ip"
    duration: Duration = "24h"


class ResponseSettings(_Strict):
    mode: Literal["simulate", "enforce"] = "simulate"
    policy: list[PolicyRule] = Field(default_factory=list)
    allowlist: list[Network] = Field(default_factory=list)
    # Never create a decision wider than this (an IPv4 /16 blocks 65,536 addresses).
    max_ipv4_prefix: int = Field(default=16, ge=8, le=32)
    max_ipv6_prefix: int = Field(default=32, ge=16, le=128)


class Config(_Strict):
    organisations: list[Organisation] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    channels: Channels = Field(default_factory=Channels)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    response: ResponseSettings = Field(default_factory=ResponseSettings)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        ids = [o.id for o in self.organisations]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"organisation ids must be unique: {sorted(dupes)}")
        for person in self.people:
            if person.organisation not in ids:
                raise ValueError(
                    f"person {person.name!r}: unknown organisation {person.organisation!r}"
                )
        return self

    def organisation(self, org_id: str) -> Organisation:
        for org in self.organisations:
            if org.id == org_id:
                return org
        raise KeyError(org_id)

    def organisation_of_tenant(self, tenant: str | None) -> Organisation | None:
        if tenant is None:
            return None
        for org in self.organisations:
            if tenant in org.tenants or tenant.lower() in org.domains:
                return org
        return None

    def person_by_account(self, account: str) -> Person | None:
        account = account.lower()
        for person in self.people:
            if account in person.accounts:
                return person
        return None

    def language_of(self, person: Person) -> str:
        if person.language:
            return person.language
        return self.organisation(person.organisation).languages[0]

    def secret(self, env_name: str | None) -> str | None:
        """A secret from the environment (never from the file)."""
        return os.environ.get(env_name) if env_name else None


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}"


class ConfigError(ValueError):
    def __init__(self, file: Path, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {p}" for p in problems))


def load_config(path: Path) -> Config:
    """Load and validate a tocsin.toml; ConfigError lists every problem with its line."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise ConfigError(path, [ConfigProblem("(syntax)", line, str(exc))]) from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            problems.append(
                ConfigProblem(_dotted(err["loc"]) or "(top)", _line_of(text, loc), err["msg"])
            )
        raise ConfigError(path, problems) from None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best-effort line of a key path in TOML text: follow tables and array-of-table indexes."""
    lines = text.splitlines()
    start = 0
    table: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        if i + 1 < len(loc) and loc[i + 1].isdigit():
            # an array of tables: find the n-th [[a.b]] header (else it is an inline array)
            header = "[[" + ".".join([*table, part]) + "]]"
            wanted = int(loc[i + 1])
            seen = -1
            found_header = False
            for n in range(start, len(lines)):
                if lines[n].strip() == header:
                    seen += 1
                    if seen == wanted:
                        start, found_header = n, True
                        break
            if found_header:
                table = [*table, part]
                i += 2
                continue
        header = "[" + ".".join([*table, part]) + "]"
        for n in range(start, len(lines)):
            stripped = lines[n].strip()
            if stripped == header:
                start = n
                table = [*table, part]
                break
            if re.match(rf"^{re.escape(part)}\s*=", stripped):
                return n + 1
        else:
            return start + 1 if start else None
        i += 1
    return start + 1 if start or lines else None


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(minimum)
