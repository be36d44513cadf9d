"""Digests and immediate alerts through a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from alert_helpers import (
    LEAKY_EXCERPT,
    PLANTED,
    POST_TEXT,
    SmtpServer,
    World,
    check_html,
    free_port,
    settings_for,
    utc,
)
from sqlalchemy import select

from alerts.email import OutboxNotifier, SmtpNotifier, notifier_from_settings
from alerts.service import AlertService
from monitor.config import Settings
from monitor.storage.database import Database
from monitor.storage.models import Digest, DigestItem, FindingEvent

DAY = date(2026, 3, 10)
# 07:00 in New York on 2026-03-10 (EDT, UTC-4) is 11:00 UTC.
PERIOD_END = utc(2026, 3, 10, 11, 0)
NOW = utc(2026, 3, 10, 11, 5)


def service(db: Database, settings: Settings, now: datetime = NOW) -> AlertService:
    return AlertService(
        db, settings, notifier_from_settings(settings.alerts.email), clock=lambda: now
    )


def parts(message: Message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


def assert_no_phi(message: Message, raw: bytes) -> None:
    text, html = parts(message)
    everything = "\n".join(
        [raw.decode("utf-8", "replace"), text, html, *(str(v) for v in message.values())]
    )
    for identifier in PLANTED:
        assert identifier not in everything, identifier
    assert POST_TEXT not in everything


def populate(world: World) -> dict[str, int]:
    nurse = world.source("nurse_jo", staff="Jo Rivera", last_success_at=utc(2026, 3, 10, 10))
    page = world.source("lakeside", platform="facebook", kind="page")
    world.source("dr_lee", staff="Sam Lee", status="needs_reauth", last_error="token expired")
    world.sync_run(nurse, utc(2026, 3, 10, 10))
    world.sync_run(page, utc(2026, 3, 10, 9), outcome="failed")
    return {
        "critical": world.finding(nurse, created_at=utc(2026, 3, 10, 2)),
        "leaky": world.finding(
            page,
            created_at=utc(2026, 3, 10, 3),
            category="harmful_content",
            severity="high",
            excerpt=LEAKY_EXCERPT,
        ),
        "advice": world.finding(
            nurse,
            created_at=utc(2026, 3, 9, 20),
            category="medical_advice",
            severity="high",
            excerpt="@<PERSON> sounds like strep, take the leftover amoxicillin",
        ),
    }


def test_when_the_daily_digest_is_sent_then_one_masked_multipart_email_arrives(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    ids = populate(world)
    settings = settings_for(smtp=smtp_server)

    outcomes = service(db, settings).send_daily(DAY)

    assert [o.status for o in outcomes] == ["sent"]
    assert outcomes[0].items == 3
    [message] = smtp_server.handler.messages()
    raw = bytes(smtp_server.handler.received[0].original_content or b"")
    assert_no_phi(message, raw)
    subject = str(message["Subject"])
    assert "3 new (1 critical, 2 high), 0 still open" in subject
    text, html = parts(message)
    checker = check_html(html)
    assert not any(tag in ("script", "img") for tag, _ in checker.tags)
    # The excerpt's markup characters are escaped, not interpreted.
    assert "&lt;b&gt;today&lt;/b&gt;" in html and "<b>today</b>" not in html
    assert "&lt;PERSON&gt;" in html
    for fid in ids.values():
        assert f"finding #{fid}" in text and f"finding #{fid}" in html
    assert "needs re-authorization" in text and "1 failed sync" in text
    assert str(message["Message-ID"]).strip() == outcomes[0].message_id


def test_when_the_digest_is_sent_then_new_findings_get_a_trail_event(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    ids = populate(world)
    service(db, settings_for(smtp=smtp_server)).send_daily(DAY)
    with db.session() as s:
        events = s.scalars(select(FindingEvent).where(FindingEvent.kind == "digest_sent")).all()
        assert sorted(e.finding_id for e in events) == sorted(ids.values())
        assert all(e.details["listed"] is True for e in events)


def test_when_the_backlog_exceeds_max_items_then_the_email_counts_the_rest_and_the_trail_says_so(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    ids = populate(world)
    settings = settings_for(smtp=smtp_server, extra={"alerts.digest": {"max_items": 1}})
    [outcome] = service(db, settings).send_daily(DAY)
    assert outcome.status == "sent" and outcome.items == 3
    [message] = smtp_server.handler.messages()
    text, html = parts(message)
    assert f"finding #{ids['critical']}" in text  # the worst one is listed
    assert f"finding #{ids['advice']}" not in text and f"finding #{ids['leaky']}" not in html
    assert "2 more not listed here" in text and "2 more not listed here" in html
    assert "3 new (1 critical, 2 high)" in str(message["Subject"])
    with db.session() as s:
        events = s.scalars(select(FindingEvent).where(FindingEvent.kind == "digest_sent")).all()
        listed = {e.finding_id: e.details["listed"] for e in events}
    assert listed == {ids["critical"]: True, ids["leaky"]: False, ids["advice"]: False}


@pytest.mark.parametrize(
    "failure",
    ["down", "421@MAIL", "451@RCPT", "554@DATA", "drop@DATA", "drop-mid-data", "silent"],
)
def test_when_delivery_fails_then_the_next_run_delivers_exactly_one_complete_digest(
    db: Database, world: World, smtp_server: SmtpServer, raw_peer: object, failure: str
) -> None:
    ids = populate(world)
    if failure == "down":
        failing = settings_for(port=free_port())
    elif failure in ("drop-mid-data", "silent"):
        peer = raw_peer(failure)  # type: ignore[operator]
        failing = settings_for(port=peer.port, extra={"alerts.email": {"timeout_seconds": 0.5}})
    else:
        smtp_server.handler.script.append(failure)
        failing = settings_for(smtp=smtp_server)

    first = service(db, failing).send_daily(DAY)

    assert [o.status for o in first] == ["pending"]
    assert first[0].attempts == 1 and first[0].error
    for identifier in PLANTED:
        assert identifier not in first[0].error
    assert smtp_server.handler.messages() == []

    # A finding stored after the failed attempt belongs to the next digest, not this one.
    late = world.finding(world.source("late"), created_at=utc(2026, 3, 10, 11, 2))
    second = service(db, settings_for(smtp=smtp_server), now=NOW + timedelta(minutes=10))
    retry = second.send_daily(DAY)

    assert [(o.status, o.attempts, o.message_id) for o in retry] == [
        ("sent", 2, first[0].message_id)
    ]
    [message] = smtp_server.handler.messages()
    assert str(message["Message-ID"]).strip() == first[0].message_id
    text, _ = parts(message)
    for fid in ids.values():
        assert f"finding #{fid}" in text
    assert f"finding #{late}" not in text
    # Running again sends nothing more.
    assert second.send_daily(DAY) == []
    assert len(smtp_server.handler.messages()) == 1


def test_when_attempts_run_out_then_the_digest_is_marked_failed(db: Database, world: World) -> None:
    populate(world)
    settings = settings_for(port=free_port(), extra={"alerts.email": {"max_attempts": 2}})
    svc = service(db, settings)
    assert [o.status for o in svc.send_daily(DAY)] == ["pending"]
    assert [o.status for o in svc.send_daily(DAY)] == ["failed"]
    assert svc.send_daily(DAY) == []


def test_when_two_instances_send_the_same_period_then_one_email_is_delivered(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    populate(world)
    settings = settings_for(smtp=smtp_server)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            # Each "instance" has its own engine, as a separate process would.
            other = Database(db.url)
            try:
                barrier.wait()
                service(other, settings).send_daily(DAY)
            finally:
                other.dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert len(smtp_server.handler.messages()) == 1
    with db.session() as s:
        digests = s.scalars(select(Digest)).all()
        assert [(d.status, d.attempts) for d in digests] == [("sent", 1)]
        assert len(s.scalars(select(DigestItem)).all()) == 3


def test_when_a_finding_was_in_yesterdays_digest_and_is_still_open_then_it_is_listed_as_open(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    ids = populate(world)
    settings = settings_for(smtp=smtp_server)
    service(db, settings).send_daily(DAY)
    newer = world.finding(world.source("other"), created_at=utc(2026, 3, 10, 20))
    service(db, settings, now=utc(2026, 3, 11, 11, 5)).send_daily(date(2026, 3, 11))

    with db.session() as s:
        second = s.scalar(select(Digest).where(Digest.period_key == "2026-03-11"))
        assert second is not None
        sections = {
            i.finding_id: i.section
            for i in s.scalars(select(DigestItem).where(DigestItem.digest_id == second.id))
        }
    assert sections == {newer: "new", **{fid: "open" for fid in ids.values()}}
    assert "1 new (1 critical), 3 still open" in str(smtp_server.handler.messages()[1]["Subject"])


def test_when_nothing_was_found_then_the_digest_says_so_and_lists_checked_sources(
    db: Database, world: World, tmp_path: Path
) -> None:
    src = world.source("nurse_jo", staff="Jo Rivera", last_success_at=utc(2026, 3, 10, 10))
    world.source("quiet_one", staff="Ann Bell")
    world.sync_run(src, utc(2026, 3, 10, 10))
    settings = settings_for(outbox=str(tmp_path / "outbox"))

    [outcome] = service(db, settings).send_daily(DAY)

    assert outcome.status == "sent" and outcome.location
    raw = Path(outcome.location).read_bytes()
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(raw, policy=default)
    text, html = parts(message)
    check_html(html)
    assert "no findings" in str(message["Subject"])
    assert "Nothing was found in this period" in text
    checked = text.split("Checked in this period")[1].split("Not checked")
    assert "@nurse_jo" in checked[0] and "@quiet_one" in checked[1]


def test_when_critical_findings_arrive_in_a_burst_then_one_alert_per_batch_window(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    src = world.source("nurse_jo", staff="Jo Rivera")
    settings = settings_for(smtp=smtp_server)
    base = utc(2026, 3, 10, 14, 0)
    first = world.finding(src, created_at=base + timedelta(seconds=10))
    world.finding(src, created_at=base, category="medical_advice", severity="high")

    assert [
        o.status for o in service(db, settings, base + timedelta(minutes=1)).flush_immediate()
    ] == ["sent"]
    burst = [
        world.finding(src, created_at=base + timedelta(minutes=2, seconds=i)) for i in range(5)
    ]
    # Same 5-minute window: the burst waits.
    assert service(db, settings, base + timedelta(minutes=3)).flush_immediate() == []
    assert len(service(db, settings, base + timedelta(minutes=5)).flush_immediate()) == 1
    assert service(db, settings, base + timedelta(minutes=11)).flush_immediate() == []

    messages = smtp_server.handler.messages()
    assert len(messages) == 2
    assert "ALERT: 1 critical finding" in str(messages[0]["Subject"])
    assert "ALERT: 5 critical findings" in str(messages[1]["Subject"])
    text0, _ = parts(messages[0])
    text1, html1 = parts(messages[1])
    assert f"finding #{first}" in text0
    assert all(f"finding #{fid}" in text1 for fid in burst)
    check_html(html1)
    for message in messages:
        assert_no_phi(message, message.as_bytes())


def test_when_full_text_is_switched_on_then_the_post_text_is_included(
    db: Database, world: World, tmp_path: Path
) -> None:
    populate(world)
    settings = settings_for(
        outbox=str(tmp_path), extra={"alerts.digest": {"include_full_text": True}}
    )
    svc = service(db, settings)
    svc.plan_daily(DAY)
    with db.session() as s:
        digest_id = s.scalar(select(Digest.id))
    assert digest_id is not None
    message = svc.compose(digest_id)
    assert "Okonkwo" in message.text
    assert "&lt;script&gt;" in message.html and "<script>" not in message.html
    assert "Okonkwo" not in message.subject


def test_when_notifiers_are_built_from_settings_then_the_host_decides_the_transport(
    tmp_path: Path,
) -> None:
    assert isinstance(
        notifier_from_settings(settings_for(outbox=str(tmp_path)).alerts.email), OutboxNotifier
    )
    assert isinstance(notifier_from_settings(settings_for(port=2525).alerts.email), SmtpNotifier)
