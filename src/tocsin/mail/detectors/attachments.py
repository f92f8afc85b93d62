"""Attachments: HTML pages that phish or smuggle, archives with passwords, files that run.

Attachments are inspected as bytes; nothing is opened, rendered or run. Weights, and why:

* an HTML/SVG attachment with a password form 0.7 (T1598.002) or with HTML-smuggling script
  (``atob``/``Blob``/``msSaveOrOpenBlob``/``createObjectURL``, ``document.write(unescape…``)
  0.7 (T1566.001) — a local page escapes URL filters; nothing legitimate mails these;
* an HTML attachment that redirects (meta refresh, ``location=``) 0.5; any other HTML
  attachment 0.25 (receipts are sometimes HTML files);
* a file that runs code when opened (exe, js, iso, lnk, one, macro documents…) 0.6, also
  inside a zip (T1566.001);
* an encrypted zip 0.5 — the password is there to blind the mail filter; an archive of any
  kind together with a password in the text 0.45;
* a PDF with script or launch actions 0.4.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from tocsin.mail.html import parse_html
from tocsin.mail.known import ARCHIVE_EXTENSIONS, DANGEROUS_EXTENSIONS, HTML_EXTENSIONS
from tocsin.mail.model import LinkInfo, Reason, View
from tocsin.mail.parse import Attachment
from tocsin.mail.urls import parse_url

NAME = "attachments"
Add = Callable[[Reason], None]
_SMUGGLING = re.compile(
    r"atob\s*\(|new\s+Blob\s*\(|msSaveOrOpenBlob|createObjectURL|fromCharCode\s*\(.{0,40}fromCharCode"
    r"|document\.write\s*\(\s*(?:unescape|atob|decodeURIComponent)|eval\s*\(\s*(?:unescape|atob)",
    re.IGNORECASE | re.DOTALL,
)
_JS_REDIRECT = re.compile(
    r"(?:window|document|top)\.location(?:\.href)?\s*=|location\.replace\(", re.I
)
_PASSWORD_TEXT = re.compile(
    r"(?:password|passwort|senha|contraseña|mot\s+de\s+passe|wachtwoord|pwd|pass)\s*(?:is|:|ist|é|es)\s*\S+",
    re.IGNORECASE,
)
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile)\b")
_PDF_URI = re.compile(rb"/URI\s*\((https?://[^)\s]{4,2000})\)")
_MAX_ZIP_ENTRIES = 1000


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower().strip() if "." in name else ""


def _is_html(att: Attachment) -> bool:
    ext = _extension(att.name)
    return ext in HTML_EXTENSIONS or att.content_type in ("text/html", "image/svg+xml")


def detect(view: View) -> list[Reason]:
    reasons: list[Reason] = []
    seen: set[str] = set()

    def add(reason: Reason) -> None:
        if reason.code not in seen:
            seen.add(reason.code)
            reasons.append(reason)

    for att in view.parsed.attachments[:100]:
        name = att.name or f"({att.content_type})"
        ext = _extension(att.name)
        if ext in DANGEROUS_EXTENSIONS:
            add(
                Reason(
                    NAME,
                    "dangerous_file",
                    0.6,
                    f"the attachment {name[:80]} is a file type that runs code when opened",
                    "T1566.001",
                )
            )
        if _is_html(att):
            _html(att, name, view, add)
        elif ext in ARCHIVE_EXTENSIONS or att.data[:4] == b"PK\x03\x04":
            _archive(att, name, view, add)
        elif ext == "pdf" or att.data[:5] == b"%PDF-":
            _pdf(att, name, view, add)
    return reasons


def _html(att: Attachment, name: str, view: View, add: Add) -> None:
    text = att.data.decode("utf-8", "replace")
    content = parse_html(text)
    for link in content.links[:100]:
        url = parse_url(link.href)
        if url is not None and url.host:
            view.links.append(LinkInfo(url, link.text, "attachment"))
    scripts = " ".join(content.scripts)
    if any(f.has_password for f in content.forms):
        add(
            Reason(
                NAME,
                "html_credential_form",
                0.7,
                f"the HTML attachment {name[:80]} is a sign-in page asking for a password",
                "T1598.002",
            )
        )
    elif _SMUGGLING.search(scripts):
        add(
            Reason(
                NAME,
                "html_smuggling",
                0.7,
                f"the HTML attachment {name[:80]} builds a file or page from encoded script "
                "(HTML smuggling)",
                "T1566.001",
            )
        )
    elif content.refresh or _JS_REDIRECT.search(scripts) or content.forms:
        add(
            Reason(
                NAME,
                "html_redirect",
                0.5,
                f"the HTML attachment {name[:80]} sends the reader to a web page",
                "T1598.002",
            )
        )
    else:
        add(Reason(NAME, "html_attachment", 0.25, f"an HTML attachment: {name[:80]}"))


def _archive(att: Attachment, name: str, view: View, add: Add) -> None:
    encrypted = False
    inner_bad: str | None = None
    if att.data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(att.data)) as archive:
                for info in archive.infolist()[:_MAX_ZIP_ENTRIES]:
                    encrypted = encrypted or bool(info.flag_bits & 0x1)
                    if _extension(info.filename) in DANGEROUS_EXTENSIONS and inner_bad is None:
                        inner_bad = info.filename[:80]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            view.parsed.warn(f"attachment {name[:60]}: unreadable zip")
    if inner_bad:
        add(
            Reason(
                NAME,
                "dangerous_file",
                0.6,
                f"the archive {name[:80]} holds {inner_bad}, a file type that runs code",
                "T1566.001",
            )
        )
    if encrypted:
        add(
            Reason(
                NAME,
                "encrypted_archive",
                0.5,
                f"the archive {name[:80]} is password-protected, which blinds mail filters",
                "T1566.001",
            )
        )
    elif _PASSWORD_TEXT.search(f"{view.parsed.subject} {view.text[:20000]}"):
        add(
            Reason(
                NAME,
                "archive_with_password",
                0.45,
                f"an archive ({name[:80]}) comes with a password in the text",
                "T1566.001",
            )
        )


def _pdf(att: Attachment, name: str, view: View, add: Add) -> None:
    if _PDF_ACTIVE.search(att.data):
        add(
            Reason(
                NAME,
                "pdf_active",
                0.4,
                f"the PDF {name[:80]} carries script, launch actions or embedded files",
                "T1566.001",
            )
        )
    for match in _PDF_URI.finditer(att.data[: 4 << 20]):
        url = parse_url(match.group(1).decode("latin-1"))
        if url is not None and url.host:
            view.links.append(LinkInfo(url, "", "attachment"))
        if len(view.links) > 400:
            break
