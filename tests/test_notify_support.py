"""Shared pieces for the notify tests: a fixed campaign, real SMTP and HTTP servers.

No tests here. The servers are real: aiosmtpd speaking SMTP with STARTTLS or implicit TLS
and AUTH (a self-signed certificate made with ``cryptography``), and ``http.server``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tocsin.config import Config
from tocsin.events import Actor, Alert

SMTP_USER, SMTP_PASSWORD = "tocsin", "correct horse battery staple"

# A campaign office with one person per language, two of them compromised.
PEOPLE = [
    ("Chloé Martin", "chloe", "fr", ["chloe.martin@mail.example"]),
    ("Ahmad Karimi", "ahmad", "ar", ["ahmad.k@mail.example"]),
    ("Sato Haruka", "haruka", "ja", []),
    ("Wang Fang", "fang", "zh_Hans", []),
    ("Siti Rahayu", "siti", "id", []),
    ("Sam Harper", "sam", "en", ["sam.harper@mail.example"]),
]
COMPROMISED = ["ahmad@harper.example", "sam@harper.example"]
ATTACK_IPS = ["185.220.101.4", "185.220.101.17", "199.249.230.87", "2a0b:f4c2::13"]


def campaign_config(**notify: Any) -> Config:
    return Config.model_validate(
        {
            "organisations": [
                {
                    "id": "harper",
                    "name": "Harper for Senate",
                    "tenants": ["t-harper"],
                    "domains": ["harper.example"],
                    "languages": ["en", "fr"],
                    "security_contacts": ["security@harper.example"],
                }
            ],
            "people": [
                {"name": name, "organisation": "harper", "accounts": [f"{user}@harper.example"],
                 "personal": personal, "language": lang}
                for name, user, lang, personal in PEOPLE
            ],
            "channels": {
                "smtp": {
                    "host": "127.0.0.1",
                    "port": 2525,
                    "sender": "tocsin <tocsin@harper.example>",
                },
                "webhooks": [{"name": "soc", "url": "https://hooks.example/tocsin"}],
            },
            "notify": notify,
            "response": {
                "policy": [{"rules": ["distributed_spray"], "action": "ban", "duration": "7d"}]
            },
        }
    )  # fmt: skip


def spray_alert(**changes: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "al-spray", "rule": "distributed_spray",
        "title": "Low-and-slow password spray from many addresses", "severity": "high",
        "confidence": 0.9, "first_seen": "2020-09-03T02:00:00Z",
        "last_seen": "2020-09-09T17:05:00Z", "tenant": "t-harper",
        "users": sorted([f"{u}@harper.example" for _, u, _, _ in PEOPLE] + ["zoe@harper.example"]),
        "compromised_users": COMPROMISED, "src_ips": ATTACK_IPS, "src_asns": [60729],
        "countries": ["DE", "US"], "user_agents": [], "techniques": ["T1110.003"],
        "evidence_count": 1862, "evidence": {}, "summary": "s", "recommended_actions": [],
        "actor": Actor("STRONTIUM", 0.8, ["Tor exit nodes rotated about every hour",
                                          "about 4 attempts per account per hour for days"]),
        "campaign": "cmp-2020-09",
    }  # fmt: skip
    base.update(changes)
    return Alert(**base)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class MailSink:
    """What the SMTP server accepted, and the knobs tests turn."""

    messages: list[Received] = field(default_factory=list)
    reject_domain: str = "rejected.example"
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:  # fmt: skip
        if address.endswith("@" + self.reject_domain):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        content = envelope.content
        assert isinstance(content, bytes)
        with self.lock:
            self.messages.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def _authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    tmp_path: Path, *, security: str = "starttls", auth: bool = True
) -> Iterator[tuple[MailSink, int, Path]]:
    """A real SMTP server on 127.0.0.1: (sink, port, CA certificate to trust)."""
    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = MailSink()
    port = free_port()
    kwargs: dict[str, Any] = {"authenticator": _authenticator, "auth_required": auth}
    if security == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif security == "tls":
        # aiosmtpd cannot tell an implicit-TLS session is encrypted: let it offer AUTH.
        kwargs.update(ssl_context=context, server_hostname="localhost", auth_require_tls=False)
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield sink, port, cert
    finally:
        controller.stop()


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def http_server(
    respond: Callable[[Hit], int],
) -> Iterator[tuple[str, list[Hit]]]:
    """A local HTTP server: (base URL, requests received). ``respond`` gives the status."""
    hits: list[Hit] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()},
                      self.rfile.read(length))  # fmt: skip
            hits.append(hit)
            status = respond(hit)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
