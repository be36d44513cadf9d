"""The review workflow: list findings, show their evidence, record dispositions.

A disposition changes a finding's status and appends a ``status_changed`` event to the review
trail in the same transaction, naming who made it and when; dismissing needs a note saying why
the finding was a false positive. The reviewer's identity comes from ``SOCIAL_MONITOR_ACTOR`` or
``[review] actor``; with neither set, nothing is recorded.

``show`` is the secure store's own view: it includes post text. Nothing here logs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.domain import Category, FindingStatus, Severity
from monitor.errors import Conflict, InvalidInput, MonitorError, NotFound
from monitor.storage.models import (
    Finding,
    FindingEvent,
    Post,
    Source,
    StaffMember,
)
from monitor.storage.trail import FINGERPRINT_KEY, record_event

ACTOR_ENV = "SOCIAL_MONITOR_ACTOR"
DISPOSITIONS = (
    FindingStatus.ACKNOWLEDGED,
    FindingStatus.ESCALATED,
    FindingStatus.DISMISSED,
    FindingStatus.REMEDIATED,
)
MAX_ACTOR_LENGTH = 200


class ActorMissing(MonitorError):
    """No reviewer identity is configured, so a disposition cannot be attributed."""


def resolve_actor(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """The reviewer: ``SOCIAL_MONITOR_ACTOR`` if set, else ``[review] actor``; never empty."""
    env = os.environ if environ is None else environ
    actor = env.get(ACTOR_ENV, "").strip() or settings.review.actor.strip()
    if not actor:
        raise ActorMissing(
            f"who is recording this? set ${ACTOR_ENV} (or [review] actor in the config) to "
            "your name or email"
        )
    if len(actor) > MAX_ACTOR_LENGTH:
        raise InvalidInput(f"the actor name is longer than {MAX_ACTOR_LENGTH} characters")
    return actor


@dataclass(frozen=True, slots=True)
class ListFilters:
    """What ``violations list`` narrows to; None means any. Superseded findings are hidden
    unless asked for by status."""

    status: str | None = None
    severity: str | None = None
    category: str | None = None
    staff_id: int | None = None
    since: datetime | None = None
    limit: int = 200


def _choice(value: str | None, allowed: type[Any], what: str) -> str | None:
    if value is None:
        return None
    values = [str(v) for v in allowed]
    if value not in values:
        raise InvalidInput(f"unknown {what} {value!r}: expected one of {', '.join(values)}")
    return value


def _summary_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Finding.id,
            Finding.created_at,
            Finding.severity,
            Finding.category,
            Finding.rule,
            Finding.status,
            Finding.excerpt,
            Post.id.label("post_id"),
            Post.platform,
            Post.channel,
            Post.published_at,
            Post.deleted_at,
            Source.handle,
            StaffMember.id.label("staff_id"),
            StaffMember.name.label("staff_name"),
        )
        .join(Post, Post.id == Finding.post_id)
        .join(Source, Source.id == Post.source_id)
        .outerjoin(StaffMember, StaffMember.id == Source.staff_id)
    )


def list_findings(session: Session, filters: ListFilters) -> list[dict[str, Any]]:
    """Findings matching ``filters``, newest first, with the masked excerpt (never post text)."""
    stmt = _summary_query()
    status = _choice(filters.status, FindingStatus, "status")
    if status is not None:
        stmt = stmt.where(Finding.status == status)
    else:
        stmt = stmt.where(Finding.status != FindingStatus.SUPERSEDED.value)
    severity = _choice(filters.severity, Severity, "severity")
    if severity is not None:
        stmt = stmt.where(Finding.severity == severity)
    category = _choice(filters.category, Category, "category")
    if category is not None:
        stmt = stmt.where(Finding.category == category)
    if filters.staff_id is not None:
        stmt = stmt.where(Source.staff_id == filters.staff_id)
    if filters.since is not None:
        stmt = stmt.where(Finding.created_at >= filters.since)
    stmt = stmt.order_by(Finding.created_at.desc(), Finding.id.desc()).limit(filters.limit)
    return [dict(row._mapping) for row in session.execute(stmt)]


def _event_dict(event: FindingEvent) -> dict[str, Any]:
    details = {k: v for k, v in (event.details or {}).items() if k != FINGERPRINT_KEY}
    return {
        "seq": event.seq,
        "at": event.created_at,
        "kind": event.kind,
        "actor": event.actor,
        "status_from": event.status_from,
        "status_to": event.status_to,
        "note": event.note,
        "details": details,
    }


def show_finding(session: Session, finding_id: int) -> dict[str, Any]:
    """The evidence for one finding: the post with its text and every version, where and when
    it was published, who wrote it, every finding on that post, and each one's history."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"no finding with id {finding_id}")
    post = finding.post
    source = post.source
    staff = source.staff
    siblings = list(
        session.scalars(select(Finding).where(Finding.post_id == post.id).order_by(Finding.id))
    )
    events = list(
        session.scalars(
            select(FindingEvent)
            .where(FindingEvent.finding_id.in_([f.id for f in siblings]))
            .order_by(FindingEvent.seq)
        )
    )
    by_finding: dict[int, list[dict[str, Any]]] = {f.id: [] for f in siblings}
    for event in events:
        by_finding[event.finding_id].append(_event_dict(event))
    versions = post.versions
    return {
        "finding": _finding_dict(finding, by_finding[finding.id]),
        "post": {
            "id": post.id,
            "platform": post.platform,
            "external_id": post.external_id,
            "channel": post.channel,
            "url": post.url,
            "author_name": post.author_name,
            "author_role": post.author_role,
            "published_at": post.published_at,
            "first_seen_at": post.first_seen_at,
            "last_seen_at": post.last_seen_at,
            "deleted_at": post.deleted_at,
            "text": post.text,
        },
        "source": {
            "id": source.id,
            "platform": source.platform,
            "kind": source.kind,
            "handle": source.handle,
            "display_name": source.display_name,
        },
        "staff": None
        if staff is None
        else {"id": staff.id, "name": staff.name, "email": staff.email, "role": staff.role},
        "versions": [
            {
                "version_no": v.version_no,
                "id": v.id,
                "fetched_at": v.fetched_at,
                "platform_updated_at": v.platform_updated_at,
                "flagged": v.id == finding.post_version_id,
                "text": v.text,
            }
            for v in versions
        ],
        "other_findings": [
            _finding_dict(f, by_finding[f.id]) for f in siblings if f.id != finding.id
        ],
    }


def _finding_dict(finding: Finding, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": finding.id,
        "created_at": finding.created_at,
        "status": finding.status,
        "severity": finding.severity,
        "category": finding.category,
        "rule": finding.rule,
        "explanation": finding.explanation,
        "excerpt": finding.excerpt,
        "spans": finding.spans,
        "policy_version": finding.policy_version,
        "post_version_id": finding.post_version_id,
        "superseded_by_id": finding.superseded_by_id,
        "history": history,
    }


def update_status(
    session: Session, finding_id: int, status: str, note: str | None, actor: str
) -> FindingEvent:
    """Record a disposition: set the status and append its ``status_changed`` event.

    Refuses: an unknown disposition, a dismissal without a note, a superseded finding (review
    its replacement), and a change to the status the finding already has. Two reviewers racing
    on one finding cannot both win: the status only changes if it is still the one read.
    """
    allowed = [str(d) for d in DISPOSITIONS]
    if status not in allowed:
        raise InvalidInput(f"unknown disposition {status!r}: expected one of {', '.join(allowed)}")
    note = (note or "").strip() or None
    if status == FindingStatus.DISMISSED and note is None:
        raise InvalidInput("dismissing needs a --note saying why the finding is a false positive")
    current = session.execute(
        select(Finding.status, Finding.superseded_by_id)
        .where(Finding.id == finding_id)
        .with_for_update()
    ).first()
    if current is None:
        raise NotFound(f"no finding with id {finding_id}")
    if current.status == FindingStatus.SUPERSEDED:
        successor = f" by finding {current.superseded_by_id}" if current.superseded_by_id else ""
        raise Conflict(f"finding {finding_id} was superseded{successor}: review that one")
    if current.status == status:
        raise Conflict(f"finding {finding_id} is already {status}")
    changed = session.execute(
        update(Finding)
        .where(Finding.id == finding_id, Finding.status == current.status)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(changed, "rowcount", 1) != 1:
        raise Conflict(f"finding {finding_id} was changed by someone else meanwhile: try again")
    return record_event(
        session,
        finding_id,
        "status_changed",
        actor=actor,
        status_from=current.status,
        status_to=status,
        note=note,
    )
