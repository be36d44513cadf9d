"""Retention: delete findings, their trail and posts once they are older than the retention period.

The default period is six years (HIPAA's documentation rule). What goes:

- a finding created before the cutoff whose every trail event is also before the cutoff and
  inside the purged prefix of the chain (a finding still being worked on keeps its history);
- the chain's events up to the last seq ``S`` such that every event at or before ``S`` belongs to
  a finding that goes: the chain is only ever cut at a prefix, so what stays still verifies;
- digest entries that point at purged findings;
- posts first seen before the cutoff, with no remaining finding and no version fetched since;
- sync runs started before the cutoff and the items they skipped (whose raw payloads can hold
  post text), and digests created before the cutoff that no longer list any finding.

Before deleting, the whole trail is verified (a purge must never launder tampering). The cut is
recorded as an ``audit_checkpoints`` row holding the last purged seq and hash, signed with the
audit key (see ``monitor.audit``), so ``audit verify`` starts the remaining chain from there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, text
from sqlalchemy.orm import Session, aliased

from monitor.audit import sign_checkpoint, verify
from monitor.errors import Conflict, SecretMissing
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

_CHAIN_LOCK_KEY = 0x534D5452  # the same advisory lock as trail appends


def cutoff_for(now: datetime, years: int) -> datetime:
    """``now`` minus whole calendar years (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


@dataclass(frozen=True, slots=True)
class PurgePlan:
    """What a purge removes (or removed); ``last_seq`` is the new start of the stored chain."""

    cutoff: datetime
    first_seq: int
    last_seq: int
    events: int
    findings: int
    digest_items: int
    post_versions: int
    posts: int
    sync_runs: int
    skipped_items: int
    digests: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["cutoff"] = self.cutoff.astimezone(UTC).isoformat()
        return values


def _purged_prefix_end(session: Session) -> int:
    last = session.scalar(select(func.max(AuditCheckpoint.last_seq)))
    return int(last or 0)


def _kept(finding: Any, cutoff: datetime, last_seq: int) -> ColumnElement[bool]:
    """A finding that stays: too young, or with an event after the purged prefix."""
    event = aliased(FindingEvent)  # never correlated with an enclosing query's events
    return or_(
        finding.created_at >= cutoff,
        exists().where(event.finding_id == finding.id, event.seq > last_seq),
    )


def _goes(cutoff: datetime, last_seq: int) -> ColumnElement[bool]:
    """A finding that goes: not kept, and not the replacement of one that is kept."""
    keeper = aliased(Finding)
    return and_(
        not_(_kept(Finding, cutoff, last_seq)),
        not_(
            exists().where(keeper.superseded_by_id == Finding.id, _kept(keeper, cutoff, last_seq))
        ),
    )


def _last_purgeable_seq(session: Session, cutoff: datetime) -> int:
    """The largest ``S`` whose prefix holds only old events of findings that go entirely."""
    start = _purged_prefix_end(session)
    first_young = session.scalar(
        select(func.min(FindingEvent.seq)).where(FindingEvent.created_at >= cutoff)
    )
    if first_young is not None:
        last = int(first_young) - 1
    else:
        last = int(session.scalar(select(func.max(FindingEvent.seq))) or start)
    while last > start:
        keeper = aliased(Finding)
        first_kept = session.scalar(
            select(func.min(FindingEvent.seq))
            .join(Finding, Finding.id == FindingEvent.finding_id)
            .where(
                or_(
                    _kept(Finding, cutoff, last),
                    exists().where(
                        keeper.superseded_by_id == Finding.id, _kept(keeper, cutoff, last)
                    ),
                )
            )
        )
        if first_kept is None or int(first_kept) > last:
            break
        last = int(first_kept) - 1
    return max(last, start)


def _posts_to_purge(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Post.first_seen_at < cutoff,
        not_(exists().where(Finding.post_id == Post.id)),
        not_(exists().where(PostVersion.post_id == Post.id, PostVersion.fetched_at >= cutoff)),
    )


def _old_runs(cutoff: datetime) -> ColumnElement[bool]:
    # A run still going (no finished_at) stays: it may yet record skipped items.
    return and_(SyncRun.started_at < cutoff, SyncRun.finished_at.is_not(None))


def _old_skipped(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        SkippedItem.created_at < cutoff,
        SkippedItem.sync_run_id.in_(select(SyncRun.id).where(_old_runs(cutoff))),
    )


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def plan(session: Session, cutoff: datetime) -> PurgePlan:
    """What ``purge`` would remove now, counted without changing anything."""
    start = _purged_prefix_end(session)
    last = _last_purgeable_seq(session, cutoff)
    goes = _goes(cutoff, last)
    findings = select(Finding.id).where(goes)
    # Posts whose findings all go, counted as they will be once those findings are deleted.
    staying = aliased(Finding)
    posts = select(Post.id).where(
        Post.first_seen_at < cutoff,
        not_(
            exists().where(
                staying.post_id == Post.id,
                staying.id.not_in(select(Finding.id).where(goes)),
            )
        ),
        not_(exists().where(PostVersion.post_id == Post.id, PostVersion.fetched_at >= cutoff)),
    )
    return PurgePlan(
        cutoff=cutoff,
        first_seq=start + 1,
        last_seq=last,
        events=_count(session, select(FindingEvent.id).where(FindingEvent.seq <= last)),
        findings=_count(session, findings),
        digest_items=_count(
            session, select(DigestItem.id).where(DigestItem.finding_id.in_(findings))
        ),
        post_versions=_count(session, select(PostVersion.id).where(PostVersion.post_id.in_(posts))),
        posts=_count(session, posts),
        sync_runs=_count(session, select(SyncRun.id).where(_old_runs(cutoff))),
        skipped_items=_count(session, select(SkippedItem.id).where(_old_skipped(cutoff))),
        digests=_count(
            session,
            select(Digest.id).where(
                Digest.created_at < cutoff,
                not_(
                    exists().where(
                        DigestItem.digest_id == Digest.id, DigestItem.finding_id.not_in(findings)
                    )
                ),
            ),
        ),
        dry_run=True,
    )


def purge(
    session: Session, cutoff: datetime, key: bytes | None, *, now: datetime | None = None
) -> PurgePlan:
    """Delete what the plan names and sign a checkpoint of the purged chain prefix.

    Refuses (Conflict) when the trail does not verify, and (SecretMissing) when events would be
    purged, or checkpoints checked, without the audit key.
    """
    report = verify(session, key)
    if not report.ok:
        where = report.broken.describe() if report.broken else report.finding_problems[0].describe()
        raise Conflict(f"the review trail does not verify ({where}): nothing purged")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    planned = plan(session, cutoff)
    start = planned.first_seq - 1
    if planned.last_seq > start and key is None:
        raise SecretMissing(
            "purging the review trail needs the audit key to sign its checkpoint: set the secret "
            "key variable named in [security]"
        )
    last_hash = ""
    if planned.last_seq > start:
        last_hash = str(
            session.scalar(select(FindingEvent.hash).where(FindingEvent.seq == planned.last_seq))
        )
    goes = select(Finding.id).where(_goes(cutoff, planned.last_seq)).scalar_subquery()
    session.execute(delete(DigestItem).where(DigestItem.finding_id.in_(goes)))
    session.execute(delete(FindingEvent).where(FindingEvent.seq <= planned.last_seq))
    session.execute(
        delete(Finding).where(_goes(cutoff, planned.last_seq)),
        execution_options={"synchronize_session": False},
    )
    posts = select(Post.id).where(_posts_to_purge(cutoff)).scalar_subquery()
    session.execute(delete(PostVersion).where(PostVersion.post_id.in_(posts)))
    session.execute(
        delete(Post).where(_posts_to_purge(cutoff)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(SkippedItem).where(_old_skipped(cutoff)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(SyncRun).where(_old_runs(cutoff)), execution_options={"synchronize_session": False}
    )
    session.execute(
        delete(Digest).where(
            Digest.created_at < cutoff, not_(exists().where(DigestItem.digest_id == Digest.id))
        ),
        execution_options={"synchronize_session": False},
    )
    if planned.last_seq > start:
        assert key is not None  # checked above
        created_at = now or datetime.now(UTC)
        session.add(
            AuditCheckpoint(
                last_seq=planned.last_seq,
                last_hash=last_hash,
                purged_events=planned.events,
                signature=sign_checkpoint(
                    key, planned.last_seq, last_hash, planned.events, created_at
                ),
                created_at=created_at,
            )
        )
        session.flush()
    return PurgePlan(**{**asdict(planned), "dry_run": False})
