"""Sources as the sync service sees them: which are due, who holds them, how each run ended.

Every function here opens and commits its own short transaction, except where a ``Session`` is
passed in. Source leases (``lease_owner``/``lease_expires_at``) are taken with one conditional
UPDATE, so two instances never sync the same source at once, on SQLite as on PostgreSQL; a
crashed holder's lease simply expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.domain import SourceStatus, SyncOutcome
from monitor.storage.database import Database
from monitor.storage.models import Source, StaffMember, SyncRun

INTERRUPTED = "interrupted: the previous holder stopped before finishing"


class LeaseLost(Exception):
    """Another instance took this source's lease (ours expired): stop without writing."""


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A detached snapshot of one source and its staff member, enough to sync it."""

    id: int
    platform: str
    kind: str
    external_id: str | None
    handle: str | None
    display_name: str | None
    path: str | None
    token_encrypted: bytes | None
    consent_scope: str
    status: str
    cursor: str | None
    staff_id: int | None
    staff_name: str | None
    staff_role: str | None
    bio_snapshot: str | None
    next_sync_at: datetime | None

    @property
    def label(self) -> str:
        """A short human name for progress lines: never a token, never post text."""
        name = self.handle or self.display_name or self.external_id or self.path or ""
        return f"{self.platform}:{self.kind} {name}".rstrip()


def _row(source: Source, staff: StaffMember | None) -> SourceRow:
    return SourceRow(
        id=source.id,
        platform=source.platform,
        kind=source.kind,
        external_id=source.external_id,
        handle=source.handle,
        display_name=source.display_name,
        path=source.path,
        token_encrypted=source.token_encrypted,
        consent_scope=source.consent_scope,
        status=source.status,
        cursor=source.cursor,
        staff_id=source.staff_id,
        staff_name=staff.name if staff is not None else None,
        staff_role=staff.role if staff is not None else None,
        bio_snapshot=source.bio_snapshot,
        next_sync_at=source.next_sync_at,
    )


def due_sources(
    db: Database,
    now: datetime,
    *,
    source_id: int | None = None,
    platform: str | None = None,
    ignore_schedule: bool = False,
) -> list[SourceRow]:
    """Active, linked sources whose ``next_sync_at`` is unset or past, oldest id first.

    ``ignore_schedule`` also returns sources rescheduled for later (an explicit ``--source``).
    """
    query = (
        select(Source, StaffMember)
        .outerjoin(StaffMember, Source.staff_id == StaffMember.id)
        .where(Source.status == SourceStatus.ACTIVE.value, Source.unlinked_at.is_(None))
        .order_by(Source.id)
    )
    if not ignore_schedule:
        query = query.where(or_(Source.next_sync_at.is_(None), Source.next_sync_at <= now))
    if source_id is not None:
        query = query.where(Source.id == source_id)
    if platform is not None:
        query = query.where(Source.platform == platform)
    with db.session() as session:
        return [_row(source, staff) for source, staff in session.execute(query).all()]


def get_source(db: Database, source_id: int) -> SourceRow | None:
    """One source whatever its status, or None."""
    with db.session() as session:
        found = session.execute(
            select(Source, StaffMember)
            .outerjoin(StaffMember, Source.staff_id == StaffMember.id)
            .where(Source.id == source_id)
        ).first()
        return _row(found[0], found[1]) if found is not None else None


def claim(db: Database, source_id: int, owner: str, now: datetime, lease_seconds: float) -> bool:
    """Take the source's lease unless another live holder has it; True when taken."""
    with db.session() as session:
        result = session.execute(
            update(Source)
            .where(
                Source.id == source_id,
                or_(
                    Source.lease_owner.is_(None),
                    Source.lease_owner == owner,
                    Source.lease_expires_at.is_(None),
                    Source.lease_expires_at < now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew(
    session: Session,
    source_id: int,
    owner: str,
    now: datetime,
    lease_seconds: float,
    **values: object,
) -> None:
    """Extend our lease (and set ``values`` on the source) inside the caller's transaction.

    Raises LeaseLost, leaving the caller to roll back, when the lease is no longer ours.
    """
    result = session.execute(
        update(Source)
        .where(Source.id == source_id, Source.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"source {source_id}: lease taken by another instance")


def release(db: Database, source_id: int, owner: str) -> None:
    """Give the lease back (a no-op when it is no longer ours)."""
    with db.session() as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id, Source.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def start_run(db: Database, source_id: int, owner: str, now: datetime) -> int:
    """Record a run as started; runs a dead holder left ``running`` are closed as failed.

    Called with the lease held, so any other ``running`` run of this source is an orphan.
    """
    with db.session() as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.source_id == source_id, SyncRun.outcome == SyncOutcome.RUNNING.value)
            .values(outcome=SyncOutcome.FAILED.value, finished_at=now, error=INTERRUPTED)
            .execution_options(synchronize_session=False)
        )
        run = SyncRun(
            source_id=source_id,
            started_at=now,
            outcome=SyncOutcome.RUNNING.value,
            instance=owner,
        )
        session.add(run)
        session.flush()
        return run.id


def add_run_counts(session: Session, run_id: int, **increments: float) -> None:
    """Add to a run's counters (pages, posts_fetched, ...) inside the caller's transaction."""
    if not increments:
        return
    values = {name: getattr(SyncRun, name) + amount for name, amount in increments.items()}
    session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def finish_run(
    db: Database,
    *,
    source_id: int,
    run_id: int,
    owner: str,
    outcome: SyncOutcome,
    now: datetime,
    error: str | None = None,
    status: SourceStatus | None = None,
    next_sync_at: datetime | None = None,
) -> None:
    """Close the run with its outcome and update the source the admin sees, in one transaction.

    A success clears ``last_error``; a rate limit sets ``next_sync_at`` (the cursor is kept);
    an auth or access failure changes the source's status. The lease is released.
    """
    succeeded = outcome in (SyncOutcome.OK, SyncOutcome.PARTIAL)
    source_values: dict[str, object] = {
        "last_sync_at": now,
        "next_sync_at": next_sync_at,
        "last_error": None if succeeded else error,
    }
    if succeeded:
        source_values["last_success_at"] = now
    if status is not None:
        source_values["status"] = status.value
    with db.session() as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(outcome=outcome.value, finished_at=now, error=error)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Source)
            .where(Source.id == source_id, Source.lease_owner == owner)
            .values(**source_values, lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def get_run(db: Database, run_id: int) -> SyncRun | None:
    """A detached copy of one run (for reports and tests)."""
    with db.session() as session:
        run = session.get(SyncRun, run_id)
        if run is not None:
            session.expunge(run)
        return run


def set_external_id(db: Database, source_id: int, external_id: str) -> None:
    """Save the platform id a connector resolved from the handle (first sync only)."""
    with db.session() as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id, Source.external_id.is_(None))
            .values(external_id=external_id)
        )
