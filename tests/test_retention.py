"""Retention purges what is older than the period, keeps what is still in use, and leaves a
trail that still verifies from a signed checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from monitor.audit import derive_key, verify
from monitor.errors import Conflict, SecretMissing
from monitor.retention import cutoff_for, plan, purge
from monitor.review import update_status
from monitor.storage.database import Database
from monitor.storage.models import (
    AuditCheckpoint,
    Digest,
    DigestItem,
    Finding,
    FindingEvent,
    Post,
    PostVersion,
    SkippedItem,
    SyncRun,
)
from monitor.storage.trail import head, record_event

KEY = derive_key("retention-test-secret")
NOW = datetime(2032, 6, 1, 12, 0, tzinfo=UTC)
CUTOFF = cutoff_for(NOW, 6)  # 2026-06-01
OLD = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
YOUNG = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _verify_ok(db: Database) -> Any:
    with db.session() as session:
        report = verify(session, KEY)
    assert report.ok, report.as_dict()
    return report


def _purge(db: Database, key: bytes | None = KEY) -> Any:
    with db.session() as session:
        return purge(session, CUTOFF, key, now=NOW)


@pytest.mark.parametrize(
    ("now", "years", "expected"),
    [
        (datetime(2032, 6, 1, tzinfo=UTC), 6, datetime(2026, 6, 1, tzinfo=UTC)),
        (datetime(2032, 2, 29, 8, tzinfo=UTC), 6, datetime(2026, 2, 28, 8, tzinfo=UTC)),
        (datetime(2032, 2, 29, tzinfo=UTC), 4, datetime(2028, 2, 29, tzinfo=UTC)),
    ],
)
def test_when_computing_the_cutoff_then_whole_calendar_years_are_subtracted(
    now: datetime, years: int, expected: datetime
) -> None:
    assert cutoff_for(now, years) == expected


def _dismiss_long_ago(session: Any, finding: Finding, when: datetime) -> None:
    """A disposition recorded back then (``update_status`` always stamps the present)."""
    finding.status = "dismissed"
    record_event(
        session,
        finding.id,
        "status_changed",
        actor="alice",
        status_from="open",
        status_to="dismissed",
        note="a film quote",
        at=when,
    )


def test_when_everything_old_is_finished_then_it_goes_and_the_rest_still_verifies(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        old = seed_finding(session, at=OLD)
        _dismiss_long_ago(session, old, OLD + timedelta(days=3))
        young = seed_finding(session, at=YOUNG)
        young_id, old_post = young.id, old.post_id
    report = _purge(db)
    assert (report.first_seq, report.last_seq, report.events, report.findings) == (1, 2, 2, 1)
    assert (report.posts, report.post_versions) == (1, 1)
    with db.session() as session:
        assert [f.id for f in session.scalars(select(Finding))] == [young_id]
        assert session.get(Post, old_post) is None
        checkpoint = session.scalars(select(AuditCheckpoint)).one()
        assert (checkpoint.last_seq, checkpoint.purged_events) == (2, 2)
    after = _verify_ok(db)
    assert (after.first_seq, after.head_seq, after.purged_events) == (3, 3, 2)


def test_when_an_old_finding_is_still_worked_on_then_it_and_everything_after_it_stay(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        gone = seed_finding(session, at=OLD)
        busy = seed_finding(session, at=OLD + timedelta(days=1))
        later_old = seed_finding(session, at=OLD + timedelta(days=2))
        update_status(session, busy.id, "escalated", "legal asked to keep it", "alice")  # now
        ids = (gone.id, busy.id, later_old.id)
    with db.session() as session:
        planned = plan(session, CUTOFF)
    # seq 1 (gone) goes; seq 2 is busy's "created", and the chain is cut only at a prefix
    assert (planned.last_seq, planned.events, planned.findings) == (1, 1, 1)
    _purge(db)
    with db.session() as session:
        assert sorted(f.id for f in session.scalars(select(Finding))) == sorted(ids[1:])
        assert len(session.scalars(select(FindingEvent)).all()) == 3
    _verify_ok(db)


def test_when_dry_run_then_nothing_changes_and_no_key_is_needed(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        seed_finding(session, at=OLD)
        seed_finding(session, at=YOUNG)
    with db.session() as session:
        planned = plan(session, CUTOFF)
    assert (planned.events, planned.findings, planned.posts) == (1, 1, 1)
    assert (_count(db, Finding), _count(db, FindingEvent), _count(db, Post)) == (2, 2, 2)
    assert _count(db, AuditCheckpoint) == 0


def test_when_events_would_go_without_a_key_then_purge_refuses_and_keeps_everything(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        seed_finding(session, at=OLD)
    with pytest.raises(SecretMissing):
        _purge(db, key=None)
    assert (_count(db, Finding), _count(db, FindingEvent)) == (1, 1)


def test_when_the_trail_is_tampered_then_purge_refuses_and_keeps_the_evidence(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        seed_finding(session, at=OLD)
        seed_finding(session, at=YOUNG)
        session.execute(update(FindingEvent).where(FindingEvent.seq == 1).values(actor="nobody"))
    with pytest.raises(Conflict, match="does not verify"):
        _purge(db)
    assert (_count(db, Finding), _count(db, FindingEvent)) == (2, 2)


def test_when_purged_twice_then_checkpoints_chain_and_new_events_still_verify(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        seed_finding(session, at=OLD)
    _purge(db)
    with db.session() as session:
        assert head(session)[0] == 1  # nothing left: the checkpoint is the head
    _verify_ok(db)
    with db.session() as session:
        seed_finding(session, at=OLD + timedelta(days=30))
        young = seed_finding(session, at=YOUNG)
        record_event(session, young.id, "post_edited", details={"version_no": 2})
    _purge(db)
    with db.session() as session:
        checkpoints = [c.last_seq for c in session.scalars(select(AuditCheckpoint))]
    assert sorted(checkpoints) == [1, 2]
    report = _verify_ok(db)
    assert (report.first_seq, report.head_seq, report.purged_events) == (3, 4, 2)


def test_when_a_finding_goes_then_its_digest_entries_go_and_posts_in_use_stay(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        old = seed_finding(session, at=OLD)
        digest = Digest(
            kind="daily",
            period_key="2025-01-10",
            period_start=OLD,
            period_end=OLD + timedelta(days=1),
            message_id="<m@x>",
            created_at=OLD,
        )
        session.add(digest)
        session.flush()
        session.add(DigestItem(digest_id=digest.id, finding_id=old.id, section="new"))
        # an old post edited recently: its old finding goes, the post and its versions stay
        edited = seed_finding(session, at=OLD + timedelta(days=2))
        session.add(
            PostVersion(
                post_id=edited.post_id, version_no=2, text="v2", content_hash="v2", fetched_at=YOUNG
            )
        )
        edited_finding, edited_post = edited.id, edited.post_id
        # posts without findings: the old one goes, the young one stays
        source_id = edited.post.source_id
        for tag, when in (("quiet-old", OLD), ("quiet-young", YOUNG)):
            post = Post(
                platform="x",
                external_id=tag,
                source_id=source_id,
                channel="public",
                content_hash=tag,
                first_seen_at=when,
                last_seen_at=when,
            )
            version = PostVersion(
                post=post, version_no=1, text=tag, content_hash=tag, fetched_at=when
            )
            session.add_all([post, version])
    with db.session() as session:
        planned = plan(session, CUTOFF)
    assert (planned.findings, planned.digest_items, planned.digests) == (2, 1, 1)
    report = _purge(db)
    assert (report.findings, report.digest_items, report.digests) == (2, 1, 1)
    with db.session() as session:
        assert session.scalars(select(DigestItem)).all() == []
        assert session.scalars(select(Digest)).all() == []
        assert session.get(Finding, edited_finding) is None
        remaining = set(session.scalars(select(Post.external_id)))
        assert "quiet-old" not in remaining and "quiet-young" in remaining
        versions = session.scalars(
            select(PostVersion.version_no).where(PostVersion.post_id == edited_post)
        ).all()
        assert sorted(versions) == [1, 2]
    _verify_ok(db)


def test_when_sync_runs_are_old_then_they_and_their_skipped_payloads_go(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        source_id = seed_finding(session, at=YOUNG).post.source_id
        runs = {
            "old": SyncRun(source_id=source_id, started_at=OLD, finished_at=OLD, outcome="ok"),
            "young": SyncRun(source_id=source_id, started_at=YOUNG, finished_at=YOUNG),
            "running": SyncRun(source_id=source_id, started_at=OLD, finished_at=None),
        }
        session.add_all(runs.values())
        session.flush()
        for name, run in runs.items():
            session.add(
                SkippedItem(
                    sync_run_id=run.id,
                    source_id=source_id,
                    reason="no text",
                    raw={"message": f"Mrs K in room 4 ({name})"},
                    created_at=run.started_at,
                )
            )
        young_id, running_id = runs["young"].id, runs["running"].id
    with db.session() as session:
        planned = plan(session, CUTOFF)
    assert (planned.sync_runs, planned.skipped_items) == (1, 2)
    assert _count(db, SyncRun) == 3  # a plan changes nothing
    report = _purge(db)
    assert (report.sync_runs, report.skipped_items) == (1, 2)
    with db.session() as session:
        assert set(session.scalars(select(SyncRun.id))) == {young_id, running_id}
        assert [i.sync_run_id for i in session.scalars(select(SkippedItem))] == [young_id]
    _verify_ok(db)


def test_when_an_old_finding_and_its_replacement_both_expire_then_both_go_together(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        replacement = seed_finding(session, at=OLD + timedelta(days=1))
        first = seed_finding(session, post_id=replacement.post_id, at=OLD)
        first.status = "superseded"
        first.superseded_by_id = replacement.id
        record_event(session, first.id, "superseded", at=OLD + timedelta(days=1))
        young = seed_finding(session, at=YOUNG)
        young_id = young.id
    report = _purge(db)
    assert (report.findings, report.events) == (2, 3)
    with db.session() as session:
        assert [f.id for f in session.scalars(select(Finding))] == [young_id]
    _verify_ok(db)


def test_when_a_kept_finding_points_at_an_expired_replacement_then_the_replacement_stays(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        replacement = seed_finding(session, at=OLD)
        first = seed_finding(session, post_id=replacement.post_id, at=OLD + timedelta(days=1))
        first.status = "superseded"
        first.superseded_by_id = replacement.id
        record_event(session, first.id, "superseded")  # today: keeps ``first``
        ids = {replacement.id, first.id}
    with db.session() as session:
        planned = plan(session, CUTOFF)
    assert planned.findings == 0
    _purge(db)
    with db.session() as session:
        assert {f.id for f in session.scalars(select(Finding))} == ids
    _verify_ok(db)
