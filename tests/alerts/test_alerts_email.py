"""The notifiers against real servers: TLS, login, refusals, and the outbox."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from alert_helpers import ScriptedHandler, SmtpServer, free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from alerts.email import (
    OutboxNotifier,
    PermanentDeliveryError,
    RenderedMessage,
    SmtpNotifier,
    TemporaryDeliveryError,
    build_email,
    notifier_from_settings,
)
from monitor.config import EmailSettings
from monitor.errors import SecretMissing

PASSWORD = "s3cret-Pa55"


def message(recipients: tuple[str, ...] = ("compliance@practice.example",)) -> RenderedMessage:
    return RenderedMessage(
        message_id="<daily.2026-03-10.default.abc@practice.example>",
        from_address="monitor@practice.example",
        recipients=recipients,
        subject="[Social Monitor] Clinic: digest 2026-03-10: 1 new (1 critical), 0 still open",
        text="1 finding: <PERSON> ✓",
        html="<html><body><p>1 finding: &lt;PERSON&gt; ✓</p></body></html>",
        date=datetime(2026, 3, 10, 11, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*tls_files)
    return ctx


def _client_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"monitor"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_server(tls_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(tls_files),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def implicit_tls_server(tls_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=_server_context(tls_files)
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


def test_when_a_message_is_built_then_it_is_multipart_alternative_text_then_html() -> None:
    built = message_from_bytes(build_email(message()).as_bytes(), policy=default_policy)
    assert isinstance(built, EmailMessage)
    assert built.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in built.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert str(built["Message-ID"]).strip() == message().message_id
    assert built["Auto-Submitted"] == "auto-generated"
    plain = built.get_body(("plain",))
    assert plain is not None and "✓" in plain.get_content()


def test_when_starttls_and_login_succeed_then_the_server_receives_the_message(
    starttls_server: SmtpServer, tls_files: tuple[Path, Path]
) -> None:
    notifier = SmtpNotifier(
        starttls_server.host,
        starttls_server.port,
        security="starttls",
        username="monitor",
        password=SecretStr(PASSWORD),
        timeout=5,
        ssl_context=_client_context(tls_files),
    )
    receipt = notifier.send(message())
    assert receipt.accepted == ("compliance@practice.example",)
    [received] = starttls_server.handler.messages()
    assert str(received["Message-ID"]).strip() == message().message_id


def test_when_the_password_is_wrong_then_delivery_fails_permanently_without_the_password(
    starttls_server: SmtpServer, tls_files: tuple[Path, Path]
) -> None:
    notifier = SmtpNotifier(
        starttls_server.host,
        starttls_server.port,
        username="monitor",
        password=SecretStr("wrong-password"),
        timeout=5,
        ssl_context=_client_context(tls_files),
    )
    with pytest.raises(PermanentDeliveryError) as err:
        notifier.send(message())
    assert "wrong-password" not in str(err.value)
    assert starttls_server.handler.messages() == []


def test_when_the_certificate_is_not_trusted_then_delivery_fails_permanently(
    starttls_server: SmtpServer,
) -> None:
    notifier = SmtpNotifier(starttls_server.host, starttls_server.port, timeout=5)
    with pytest.raises(PermanentDeliveryError, match="TLS"):
        notifier.send(message())


def test_when_the_server_offers_no_starttls_then_delivery_fails_permanently(
    smtp_server: SmtpServer,
) -> None:
    notifier = SmtpNotifier(smtp_server.host, smtp_server.port, security="starttls", timeout=5)
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        notifier.send(message())


def test_when_implicit_tls_is_configured_then_the_message_is_delivered(
    implicit_tls_server: SmtpServer, tls_files: tuple[Path, Path]
) -> None:
    notifier = SmtpNotifier(
        implicit_tls_server.host,
        implicit_tls_server.port,
        security="tls",
        timeout=5,
        ssl_context=_client_context(tls_files),
    )
    notifier.send(message())
    assert len(implicit_tls_server.handler.messages()) == 1


@pytest.mark.parametrize(
    ("script", "error", "code"),
    [
        ("421@MAIL", TemporaryDeliveryError, 421),
        ("451@RCPT", TemporaryDeliveryError, None),
        ("554@RCPT", PermanentDeliveryError, None),
        ("451@DATA", TemporaryDeliveryError, 451),
        ("554@DATA", PermanentDeliveryError, 554),
        ("drop@DATA", TemporaryDeliveryError, None),
    ],
)
def test_when_the_server_refuses_then_the_error_says_whether_to_retry(
    smtp_server: SmtpServer, script: str, error: type[Exception], code: int | None
) -> None:
    smtp_server.handler.script.append(script)
    notifier = SmtpNotifier(smtp_server.host, smtp_server.port, security="none", timeout=5)
    with pytest.raises(error) as err:
        notifier.send(message())
    assert getattr(err.value, "smtp_code", None) == code
    assert "PERSON" not in str(err.value)


def test_when_nothing_listens_then_the_error_is_temporary() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), security="none", timeout=5)
    with pytest.raises(TemporaryDeliveryError, match="cannot connect"):
        notifier.send(message())


def test_when_smtp_has_no_recipients_then_it_refuses_before_connecting() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), security="none", timeout=5)
    with pytest.raises(PermanentDeliveryError, match="recipients"):
        notifier.send(message(recipients=()))


def test_when_the_outbox_gets_the_same_message_twice_then_one_file_holds_it(
    tmp_path: Path,
) -> None:
    outbox = OutboxNotifier(tmp_path / "outbox")
    first = outbox.send(message())
    second = outbox.send(message())
    assert first.location == second.location
    files = list((tmp_path / "outbox").iterdir())
    assert [f.suffix for f in files] == [".eml"]
    parsed = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert parsed.get_content_type() == "multipart/alternative"


def test_when_a_username_is_set_without_its_password_then_building_the_notifier_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SM_TEST_SMTP_PASSWORD", raising=False)
    settings = EmailSettings(
        smtp_host="mail.example.org", username="monitor", password_env="SM_TEST_SMTP_PASSWORD"
    )
    with pytest.raises(SecretMissing, match="SM_TEST_SMTP_PASSWORD"):
        notifier_from_settings(settings)
    monkeypatch.setenv("SM_TEST_SMTP_PASSWORD", PASSWORD)
    assert isinstance(notifier_from_settings(settings), SmtpNotifier)
