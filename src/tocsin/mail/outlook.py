"""Outlook .msg files (OLE compound documents) → an RFC 5322 message the parser reads.

Read with olefile (maintained, pure Python, the library Outlook-forensics tools build on).
A .msg keeps the original Internet headers in PR_TRANSPORT_MESSAGE_HEADERS when the message
came from outside, so Received, Authentication-Results and From survive; the bodies (plain,
HTML) and attachments are separate streams, put back together here as MIME parts.
"""

from __future__ import annotations

from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path

import olefile  # type: ignore[import-untyped]

_PREFIX = "__substg1.0_"
_MAX_ATTACHMENTS = 100


def _stream(ole: olefile.OleFileIO, storage: str, prop: str, limit: int) -> bytes | None:
    name = f"{storage}{_PREFIX}{prop}" if storage else f"{_PREFIX}{prop}"
    if not ole.exists(name):
        return None
    with ole.openstream(name) as stream:
        data: bytes = stream.read(limit)
    return data


def _text(ole: olefile.OleFileIO, storage: str, prop: str, limit: int) -> str | None:
    """A string property: tag 001F (UTF-16LE) or 001E (8-bit)."""
    data = _stream(ole, storage, prop + "001F", limit)
    if data is not None:
        return data.decode("utf-16-le", "replace").rstrip("\x00")
    data = _stream(ole, storage, prop + "001E", limit)
    if data is not None:
        return data.decode("latin-1").rstrip("\x00")
    return None


def msg_to_mime(path: Path, limit: int) -> bytes:
    """The message in ``path`` as MIME bytes (at most about ``limit`` bytes of content)."""
    if not olefile.isOleFile(str(path)):
        raise ValueError("not an OLE compound file")
    with olefile.OleFileIO(str(path)) as ole:
        headers = _text(ole, "", "007D", 1 << 20) or ""
        message = MIMEMultipart("mixed")
        parsed = HeaderParser(policy=compat32).parsestr(headers) if headers else None
        if parsed is not None:
            for name, value in parsed.items():
                if not name.lower().startswith(("content-", "mime-version")):
                    message[name] = value
        if parsed is None or not parsed.get("Subject"):
            message["Subject"] = _text(ole, "", "0037", 4096) or ""
        if parsed is None or not parsed.get("From"):
            name = _text(ole, "", "0042", 4096) or ""
            address = _text(ole, "", "0C1F", 4096) or _text(ole, "", "5D01", 4096) or ""
            message["From"] = f'"{name}" <{address}>' if address else name
        body = _text(ole, "", "1000", limit)
        if body:
            message.attach(MIMEText(body, "plain", "utf-8"))
        html = _stream(ole, "", "10130102", limit)
        if html:
            message.attach(MIMEText(html.decode("utf-8", "replace"), "html", "utf-8"))
        used = len(body or "") + len(html or b"")
        for index in range(_MAX_ATTACHMENTS):
            storage = f"__attach_version1.0_#{index:08X}/"
            if not ole.exists(storage.rstrip("/")):
                break
            data = _stream(ole, storage, "37010102", max(0, limit - used)) or b""
            used += len(data)
            filename = _text(ole, storage, "3707", 1024) or _text(ole, storage, "3704", 1024)
            part = MIMEApplication(data, "octet-stream")
            part.add_header("Content-Disposition", "attachment", filename=filename or "attachment")
            message.attach(part)
    return message.as_bytes()
