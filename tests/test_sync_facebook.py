"""Facebook end to end: the real FacebookConnector (facebook-sdk) under the real SyncService,
HTTP faked at the wire, stored in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import responses
from cryptography.fernet import Fernet
from sqlalchemy import select

from connectors.base import Connector
from connectors.facebook import FacebookConnector
from monitor.config import Settings
from monitor.crypto import TokenCipher
from monitor.storage.database import Database
from monitor.storage.models import Post, Source, StaffMember
from monitor.sync import SyncService
from tests.connectors.fake_apis import (
    FB_APP_SECRET,
    FB_PAGE_TOKEN,
    FakeClock,
    FakeGraph,
    Reply,
    settings_for_tests,
)

KEY = Fernet.generate_key().decode()


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("FACEBOOK_APP_SECRET", FB_APP_SECRET)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGraph(rsps, clock=FakeClock())


def _service(db: Database, graph: FakeGraph, settings: Settings | None = None) -> SyncService:
    settings = settings or settings_for_tests()

    def factory(s: Settings) -> Connector:
        return FacebookConnector(
            s, rng=random.Random(1), sleep=graph.clock.sleep, now=graph.clock.now
        )

    return SyncService(
        db,
        settings,
        {"facebook": factory},
        clock=graph.clock.now,
        sleep=graph.clock.sleep,
        instance="fb-test",
        cipher=TokenCipher(KEY),
    )


def _add_sources(db: Database, graph: FakeGraph) -> tuple[int, int]:
    with db.session() as session:
        staff = StaffMember(name="Dana K", email="dana@example.org", role="front_desk")
        session.add(staff)
        session.flush()
        page = Source(
            staff_id=staff.id,
            platform="facebook",
            kind="page",
            external_id=graph.page_id,
            token_encrypted=TokenCipher(KEY).encrypt(FB_PAGE_TOKEN),
            bio_snapshot="Front desk at Maple Clinic.",
        )
        group = Source(platform="facebook", kind="group", external_id="55544433")
        session.add_all([page, group])
        session.flush()
        return page.id, group.id


def _stored(db: Database) -> dict[str, tuple[str, str, int, bool]]:
    with db.session() as session:
        posts = session.scalars(select(Post)).all()
        return {
            p.external_id: (p.channel, p.text, len(p.versions), p.deleted_at is not None)
            for p in posts
        }


def test_when_a_page_is_synced_then_posts_and_replies_are_stored_once_with_edits_and_deletions(
    db: Database, graph: FakeGraph
) -> None:
    page_id, group_id = _add_sources(db, graph)
    graph.refused.add("55544433")
    first = graph.post("Flu shots every Saturday this month!")
    review = graph.post("Thanks to everyone who came to the open house")
    reply = graph.comment(review, "Thank you Maria, glad your knee is healing!")
    graph.comment(first, "What time do you open?", author={"id": "901", "name": "Sam Visitor"})

    summary = _service(db, graph).run()

    outcomes = {s.source_id: s.outcome for s in summary.sources}
    assert outcomes[page_id] == "ok"
    assert outcomes[group_id] == "no_api_access"
    with db.session() as session:
        assert session.get(Source, group_id).status == "no_api_access"  # type: ignore[union-attr]
    stored = _stored(db)
    assert stored[first][0] == "public" and stored[reply][0] == "comment"
    assert len(stored) == 4

    # A second sync stores nothing twice.
    graph.clock.advance(1800)
    again = _service(db, graph).run()
    assert next(s for s in again.sources if s.source_id == page_id).posts_new == 0
    assert _stored(db) == stored

    # The staff reply is edited; a post is deleted.
    for item in graph.comments[review]:
        if item["id"] == reply:
            item["message"] = "Thank you for the kind words!"
    graph.delete(first)
    graph.clock.advance(1800)
    with db.session() as session:
        session.get(Source, page_id).cursor = None  # type: ignore[union-attr]  # full pass
    _service(db, graph).run()
    after = _stored(db)
    assert after[reply] == ("comment", "Thank you for the kind words!", 2, False)
    assert after[first][3] is True  # marked deleted, evidence kept
    assert after[first][1] == "Flu shots every Saturday this month!"


def test_when_page_token_expired_then_source_needs_reauth(db: Database, graph: FakeGraph) -> None:
    page_id, _ = _add_sources(db, graph)
    graph.post("hello")
    graph.failures.queue.append(graph.expired())
    summary = _service(db, graph).run()
    assert next(s for s in summary.sources if s.source_id == page_id).outcome == "auth_expired"
    with db.session() as session:
        assert session.get(Source, page_id).status == "needs_reauth"  # type: ignore[union-attr]


def _versions(db: Database, external_id: str) -> list[str]:
    with db.session() as session:
        post = session.scalars(select(Post).where(Post.external_id == external_id)).one()
        return [v.text for v in sorted(post.versions, key=lambda v: v.version_no)]


def test_when_a_post_is_edited_after_it_was_stored_then_the_next_pass_adds_a_version(
    db: Database, graph: FakeGraph
) -> None:
    page_id, _ = _add_sources(db, graph)
    posted = graph.post("Clinic closes at 5 today")
    graph.clock.advance(1)
    settings = settings_for_tests(facebook={"comment_lookback_hours": 72})

    def run() -> None:
        _service(db, graph, settings).run(source_id=page_id)

    run()
    graph.clock.advance(1800)
    edited = graph.clock.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
    graph.feeds[graph.page_id][0].update(message="Clinic closes at 6 today", updated_time=edited)
    graph.clock.advance(1)
    run()

    assert _versions(db, posted) == ["Clinic closes at 5 today", "Clinic closes at 6 today"]
    assert len(_stored(db)) == 1


def test_when_a_page_fails_mid_pagination_then_the_run_is_recorded_and_the_rerun_completes(
    db: Database, graph: FakeGraph
) -> None:
    page_id, _ = _add_sources(db, graph)
    posted = [graph.post(f"update {n}") for n in range(25)]
    graph.clock.advance(1)
    service = _service(db, graph)
    real_feed = graph._feed
    calls: list[int] = []

    def fail_after_first_page(path: str, node: str, params: dict[str, str]) -> Reply:
        calls.append(1)
        return real_feed(path, node, params) if len(calls) == 1 else graph.server_error()

    graph._feed = fail_after_first_page  # type: ignore[method-assign]
    first = service.run(source_id=page_id)

    state = first.sources[0]
    assert (state.outcome, state.posts_new) == ("failed", 10)
    assert "code 2" in (state.error or "")
    with db.session() as session:
        source = session.get(Source, page_id)
        assert source is not None and source.last_error and source.cursor
        assert FB_PAGE_TOKEN not in source.cursor + source.last_error

    graph._feed = real_feed  # type: ignore[method-assign]
    second = _service(db, graph).run(source_id=page_id)

    assert second.sources[0].outcome == "ok"
    assert second.sources[0].posts_new == 15
    assert sorted(_stored(db)) == sorted(posted)
