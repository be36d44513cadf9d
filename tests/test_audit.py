"""The review trail proves itself: a clean chain verifies, and each kind of tampering is named.

Tampering is done the way an insider would: raw SQL on the tables, bypassing the application.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from monitor.audit import (
    checkpoint_problem,
    derive_key,
    sign_checkpoint,
    verify,
    verify_anchor,
)
from monitor.errors import SecretMissing
from monitor.review import update_status
from monitor.storage.database import Database
from monitor.storage.models import AuditCheckpoint, Finding, FindingEvent, PostVersion
from monitor.storage.trail import GENESIS_HASH, event_fields, event_hash, record_event

KEY = derive_key("test-secret")


def _trail(db: Database, seed_finding: Any, findings: int = 3) -> list[int]:
    """Findings with a created event each, and a disposition on the first: 2 + findings events."""
    ids = []
    with db.session() as session:
        for _ in range(findings):
            ids.append(seed_finding(session).id)
        update_status(session, ids[0], "acknowledged", "seen", "alice@example.org")
        update_status(session, ids[0], "remediated", "post removed by author", "alice@example.org")
    return ids


def _verify(db: Database, key: bytes | None = None) -> Any:
    with db.session() as session:
        return verify(session, key)


def _event(db: Database, seq: int) -> FindingEvent:
    with db.session() as session:
        event = session.scalars(select(FindingEvent).where(FindingEvent.seq == seq)).one()
        session.expunge(event)
        return event


def test_when_the_trail_is_untouched_then_verify_reports_its_length_and_head(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    report = _verify(db)
    assert report.ok, report.as_dict()
    assert report.events == 5
    assert (report.first_seq, report.head_seq) == (1, 5)
    assert report.head_hash == _event(db, 5).hash
    assert report.findings_checked == 3


def test_when_the_trail_is_empty_then_verify_passes_with_the_genesis_head(db: Database) -> None:
    report = _verify(db)
    assert report.ok
    assert (report.events, report.head_seq, report.head_hash) == (0, 0, GENESIS_HASH)


def test_when_an_event_note_is_edited_then_verify_names_that_event(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    target = _event(db, 4)
    with db.session() as session:
        session.execute(
            update(FindingEvent).where(FindingEvent.id == target.id).values(note="nothing to see")
        )
    report = _verify(db)
    assert not report.ok
    assert report.broken is not None
    assert (report.broken.what, report.broken.id) == ("event", target.id)
    assert "edited" in report.broken.reason


def test_when_an_edited_event_has_its_hash_recomputed_then_the_next_event_breaks(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    target = _event(db, 3)
    with db.session() as session:
        event = session.scalars(select(FindingEvent).where(FindingEvent.id == target.id)).one()
        event.actor = "mallory"
        event.hash = event_hash(event_fields(event), event.prev_hash)
    report = _verify(db)
    assert report.broken is not None
    assert report.broken.id == _event(db, 4).id
    assert "does not link" in report.broken.reason


def test_when_an_event_is_deleted_then_verify_names_the_event_after_the_gap(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    after = _event(db, 4)
    with db.session() as session:
        session.execute(delete(FindingEvent).where(FindingEvent.seq == 3))
    report = _verify(db)
    assert report.broken is not None
    assert report.broken.id == after.id
    assert "missing" in report.broken.reason and "3" in report.broken.reason


def test_when_the_last_event_is_deleted_then_only_an_earlier_anchor_shows_it(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    last = _event(db, 5)
    with db.session() as session:
        session.execute(delete(FindingEvent).where(FindingEvent.seq == 5))
    report = _verify(db)
    assert report.broken is None  # a chain alone cannot see its own tail cut off...
    with db.session() as session:
        assert verify_anchor(session, 5, last.hash) is not None  # ...an exported head can
        assert verify_anchor(session, 4, report.head_hash) is None


def test_when_two_events_swap_places_then_verify_names_the_first_out_of_order(
    db: Database, seed_finding: Any
) -> None:
    _trail(db, seed_finding)
    two, three = _event(db, 2), _event(db, 3)
    with db.session() as session:
        session.execute(update(FindingEvent).where(FindingEvent.id == two.id).values(seq=-2))
        session.execute(update(FindingEvent).where(FindingEvent.id == three.id).values(seq=2))
        session.execute(update(FindingEvent).where(FindingEvent.id == two.id).values(seq=3))
    report = _verify(db)
    assert report.broken is not None
    assert report.broken.id == three.id
    assert report.broken.seq == 2


def test_when_a_finding_is_edited_then_verify_names_the_finding(
    db: Database, seed_finding: Any
) -> None:
    ids = _trail(db, seed_finding)
    with db.session() as session:
        session.execute(update(Finding).where(Finding.id == ids[1]).values(severity="low"))
    report = _verify(db)
    assert report.broken is None
    assert [p.finding_id for p in report.finding_problems] == [ids[1]]
    assert "edited" in report.finding_problems[0].reason


def test_when_the_flagged_text_is_edited_then_verify_names_the_finding(
    db: Database, seed_finding: Any
) -> None:
    ids = _trail(db, seed_finding)
    with db.session() as session:
        version_id = session.get(Finding, ids[2]).post_version_id  # type: ignore[union-attr]
        session.execute(
            update(PostVersion).where(PostVersion.id == version_id).values(text="harmless")
        )
    report = _verify(db)
    assert [p.finding_id for p in report.finding_problems] == [ids[2]]


def test_when_a_status_is_changed_outside_the_trail_then_verify_names_the_finding(
    db: Database, seed_finding: Any
) -> None:
    ids = _trail(db, seed_finding)
    with db.session() as session:
        session.execute(update(Finding).where(Finding.id == ids[1]).values(status="dismissed"))
    report = _verify(db)
    assert not report.ok
    problem = report.finding_problems[0]
    assert problem.finding_id == ids[1]
    assert "'dismissed'" in problem.reason and "'open'" in problem.reason


def test_when_a_finding_has_no_trail_then_verify_reports_it(
    db: Database, seed_finding: Any
) -> None:
    ids = _trail(db, seed_finding)
    with db.session() as session:
        stray = Finding(
            post_version_id=session.get(Finding, ids[0]).post_version_id,  # type: ignore[union-attr]
            post_id=session.get(Finding, ids[0]).post_id,  # type: ignore[union-attr]
            category="harmful_content",
            severity="high",
            rule="x",
            explanation="inserted by hand",
            policy_version="p1",
        )
        session.add(stray)
        session.flush()
        stray_id = stray.id
    report = _verify(db)
    assert [p.finding_id for p in report.finding_problems] == [stray_id]
    assert "no trail events" in report.finding_problems[0].reason


def test_when_a_post_event_is_recorded_with_a_foreign_timezone_then_the_chain_still_verifies(
    db: Database, seed_finding: Any
) -> None:
    ids = _trail(db, seed_finding, findings=1)
    paris = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris")
    )
    with db.session() as session:
        record_event(
            session,
            ids[0],
            "post_deleted",
            details={"deleted_at": "2026-03-01T11:00:00Z", "ratio": 0.1, "n": [1, 2]},
            at=paris,
        )
    assert _verify(db).ok


def test_when_a_naive_time_is_given_then_record_event_refuses(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        finding = seed_finding(session)
        with pytest.raises(ValueError, match="timezone"):
            record_event(session, finding.id, "post_edited", at=datetime(2026, 1, 1))


# --- checkpoints -------------------------------------------------------------------------------


def _purge_prefix_by_hand(db: Database, upto: int, key: bytes) -> None:
    """What retention does to the trail, reduced to the chain: drop a prefix, sign its end."""
    with db.session() as session:
        last = session.scalars(select(FindingEvent).where(FindingEvent.seq == upto)).one()
        now = datetime.now(UTC)
        session.add(
            AuditCheckpoint(
                last_seq=upto,
                last_hash=last.hash,
                purged_events=upto,
                signature=sign_checkpoint(key, upto, last.hash, upto, now),
                created_at=now,
            )
        )
        session.execute(delete(FindingEvent).where(FindingEvent.seq <= upto))


def _chain_only(db: Database, seed_finding: Any) -> None:
    with db.session() as session:
        finding = seed_finding(session)
        for n in range(4):
            record_event(session, finding.id, "post_edited", details={"n": n})


def test_when_a_prefix_is_purged_under_a_signed_checkpoint_then_the_rest_verifies(
    db: Database, seed_finding: Any
) -> None:
    _chain_only(db, seed_finding)
    _purge_prefix_by_hand(db, 2, KEY)
    report = _verify(db, KEY)
    assert report.broken is None, report.as_dict()
    assert (report.events, report.first_seq, report.head_seq) == (3, 3, 5)
    assert report.purged_events == 2


def test_when_checkpoints_exist_and_no_key_is_given_then_verify_refuses(
    db: Database, seed_finding: Any
) -> None:
    _chain_only(db, seed_finding)
    _purge_prefix_by_hand(db, 2, KEY)
    with pytest.raises(SecretMissing):
        _verify(db, None)


def test_when_a_checkpoint_is_forged_with_another_key_then_verify_names_it(
    db: Database, seed_finding: Any
) -> None:
    _chain_only(db, seed_finding)
    _purge_prefix_by_hand(db, 2, derive_key("not-the-secret"))
    report = _verify(db, KEY)
    assert report.broken is not None
    assert report.broken.what == "checkpoint"
    assert "key id" in report.broken.reason


def test_when_a_checkpoint_is_moved_forward_then_its_signature_fails(
    db: Database, seed_finding: Any
) -> None:
    _chain_only(db, seed_finding)
    _purge_prefix_by_hand(db, 2, KEY)
    with db.session() as session:
        third = session.scalars(select(FindingEvent).where(FindingEvent.seq == 3)).one()
        session.execute(delete(FindingEvent).where(FindingEvent.seq == 3))
        session.execute(update(AuditCheckpoint).values(last_seq=3, last_hash=third.hash))
    report = _verify(db, KEY)
    assert report.broken is not None
    assert report.broken.what == "checkpoint"
    assert "does not match" in report.broken.reason


def test_when_events_after_a_checkpoint_are_deleted_then_verify_sees_the_gap(
    db: Database, seed_finding: Any
) -> None:
    _chain_only(db, seed_finding)
    _purge_prefix_by_hand(db, 2, KEY)
    with db.session() as session:
        session.execute(delete(FindingEvent).where(FindingEvent.seq == 3))
    report = _verify(db, KEY)
    assert report.broken is not None
    assert report.broken.what == "event" and report.broken.seq == 4


def test_when_a_signature_is_checked_then_only_the_exact_fields_pass() -> None:
    now = datetime.now(UTC)
    good = AuditCheckpoint(
        last_seq=7,
        last_hash="a" * 64,
        purged_events=7,
        created_at=now,
        signature=sign_checkpoint(KEY, 7, "a" * 64, 7, now),
    )
    assert checkpoint_problem(KEY, good) is None
    for change in (
        {"purged_events": 6},
        {"last_hash": "b" * 64},
        {"created_at": now + timedelta(seconds=1)},
        {"signature": "garbage"},
    ):
        altered = AuditCheckpoint(
            last_seq=7,
            last_hash=change.get("last_hash", "a" * 64),
            purged_events=change.get("purged_events", 7),
            created_at=change.get("created_at", now),
            signature=change.get("signature", good.signature),
        )
        assert checkpoint_problem(KEY, altered) is not None, change


def test_when_an_audit_key_is_set_then_checkpoints_survive_token_key_rotation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.audit import checkpoint_key
    from monitor.config import Settings

    monkeypatch.setenv("SOCIAL_MONITOR_SECRET_KEY", "token-key-1")
    monkeypatch.delenv("SOCIAL_MONITOR_AUDIT_KEY", raising=False)
    derived = checkpoint_key(Settings())
    assert derived == derive_key("token-key-1")

    monkeypatch.setenv("SOCIAL_MONITOR_AUDIT_KEY", "a-separate-audit-key")
    before = checkpoint_key(Settings())
    monkeypatch.setenv("SOCIAL_MONITOR_SECRET_KEY", "token-key-2")  # `keys rotate` done
    assert checkpoint_key(Settings()) == before == derive_key("a-separate-audit-key")
