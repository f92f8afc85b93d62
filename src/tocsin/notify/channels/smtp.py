"""Mail over SMTP: STARTTLS or implicit TLS (verified against the system's trust store),
optional authentication, multipart/alternative text + HTML.

The password comes from the environment variable the configuration names, never from the
file, and is never sent over an unencrypted connection. Message-IDs are derived from the
notification's idempotency key, so the rare duplicate after a crash carries the same
Message-ID as the original and mail clients show it once.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from tocsin.config import SmtpChannel
from tocsin.notify.channels import DeliveryError
from tocsin.notify.outbox import Message


def build_email(message: Message, sender: str, now: datetime) -> EmailMessage:
    """The mail for one outbox message: text first, HTML as the preferred alternative."""
    mail = EmailMessage(policy=SMTP)
    _, sender_address = parseaddr(sender)
    domain = sender_address.rpartition("@")[2] or "tocsin.invalid"
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = Address(addr_spec=message.destination)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<tocsin.{message.key[:40]}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Tocsin-Kind"] = message.kind
    mail["X-Tocsin-Notification"] = message.key
    if message.kind == "compromised":
        mail["Importance"] = "high"
        mail["X-Priority"] = "1"
    mail.set_content(message.body_text, subtype="plain", charset="utf-8")
    if message.body_html:
        mail.add_alternative(message.body_html, subtype="html", charset="utf-8")
    # After set_content, which drops Content-* headers.
    mail["Content-Language"] = message.language.replace("_", "-")
    return mail


class SmtpMailer:
    """One SMTP connection, opened on first use and reused for a batch."""

    def __init__(
        self,
        channel: SmtpChannel,
        password: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.channel = channel
        self._password = password
        self._context = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.channel.host}:{self.channel.port}"

    def _connect(self) -> smtplib.SMTP:
        c = self.channel
        if c.username and c.security == "none":
            raise DeliveryError(
                f"SMTP {self.where}: refusing to send the password without TLS "
                "(set security to starttls or tls)"
            )
        if c.username and not self._password:
            raise DeliveryError(
                f"SMTP {self.where}: no password: the environment variable "
                f"{c.password_env or '(password_env not set)'} is empty or missing"
            )
        try:
            smtp: smtplib.SMTP
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_seconds, context=self._context
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            try:
                smtp.ehlo()
                if c.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(f"SMTP {self.where} does not offer STARTTLS")
                    smtp.starttls(context=self._context)
                    smtp.ehlo()
                if c.username:
                    _login(smtp, c.username, self._password or "")
            except BaseException:
                _quietly_close(smtp)
                raise
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP {self.where}: authentication failed for {c.username!r} "
                f"({exc.smtp_code}); check the user and ${c.password_env}"
            ) from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"SMTP {self.where}: TLS failed: {exc}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"SMTP {self.where}: the server does not support it: {exc}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.where} unreachable: {_describe(exc)}") from None
        return smtp

    def send(self, mail: EmailMessage, recipient: str) -> str:
        """Deliver ``mail`` to ``recipient``; the server's reply, or DeliveryError."""
        if self._smtp is None:
            self._smtp = self._connect()
        _, envelope_from = parseaddr(self.channel.sender)
        try:
            refused = self._smtp.send_message(mail, from_addr=envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise DeliveryError(
                f"SMTP {self.where} refused the recipient: {code} {_text(reply)}",
                permanent=500 <= code < 600,
            ) from None
        except smtplib.SMTPDataError as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {self.where} rejected the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {self.where} refused the sender {envelope_from!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP {self.where} failed: {_describe(exc)}") from None
        if refused:
            raise DeliveryError(f"SMTP {self.where} refused the recipient: {refused}")
        return f"accepted by {self.where}"

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN when offered (always inside TLS here): one exchange, and a refusal is a
    refusal — not a fall-through to other mechanisms that some servers leave hanging."""
    if "plain" in smtp.esmtp_features.get("auth", "").lower().split():
        smtp.user, smtp.password = user, password
        code, reply = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)
        return
    smtp.login(user, password)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
