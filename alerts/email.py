"""Email: building a message, apart from delivering it.

``build_email`` turns a ``RenderedMessage`` into a multipart/alternative ``EmailMessage`` (plain
text first, HTML second, as clients prefer the last part they can show). A ``Notifier`` delivers
it: ``SmtpNotifier`` over SMTP (STARTTLS, implicit TLS or plain, optional login, a timeout on
every socket operation), ``OutboxNotifier`` as ``.eml`` files in a folder when no SMTP host is
configured (the demo, air-gapped installs).

Every failure to deliver is a ``DeliveryError``: ``TemporaryDeliveryError`` (connection refused
or dropped, timeout, SMTP 4xx) or ``PermanentDeliveryError`` (SMTP 5xx, refused login, TLS not
offered). Messages name the server and the SMTP reply, never the email's content or password.
Callers keep the message pending and retry either kind; the distinction tells an operator
whether waiting can help.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from monitor.config import EmailSettings, read_secret
from monitor.errors import MonitorError, SecretMissing

_MAX_REPLY = 200


class DeliveryError(MonitorError):
    """A message could not be delivered; ``temporary`` says whether retrying later may help."""

    temporary = True

    def __init__(self, message: str, *, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code


class TemporaryDeliveryError(DeliveryError):
    """Refused or dropped connection, timeout, or a 4xx reply: the next attempt may succeed."""

    temporary = True


class PermanentDeliveryError(DeliveryError):
    """A 5xx reply, failed authentication or missing TLS: a person must fix something."""

    temporary = False


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready to send: addresses, a stable Message-ID, subject and both bodies."""

    message_id: str
    from_address: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    date: datetime
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What a notifier did: the transport, who accepted it, and where (outbox path) if local."""

    message_id: str
    transport: str
    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    location: str | None = None


def build_email(message: RenderedMessage) -> EmailMessage:
    """The MIME message: multipart/alternative with a UTF-8 text part and an HTML part.

    With no recipients (an outbox-only demo) the To header is the empty RFC 5322 group.
    """
    email = EmailMessage(policy=SMTP_POLICY)
    email["Subject"] = message.subject
    email["From"] = message.from_address
    email["To"] = ", ".join(message.recipients) or "undisclosed-recipients:;"
    email["Date"] = format_datetime(message.date)
    email["Message-ID"] = message.message_id
    # RFC 3834: tells auto-responders not to answer.
    email["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text, subtype="plain", charset="utf-8")
    email.add_alternative(message.html, subtype="html", charset="utf-8")
    return email


class Notifier(ABC):
    """Delivers a rendered message once per call; raises ``DeliveryError`` when it cannot."""

    name: str = "notifier"

    @abstractmethod
    def send(self, message: RenderedMessage) -> DeliveryReceipt: ...


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text[:_MAX_REPLY]


def _by_code(where: str, code: int, reply: bytes | str) -> DeliveryError:
    cls: type[DeliveryError] = (
        TemporaryDeliveryError if 400 <= code < 500 or code < 0 else PermanentDeliveryError
    )
    return cls(f"{where}: {code} {_reply_text(reply)}".rstrip(), smtp_code=code)


class SmtpNotifier(Notifier):
    """SMTP delivery with STARTTLS, implicit TLS or none; login when a username is set."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Literal["starttls", "tls", "none"] = "starttls",
        username: str = "",
        password: SecretStr | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, message: RenderedMessage) -> DeliveryReceipt:
        if not message.recipients:
            raise PermanentDeliveryError("no recipients configured ([alerts.digest] recipients)")
        email = build_email(message)
        where = self.where
        try:
            smtp = self._connect()
        except smtplib.SMTPConnectError as exc:
            raise _by_code(where, exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(where, exc.smtp_code, exc.smtp_error) from None
        except ssl.SSLError as exc:
            raise PermanentDeliveryError(f"{where}: TLS failed: {exc.reason}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(f"{where}: cannot connect: {_describe_os(exc)}") from None
        try:
            refused = self._transact(smtp, email, message)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        accepted = tuple(r for r in message.recipients if r not in refused)
        return DeliveryReceipt(
            message_id=message.message_id,
            transport=self.name,
            accepted=accepted,
            refused={r: f"{code} {_reply_text(text)}" for r, (code, text) in refused.items()},
        )

    def _transact(
        self, smtp: smtplib.SMTP, email: EmailMessage, message: RenderedMessage
    ) -> dict[str, tuple[int, bytes]]:
        where = self.where
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(f"{where}: server does not offer STARTTLS")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username:
                if self._password is None:
                    raise SecretMissing(f"{where}: no SMTP password in the environment")
                smtp.login(self.username, self._password.get_secret_value())
            return smtp.send_message(
                email, from_addr=message.from_address, to_addrs=list(message.recipients)
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            temporary = any(400 <= c < 500 for c in codes)
            cls = TemporaryDeliveryError if temporary else PermanentDeliveryError
            summary = ", ".join(sorted({str(c) for c in codes}))
            raise cls(f"{where}: every recipient refused ({summary})") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentDeliveryError(
                f"{where}: login refused: {exc.smtp_code}", smtp_code=exc.smtp_code
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(where, exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"{where}: {exc}") from None
        except ssl.SSLError as exc:
            raise PermanentDeliveryError(f"{where}: TLS failed: {exc.reason}") from None
        except smtplib.SMTPServerDisconnected:
            raise TemporaryDeliveryError(f"{where}: connection closed by the server") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(f"{where}: {_describe_os(exc)}") from None


def _describe_os(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


class OutboxNotifier(Notifier):
    """Writes each message as ``<message-id>.eml`` in a folder; re-sending overwrites it."""

    name = "outbox"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path_for(self, message_id: str) -> Path:
        stem = _UNSAFE.sub("_", message_id.strip("<>")) or "message"
        return self.folder / f"{stem}.eml"

    def send(self, message: RenderedMessage) -> DeliveryReceipt:
        data = build_email(message).as_bytes()
        target = self.path_for(message.message_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"outbox {self.folder}: cannot write: {exc.strerror or type(exc).__name__}"
            ) from None
        return DeliveryReceipt(
            message_id=message.message_id,
            transport=self.name,
            accepted=message.recipients,
            location=str(target),
        )


def notifier_from_settings(settings: EmailSettings) -> Notifier:
    """SMTP when a host is configured, else the outbox folder. Fails early on a missing secret."""
    if not settings.smtp_host:
        return OutboxNotifier(settings.outbox_dir)
    password = read_secret(settings.password_env) if settings.username else None
    if settings.username and password is None:
        raise SecretMissing(
            f"[alerts.email] username is set but ${settings.password_env} is empty or unset"
        )
    return SmtpNotifier(
        settings.smtp_host,
        settings.smtp_port,
        security=settings.security,
        username=settings.username,
        password=password,
        timeout=settings.timeout_seconds,
    )
