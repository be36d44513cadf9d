"""Helpers for the alert tests: a real SMTP server (aiosmtpd) with scripted failures, a
misbehaving raw SMTP peer, stored findings with planted identifiers, and an HTML checker."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from monitor.config import Settings, parse_config
from monitor.storage.database import Database
from monitor.storage.models import (
    Finding,
    Post,
    PostVersion,
    Source,
    StaffMember,
    SyncRun,
)

# Identifiers planted in post text. None of them may ever appear in an email.
PATIENT_NAME = "Margaret Okonkwo"
PLANTED = (
    "Margaret",
    "Okonkwo",
    "03/14/1961",
    "00482913",
    "555-0134",
    "okonkwo@example.com",
    "536-22-4718",
)
POST_TEXT = (
    f"Saw {PATIENT_NAME} (DOB 03/14/1961, MRN 00482913, SSN 536-22-4718) in room 12 for her "
    "chemo today, call her at (415) 555-0134 or m.okonkwo@example.com <script>x()</script>"
)
MASKED_EXCERPT = (
    'Saw <PERSON> (DOB <DATE_TIME>, MRN <ID>) in room 12 for her chemo & "<b>today</b>"'
)
# An excerpt a careless detector produced (NER skipped): the name, phone number and e-mail
# slipped through.
LEAKY_EXCERPT = (
    f"Spoke with {PATIENT_NAME} today, call her at (415) 555-0134 or m.okonkwo@example.com"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ScriptedHandler:
    """Accepts mail, or fails the next transactions as scripted ("421@MAIL", "451@RCPT",
    "554@DATA", "drop@DATA")."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.script: list[str] = []
        self.lock = threading.Lock()

    def _next(self, stage: str) -> str | None:
        with self.lock:
            if self.script and self.script[0].endswith(f"@{stage}"):
                return self.script.pop(0).split("@")[0]
        return None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        action = self._next("MAIL")
        if action:
            return f"{action} Service not available, closing channel"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        action = self._next("RCPT")
        if action:
            return f"{action} Requested action aborted: try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        action = self._next("DATA")
        if action == "drop":
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"  # never reaches the client
        if action:
            return f"{action} Transaction failed"
        with self.lock:
            self.received.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[Message]:
        with self.lock:
            return [
                message_from_bytes(bytes(e.original_content or b""), policy=default_policy)
                for e in self.received
            ]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: ScriptedHandler


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


class RawPeer:
    """A TCP peer that speaks just enough SMTP, then misbehaves: ``mode`` is "silent" (never
    greets) or "drop-mid-data" (closes the socket after a few bytes of message data)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        if self.mode == "silent":
            self.stop.wait(5)
            return
        conn.sendall(b"220 peer ready\r\n")
        reader = conn.makefile("rb")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 peer\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                reader.read(64)
                conn.shutdown(socket.SHUT_RDWR)
                return
            else:
                conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def raw_peer() -> Iterator[Any]:
    peers: list[RawPeer] = []

    def make(mode: str) -> RawPeer:
        peer = RawPeer(mode)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


class WellFormedChecker(HTMLParser):
    """Fails on a mismatched or unclosed tag (void elements excepted)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(html: str) -> WellFormedChecker:
    checker = WellFormedChecker()
    checker.feed(html)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    return checker


def settings_for(
    *,
    smtp: SmtpServer | None = None,
    port: int | None = None,
    outbox: str = "outbox",
    extra: dict[str, Any] | None = None,
) -> Settings:
    email: dict[str, Any] = {"outbox_dir": outbox, "from_address": "monitor@practice.example"}
    if smtp is not None or port is not None:
        email.update(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port if smtp else port,
            security="none",
            timeout_seconds=5.0,
        )
    data: dict[str, Any] = {
        "practice": {"name": "Lakeside Family Clinic", "timezone": "America/New_York"},
        "alerts": {
            "email": email,
            "digest": {"recipients": ["compliance@practice.example"]},
            "immediate": {"batch_minutes": 5},
        },
    }
    for section, values in (extra or {}).items():
        target = data
        *parents, last = section.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target.setdefault(last, {}).update(values)
    return parse_config(data, "test.toml")


@dataclass
class World:
    """Creates stored rows the way sync and the scanner would."""

    db: Database
    counter: int = 0
    staff_ids: dict[str, int] = field(default_factory=dict)

    def staff(self, name: str, role: str = "nurse") -> int:
        if name in self.staff_ids:
            return self.staff_ids[name]
        with self.db.session() as s:
            self.counter += 1
            member = StaffMember(
                name=name, email=f"staff{self.counter}@practice.example", role=role
            )
            s.add(member)
            s.flush()
            self.staff_ids[name] = member.id
            return member.id

    def source(
        self,
        handle: str,
        *,
        staff: str | None = None,
        platform: str = "x",
        kind: str = "profile",
        status: str = "active",
        last_error: str | None = None,
        last_success_at: datetime | None = None,
    ) -> int:
        staff_id = self.staff(staff) if staff else None
        with self.db.session() as s:
            src = Source(
                staff_id=staff_id,
                platform=platform,
                kind=kind,
                handle=handle,
                external_id=f"ext-{handle}",
                status=status,
                last_error=last_error,
                last_success_at=last_success_at,
            )
            s.add(src)
            s.flush()
            return src.id

    def sync_run(self, source_id: int, started_at: datetime, outcome: str = "ok") -> None:
        with self.db.session() as s:
            s.add(
                SyncRun(
                    source_id=source_id,
                    started_at=started_at,
                    finished_at=started_at + timedelta(seconds=5),
                    outcome=outcome,
                    posts_fetched=3,
                )
            )

    def finding(
        self,
        source_id: int,
        *,
        created_at: datetime,
        category: str = "patient_privacy",
        severity: str = "critical",
        status: str = "open",
        text: str = POST_TEXT,
        excerpt: str = MASKED_EXCERPT,
        explanation: str = "Names a patient next to a treatment.",
        author_name: str = PATIENT_NAME,
    ) -> int:
        self.counter += 1
        n = self.counter
        with self.db.session() as s:
            src = s.get(Source, source_id)
            assert src is not None
            post = Post(
                platform=src.platform,
                external_id=f"post-{n}",
                source_id=source_id,
                channel="public",
                author_name=author_name,
                text=text,
                url=f"https://x.com/i/status/{1000 + n}",
                published_at=created_at - timedelta(minutes=30),
                content_hash=f"{n:064d}",
            )
            s.add(post)
            s.flush()
            version = PostVersion(
                post_id=post.id, version_no=1, text=text, content_hash=f"{n:064d}"
            )
            s.add(version)
            s.flush()
            finding = Finding(
                post_version_id=version.id,
                post_id=post.id,
                category=category,
                severity=severity,
                rule=f"{category}.test_rule",
                spans=[[4, 20]],
                span_key=f"4-20-{n}",
                explanation=explanation,
                excerpt=excerpt,
                policy_version="test-1",
                status=status,
                created_at=created_at,
            )
            s.add(finding)
            s.flush()
            return finding.id


@pytest.fixture
def world(db: Database) -> World:
    return World(db)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
