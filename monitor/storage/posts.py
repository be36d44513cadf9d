"""Posts and their versions: the idempotent upsert the sync service stores pages with.

Promises:
- ``(platform, external_id)`` identifies a post; storing the same post again never duplicates
  it. A new text (a different SHA-256 of the text) adds a ``PostVersion``; the same text only
  moves ``last_seen_at``.
- ``store_page`` writes a page's posts, its skipped items, the source's cursor and the run's
  counters in ONE transaction: after a crash at any point, either all of it or none of it is
  stored, so a rerun from the saved cursor ends with exactly the same posts.
- Two processes storing the same post at once cannot both insert it: new rows go in with
  ``INSERT ... ON CONFLICT DO NOTHING`` and the losers are re-read as existing posts, whose rows
  are locked (``FOR UPDATE`` on PostgreSQL; SQLite serializes writers) before a version is added.
- An edit of a post with open findings, and a deletion found by the reconcile pass, are
  recorded on those findings' review trail. Deleted posts keep all their text and versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.domain import FetchedPost, FindingStatus, SkippedItem
from monitor.storage import sources
from monitor.storage.database import Database
from monitor.storage.models import Finding, Post, PostVersion
from monitor.storage.models import SkippedItem as SkippedItemRow
from monitor.storage.trail import record_event

POSTS: Table = Post.__table__  # type: ignore[assignment]
VERSIONS: Table = PostVersion.__table__  # type: ignore[assignment]
SKIPPED: Table = SkippedItemRow.__table__  # type: ignore[assignment]

# Findings a reviewer still has to act on: an edit of their post is news to them.
OPEN_FINDING_STATUSES = (
    FindingStatus.OPEN.value,
    FindingStatus.ACKNOWLEDGED.value,
    FindingStatus.ESCALATED.value,
)


def content_hash(text: str) -> str:
    """SHA-256 of the post text (UTF-8), the identity of one version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UpsertStats:
    """What one batch of posts did to the store."""

    new: int = 0
    edited: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    content_hash: str
    deleted: bool


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _post_values(post: FetchedPost, source_id: int, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "platform": post.platform,
        "external_id": post.external_id,
        "source_id": source_id,
        "channel": str(post.channel),
        "author_name": post.author_name,
        "author_external_id": post.author_external_id,
        "author_role": post.author_role,
        "author_bio": post.author_bio,
        "text": post.text,
        "url": post.url,
        "published_at": post.published_at,
        "updated_at": post.updated_at,
        "is_repost": post.is_repost,
        "parent_external_id": post.parent_external_id,
        "raw": post.raw,
        "content_hash": digest,
        "first_seen_at": now,
        "last_seen_at": now,
    }


def _select_existing(
    session: Session, platform: str, external_ids: Sequence[str]
) -> dict[str, _Existing]:
    found: dict[str, _Existing] = {}
    for chunk in _chunks(external_ids):
        query = (
            select(POSTS.c.id, POSTS.c.external_id, POSTS.c.content_hash, POSTS.c.deleted_at)
            .where(POSTS.c.platform == platform, POSTS.c.external_id.in_(chunk))
            .order_by(POSTS.c.external_id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        for row in session.execute(query):
            found[row.external_id] = _Existing(row.id, row.content_hash, row.deleted_at is not None)
    return found


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows that do not exist yet; returns external_id -> id of those really inserted."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(POSTS)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(POSTS.c.id, POSTS.c.external_id)
    )
    return {row.external_id: row.id for row in session.execute(stmt, rows)}


def _next_version_numbers(session: Session, post_ids: Sequence[int]) -> dict[int, int]:
    numbers: dict[int, int] = {}
    for chunk in _chunks(post_ids):
        query = (
            select(VERSIONS.c.post_id, func.max(VERSIONS.c.version_no))
            .where(VERSIONS.c.post_id.in_(chunk))
            .group_by(VERSIONS.c.post_id)
        )
        for post_id, highest in session.execute(query):
            numbers[post_id] = int(highest or 0) + 1
    return numbers


def _record_on_findings(
    session: Session,
    post_ids: Iterable[int],
    kind: str,
    statuses: Sequence[str],
    details: dict[int, dict[str, Any]],
) -> int:
    ids = list(post_ids)
    count = 0
    for chunk in _chunks(ids):
        findings = session.execute(
            select(Finding.id, Finding.post_id)
            .where(Finding.post_id.in_(chunk), Finding.status.in_(statuses))
            .order_by(Finding.id)
        ).all()
        for finding_id, post_id in findings:
            record_event(session, finding_id, kind, details=details.get(post_id, {}))
            count += 1
    return count


def upsert_posts(
    session: Session, source_id: int, posts: Sequence[FetchedPost], now: datetime
) -> UpsertStats:
    """Store ``posts`` inside the caller's transaction; idempotent, see the module docstring.

    A post keeps the source that first stored it. The last occurrence of a post in ``posts``
    wins when a page repeats one.
    """
    latest: dict[tuple[str, str], FetchedPost] = {}
    for post in posts:
        latest[(post.platform, post.external_id)] = post
    by_platform: dict[str, list[FetchedPost]] = {}
    for key in sorted(latest):  # one lock order for every writer: no deadlocks
        by_platform.setdefault(key[0], []).append(latest[key])

    new = edited = unchanged = 0
    for platform, batch in by_platform.items():
        digests = {p.external_id: content_hash(p.text) for p in batch}
        ids = [p.external_id for p in batch]
        existing = _select_existing(session, platform, ids)
        missing = [p for p in batch if p.external_id not in existing]
        inserted = _insert_new(
            session,
            [_post_values(p, source_id, digests[p.external_id], now) for p in missing],
        )
        lost = [p.external_id for p in missing if p.external_id not in inserted]
        if lost:  # another writer inserted them meanwhile: treat them as existing posts
            existing.update(_select_existing(session, platform, lost))

        versions: list[dict[str, Any]] = [
            {
                "post_id": inserted[p.external_id],
                "version_no": 1,
                "text": p.text,
                "content_hash": digests[p.external_id],
                "platform_updated_at": p.updated_at,
                "fetched_at": now,
            }
            for p in missing
            if p.external_id in inserted
        ]
        new += len(versions)

        changed = [
            p
            for p in batch
            if p.external_id in existing
            and existing[p.external_id].content_hash != digests[p.external_id]
        ]
        same = [
            existing[p.external_id]
            for p in batch
            if p.external_id in existing
            and existing[p.external_id].content_hash == digests[p.external_id]
        ]
        numbers = _next_version_numbers(session, [existing[p.external_id].id for p in changed])
        edit_details: dict[int, dict[str, Any]] = {}
        for post in changed:
            post_id = existing[post.external_id].id
            version_no = numbers.get(post_id, 1)
            values = _post_values(post, source_id, digests[post.external_id], now)
            for kept in ("source_id", "first_seen_at", "platform", "external_id"):
                del values[kept]
            values["deleted_at"] = None
            session.execute(update(POSTS).where(POSTS.c.id == post_id).values(**values))
            versions.append(
                {
                    "post_id": post_id,
                    "version_no": version_no,
                    "text": post.text,
                    "content_hash": digests[post.external_id],
                    "platform_updated_at": post.updated_at,
                    "fetched_at": now,
                }
            )
            edit_details[post_id] = {
                "post_id": post_id,
                "version_from": version_no - 1,
                "version_to": version_no,
                "content_hash": digests[post.external_id],
            }
        edited += len(changed)
        unchanged += len(same)
        if versions:
            session.execute(insert(VERSIONS), versions)
        if same:
            seen = [e.id for e in same]
            for chunk in _chunks(seen):
                session.execute(update(POSTS).where(POSTS.c.id.in_(chunk)).values(last_seen_at=now))
            back = [e.id for e in same if e.deleted]  # shown again: no longer deleted
            for chunk in _chunks(back):
                session.execute(update(POSTS).where(POSTS.c.id.in_(chunk)).values(deleted_at=None))
        if edit_details:
            _record_on_findings(
                session, edit_details, "post_edited", OPEN_FINDING_STATUSES, edit_details
            )
    return UpsertStats(new=new, edited=edited, unchanged=unchanged)


@dataclass(frozen=True, slots=True)
class PageStats:
    """What storing one page did."""

    fetched: int
    new: int
    edited: int
    unchanged: int
    skipped: int


def store_page(
    db: Database,
    *,
    source_id: int,
    run_id: int,
    owner: str,
    posts: Sequence[FetchedPost],
    skipped: Sequence[SkippedItem],
    cursor: str | None,
    now: datetime,
    lease_seconds: float,
    waited_seconds: float = 0.0,
) -> PageStats:
    """Store a page and save its cursor in one transaction (see the module docstring).

    Raises ``sources.LeaseLost`` (nothing stored) when another instance holds the source.
    """
    with db.session() as session:
        # Lease first: a writer that lost the source must not store anything.
        sources.renew(session, source_id, owner, now, lease_seconds, cursor=cursor)
        stats = upsert_posts(session, source_id, posts, now)
        if skipped:
            session.execute(
                insert(SKIPPED),
                [
                    {
                        "sync_run_id": run_id,
                        "source_id": source_id,
                        "external_id": item.external_id,
                        "reason": item.reason,
                        "raw": item.raw,
                        "created_at": now,
                    }
                    for item in skipped
                ],
            )
        sources.add_run_counts(
            session,
            run_id,
            pages=1,
            posts_fetched=len(posts),
            posts_new=stats.new,
            posts_edited=stats.edited,
            items_skipped=len(skipped),
            waited_seconds=waited_seconds,
        )
    return PageStats(
        fetched=len(posts),
        new=stats.new,
        edited=stats.edited,
        unchanged=stats.unchanged,
        skipped=len(skipped),
    )


def live_external_ids(
    db: Database, source_id: int, since: datetime, *, batch: int = 100
) -> Iterator[list[str]]:
    """External ids of the source's posts not marked deleted, first seen or published since
    ``since``, in batches (the reconcile pass asks the platform about each batch)."""
    last_id = 0
    while True:
        with db.session() as session:
            rows = session.execute(
                select(POSTS.c.id, POSTS.c.external_id)
                .where(
                    POSTS.c.source_id == source_id,
                    POSTS.c.deleted_at.is_(None),
                    func.coalesce(POSTS.c.published_at, POSTS.c.first_seen_at) >= since,
                    POSTS.c.id > last_id,
                )
                .order_by(POSTS.c.id)
                .limit(batch)
            ).all()
        if not rows:
            return
        last_id = rows[-1].id
        yield [row.external_id for row in rows]


def mark_deleted(
    db: Database, *, source_id: int, run_id: int, external_ids: Sequence[str], now: datetime
) -> int:
    """Mark the source's posts with these ids deleted (text and versions kept), record
    ``post_deleted`` on their findings' trail; returns how many posts were newly marked."""
    if not external_ids:
        return 0
    with db.session() as session:
        rows = session.execute(
            select(POSTS.c.id)
            .where(
                POSTS.c.source_id == source_id,
                POSTS.c.external_id.in_(list(external_ids)),
                POSTS.c.deleted_at.is_(None),
            )
            .order_by(POSTS.c.id)
        ).all()
        post_ids = [row.id for row in rows]
        if not post_ids:
            return 0
        session.execute(update(POSTS).where(POSTS.c.id.in_(post_ids)).values(deleted_at=now))
        statuses = [s.value for s in FindingStatus if s is not FindingStatus.SUPERSEDED]
        details = {pid: {"post_id": pid, "deleted_at": now.isoformat()} for pid in post_ids}
        _record_on_findings(session, post_ids, "post_deleted", statuses, details)
        sources.add_run_counts(session, run_id, posts_deleted=len(post_ids))
        return len(post_ids)


@dataclass(frozen=True, slots=True)
class PostRow:
    """One stored post, as ``posts list`` shows it."""

    id: int
    source_id: int
    platform: str
    external_id: str
    channel: str
    author_name: str
    author_role: str
    text: str
    url: str | None
    published_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    deleted_at: datetime | None
    versions: int

    @property
    def edited(self) -> bool:
        return self.versions > 1


def list_posts(
    db: Database,
    *,
    source_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[PostRow]:
    """Stored posts, newest first (by published time, else first seen), with version counts."""
    when = func.coalesce(POSTS.c.published_at, POSTS.c.first_seen_at)
    counts = (
        select(VERSIONS.c.post_id, func.count().label("n")).group_by(VERSIONS.c.post_id).subquery()
    )
    query = (
        select(POSTS, func.coalesce(counts.c.n, 0).label("versions"))
        .outerjoin(counts, counts.c.post_id == POSTS.c.id)
        .order_by(when.desc(), POSTS.c.id.desc())
    )
    if source_id is not None:
        query = query.where(POSTS.c.source_id == source_id)
    if since is not None:
        query = query.where(when >= since)
    if limit is not None:
        query = query.limit(limit)
    with db.session() as session:
        return [
            PostRow(
                id=row.id,
                source_id=row.source_id,
                platform=row.platform,
                external_id=row.external_id,
                channel=row.channel,
                author_name=row.author_name,
                author_role=row.author_role,
                text=row.text,
                url=row.url,
                published_at=row.published_at,
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
                deleted_at=row.deleted_at,
                versions=int(row.versions),
            )
            for row in session.execute(query)
        ]
