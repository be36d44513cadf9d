"""What ``social-monitor status`` reports, read in one transaction: sources, backlog, digests.

Also the one write the service owns: each source's next sync time after a run, which spreads
sources over their platform's interval with a per-source jitter (state kept as data, so every
instance agrees on what is due).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.domain import DigestStatus, SourceStatus
from monitor.storage.database import Database
from monitor.storage.models import Digest, PostVersion, Source, SyncRun

ATTENTION_STATUSES = (SourceStatus.NEEDS_REAUTH.value, SourceStatus.NO_API_ACCESS.value)
FAILED_OUTCOMES = ("failed", "auth_expired", "no_api_access")


@dataclass
class SourceStatusRow:
    id: int
    account: str
    platform: str
    status: str
    last_sync: datetime | None
    outcome: str | None
    next_sync: datetime | None
    error: str | None


@dataclass
class ServiceStatus:
    sources: list[SourceStatusRow] = field(default_factory=list)
    scan_backlog: int = 0
    last_digest: Digest | None = None
    pending_digests: int = 0
    failed_digests: int = 0
    attention: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": [vars(s) for s in self.sources],
            "scan_backlog": self.scan_backlog,
            "last_digest": (
                {
                    "period": self.last_digest.period_key,
                    "status": self.last_digest.status,
                    "sent_at": self.last_digest.sent_at,
                }
                if self.last_digest
                else None
            ),
            "pending_digests": self.pending_digests,
            "failed_digests": self.failed_digests,
            "attention": self.attention,
        }


def _latest_runs(session: Session, source_ids: list[int]) -> dict[int, SyncRun]:
    if not source_ids:
        return {}
    latest = (
        select(SyncRun.source_id, func.max(SyncRun.id).label("run_id"))
        .where(SyncRun.source_id.in_(source_ids))
        .group_by(SyncRun.source_id)
        .subquery()
    )
    runs = session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.run_id))
    return {r.source_id: r for r in runs}


def scan_backlog(session: Session, policy_version: str) -> int:
    """Post versions not yet scanned under ``policy_version``."""
    query = select(func.count()).where(
        or_(
            PostVersion.scanned_policy_version.is_(None),
            PostVersion.scanned_policy_version != policy_version,
        )
    )
    return int(session.scalar(query) or 0)


def service_status(db: Database, policy_version: str) -> ServiceStatus:
    status = ServiceStatus()
    with db.session() as session:
        sources = list(
            session.scalars(select(Source).where(Source.unlinked_at.is_(None)).order_by(Source.id))
        )
        runs = _latest_runs(session, [s.id for s in sources])
        for s in sources:
            run = runs.get(s.id)
            account = f"@{s.handle}" if s.handle else (s.display_name or s.external_id or "")
            status.sources.append(
                SourceStatusRow(
                    id=s.id,
                    account=account,
                    platform=s.platform,
                    status=s.status,
                    last_sync=s.last_sync_at,
                    outcome=run.outcome if run else None,
                    next_sync=s.next_sync_at,
                    error=s.last_error,
                )
            )
            if s.status in ATTENTION_STATUSES:
                status.attention.append(f"source {s.id} ({account}): {s.status.replace('_', ' ')}")
            elif run is not None and run.outcome in FAILED_OUTCOMES:
                status.attention.append(f"source {s.id} ({account}): last sync {run.outcome}")
        status.scan_backlog = scan_backlog(session, policy_version)
        status.last_digest = session.scalar(
            select(Digest)
            .where(Digest.kind == "daily", Digest.status == DigestStatus.SENT.value)
            .order_by(Digest.sent_at.desc())
            .limit(1)
        )
        counts = dict(
            session.execute(select(Digest.status, func.count()).group_by(Digest.status)).all()
        )
        status.pending_digests = int(counts.get(DigestStatus.PENDING.value, 0))
        status.failed_digests = int(counts.get(DigestStatus.FAILED.value, 0))
        if status.failed_digests:
            status.attention.append(f"{status.failed_digests} email(s) failed to send")
    return status


def schedule_next_syncs(
    db: Database,
    synced: dict[int, datetime],
    interval_for: dict[int, timedelta],
    jitter_seconds: int,
    rng: random.Random | None = None,
) -> None:
    """After a run, make each synced source due again one interval (plus jitter) later.

    A source already rescheduled further ahead (a rate-limit reset) keeps the later time.
    """
    rng = rng or random.Random()
    with db.session() as session:
        for source_id, finished in synced.items():
            due = finished + interval_for[source_id]
            due += timedelta(seconds=rng.uniform(0, jitter_seconds))
            session.execute(
                update(Source)
                .where(
                    Source.id == source_id,
                    or_(Source.next_sync_at.is_(None), Source.next_sync_at < due),
                )
                .values(next_sync_at=due)
            )
