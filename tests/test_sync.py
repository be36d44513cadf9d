"""The sync service over SQLite and PostgreSQL, driven by a fake connector.

The fake plays a platform: each source has a timeline (oldest first); the cursor is how many
items were read; an edit shows the post again after the cursor (as Facebook's ``updated_time``
does); the test can make it raise before any page. Assertions are on what was stored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import create_engine, func, select, text

from connectors.base import (
    AuthExpired,
    Connector,
    NoApiAccess,
    RateLimited,
    TransientError,
)
from monitor.config import Settings
from monitor.crypto import TokenCipher, generate_key
from monitor.domain import Channel, FetchedPage, FetchedPost, SkippedItem, SourceRef
from monitor.storage import posts as post_store
from monitor.storage import sources as source_store
from monitor.storage.database import Database
from monitor.storage.models import (
    Finding,
    FindingEvent,
    Post,
    PostVersion,
    Source,
    StaffMember,
    SyncRun,
)
from monitor.storage.models import SkippedItem as SkippedRow
from monitor.storage.trail import record_event
from monitor.sync import SyncService

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Crash(BaseException):
    """A process dying mid-sync (not an Exception: nothing may swallow it)."""


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class FakeConnector(Connector):
    platform: ClassVar[str] = "fake"

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.timelines: dict[int, list[FetchedPost]] = {}
        self.raise_before: dict[tuple[int, int], BaseException] = {}  # (source, offset) -> exc
        self.skipped_at: dict[tuple[int, int], list[SkippedItem]] = {}
        self.reconciles = True
        self.deleted: set[str] = set()
        self.tokens: dict[int, str | None] = {}

    def post(self, source_id: int, external_id: str, text_: str, **kw: Any) -> FetchedPost:
        item = FetchedPost(
            external_id=external_id,
            platform="fake",
            channel=kw.pop("channel", Channel.PUBLIC),
            text=text_,
            published_at=kw.pop("published_at", T0),
            **kw,
        )
        self.timelines.setdefault(source_id, []).append(item)
        return item

    def edit(self, source_id: int, external_id: str, new_text: str) -> None:
        timeline = self.timelines[source_id]
        old = next(p for p in timeline if p.external_id == external_id)
        timeline.append(
            FetchedPost(
                external_id=external_id,
                platform=old.platform,
                channel=old.channel,
                text=new_text,
                published_at=old.published_at,
                updated_at=T0 + timedelta(hours=1),
            )
        )

    def fetch(self, source: SourceRef, cursor: str | None) -> Iterator[FetchedPage]:
        self.tokens[source.id] = source.token
        timeline = self.timelines.get(source.id, [])
        start = int(cursor or 0)
        while start < len(timeline):
            exc = self.raise_before.pop((source.id, start), None)
            if exc is not None:
                raise exc
            chunk = timeline[start : start + self.page_size]
            start += len(chunk)
            yield FetchedPage(
                posts=[p for p in chunk if p.external_id not in self.deleted],
                cursor=str(start),
                skipped=self.skipped_at.pop((source.id, start), []),
            )

    def existing(self, source: SourceRef, external_ids: Iterable[str]) -> set[str] | None:
        if not self.reconciles:
            return None
        return {i for i in external_ids if i not in self.deleted}


def add_source(
    db: Database,
    handle: str,
    *,
    staff: bool = True,
    token: bytes | None = None,
    consent: str = "public",
    bio: str | None = "Nurse at Maple Clinic. Opinions my own.",
) -> int:
    with db.session() as session:
        member = None
        if staff:
            member = StaffMember(
                name=f"Staff {handle}", email=f"{handle}@example.org", role="nurse"
            )
            session.add(member)
            session.flush()
        source = Source(
            staff_id=member.id if member else None,
            platform="fake",
            kind="profile",
            handle=handle,
            bio_snapshot=bio,
            consent_scope=consent,
            token_encrypted=token,
        )
        session.add(source)
        session.flush()
        return source.id


def service(db: Database, fake: FakeConnector, clock: Clock, **kw: Any) -> SyncService:
    return SyncService(
        db,
        Settings(),
        {"fake": lambda _settings: fake},
        clock=clock,
        sleep=clock.sleep,
        instance="test-instance",
        **kw,
    )


def stored(db: Database) -> list[tuple[str, str, int, bool]]:
    """(external id, text, number of versions, deleted) for every post, sorted."""
    with db.session() as session:
        rows = session.execute(
            select(
                Post.external_id,
                Post.text,
                func.count(PostVersion.id),
                Post.deleted_at.is_not(None),
            )
            .join(PostVersion, PostVersion.post_id == Post.id)
            .group_by(Post.id)
            .order_by(Post.external_id)
        ).all()
        return [(r[0], r[1], int(r[2]), bool(r[3])) for r in rows]


def source_row(db: Database, source_id: int) -> Source:
    with db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        session.expunge(source)
        return source


def runs(db: Database, source_id: int) -> list[SyncRun]:
    with db.session() as session:
        found = list(
            session.scalars(
                select(SyncRun).where(SyncRun.source_id == source_id).order_by(SyncRun.id)
            )
        )
        session.expunge_all()
        return found


def add_finding(db: Database, external_id: str, status: str = "open") -> int:
    with db.session() as session:
        post_id, version_id = session.execute(
            select(Post.id, PostVersion.id)
            .join(PostVersion, PostVersion.post_id == Post.id)
            .where(Post.external_id == external_id)
            .order_by(PostVersion.version_no.desc())
        ).first()  # type: ignore[misc]
        finding = Finding(
            post_version_id=version_id,
            post_id=post_id,
            category="patient_privacy",
            severity="critical",
            rule=f"privacy.test.{status}",
            explanation="test",
            policy_version="p1",
            status=status,
        )
        session.add(finding)
        session.flush()
        record_event(session, finding.id, "created")
        return finding.id


def events(db: Database, finding_id: int) -> list[str]:
    with db.session() as session:
        return list(
            session.scalars(
                select(FindingEvent.kind)
                .where(FindingEvent.finding_id == finding_id)
                .order_by(FindingEvent.seq)
            )
        )


def test_when_synced_twice_then_posts_are_stored_once_with_one_version(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "ann")
    for i in range(5):
        fake.post(sid, f"p{i}", f"post number {i}")
    first = service(db, fake, clock).run()
    with db.session() as session:
        session.execute(Source.__table__.update().values(cursor=None))
    clock.now += timedelta(minutes=30)
    second = service(db, fake, clock).run()

    assert stored(db) == [(f"p{i}", f"post number {i}", 1, False) for i in range(5)]
    assert first.sources[0].posts_new == 5 and first.sources[0].pages == 3
    assert second.sources[0].posts_new == 0 and second.sources[0].posts_fetched == 5
    with db.session() as session:
        seen = session.scalars(select(Post.last_seen_at)).all()
    assert all(t == T0 + timedelta(minutes=30) for t in seen)
    assert source_row(db, sid).cursor == "5"


def test_when_author_is_missing_then_staff_name_role_and_bio_snapshot_are_stored(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "bea", bio="RN at Maple Clinic")
    fake.post(sid, "p1", "hello")
    fake.post(sid, "p2", "hi", author_name="Bea B.", author_bio="own bio")
    service(db, fake, clock).run()
    with db.session() as session:
        rows = {
            r.external_id: r
            for r in session.execute(
                select(Post.external_id, Post.author_name, Post.author_role, Post.author_bio)
            )
        }
    assert (rows["p1"].author_name, rows["p1"].author_role, rows["p1"].author_bio) == (
        "Staff bea",
        "nurse",
        "RN at Maple Clinic",
    )
    assert (rows["p2"].author_name, rows["p2"].author_bio) == ("Bea B.", "own bio")


def test_when_process_crashes_between_pages_then_rerun_stores_the_same_posts(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "cal")
    for i in range(7):
        fake.post(sid, f"p{i}", f"text {i}")
    fake.raise_before[(sid, 4)] = Crash()
    with pytest.raises(Crash):
        service(db, fake, clock).run()
    assert [p[0] for p in stored(db)] == ["p0", "p1", "p2", "p3"]
    assert source_row(db, sid).cursor == "4"
    assert runs(db, sid)[-1].error == source_store.INTERRUPTED

    summary = service(db, fake, clock).run()

    assert summary.sources[0].posts_fetched == 3
    assert stored(db) == [(f"p{i}", f"text {i}", 1, False) for i in range(7)]


def test_when_crash_hits_inside_a_page_transaction_then_nothing_of_it_is_kept(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "dee")
    for i in range(6):
        fake.post(sid, f"p{i}", f"text {i}")
    real = source_store.add_run_counts
    calls = {"n": 0}

    def crash_on_second_page(*args: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # posts of page 2 written, cursor and counters not yet committed
            raise Crash()
        real(*args, **kw)

    monkeypatch.setattr(source_store, "add_run_counts", crash_on_second_page)
    with pytest.raises(Crash):
        service(db, fake, clock).run()
    assert [p[0] for p in stored(db)] == ["p0", "p1"]
    assert source_row(db, sid).cursor == "2"

    monkeypatch.setattr(source_store, "add_run_counts", real)
    service(db, fake, clock).run()

    assert stored(db) == [(f"p{i}", f"text {i}", 1, False) for i in range(6)]


def test_when_holder_died_then_source_waits_for_lease_expiry_and_orphan_run_is_closed(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "eve")
    fake.post(sid, "p1", "text")
    assert source_store.claim(db, sid, "dead-host:1", clock(), 300)
    orphan = source_store.start_run(db, sid, "dead-host:1", clock())

    held = service(db, fake, clock).run()
    clock.now += timedelta(seconds=301)
    after = service(db, fake, clock).run()

    assert held.sources == [] and held.held == [sid]
    assert after.sources[0].posts_new == 1
    closed = next(r for r in runs(db, sid) if r.id == orphan)
    assert (closed.outcome, closed.error) == ("failed", source_store.INTERRUPTED)


def test_when_text_changes_then_new_version_and_post_edited_on_open_findings_only(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "fay")
    fake.post(sid, "p1", "Saw Mrs K in room 4 today")
    fake.post(sid, "p2", "unrelated")
    service(db, fake, clock).run()
    open_finding = add_finding(db, "p1", "open")
    dismissed = add_finding(db, "p1", "dismissed")

    fake.edit(sid, "p1", "Great day at work")
    clock.now += timedelta(hours=2)
    summary = service(db, fake, clock).run()

    assert summary.sources[0].posts_edited == 1
    assert stored(db) == [("p1", "Great day at work", 2, False), ("p2", "unrelated", 1, False)]
    with db.session() as session:
        versions = session.execute(
            select(PostVersion.version_no, PostVersion.text, PostVersion.content_hash)
            .join(Post)
            .where(Post.external_id == "p1")
            .order_by(PostVersion.version_no)
        ).all()
    assert [v.text for v in versions] == ["Saw Mrs K in room 4 today", "Great day at work"]
    assert versions[1].content_hash == post_store.content_hash("Great day at work")
    assert events(db, open_finding) == ["created", "post_edited"]
    assert events(db, dismissed) == ["created"]


def test_when_platform_no_longer_shows_a_post_then_reconcile_marks_it_deleted_keeping_text(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "gus")
    fake.post(sid, "p1", "Mr J's results came back positive")
    fake.post(sid, "p2", "fine")
    service(db, fake, clock).run()
    finding = add_finding(db, "p1")

    fake.deleted.add("p1")
    clock.now += timedelta(hours=1)
    summary = service(db, fake, clock).run()
    again = service(db, fake, clock).run()

    assert summary.sources[0].posts_deleted == 1
    assert again.sources[0].posts_deleted == 0
    assert stored(db) == [
        ("p1", "Mr J's results came back positive", 1, True),
        ("p2", "fine", 1, False),
    ]
    assert events(db, finding) == ["created", "post_deleted"]
    assert runs(db, sid)[1].posts_deleted == 1


@pytest.mark.parametrize(("days", "deleted"), [(7, False), (30, True), (0, False)])
def test_when_reconcile_days_is_configured_then_only_posts_that_recent_are_checked(
    db: Database, days: int, deleted: bool
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "ivy")
    fake.post(sid, "p1", "Mr J's results came back positive")
    settings = Settings.model_validate({"connectors": {"reconcile_days": days}})

    def sync() -> None:
        SyncService(
            db, settings, {"fake": lambda _s: fake}, clock=clock, sleep=clock.sleep, instance="t"
        ).run()

    sync()
    fake.deleted.add("p1")
    clock.now += timedelta(days=10)  # the post is now 10 days old
    sync()
    assert stored(db) == [("p1", "Mr J's results came back positive", 1, deleted)]


def test_when_connector_cannot_tell_then_nothing_is_marked_deleted(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    fake.reconciles = False
    sid = add_source(db, "hal")
    fake.post(sid, "p1", "x")
    service(db, fake, clock).run()
    fake.deleted.add("p1")
    service(db, fake, clock).run()
    assert stored(db) == [("p1", "x", 1, False)]


def test_when_one_of_many_sources_fails_then_the_others_finish(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    ids = [add_source(db, f"s{i}") for i in range(4)]
    for sid in ids:
        for i in range(3):
            fake.post(sid, f"{sid}-{i}", f"text {i}")
    fake.raise_before[(ids[1], 2)] = TransientError("HTTP 503 after 4 retries")
    fake.raise_before[(ids[2], 0)] = ValueError("Patient Jane Roe, DOB 1980-01-02")

    summary = service(db, fake, clock).run()

    outcomes = {s.source_id: s.outcome for s in summary.sources}
    assert outcomes == {ids[0]: "ok", ids[1]: "failed", ids[2]: "failed", ids[3]: "ok"}
    assert len(stored(db)) == 3 + 2 + 0 + 3
    bug_run = runs(db, ids[2])[0]
    assert bug_run.error == "unexpected error (ValueError)"
    assert "Jane" not in (source_row(db, ids[2]).last_error or "")
    failed = source_row(db, ids[1])
    assert (failed.status, failed.cursor, failed.next_sync_at) == ("active", "2", None)
    assert runs(db, ids[1])[0].error == "HTTP 503 after 4 retries"

    service(db, fake, clock).run()
    assert len(stored(db)) == 12


def test_when_rate_limited_beyond_inline_wait_then_rescheduled_with_cursor_kept(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid, other = add_source(db, "ida"), add_source(db, "jon")
    for i in range(6):
        fake.post(sid, f"a{i}", "t")
    fake.post(other, "b0", "t")
    reset = T0 + timedelta(minutes=15)
    fake.raise_before[(sid, 4)] = RateLimited("429", reset)

    summary = service(db, fake, clock).run()

    state = summary.sources[0]
    assert (state.outcome, state.next_sync_at, summary.sources[1].outcome) == (
        "rate_limited",
        reset,
        "ok",
    )
    source = source_row(db, sid)
    assert (source.cursor, source.next_sync_at, source.status) == ("4", reset, "active")
    assert clock.slept == []
    assert sid not in [s.source_id for s in service(db, fake, clock).run().sources]  # not due

    clock.now = reset + timedelta(seconds=1)
    resumed = service(db, fake, clock).run()
    assert resumed.sources[0].posts_fetched == 2
    assert len(stored(db)) == 7


def test_when_rate_limit_resets_soon_then_it_waits_in_place_and_finishes(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "kim")
    for i in range(4):
        fake.post(sid, f"p{i}", "t")
    fake.raise_before[(sid, 2)] = RateLimited("429", T0 + timedelta(seconds=20))

    summary = service(db, fake, clock).run()

    assert clock.slept == [20.0]
    assert (summary.sources[0].outcome, summary.sources[0].waits) == ("ok", 1)
    assert len(stored(db)) == 4


def test_when_token_expires_then_source_needs_reauth_and_others_continue(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid, other = add_source(db, "lou"), add_source(db, "max")
    fake.post(sid, "a", "t")
    fake.post(other, "b", "t")
    fake.raise_before[(sid, 0)] = AuthExpired("X answered 401")

    summary = service(db, fake, clock).run()

    source = source_row(db, sid)
    assert source.status == "needs_reauth"
    assert "401" in (source.last_error or "")
    assert runs(db, sid)[0].outcome == "auth_expired"
    assert [s.outcome for s in summary.sources] == ["auth_expired", "ok"]
    assert summary.failed[0].source_id == sid
    assert [s.source_id for s in service(db, fake, clock).run().sources] == [other]


def test_when_api_refuses_a_group_then_source_shows_no_api_access(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "grp", staff=False)
    fake.post(sid, "a", "t")
    fake.raise_before[(sid, 0)] = NoApiAccess("Groups API removed on 2024-04-22")
    service(db, fake, clock).run()
    source = source_row(db, sid)
    assert (source.status, runs(db, sid)[0].outcome) == ("no_api_access", "no_api_access")


def test_when_an_item_is_malformed_then_it_is_recorded_and_the_run_is_partial(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "ned")
    for i in range(4):
        fake.post(sid, f"p{i}", "t")
    fake.skipped_at[(sid, 2)] = [SkippedItem(reason="tweet without text", external_id="99")]
    fake.post(sid, "x" * 250, "too long an id")

    summary = service(db, fake, clock).run()

    assert summary.sources[0].outcome == "partial"
    with db.session() as session:
        rows = session.execute(
            select(SkippedRow.external_id, SkippedRow.reason, SkippedRow.sync_run_id)
        ).all()
    assert sorted((r.external_id or "")[:5] for r in rows) == ["99", "xxxxx"]
    assert {r.sync_run_id for r in rows} == {runs(db, sid)[0].id}
    assert runs(db, sid)[0].items_skipped == 2
    assert len(stored(db)) == 4


def test_when_direct_message_is_outside_staff_consent_then_it_is_not_stored(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    public_only = add_source(db, "oli", consent="public")
    with_dms = add_source(db, "pat", consent="public_and_direct")
    practice_page = add_source(db, "page", staff=False)
    fake.post(public_only, "dm1", "private words", channel=Channel.DIRECT)
    fake.post(with_dms, "dm2", "private words", channel=Channel.DIRECT)
    fake.post(practice_page, "dm3", "message to the page", channel=Channel.DIRECT)

    service(db, fake, clock).run()

    assert [p[0] for p in stored(db)] == ["dm2", "dm3"]
    with db.session() as session:
        skipped = session.execute(select(SkippedRow.external_id, SkippedRow.raw)).all()
    assert [(s.external_id, s.raw) for s in skipped] == [("dm1", None)]


def test_when_source_has_a_token_then_connector_gets_it_decrypted(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    cipher = TokenCipher(generate_key())
    sid = add_source(db, "quin", token=cipher.encrypt("user-token-123"))
    plain = add_source(db, "ray")
    fake.post(sid, "a", "t")
    fake.post(plain, "b", "t")

    service(db, fake, clock, cipher=cipher).run()

    assert fake.tokens == {sid: "user-token-123", plain: None}


def test_when_token_key_is_wrong_then_that_source_fails_without_the_token(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "sam", token=TokenCipher(generate_key()).encrypt("user-token-123"))
    other = add_source(db, "tom")
    fake.post(other, "b", "t")

    summary = service(db, fake, clock, cipher=TokenCipher(generate_key())).run()

    assert [s.outcome for s in summary.sources] == ["failed", "ok"]
    assert "does not decrypt" in (source_row(db, sid).last_error or "")
    assert "user-token" not in (source_row(db, sid).last_error or "")


def test_when_filtered_by_source_then_only_it_runs_even_if_rescheduled(db: Database) -> None:
    fake, clock = FakeConnector(), Clock()
    sid, other = add_source(db, "uma"), add_source(db, "val")
    fake.post(sid, "a", "t")
    fake.post(other, "b", "t")
    with db.session() as session:
        session.get(Source, sid).next_sync_at = T0 + timedelta(hours=1)  # type: ignore[union-attr]

    summary = service(db, fake, clock).run(source_id=sid)

    assert [s.source_id for s in summary.sources] == [sid]
    assert [p[0] for p in stored(db)] == ["a"]


def test_when_platform_has_no_connector_then_run_fails_with_that_reason(db: Database) -> None:
    clock = Clock()
    sid = add_source(db, "wes")
    summary = SyncService(db, Settings(), {}, clock=clock, sleep=clock.sleep).run()
    assert summary.sources[0].outcome == "failed"
    assert runs(db, sid)[0].error == "no connector for platform 'fake'"


def test_when_two_sessions_store_the_same_new_posts_at_once_then_one_row_each(
    pg_schema_url: str,
) -> None:
    from monitor.storage import migrate

    db = Database(pg_schema_url)
    migrate.upgrade(db)
    try:
        sid = add_source(db, "race")
        batch = [
            FetchedPost(external_id=f"p{i}", platform="fake", channel=Channel.PUBLIC, text="t")
            for i in range(3)
        ]
        errors: list[BaseException] = []
        results: list[post_store.UpsertStats] = []

        def second_writer() -> None:
            try:
                with db.session() as session:
                    results.append(post_store.upsert_posts(session, sid, batch, T0))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        watcher = create_engine(pg_schema_url.replace("postgresql://", "postgresql+psycopg://"))
        with db.session() as first:
            first_stats = post_store.upsert_posts(first, sid, batch, T0)
            thread = threading.Thread(target=second_writer)
            thread.start()
            with watcher.connect() as conn:  # wait until the second writer blocks on our rows
                for _ in range(500):
                    waiting = conn.execute(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    ).scalar()
                    if waiting:
                        break
                    threading.Event().wait(0.01)
                assert waiting, "the second writer never blocked"
        thread.join()
        watcher.dispose()

        assert errors == []
        assert (first_stats.new, results[0].new, results[0].unchanged) == (3, 0, 3)
        assert stored(db) == [(f"p{i}", "t", 1, False) for i in range(3)]
    finally:
        db.dispose()


# -- end to end through the real X connector (tweepy), HTTP faked with ``responses`` ----------

X_USER = "2244994945"


class FakeXTimeline:
    """GET /2/users/:id/tweets newest first with since_id/pagination_token/max_results, and
    GET /2/tweets?ids= for the reconcile lookup; ``failures`` answer the next timeline calls."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.tweets: dict[int, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.failures: list[tuple[int, dict[str, str], str]] = []
        self.since_ids: list[str | None] = []
        self.tokens: list[str | None] = []
        self.calls = 0
        self.fail_at: dict[int, tuple[int, dict[str, str], str]] = {}  # timeline call -> reply
        self.headers: dict[str, str] = {}  # extra headers on every timeline page
        self.mock: Any = None  # the RequestsMock, for tests that fake more endpoints

    def add(self, n: int, text_: str, history: list[int] | None = None) -> None:
        created = (self.clock() - timedelta(hours=1)).isoformat().replace("+00:00", ".000Z")
        self.tweets[n] = {
            "id": str(n),
            "text": text_,
            "created_at": created,
            "author_id": X_USER,
            "edit_history_tweet_ids": [str(h) for h in (history or [n])],
        }

    def timeline(self, request: Any) -> tuple[int, dict[str, str], str]:
        import json
        from urllib.parse import parse_qs, urlparse

        self.calls += 1
        if self.calls in self.fail_at:
            return self.fail_at.pop(self.calls)
        if self.failures:
            return self.failures.pop(0)
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.since_ids.append(query.get("since_id"))
        self.tokens.append(query.get("pagination_token"))
        since = int(query.get("since_id", "0"))
        newest_first = [self.tweets[n] for n in sorted(self.tweets, reverse=True) if n > since]
        offset = int(query.get("pagination_token", "t0")[1:])
        size = int(query.get("max_results", "100"))
        page = newest_first[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + size < len(newest_first):
            meta["next_token"] = f"t{offset + size}"
        body = {"data": page, "meta": meta} if page else {"meta": meta}
        return 200, {"content-type": "application/json", **self.headers}, json.dumps(body)

    def lookup(self, request: Any) -> tuple[int, dict[str, str], str]:
        import json
        from urllib.parse import parse_qs, urlparse

        ids = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
        body: dict[str, Any] = {"data": [{"id": i} for i in ids if i not in self.deleted]}
        gone = [i for i in ids if i in self.deleted]
        if gone:
            body["errors"] = [
                {
                    "value": i,
                    "detail": f"Could not find tweet with ids: [{i}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": i,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
                for i in gone
            ]
        return 200, {"content-type": "application/json"}, json.dumps(body)


@pytest.fixture
def fake_x(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeXTimeline, Clock]]:
    import re

    import responses

    monkeypatch.setenv("X_BEARER_TOKEN", "app-bearer-token")
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    fake = FakeXTimeline(clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.mock = mock
        mock.add_callback(
            responses.GET,
            re.compile(rf"https://api\.twitter\.com/2/users/{X_USER}/tweets.*"),
            callback=fake.timeline,
        )
        mock.add_callback(
            responses.GET,
            re.compile(r"https://api\.twitter\.com/2/tweets\?.*"),
            callback=fake.lookup,
        )
        yield fake, clock


def x_service(db: Database, clock: Clock) -> SyncService:
    import random

    from connectors.x import XConnector

    def factory(settings: Settings) -> Connector:
        return XConnector(settings, rng=random.Random(0), sleep=clock.sleep, now=clock)

    return SyncService(
        db, Settings(), {"x": factory}, clock=clock, sleep=clock.sleep, instance="test"
    )


def add_x_source(db: Database) -> int:
    with db.session() as session:
        member = StaffMember(name="Priya N", email="p@example.org", role="physician")
        session.add(member)
        session.flush()
        source = Source(
            staff_id=member.id,
            platform="x",
            kind="profile",
            handle="DrPriyaN",
            external_id=X_USER,
            bio_snapshot="Physician at Riverside. Not medical advice.",
        )
        session.add(source)
        session.flush()
        return source.id


def test_when_x_sync_is_rate_limited_mid_pagination_then_rerun_loses_and_duplicates_nothing(
    db: Database, fake_x: tuple[FakeXTimeline, Clock]
) -> None:
    fake, clock = fake_x
    sid = add_x_source(db)
    for n in range(1000, 1250):
        fake.add(n, f"tweet {n}")
    reset = clock() + timedelta(minutes=15)
    headers = {"x-rate-limit-reset": str(int(reset.timestamp()))}
    fake.fail_at[2] = (429, headers, '{"title": "Too Many Requests", "status": 429}')
    limited = x_service(db, clock).run()
    assert (limited.sources[0].outcome, limited.sources[0].posts_new) == ("rate_limited", 100)
    assert source_row(db, sid).next_sync_at == reset

    clock.now = reset + timedelta(seconds=1)
    resumed = x_service(db, clock).run()

    assert resumed.sources[0].outcome == "ok"
    assert fake.tokens == [None, "t100", "t200"]  # page 1 was not read again
    assert stored(db) == sorted((str(n), f"tweet {n}", 1, False) for n in range(1000, 1250))
    with db.session() as session:
        author = session.execute(select(Post.author_name, Post.author_bio).limit(1)).one()
    assert author.author_bio == "Physician at Riverside. Not medical advice."

    fake.add(1250, "a new tweet")
    fake.tweets.pop(1001)
    fake.add(1251, "tweet 1001, corrected", history=[1001, 1251])
    fake.deleted.add("1002")
    clock.now += timedelta(minutes=30)
    third = x_service(db, clock).run()

    assert fake.since_ids[-1] == "1249"  # nothing older read again
    state = third.sources[0]
    assert (state.posts_new, state.posts_edited, state.posts_deleted) == (1, 1, 1)
    by_id = {p[0]: p for p in stored(db)}
    assert by_id["1001"] == ("1001", "tweet 1001, corrected", 2, False)
    assert by_id["1002"] == ("1002", "tweet 1002", 1, True)
    assert len(by_id) == 251


def test_when_x_rejects_the_token_then_source_needs_reauth(
    db: Database, fake_x: tuple[FakeXTimeline, Clock]
) -> None:
    fake, clock = fake_x
    sid = add_x_source(db)
    fake.add(1000, "t")
    fake.failures = [(401, {}, '{"title": "Unauthorized", "status": 401}')]
    summary = x_service(db, clock).run()
    assert summary.sources[0].outcome == "auth_expired"
    assert source_row(db, sid).status == "needs_reauth"
    assert stored(db) == []


def test_when_stop_is_requested_then_sync_ends_after_a_committed_page_and_resumes(
    db: Database,
) -> None:
    fake, clock = FakeConnector(), Clock()
    sid = add_source(db, "stopper")
    for i in range(6):
        fake.post(sid, f"p{i}", f"text {i}")
    pages: list[int] = []
    sync = service(db, fake, clock, should_stop=lambda: len(pages) >= 1)
    summary = sync.run(progress=lambda state: pages.append(state.pages))

    state = summary.sources[0]
    assert state.outcome == "interrupted" and state.pages == 1
    assert [p[0] for p in stored(db)] == ["p0", "p1"]
    assert source_row(db, sid).cursor == "2"
    assert source_row(db, sid).lease_owner is None  # released for the next run

    resumed = service(db, fake, clock).run()
    assert resumed.sources[0].outcome == "ok" and resumed.sources[0].posts_fetched == 4
    assert stored(db) == [(f"p{i}", f"text {i}", 1, False) for i in range(6)]


def test_when_x_source_has_only_a_handle_then_user_id_is_looked_up_once_and_saved(
    db: Database, fake_x: tuple[FakeXTimeline, Clock]
) -> None:
    import re

    import responses

    fake, clock = fake_x
    sid = add_x_source(db)
    with db.session() as session:
        session.get(Source, sid).external_id = None  # type: ignore[union-attr]
    fake.add(1000, "hello")
    lookups = []

    def by_username(request: Any) -> tuple[int, dict[str, str], str]:
        lookups.append(request.url)
        body = json.dumps({"data": {"id": X_USER, "name": "Priya N", "username": "DrPriyaN"}})
        return 200, {"content-type": "application/json"}, body

    fake.mock.add_callback(
        responses.GET,
        re.compile(r"https://api\.twitter\.com/2/users/by/username/DrPriyaN.*"),
        callback=by_username,
    )
    assert x_service(db, clock).run().sources[0].outcome == "ok"
    assert source_row(db, sid).external_id == X_USER
    clock.now += timedelta(minutes=30)
    assert x_service(db, clock).run().sources[0].outcome == "ok"
    assert len(lookups) == 1


def test_when_x_says_no_requests_remain_then_the_source_is_rescheduled_without_another_call(
    db: Database, fake_x: tuple[FakeXTimeline, Clock]
) -> None:
    fake, clock = fake_x
    sid = add_x_source(db)
    for n in range(1000, 1250):
        fake.add(n, f"tweet {n}")
    reset = clock() + timedelta(minutes=12)
    fake.headers = {
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(reset.timestamp())),
    }

    limited = x_service(db, clock).run()

    state = limited.sources[0]
    assert (state.outcome, state.posts_new, state.next_sync_at) == ("rate_limited", 100, reset)
    assert fake.calls == 1 and clock.slept == []
    assert source_row(db, sid).next_sync_at == reset

    clock.now = reset + timedelta(seconds=1)
    fake.headers = {}
    resumed = x_service(db, clock).run()
    assert resumed.sources[0].outcome == "ok"
    assert fake.tokens == [None, "t100", "t200"]
    assert len(stored(db)) == 250


def test_when_the_x_usage_cap_is_reached_then_the_run_fails_once_with_the_reason_recorded(
    db: Database, fake_x: tuple[FakeXTimeline, Clock]
) -> None:
    fake, clock = fake_x
    sid = add_x_source(db)
    fake.add(1000, "t")
    capped = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
        "period": "Monthly",
        "scope": "Product",
    }
    reset = str(int((clock() + timedelta(seconds=20)).timestamp()))
    fake.failures = [
        (429, {"content-type": "application/json", "x-rate-limit-reset": reset}, json.dumps(capped))
    ] * 10

    summary = x_service(db, clock).run()

    assert summary.sources[0].outcome == "failed"
    assert fake.calls == 1 and clock.slept == []  # not waited for, not retried in a loop
    assert "usage cap" in (runs(db, sid)[0].error or "")
    assert source_row(db, sid).status == "active"  # tried again next cycle
