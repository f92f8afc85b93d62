"""OpenSSH server (sshd) authentication messages, from syslog files and loghub's CSVs.

* ``sshd_syslog`` — syslog text (``/var/log/auth.log``, ``/var/log/secure``,
  ``/var/log/messages``, ``journalctl -u ssh -o short-iso``): classic BSD lines
  ``Dec 10 06:55:46 host sshd[24200]: …`` (optionally ``<PRI>``-prefixed), ISO 8601 lines
  ``2024-03-01T10:00:00.123456+01:00 host sshd[123]: …`` and RFC 5424 lines. Programs
  ``sshd``, ``sshd-session``, ``sshd-auth`` (OpenSSH 9.8+) and the old ``sshd(pam_unix)``;
  every other program's line is skipped by name.
* ``sshd_loghub_csv`` — loghub's ``*_structured.csv``: each row is rebuilt into its syslog line
  and read by the same code, so it yields the same event ids as the ``.log``.
* ``loghub_templates`` — loghub's template lists: recognised, every row skipped.

One event per authentication attempt: sshd logs each once, as ``<Accepted|Failed|Partial>
<method> for [invalid user ]<user> from <ip> port <port> ssh2[: <info>]`` (OpenSSH ``auth.c``,
``auth_log``); rsyslog's ``message repeated N times: [ … ]`` is N attempts. PAM's echo of the
same attempt, ``Invalid user`` notices, failure summaries and connection or session
bookkeeping are skipped with a reason that names where the attempt is counted. Old systems
logged only ``sshd(pam_unix)[pid]: authentication failure; … rhost=H [user=U]``: there that
line is the attempt. The message table and the decisions: ``docs/sources/sshd.md``.

Time. A classic line has neither year nor zone. The zone is ``ReadOptions.timezone`` (IANA
name, ``UTC`` or ``±HH:MM``; default UTC; an ambiguous local hour resolves to its first
occurrence). The year is ``ReadOptions.year`` when given, else the year of the file's
modification time in that zone, minus one for a line whose month is later than the
modification month (a rotated log spanning New Year). Timestamps with an offset keep it.

Ids: ``host | pid | UTC time | message [| repetition]``, so a line read again — from the log
or from loghub's CSV — keeps its event id.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.sources.base import (
    Head,
    Prepared,
    ReadOptions,
    RecordError,
    Skip,
    SourceFormat,
    csv_has,
)

_V = "VARCHAR"
SHAPE: Final[dict[str, Any]] = dict.fromkeys(
    (
        "ts", "host", "program", "pid", "message", "rep", "action", "outcome", "reason",
        "reason_code", "reason_detail", "valid", "user", "src", "port", "method", "invalid",
    ),
    _V,
)  # fmt: skip

SQL: Final = """
SELECT
  tocsin_ts(ts) AS time,
  'auth' AS event_type,
  action,
  host AS tenant,
  "user",
  'member' AS user_type,
  src AS src_ip,
  tocsin_host(src) AS src_host,
  'sshd' AS app,
  method AS client_app,
  outcome,
  reason,
  reason_code,
  reason_detail,
  tocsin_bool(valid) AS credential_valid,
  CASE WHEN pid IS NOT NULL THEN concat_ws(' ', host, program || '[' || pid || ']') END
    AS correlation_id,
  concat_ws('|', host, pid, strftime(tocsin_ts(ts), '%Y-%m-%dT%H:%M:%S.%f'), message, rep)
    AS _id_key,
  CAST(json_object('src_port', TRY_CAST(port AS INTEGER), 'pid', TRY_CAST(pid AS BIGINT),
                   'program', program, 'method', method, 'invalid_user', tocsin_bool(invalid),
                   'repeat', rep) AS VARCHAR) AS details
FROM records
"""

# -- skip reasons (stable text: reports count skips by reason) --------------------------------

PAM_NOTE: Final = "PAM echo of an attempt sshd logs itself (counted from its 'Failed …' line)"
INVALID_NOTICE: Final = "invalid-user notice (counted from 'Failed … for invalid user')"
REFUSED_NOTICE: Final = "AllowUsers/DenyUsers refusal (counted from 'Failed … for invalid user')"
SUMMARY: Final = "summary of failures already counted from their 'Failed …' lines"
NONE_PROBE: Final = "'Failed none': a query for the allowed methods, no credential tried"
POSTPONED: Final = "intermediate step (counted from its 'Accepted/Failed …' line)"
KEY_NOTICE: Final = "key lookup notice (counted from its 'Accepted/Failed …' line)"
OLD_USER_UNKNOWN: Final = (
    "PAM 'check pass; user unknown' (counted from the 'authentication failure' that follows)"
)
CONNECTION: Final = "connection bookkeeping, not an authentication attempt"
PROTOCOL: Final = "connection or protocol error, not an authentication attempt"
DNS: Final = "reverse-DNS check (POSSIBLE BREAK-IN ATTEMPT), not an authentication attempt"
SESSION: Final = "session bookkeeping after a login, not an authentication attempt"
DAEMON: Final = "sshd daemon start/stop, not an authentication attempt"
ERROR: Final = "sshd error or warning, not an authentication attempt"
UNRECOGNISED: Final = "sshd message tocsin does not recognise (not counted as an attempt)"
LAST_REPEATED: Final = "'last message repeated N times' does not say which message: not counted"
NO_TAG: Final = "not an sshd message (no program tag)"
TEMPLATES: Final = "loghub template list, not log records"
JOURNAL_BANNER: Final = "journalctl banner (-- Logs begin at … --), not a log record"

SSHD_PROGRAMS: Final = frozenset({"sshd", "sshd-session", "sshd-auth"})
MAX_REPEAT: Final = 10_000  # rsyslog folds repeats of one connection: MaxAuthTries-sized

# -- syslog line layouts ----------------------------------------------------------------------

_MONTHS: Final = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip
_BSD = re.compile(
    r"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d{1,6})? +"
)
_ISO_TS = r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)(Z|[+-]\d\d(?::?\d\d)?)?"
_ISO = re.compile(r"(?:<\d{1,3}>)?" + _ISO_TS + " +")
_ISO_ONLY = re.compile(_ISO_TS)
_RFC5424 = re.compile(
    r'<\d{1,3}>1 (\S+) (\S+) (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)'
    r"(?: \ufeff?(.*))?",
)
# [host ]program[pid]: message — the host is absent from some local writers.
_TAG = re.compile(r"(?:([^\s\[\]]*[^\s\[\]:]) +)?([^\s\[\]:]{1,128})(?:\[(\d{1,10})\])?: ?(.*)")
# The common case, without the optional host's backtracking: "host program[pid]: ".
_TAG_FAST = re.compile(r"([^\s\[\]]+) ([^\s\[\]:]{1,128})\[(\d{1,10})\]: ?")
_NOT_SYSLOG: Final = (
    "not a syslog line: expected 'Mon DD HH:MM:SS host program[pid]: message', "
    "an ISO 8601 timestamp or an RFC 5424 header"
)

# -- sshd messages ----------------------------------------------------------------------------

_AUTH = re.compile(
    r"(Accepted|Failed|Partial|Postponed) (\S+) for (invalid user |illegal user )?(.*)"
    r" from (\S+) port (\d{1,5})(?: ssh[12])?(?:: (.*))?",
)
_FROM_PORT = re.compile(r" from \S+ port \d")
AMBIGUOUS: Final = (
    "ambiguous sshd line: the user name or key ID imitates ' from <ip> port <n>', so the "
    "client address cannot be told apart (possible log injection)"
)
_AUTH_LIKE = re.compile(r"(?:Accepted|Failed|Partial|Postponed) \S+ for ")
_REPEATED = re.compile(r"message repeated (\d{1,9}) times: \[ ?(.*)\]")
_OLD_PAM = re.compile(
    r"authentication failure; logname=\S* uid=\S* euid=\S* tty=\S* ruser=\S* rhost=(\S*)"
    r"(?:\s+user=(.+?))?\s*",
)

_Ctx = tuple[str, str | None, str, str | None, str]  # ts, host, program, pid, message


def _event(
    ctx: _Ctx,
    action: str,
    outcome: str,
    reason: str,
    code: str,
    valid: str,
    user: str | None,
    src: str | None,
    port: str | None,
    method: str | None,
    invalid: str,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "ts": ctx[0], "host": ctx[1], "program": ctx[2], "pid": ctx[3], "message": ctx[4],
        "rep": None, "action": action, "outcome": outcome, "reason": reason,
        "reason_code": code, "reason_detail": detail, "valid": valid, "user": user,
        "src": None if src == "UNKNOWN" else src, "port": port, "method": method,
        "invalid": invalid,
    }  # fmt: skip


# verdict -> outcome, reason (None: by user validity), credential_valid
_VERDICTS: Final = {
    "Accepted": ("success", "ok", "true"),
    "Partial": ("challenge", "mfa_required", "true"),  # one of several required methods passed
    "Failed": ("failure", None, "false"),
}


# A refused key or ticket of an existing account is not a wrong password: clients offer every
# key they hold (logged at LogLevel VERBOSE), and counting those as guesses would make a user
# with three keys look like a guessing attack that then succeeded.
_FAILED_REASON: Final = {"password": "bad_password", "keyboard-interactive": "bad_password"}


def _auth(core: str, ctx: _Ctx) -> Prepared:
    m = _AUTH.fullmatch(core)
    if m is None:
        if _AUTH_LIKE.match(core):
            raise RecordError("sshd authentication message in a layout tocsin does not read")
        if core.startswith(("Accepted key ", "Accepted certificate ")):
            return Skip(KEY_NOTICE)
        return Skip(UNRECOGNISED)
    if core.count(" port ") > 1 and len(_FROM_PORT.findall(core)) > 1:
        raise RecordError(AMBIGUOUS)
    verdict, method, invalid, user, src, port, extra = m.groups()
    if method == "none":
        return Skip(NONE_PROBE)
    if verdict == "Postponed":
        return Skip(POSTPONED)
    outcome, reason, valid = _VERDICTS[verdict]
    if reason is None:
        reason = (
            "unknown_user" if invalid else _FAILED_REASON.get(method.partition("/")[0], "other")
        )
    code = verdict + (" invalid user" if invalid else "")
    return _event(
        ctx, f"{verdict} {method}", outcome, reason, code, valid, user, src, port, method,
        "true" if invalid else "false", extra,
    )  # fmt: skip


def _repeated(core: str, ctx: _Ctx) -> Prepared:
    m = _REPEATED.fullmatch(core)
    if m is None:
        return Skip(UNRECOGNISED)
    count = int(m.group(1))
    if not 1 <= count <= MAX_REPEAT:
        raise RecordError(f"'message repeated {count} times' is not a plausible repeat count")
    inner = m.group(2).rstrip()
    if inner.startswith("message repeated"):
        return Skip(UNRECOGNISED)
    result = _modern(inner, ctx)
    if isinstance(result, dict):
        return [{**result, "rep": f"{i}/{count}"} for i in range(1, count + 1)]
    return result


# A word shared by several messages: the first needle found in the message decides, else the
# default.
_Needles = tuple[tuple[tuple[str, Skip], ...], Skip]


def _needles(default: str, *pairs: tuple[str, str]) -> _Needles:
    return tuple((needle, Skip(reason)) for needle, reason in pairs), Skip(default)


_DISCONNECTING: Final = _needles(CONNECTION, ("Too many authentication failures", SUMMARY))
# The first word of an sshd message decides how it is read.
_BY_FIRST_WORD: Final[dict[str, Skip | _Needles | Callable[[str, _Ctx], Prepared]]] = {
    "Accepted": _auth, "Failed": _auth, "Partial": _auth, "Postponed": _auth,
    "message": _repeated,
    "Invalid": Skip(INVALID_NOTICE), "Illegal": Skip(INVALID_NOTICE),
    "input_userauth_request:": Skip(INVALID_NOTICE),
    "User": _needles(
        UNRECOGNISED, (" not allowed because ", REFUSED_NOTICE), ("User child ", SESSION)
    ),
    "PAM": _needles(ERROR, (" more authentication failure", SUMMARY), ("PAM service(", SUMMARY)),
    "Disconnecting:": _DISCONNECTING, "Disconnecting": _DISCONNECTING,
    "error:": _needles(
        ERROR,
        ("error: maximum authentication attempts exceeded", SUMMARY),
        ("error: PAM: ", PAM_NOTE),
        ("error: Received disconnect", CONNECTION), ("error: Connection ", CONNECTION),
        ("error: kex_", PROTOCOL), ("error: Protocol major", PROTOCOL),
        ("error: Bad protocol", PROTOCOL), ("error: ssh_dispatch", PROTOCOL),
        ("error: banner ", PROTOCOL),
    ),
    "Received": _needles(DAEMON, ("Received disconnect", CONNECTION)),
    "Starting": _needles(DAEMON, ("Starting session", SESSION)),
    "Connection": Skip(CONNECTION), "Disconnected": Skip(CONNECTION),
    "Timeout": Skip(CONNECTION), "Timeout,": Skip(CONNECTION), "Read": Skip(CONNECTION),
    "drop": Skip(CONNECTION), "refused": Skip(CONNECTION), "beginning": Skip(CONNECTION),
    "exited": Skip(CONNECTION), "srclimit_penalise:": Skip(CONNECTION),
    "Did": Skip(PROTOCOL), "Bad": Skip(PROTOCOL), "Protocol": Skip(PROTOCOL),
    "Unable": Skip(PROTOCOL), "ssh_dispatch_run_fatal:": Skip(PROTOCOL),
    "kex_exchange_identification:": Skip(PROTOCOL), "banner": Skip(PROTOCOL),
    "Corrupted": Skip(PROTOCOL), "fatal:": Skip(PROTOCOL),
    "reverse": Skip(DNS), "Address": Skip(DNS), "Nasty": Skip(DNS),
    "Close": Skip(SESSION), "Transferred:": Skip(SESSION), "subsystem": Skip(SESSION),
    "Server": Skip(DAEMON), "Exiting": Skip(DAEMON),
    "warning:": Skip(ERROR), "Authentication": Skip(ERROR),
}  # fmt: skip


def _modern(message: str, ctx: _Ctx) -> Prepared:
    core = message[:-10] if message.endswith(" [preauth]") else message
    word = core.partition(" ")[0]
    handler = _BY_FIRST_WORD.get(word)
    if handler is None:
        if word.startswith("pam_"):  # pam_unix(sshd:auth): …, pam_sss(sshd:session): …
            return Skip(SESSION if ":session)" in word else PAM_NOTE)
        return Skip(UNRECOGNISED)
    if isinstance(handler, Skip):
        return handler
    if isinstance(handler, tuple):
        for needle, verdict in handler[0]:
            if needle in core:
                return verdict
        return handler[1]
    return handler(core, ctx)


def _old_pam(message: str, ctx: _Ctx) -> Prepared:
    """``sshd(pam_unix)[pid]: …``: the only trace old systems left of an ssh attempt."""
    if message.startswith("authentication failure;"):
        m = _OLD_PAM.fullmatch(message)
        if m is None:
            raise RecordError("pam_unix authentication failure in a layout tocsin does not read")
        rhost, user = m.groups()
        reason, invalid = ("bad_password", "false") if user else ("unknown_user", "true")
        return _event(
            ctx, "PAM authentication failure", "failure", reason, "authentication failure",
            "false", user, rhost or None, None, None, invalid, None,
        )  # fmt: skip
    if message.startswith("check pass; user unknown"):
        return Skip(OLD_USER_UNKNOWN)
    if message.startswith(("session opened", "session closed")):
        return Skip(SESSION)
    return Skip(UNRECOGNISED)


# -- time -----------------------------------------------------------------------------------

_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")
# Resolved classic timestamps by their 16 leading characters, for one ReadOptions object (one
# per file): a file costs one timestamp parse per distinct second.
_TIMES: dict[str, tuple[ReadOptions, str]] = {}


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = _OFFSET.fullmatch(name)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(-delta if m.group(1) == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RecordError(f"unknown time zone {name!r} (use an IANA name, UTC or ±HH:MM)") from exc


def _year(month: int, options: ReadOptions, zone: tzinfo) -> int:
    if options.year is not None:
        return options.year
    mtime = options.file_mtime if options.file_mtime is not None else time.time()
    try:
        ref = datetime.fromtimestamp(mtime, zone)
    except (OverflowError, OSError, ValueError) as exc:
        raise RecordError(f"file time {mtime!r} cannot date the line; pass the year") from exc
    return ref.year - 1 if month > ref.month else ref.year


def _classic_time(m: re.Match[str], options: ReadOptions) -> str:
    mon, day, hh, mm, ss, frac = m.groups()
    month = _MONTHS.get(mon)
    if month is None:
        raise RecordError(f"unknown month {mon!r} in the syslog timestamp")
    zone = _zone(options.timezone)
    year = _year(month, options, zone)
    micro = int((frac[1:] + "00000")[:6]) if frac else 0
    try:
        local = datetime(year, month, int(day), int(hh), int(mm), int(ss), micro, tzinfo=zone)
    except ValueError as exc:
        stamp = m.group(0).strip()
        raise RecordError(f"invalid syslog timestamp {stamp!r} in {year}: {exc}") from exc
    iso = local.isoformat()
    if m.end() == 16:  # the usual fixed-width "Mmm dd HH:MM:SS ": cache it by those 16 chars
        if len(_TIMES) >= 16_384:
            _TIMES.clear()
        _TIMES[m.string[:16]] = (options, iso)
    return iso


def _iso_time(date: str, clock: str, offset: str | None, options: ReadOptions) -> str:
    clock = clock.replace(",", ".")
    if offset is not None:
        return f"{date}T{clock}{offset}"
    try:
        local = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError as exc:
        raise RecordError(f"invalid timestamp {date}T{clock}: {exc}") from exc
    return local.replace(tzinfo=_zone(options.timezone)).isoformat()


# -- prepare ----------------------------------------------------------------------------------


def prepare_syslog(line: Any, options: ReadOptions) -> Prepared:
    """A syslog line -> an event, events (a repeat), or a Skip; RecordError if unreadable."""
    if not isinstance(line, str):
        raise RecordError("record is not a line of text")
    hit = _TIMES.get(line[:16])
    if hit is not None and hit[0] is options:  # a classic timestamp seen before in this file
        ts, rest = hit[1], line[16:].lstrip(" ")
    elif (m := _BSD.match(line)) is not None:
        ts, rest = _classic_time(m, options), line[m.end() :]
    elif (m := _ISO.match(line)) is not None:
        ts, rest = _iso_time(m.group(1), m.group(2), m.group(3), options), line[m.end() :]
    elif (m := _RFC5424.fullmatch(line)) is not None:
        return _rfc5424(m, options)
    elif _is_banner(line):
        return Skip(JOURNAL_BANNER)
    else:
        raise RecordError(_NOT_SYSLOG)
    if (f := _TAG_FAST.match(rest)) is not None:
        host, program, pid = f.groups()
        return _dispatch(ts, host, program, pid, rest[f.end() :])
    t = _TAG.fullmatch(rest)
    if t is None:
        return _untagged(rest)
    host, program, pid, message = t.groups()
    return _dispatch(ts, host, program, pid, message)


def _is_banner(line: str) -> bool:
    return line.startswith("-- ") and line.rstrip().endswith(" --")


def _untagged(rest: str) -> Skip:
    if "last message repeated" in rest:
        return Skip(LAST_REPEATED)
    words = rest.split(None, 2)  # "host syslogd 1.4.1: restart." -> syslogd
    program = words[1] if len(words) > 1 else words[0] if words else ""
    if program.rstrip(":").partition("[")[0] in SSHD_PROGRAMS:
        raise RecordError("sshd line with a program tag tocsin cannot read")
    return Skip(f"not an sshd message (program {program[:40]})" if program else NO_TAG)


def _rfc5424(m: re.Match[str], options: ReadOptions) -> Prepared:
    stamp, host, program, pid, message = m.groups()
    parts = _ISO_ONLY.fullmatch(stamp)
    if parts is None:
        raise RecordError(f"RFC 5424 line without a valid timestamp ({stamp[:40]!r})")
    ts = _iso_time(parts.group(1), parts.group(2), parts.group(3), options)
    return _dispatch(
        ts, None if host == "-" else host, program, None if pid == "-" else pid, message or ""
    )


def _dispatch(ts: str, host: str | None, program: str, pid: str | None, message: str) -> Prepared:
    if program in SSHD_PROGRAMS:
        name, module = program, ""
    else:
        name, _, module = program.partition("(")
        name = name.rpartition("/")[2]
    if name not in SSHD_PROGRAMS:
        return Skip(f"not an sshd message (program {program[:40]})")
    message = message.rstrip()
    ctx: _Ctx = (ts, host, name, pid, message)
    if not module:
        return _modern(message, ctx)
    if module == "pam_unix)":
        return _old_pam(message, ctx)
    return Skip(UNRECOGNISED)


def prepare_loghub(row: Any, options: ReadOptions) -> Prepared:
    """A loghub structured-CSV row, rebuilt into its syslog line and read as one."""
    if not isinstance(row, dict):
        raise RecordError("record is not a CSV row")
    month: Any
    program: Any
    if "Day" in row:  # OpenSSH layout: Date is the month, Component the host, program sshd
        month, day, host, program, pid = (
            row.get("Date"), row.get("Day"), row.get("Component"), "sshd", row.get("Pid"),
        )  # fmt: skip
    else:  # Linux layout: Level is the host, Component the program
        month, day, host, program, pid = (
            row.get("Month"), row.get("Date"), row.get("Level"), row.get("Component"),
            row.get("PID"),
        )  # fmt: skip
    clock = row.get("Time")
    if not (month and day and clock):
        raise RecordError("loghub row without its month, day and time columns")
    tag = f"{program or '-'}[{pid}]" if pid else (program or "-")
    prefix = f"{month} {day} {clock} {host} " if host else f"{month} {day} {clock} "
    return prepare_syslog(f"{prefix}{tag}: {row.get('Content') or ''}", options)


def _skip_template(row: Any, options: ReadOptions) -> Skip:
    return Skip(TEMPLATES)


# -- sniffing ---------------------------------------------------------------------------------

_SSHD_IN_TEXT = re.compile(
    r"\bsshd(?:-session|-auth)?(?:\(pam_unix\))?\[\d+\]:"
    r"|^<\d{1,3}>1 \S+ \S+ sshd(?:-session|-auth)? ",
    re.M,
)


def _looks_like_syslog(line: str) -> bool:
    return bool(_BSD.match(line) or _ISO.match(line) or _RFC5424.match(line))


def _sniff_syslog(head: Head) -> int:
    lines = [line for line in head.lines[:12] if line.strip() and not _is_banner(line)][:8]
    if not lines or not _looks_like_syslog(lines[0]):
        return 0
    if sum(map(_looks_like_syslog, lines)) * 4 < len(lines) * 3:
        return 0
    return 80 if _SSHD_IN_TEXT.search(head.text) else 15


_LOGHUB_OPENSSH: Final = ("LineId", "Date", "Day", "Time", "Component", "Pid", "Content")
_LOGHUB_LINUX: Final = ("LineId", "Month", "Date", "Time", "Level", "Component", "PID", "Content")


def _sniff_loghub(head: Head) -> int:
    if csv_has(head, *_LOGHUB_OPENSSH):
        return 85
    if csv_has(head, *_LOGHUB_LINUX):
        return 85 if "sshd" in head.text else 15
    return 0


def _sniff_templates(head: Head) -> int:
    names = set(head.header)
    if {"EventId", "EventTemplate"} <= names <= {"EventId", "EventTemplate", "Occurrences"}:
        return 60
    return 0


SSHD_SYSLOG: Final = SourceFormat(
    name="sshd_syslog",
    source="sshd",
    title="OpenSSH server log lines in syslog files (auth.log, secure, messages, journalctl)",
    containers=("text",),
    shape=SHAPE,
    sql=SQL,
    sniff=_sniff_syslog,
    prepare=prepare_syslog,
    example="/var/log/auth.log, /var/log/secure, or journalctl -u ssh -o short-iso > sshd.log",
)

SSHD_LOGHUB_CSV: Final = SourceFormat(
    name="sshd_loghub_csv",
    source="sshd",
    title="loghub structured CSV of OpenSSH / Linux syslog (rebuilt into syslog lines)",
    containers=("csv",),
    shape=SHAPE,
    sql=SQL,
    sniff=_sniff_loghub,
    prepare=prepare_loghub,
    example="github.com/logpai/loghub: OpenSSH/OpenSSH_2k.log_structured.csv",
)

LOGHUB_TEMPLATES: Final = SourceFormat(
    name="loghub_templates",
    source="sshd",
    title="loghub template list (EventId, EventTemplate) — recognised, not log records",
    containers=("csv",),
    shape={"_unused": _V},
    sql="SELECT NULL::TIMESTAMPTZ AS time, NULL AS outcome FROM records",
    sniff=_sniff_templates,
    prepare=_skip_template,
    example="github.com/logpai/loghub: */*_templates.csv",
)

FORMATS: tuple[SourceFormat, ...] = (SSHD_SYSLOG, SSHD_LOGHUB_CSV, LOGHUB_TEMPLATES)
