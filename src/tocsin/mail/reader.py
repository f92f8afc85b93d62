"""Find the messages in mail sources: .eml files, mbox files, Maildir folders, Outlook .msg.

Recognised by content, not by name (except .msg, an OLE file like a Word document, which is
only read when its name says so). One message is held in memory at a time: an mbox is read
line by line and cut at its ``From `` separators, so a 20 GB mailbox costs what its largest
message does (and no message is kept past ``MAX_MESSAGE`` bytes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tocsin.mail.parse import MAX_MESSAGE

SNIFF_BYTES = 8192
_FIELD = re.compile(rb"^([!-9;-~]{1,76}):")
_MAIL_FIELDS = {
    b"from",
    b"to",
    b"subject",
    b"date",
    b"received",
    b"message-id",
    b"return-path",
    b"mime-version",
    b"delivered-to",
    b"reply-to",
    b"content-type",
    b"x-mailer",
    b"cc",
    b"authentication-results",
    b"received-spf",
    b"dkim-signature",
    b"arc-seal",
    b"sender",
    b"x-original-to",
    b"envelope-to",
    b"user-agent",
    b"thread-topic",
    b"in-reply-to",
}
_STRONG = {b"from", b"received", b"message-id", b"subject", b"return-path", b"delivered-to"}
_MBOX_FROM = re.compile(rb"^From \S*.*\d{4}\s*$|^From \S+@\S+|^From MAILER-DAEMON")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(slots=True)
class RawMessage:
    """One message's bytes and where it came from."""

    file: str
    index: int | None  # position inside an mbox (0-based); None for a one-message file
    data: bytes
    format: str  # "eml", "mbox", "maildir", "msg"
    truncated: bool = False
    error: str | None = None  # the message could not be read at all (data is empty)


def sniff(path: Path) -> str | None:
    """``eml``, ``mbox``, ``maildir`` or ``msg`` when ``path`` is mail; else None."""
    try:
        if path.is_dir():
            return "maildir" if (path / "cur").is_dir() and (path / "new").is_dir() else None
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return None
    if head.startswith(_OLE_MAGIC):
        return "msg" if path.suffix.lower() == ".msg" else None
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if _MBOX_FROM.match(first):
        body = head.split(b"\n", 1)[1] if b"\n" in head else b""
        return "mbox" if _looks_like_headers(body) else None
    return "eml" if _looks_like_headers(head) else None


def _looks_like_headers(head: bytes) -> bool:
    names: set[bytes] = set()
    for number, line in enumerate(head.split(b"\n")[:200]):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if number == 0:
                return False
            continue
        match = _FIELD.match(line)
        if match is None:
            return False
        names.add(match.group(1).lower())
    known = names & _MAIL_FIELDS
    return len(known) >= 2 and bool(known & _STRONG)


def read_messages(path: Path, kind: str) -> Iterator[RawMessage]:
    """Every message of one source, one at a time."""
    if kind == "mbox":
        yield from _mbox(path)
    elif kind == "maildir":
        yield from _maildir(path)
    elif kind == "msg":
        yield _msg(path)
    else:
        yield _one_file(path, "eml")


def _one_file(
    path: Path, kind: str, index: int | None = None, file: str | None = None
) -> RawMessage:
    name = file or str(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_MESSAGE + 1)
    except OSError as exc:
        return RawMessage(name, index, b"", kind, error=f"unreadable: {exc.strerror or exc}")
    truncated = len(data) > MAX_MESSAGE
    return RawMessage(name, index, data[:MAX_MESSAGE], kind, truncated=truncated)


def _mbox(path: Path) -> Iterator[RawMessage]:
    """Split at ``From `` lines that follow a blank line (or start the file); unquote ``>From``.

    mboxo and mboxrd quote body lines starting with ``From `` as ``>From ``; mboxrd also quotes
    ``>From `` as ``>>From ``, which we undo one level, as every mbox reader does.
    """
    index = -1
    buffer: list[bytes] = []
    size = 0
    truncated = False
    previous_blank = True
    try:
        f = path.open("rb")
    except OSError as exc:
        yield RawMessage(str(path), 0, b"", "mbox", error=f"unreadable: {exc.strerror or exc}")
        return
    with f:
        for line in f:
            if previous_blank and line.startswith(b"From ") and _MBOX_FROM.match(line.rstrip()):
                if index >= 0:
                    yield _mbox_message(path, index, buffer, truncated)
                index += 1
                buffer, size, truncated = [], 0, False
                previous_blank = False
                continue
            previous_blank = line in (b"\n", b"\r\n")
            if index < 0:
                continue  # text before the first separator is not a message
            if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
                line = line[1:]
            if size + len(line) > MAX_MESSAGE:
                truncated = True
                continue
            size += len(line)
            buffer.append(line)
        if index >= 0:
            yield _mbox_message(path, index, buffer, truncated)


def _mbox_message(path: Path, index: int, lines: list[bytes], truncated: bool) -> RawMessage:
    data = b"".join(lines)
    # The blank line mbox puts before the next separator belongs to the file, not the message.
    if data.endswith(b"\n\n"):
        data = data[:-1]
    return RawMessage(str(path), index, data, "mbox", truncated=truncated)


def _maildir(path: Path) -> Iterator[RawMessage]:
    """Delivered messages of a Maildir: ``new/`` then ``cur/`` (``tmp/`` is still arriving)."""
    for sub in ("new", "cur"):
        try:
            names = sorted(p.name for p in (path / sub).iterdir() if not p.name.startswith("."))
        except OSError as exc:
            yield RawMessage(str(path / sub), None, b"", "maildir", error=f"unreadable: {exc}")
            continue
        for name in names:
            file = path / sub / name
            if file.is_file():
                yield _one_file(file, "maildir")


def _msg(path: Path) -> RawMessage:
    from tocsin.mail.outlook import msg_to_mime

    try:
        data = msg_to_mime(path, MAX_MESSAGE)
    except Exception as exc:  # a crafted OLE file can raise anything olefile does
        return RawMessage(str(path), None, b"", "msg", error=f"not a readable .msg: {exc}")
    return RawMessage(str(path), None, data, "msg")
