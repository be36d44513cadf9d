"""Listing, showing and recording dispositions on findings; each disposition joins the trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.config import Settings
from monitor.errors import Conflict, InvalidInput, NotFound
from monitor.review import (
    ActorMissing,
    ListFilters,
    list_findings,
    resolve_actor,
    show_finding,
    update_status,
)
from monitor.storage.database import Database
from monitor.storage.models import Finding, FindingEvent, PostVersion
from monitor.storage.trail import record_event


def _settings(actor: str = "") -> Settings:
    return Settings.model_validate({"review": {"actor": actor}})


@pytest.mark.parametrize(
    ("env", "configured", "expected"),
    [
        ({"SOCIAL_MONITOR_ACTOR": "alice@example.org"}, "", "alice@example.org"),
        ({"SOCIAL_MONITOR_ACTOR": "alice@example.org"}, "bob", "alice@example.org"),
        ({}, "bob@example.org", "bob@example.org"),
        ({"SOCIAL_MONITOR_ACTOR": "  "}, " carol ", "carol"),
    ],
)
def test_when_an_actor_is_set_then_the_environment_wins_over_the_config(
    env: dict[str, str], configured: str, expected: str
) -> None:
    assert resolve_actor(_settings(configured), env) == expected


def test_when_no_actor_is_set_then_resolving_refuses_with_a_clear_error() -> None:
    with pytest.raises(ActorMissing, match="SOCIAL_MONITOR_ACTOR"):
        resolve_actor(_settings(""), {})


def test_when_a_disposition_is_recorded_then_status_and_trail_name_the_actor_and_time(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        finding_id = seed_finding(session).id
    before = datetime.now(UTC)
    with db.session() as session:
        update_status(session, finding_id, "escalated", " sent to privacy officer ", "alice")
    with db.session() as session:
        assert session.get(Finding, finding_id).status == "escalated"  # type: ignore[union-attr]
        events = list(
            session.scalars(
                select(FindingEvent)
                .where(FindingEvent.finding_id == finding_id)
                .order_by(FindingEvent.seq)
            )
        )
    assert [e.kind for e in events] == ["created", "status_changed"]
    change = events[-1]
    assert (change.actor, change.status_from, change.status_to, change.note) == (
        "alice",
        "open",
        "escalated",
        "sent to privacy officer",
    )
    assert before - timedelta(seconds=1) <= change.created_at <= datetime.now(UTC)


@pytest.mark.parametrize("note", [None, "", "   "])
def test_when_dismissing_without_a_note_then_nothing_is_recorded(
    db: Database, seed_finding: Any, note: str | None
) -> None:
    with db.session() as session:
        finding_id = seed_finding(session).id
    with pytest.raises(InvalidInput, match="note"), db.session() as session:
        update_status(session, finding_id, "dismissed", note, "alice")
    with db.session() as session:
        assert session.get(Finding, finding_id).status == "open"  # type: ignore[union-attr]
        assert len(session.scalars(select(FindingEvent)).all()) == 1


def test_when_dismissing_with_a_note_then_the_note_is_kept(db: Database, seed_finding: Any) -> None:
    with db.session() as session:
        finding_id = seed_finding(session).id
        event = update_status(session, finding_id, "dismissed", "a public figure", "alice")
        assert event.note == "a public figure"


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        ("open", InvalidInput, "unknown disposition"),
        ("superseded", InvalidInput, "unknown disposition"),
        ("fixed", InvalidInput, "unknown disposition"),
        ("acknowledged", Conflict, "already acknowledged"),
    ],
)
def test_when_the_disposition_is_not_a_change_then_update_refuses(
    db: Database, seed_finding: Any, status: str, error: type[Exception], match: str
) -> None:
    with db.session() as session:
        finding_id = seed_finding(session).id
        update_status(session, finding_id, "acknowledged", None, "alice")
    with pytest.raises(error, match=match), db.session() as session:
        update_status(session, finding_id, status, "note", "alice")


def test_when_the_finding_is_unknown_or_superseded_then_update_refuses(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        old = seed_finding(session)
        new = seed_finding(session, post_id=old.post_id)
        old.status = "superseded"
        old.superseded_by_id = new.id
        record_event(session, old.id, "superseded", details={"by": new.id})
        old_id, new_id = old.id, new.id
    with pytest.raises(Conflict, match=f"superseded by finding {new_id}"), db.session() as s:
        update_status(s, old_id, "acknowledged", None, "alice")
    with pytest.raises(NotFound), db.session() as s:
        update_status(s, 987654, "acknowledged", None, "alice")


def test_when_listing_then_filters_narrow_and_superseded_are_hidden_by_default(
    db: Database, seed_finding: Any
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with db.session() as session:
        a = seed_finding(session, at=long_ago)
        b = seed_finding(session, category="harmful_content", severity="high")
        c = seed_finding(session, post_id=b.post_id, category="medical_advice", severity="high")
        c.status = "superseded"
        record_event(session, c.id, "superseded")
        update_status(session, b.id, "acknowledged", None, "alice")
        staff_a = a.post.source.staff_id
        ids = {"a": a.id, "b": b.id, "c": c.id}

    def listed(**filters: Any) -> list[int]:
        with db.session() as session:
            return [r["id"] for r in list_findings(session, ListFilters(**filters))]

    assert listed() == [ids["b"], ids["a"]]  # newest first, superseded hidden
    assert listed(status="superseded") == [ids["c"]]
    assert listed(status="acknowledged") == [ids["b"]]
    assert listed(severity="critical") == [ids["a"]]
    assert listed(category="harmful_content") == [ids["b"]]
    assert listed(staff_id=staff_a) == [ids["a"]]
    assert listed(since=datetime.now(UTC) - timedelta(days=1)) == [ids["b"]]
    with pytest.raises(InvalidInput, match="unknown category"):
        listed(category="rudeness")


def test_when_listing_then_rows_carry_the_masked_excerpt_not_the_post_text(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        seed_finding(session, text="Jane Roe has HIV", excerpt="[NAME] has [CONDITION]")
    with db.session() as session:
        (row,) = list_findings(session, ListFilters())
    assert row["excerpt"] == "[NAME] has [CONDITION]"
    assert "Jane Roe" not in repr(row)


def test_when_showing_a_finding_then_the_evidence_versions_and_history_are_all_there(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        first = seed_finding(session, text="Jane Roe in bed 4, stage 4 again")
        post = first.post
        session.add(PostVersion(post=post, version_no=2, text="a patient, again", content_hash="2"))
        session.flush()
        second = seed_finding(session, post_id=post.id, category="harmful_content")
        record_event(session, first.id, "post_edited", details={"version_no": 2})
        post.deleted_at = datetime.now(UTC)
        record_event(session, first.id, "post_deleted")
        update_status(session, first.id, "remediated", "author removed it", "alice")
        first_id, second_id = first.id, second.id
    with db.session() as session:
        shown = show_finding(session, first_id)
    assert shown["post"]["text"] == "Jane Roe in bed 4, stage 4 again"
    assert shown["post"]["deleted_at"] is not None
    assert [(v["version_no"], v["flagged"]) for v in shown["versions"]] == [(1, True), (2, False)]
    assert shown["versions"][1]["text"] == "a patient, again"
    assert shown["staff"]["name"] == "Dr. Ada Example"
    history = shown["finding"]["history"]
    assert [e["kind"] for e in history] == [
        "created",
        "post_edited",
        "post_deleted",
        "status_changed",
    ]
    assert history[-1]["actor"] == "alice"
    assert "finding_sha256" not in history[0]["details"]
    assert [f["id"] for f in shown["other_findings"]] == [second_id]
    assert shown["other_findings"][0]["history"][0]["kind"] == "created"


def test_when_showing_an_unknown_finding_then_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="42"), db.session() as session:
        show_finding(session, 42)
