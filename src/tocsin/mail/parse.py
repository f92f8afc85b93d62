"""One message's bytes → what the detectors read, within fixed limits, never raising.

Structure comes from the standard library's feed parser with the ``compat32`` policy, which
keeps header values as raw strings: ``policy=default`` builds a typed object for every header
and costs about five times as much (measured on the sample corpus: ~900 against ~2,000
messages/s for parsing alone), and we decode the dozen headers we use ourselves
(:mod:`tocsin.mail.headers`). Limits, each reported as a warning when reached:

* the message is cut at ``MAX_MESSAGE`` bytes (the reader enforces it);
* a header field longer than ``MAX_FIELD`` is cut, and the header block to ``MAX_HEADER_BLOCK``,
  before the parser sees them;
* MIME nesting deeper than ``MAX_DEPTH`` and parts beyond ``MAX_PARTS`` are not analysed (a
  message that needs them is trying to exhaust a scanner, and says so in its verdict);
* decoded text is kept up to ``MAX_TEXT`` per part, attachments hashed whole but inspected
  only up to ``MAX_INSPECT``.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from tocsin.mail import mime
from tocsin.mail.headers import (
    Address,
    AuthResults,
    as_text,
    decode_bytes,
    decode_words,
    parse_address,
    parse_addresses,
    parse_auth,
    parse_date,
    public_ip,
    received_date,
    received_ips,
)

MAX_MESSAGE = 32 << 20
MAX_FIELD = 64 << 10
MAX_HEADER_BLOCK = 1 << 20
MAX_DEPTH = 20
MAX_PARTS = 500
MAX_TEXT = 1 << 20
MAX_INSPECT = 8 << 20

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"^[!-9;-~]+:")
_RECEIVED_BY = re.compile(r"\bby\s+([A-Za-z0-9][A-Za-z0-9.-]{2,253})", re.IGNORECASE)
_BY = re.compile(r"\sby\s", re.IGNORECASE)
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")


@dataclass(slots=True)
class Attachment:
    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes  # the first MAX_INSPECT bytes, for inspection only (never written anywhere)
    inline: bool = False


@dataclass(slots=True)
class ParsedMessage:
    size: int
    sha256: str
    message_id: str = ""
    subject: str = ""
    sender: Address = field(default_factory=lambda: Address("", ""))
    reply_to: Address | None = None
    return_path: str = ""
    recipients: list[str] = field(default_factory=list)
    to_cc: list[str] = field(default_factory=list)
    time: datetime | None = None
    auth: AuthResults = field(default_factory=AuthResults)
    sender_ip: str | None = None
    hop_ips: list[str] = field(default_factory=list)
    bulk: bool = False  # List-Unsubscribe / List-Id / Precedence: bulk or list
    list_unsubscribe: bool = False  # a List-Unsubscribe header (RFC 2369 / RFC 8058)
    threaded: bool = False  # In-Reply-To or References present
    receiver: str = ""  # the host that wrote the topmost Received header ("by …")
    handoff: str = ""  # the receiving host that took the message from the sender's server
    from_raw: str = ""  # the From header as decoded, for malformation checks
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parts: int = 0
    limits_hit: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        if text not in self.warnings and len(self.warnings) < 50:
            self.warnings.append(text)


def parse_message(data: bytes) -> ParsedMessage:
    """Parse one message; problems become warnings, never exceptions."""
    parsed = ParsedMessage(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    data = _bound_headers(data, parsed)
    parser = BytesParser(policy=policy.compat32)
    try:
        budget = mime.Budget(MAX_PARTS + 1, MAX_DEPTH + 1, _WANTED)
        message = mime.parse(data.decode("ascii", "surrogateescape"), budget)
    except (ValueError, LookupError, TypeError, IndexError, AttributeError) as exc:
        # A message this splitter cannot take apart: the standard library's parser reads it.
        parsed.warn(f"MIME splitter failed ({type(exc).__name__}): read by the stdlib parser")
        fallback = _stdlib_parse(parser, data, parsed)
        if fallback is None:
            return parsed
        message = fallback
    _read_headers(message, parsed)
    for defect in message.defects[:10]:
        parsed.warn(f"message: {type(defect).__name__}")
    _walk(message, parsed, depth=0)
    return parsed


def _stdlib_parse(parser: BytesParser, data: bytes, parsed: ParsedMessage) -> Message | None:
    try:
        return parser.parsebytes(data)
    except RecursionError:
        parsed.limits_hit.append("nesting")
        parsed.warn("MIME structure too deep for the parser: headers read, body scanned as text")
        message = parser.parsebytes(data, headersonly=True)
        parsed.texts.append(decode_bytes(data[:MAX_TEXT], "utf-8"))
        _read_headers(message, parsed)
        return None


def _bound_headers(data: bytes, parsed: ParsedMessage) -> bytes:
    """Cut over-long header fields and header blocks before the parser sees them."""
    lf, crlf = data.find(b"\n\n"), data.find(b"\r\n\r\n")
    end = min(e for e in (lf, crlf, len(data)) if e >= 0)
    if end <= MAX_FIELD:
        return data
    found = _HEADER_END.search(data)
    end = found.start() if found else len(data)
    head, rest = data[:end], data[end:]
    kept: list[bytes] = []
    total = field_size = cut_fields = 0
    field_cut = False
    for line in head.splitlines(keepends=True):
        starts_field = line[:1] not in (b" ", b"\t") and bool(_FIELD_START.match(line))
        if starts_field:
            field_size, field_cut = 0, False
        if field_size + len(line) > MAX_FIELD or total + len(line) > MAX_HEADER_BLOCK:
            if not field_cut:
                cut_fields, field_cut = cut_fields + 1, True
            field_size = MAX_FIELD + 1  # the field's continuation lines go with it
            continue
        field_size += len(line)
        total += len(line)
        kept.append(line)
    if cut_fields:
        parsed.warn(
            f"header block of {len(head):,} bytes cut to {total:,}: "
            f"{cut_fields} field(s) over the size limits"
        )
        parsed.limits_hit.append("header size")
    if kept and not kept[-1].endswith(b"\n"):
        kept.append(b"\n")
    return b"".join(kept) + (rest if found else b"\n")


_WANTED = frozenset(
    (
        "message-id",
        "subject",
        "from",
        "sender",
        "reply-to",
        "return-path",
        "to",
        "cc",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "received",
        "date",
        "authentication-results",
        "received-spf",
        "x-sender-ip",
        "x-originating-ip",
        "precedence",
        "list-unsubscribe",
        "list-id",
        "in-reply-to",
        "references",
    )
)


def _read_headers(message: Message, parsed: ParsedMessage) -> None:
    # One pass over the header list (Message.get scans it on every call).
    headers: dict[str, list[object]] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key in _WANTED:
            headers.setdefault(key, []).append(value)

    def first(name: str) -> object:
        values = headers.get(name)
        return values[0] if values else ""

    parsed.message_id = as_text(first("message-id")).strip()[:998]
    parsed.subject = decode_words(first("subject"))[:998]
    parsed.from_raw = decode_words(first("from"))[:998]
    parsed.sender = parse_address(first("from"))
    if not parsed.sender.address and first("sender"):
        parsed.sender = parse_address(first("sender"))
    if first("reply-to"):
        parsed.reply_to = parse_address(first("reply-to"))
    parsed.return_path = parse_address(first("return-path")).address
    parsed.to_cc = parse_addresses(headers.get("to", []) + headers.get("cc", []))
    recipients: list[object] = []
    for name in _RECIPIENT_HEADERS:
        recipients.extend(headers.get(name, []))
    parsed.recipients = parse_addresses(recipients)
    received = headers.get("received", [])
    parsed.time = parse_date(first("date"))
    if parsed.time is None and received:
        parsed.time = received_date(received[0])
    parsed.auth = parse_auth(
        headers.get("authentication-results", []), headers.get("received-spf", [])
    )
    parsed.hop_ips = received_ips(received)
    for name in ("x-sender-ip", "x-originating-ip"):
        ip = public_ip(as_text(first(name)).strip("[] "))
        if ip and ip not in parsed.hop_ips:
            parsed.hop_ips.append(ip)
    parsed.sender_ip = parsed.auth.sender_ip or (parsed.hop_ips[0] if parsed.hop_ips else None)
    if parsed.sender_ip and parsed.sender_ip not in parsed.hop_ips:
        parsed.hop_ips.insert(0, parsed.sender_ip)
    precedence = as_text(first("precedence")).strip().lower()
    parsed.list_unsubscribe = bool(first("list-unsubscribe"))
    listed = parsed.list_unsubscribe or bool(first("list-id"))
    parsed.bulk = listed or precedence in ("bulk", "list")
    parsed.threaded = bool(first("in-reply-to") or first("references"))
    if received:
        found = _RECEIVED_BY.search(as_text(received[0]))
        parsed.receiver = found.group(1).lower().rstrip(".") if found else ""
    if parsed.sender_ip:
        # The hop whose "from" clause names the sending server's address is where the
        # receiving side took the message over: its "by" host is the receiver's edge.
        for hop in received[:20]:
            parts = _BY.split(as_text(hop), maxsplit=1)
            if parsed.sender_ip in parts[0]:
                found = _RECEIVED_BY.search("by " + parts[1]) if len(parts) > 1 else None
                parsed.handoff = found.group(1).lower().rstrip(".") if found else ""
                break


def _walk(part: Message, parsed: ParsedMessage, depth: int) -> None:
    if parsed.parts >= MAX_PARTS:
        if "parts" not in parsed.limits_hit:
            parsed.limits_hit.append("parts")
            parsed.warn(f"more than {MAX_PARTS} MIME parts: the rest were not analysed")
        return
    if depth > MAX_DEPTH:
        if "nesting" not in parsed.limits_hit:
            parsed.limits_hit.append("nesting")
            parsed.warn(f"MIME nesting deeper than {MAX_DEPTH}: deeper parts not analysed")
        return
    parsed.parts += 1
    if depth:
        for defect in part.defects[:3]:
            parsed.warn(f"part {parsed.parts}: {type(defect).__name__}")
    payload = part.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, parsed, depth + 1)
        return
    _leaf(part, parsed)


_PARAM = re.compile(r""";\s*([!#$%&'*+.^`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)""")


def _params(value: str) -> dict[str, str]:
    """``name=value`` parameters of a Content-Type or Content-Disposition, first one wins."""
    out: dict[str, str] = {}
    for key, found in _PARAM.findall(value):
        key = key.lower()
        if key not in out:
            quoted = len(found) >= 2 and found[0] == found[-1] == '"'
            out[key] = found[1:-1].replace('\\"', '"') if quoted else found
    return out


def _leaf(part: Message, parsed: ParsedMessage) -> None:
    # Content-Type and Content-Disposition read once, by hand: the standard library re-parses
    # the parameters on every get_param call. RFC 2231 or encoded names go the slow, exact way.
    ctype_value = disposition_value = None
    for header, value in part.raw_items():
        lowered = header.lower()
        if lowered == "content-type" and ctype_value is None:
            ctype_value = as_text(value)
        elif lowered == "content-disposition" and disposition_value is None:
            disposition_value = as_text(value)
    if ctype_value is None:
        content_type = part.get_default_type()
    else:
        main = ctype_value.split(";", 1)[0].strip().lower()
        content_type = main if main.count("/") == 1 else "text/plain"
    type_params = _params(ctype_value) if ctype_value else {}
    disposition_params = _params(disposition_value) if disposition_value else {}
    disposition = (disposition_value or "").split(";", 1)[0].strip().lower()
    name = disposition_params.get("filename") or type_params.get("name") or ""
    if "=?" in name or any(k.endswith("*") for k in (*type_params, *disposition_params)):
        name = _filename(part)
    else:
        name = decode_words(name)[:255]
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        data = None
        parsed.warn(f"part {parsed.parts}: undecodable {content_type} payload")
    if not isinstance(data, bytes):
        raw = part.get_payload()
        data = as_text(raw).encode("utf-8", "replace") if isinstance(raw, str) else b""
    for defect in part.defects[:3]:
        parsed.warn(f"part {parsed.parts} ({content_type}): {type(defect).__name__}")
    is_body = disposition != "attachment" and not name
    if content_type in ("text/plain", "text/html") and is_body:
        charset = _charset(type_params.get("charset", "utf-8") or "utf-8", parsed)
        text = decode_bytes(data[:MAX_TEXT], charset)
        (parsed.htmls if content_type == "text/html" else parsed.texts).append(text)
        return
    parsed.attachments.append(
        Attachment(
            name=name,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data[:MAX_INSPECT],
            inline=disposition == "inline",
        )
    )


def _charset(charset: str, parsed: ParsedMessage) -> str:
    charset = charset.strip().lower()
    try:
        codecs.lookup(charset)
    except LookupError:
        parsed.warn(f"unknown charset {charset[:40]!r}: read as UTF-8")
    return charset


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except (ValueError, IndexError, TypeError, LookupError):
        return ""
    if isinstance(name, tuple):  # an RFC 2231 triple the parser could not collapse
        name = name[2]
    return decode_words(name)[:255]
