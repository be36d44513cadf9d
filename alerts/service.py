"""Digests and immediate alerts against the database: planned once, sent once, never lossy.

The life of a digest:

1. **Plan** (one transaction): the ``Digest`` row for (kind, recipient group, period) is inserted
   with its ``DigestItem`` rows, its subject and a stable Message-ID, before anything is sent.
   The table's unique key means a second instance, or a restart, finds the row instead of
   creating another; planning is serialized (a PostgreSQL advisory lock, SQLite's write lock)
   so two planners never split or duplicate a finding between two periods.
2. **Claim**: a conditional UPDATE takes a lease on a pending digest; only one sender wins.
3. **Send** outside any transaction, then **mark sent** (and append ``digest_sent``/``alerted``
   events to the review trail). A delivery error leaves the digest pending with ``attempts``
   and ``last_error``; the next run re-renders it from its recorded items and sends it with the
   same Message-ID. After ``max_attempts`` it becomes ``failed`` (still listed, resendable).

A finding is "new" for a recipient group until it is an item of one of the group's daily
digests (pending or sent): a finding stored late, after its period was planned, lands in the
next digest instead of being lost. Findings reported earlier and still open are listed again.

The one window this cannot close: a crash after the SMTP server accepted a message and before
it is marked sent leads to a resend once the lease expires, with the same Message-ID, which
mail clients use to drop the duplicate.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from alerts.digest import (
    FAILED_SYNC_OUTCOMES,
    OK_SYNC_OUTCOMES,
    OPEN_STATUSES,
    DigestInput,
    DigestView,
    FindingRow,
    Renderer,
    SourceRow,
    build_view,
    listed_rows,
    subject_for,
)
from alerts.email import DeliveryError, DeliveryReceipt, Notifier, RenderedMessage
from alerts.masking import EntityFinder, mask_names, spacy_name_finder
from monitor.config import Settings
from monitor.errors import DatabaseUnavailable, InvalidInput, NotFound
from monitor.storage.database import Database
from monitor.storage.models import (
    Digest,
    DigestItem,
    Finding,
    Post,
    Source,
    StaffMember,
    SyncRun,
)
from monitor.storage.trail import record_event

log = logging.getLogger(__name__)

DAILY = "daily"
IMMEDIATE = "immediate"
DEFAULT_GROUP = "default"
PRACTICE_ACCOUNTS = "Practice accounts"
_PLAN_LOCK_KEY = 0x534D4447  # "SMDG": serializes digest planning on PostgreSQL
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What happened to one pending digest in a delivery run."""

    digest_id: int
    kind: str
    period_key: str
    status: str  # sent | pending | failed | busy (another sender holds its lease)
    message_id: str
    attempts: int
    error: str | None = None
    location: str | None = None
    items: int = 0


def default_owner() -> str:
    """A lease owner id unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlertService:
    """Plans, renders and delivers digests and immediate alerts; parts injected for tests.

    Without a notifier it can still plan, preview and compose (nothing is sent).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        notifier: Notifier | None = None,
        *,
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
        name_finder: EntityFinder | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.notifier = notifier
        self.renderer = renderer or Renderer(settings.alerts.digest.template_dir or None)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.owner = owner or default_owner()
        self._name_finder = name_finder
        self.zone = ZoneInfo(settings.practice.timezone)
        email = settings.alerts.email
        # A lease must outlive the slowest SMTP conversation, or a second sender could start.
        self.lease = timedelta(
            seconds=max(settings.scheduler.lease_seconds, 4 * email.timeout_seconds + 60)
        )

    # -- periods --------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def daily_period(self, day: date) -> tuple[datetime, datetime]:
        """From the previous day's send time to this day's, in the practice's time zone."""
        send_at = self.settings.alerts.digest.send_at
        end = datetime.combine(day, send_at, tzinfo=self.zone).astimezone(UTC)
        start = datetime.combine(day - timedelta(days=1), send_at, tzinfo=self.zone)
        return start.astimezone(UTC), end

    def immediate_window(self, now: datetime) -> tuple[str, datetime]:
        minutes = self.settings.alerts.immediate.batch_minutes
        if minutes <= 0:
            return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), now
        step = minutes * 60
        floor = int(now.timestamp()) // step * step
        start = datetime.fromtimestamp(floor, UTC)
        return start.strftime("%Y-%m-%dT%H:%MZ"), start

    # -- planning -------------------------------------------------------------------------

    def _recipients(self, kind: str) -> list[str]:
        alerts = self.settings.alerts
        if kind == IMMEDIATE and alerts.immediate.recipients:
            return list(alerts.immediate.recipients)
        return list(alerts.digest.recipients)

    def _message_id(self, kind: str, group: str, period_key: str) -> str:
        domain = self.settings.alerts.email.from_address.rpartition("@")[2] or "localhost"
        domain = _MSGID_UNSAFE.sub("-", domain) or "localhost"
        key = _MSGID_UNSAFE.sub("-", f"{kind}.{period_key}.{group}")
        return f"<{key}.{uuid.uuid4().hex[:16]}@{domain}>"

    def _serialize_planning(self, session: Session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PLAN_LOCK_KEY})
        else:
            # Takes SQLite's write lock first, so the reads below see a stable database.
            session.execute(update(Digest).where(text("1 = 0")).values(attempts=Digest.attempts))

    def _find(self, session: Session, kind: str, group: str, period_key: str) -> Digest | None:
        return session.scalar(
            select(Digest).where(
                Digest.kind == kind,
                Digest.recipient_group == group,
                Digest.period_key == period_key,
            )
        )

    def _reported_ids(self, session: Session, kind: str, group: str) -> Any:
        """Findings already items of a live (pending or sent) digest of this kind and group."""
        return (
            select(DigestItem.finding_id)
            .join(Digest, Digest.id == DigestItem.digest_id)
            .where(
                Digest.kind == kind,
                Digest.recipient_group == group,
                Digest.status != "failed",
            )
        )

    def _daily_candidates(
        self, session: Session, group: str, cutoff: datetime
    ) -> tuple[list[int], list[int]]:
        reported = self._reported_ids(session, DAILY, group)
        new_ids = list(
            session.scalars(
                select(Finding.id)
                .where(
                    Finding.status != "superseded",
                    Finding.created_at < cutoff,
                    Finding.id.not_in(reported),
                )
                .order_by(Finding.id)
            )
        )
        open_ids = list(
            session.scalars(
                select(Finding.id)
                .where(Finding.status.in_(OPEN_STATUSES), Finding.id.in_(reported))
                .order_by(Finding.id)
            )
        )
        return new_ids, open_ids

    def _insert(
        self,
        session: Session,
        *,
        kind: str,
        group: str,
        period_key: str,
        start: datetime,
        end: datetime,
        sections: Sequence[tuple[str, Sequence[int]]],
    ) -> Digest:
        digest = Digest(
            kind=kind,
            recipient_group=group,
            period_key=period_key,
            period_start=start,
            period_end=end,
            recipients=self._recipients(kind),
            status="pending",
            message_id=self._message_id(kind, group, period_key),
            attempts=0,
            created_at=self.clock(),
        )
        session.add(digest)
        session.flush()
        for section, ids in sections:
            session.add_all(
                DigestItem(digest_id=digest.id, finding_id=fid, section=section) for fid in ids
            )
        session.flush()
        digest.subject = subject_for(self._view(session, digest))
        session.flush()
        return digest

    def _plan(self, attempt: Callable[[Session], int | None]) -> int | None:
        """Run one planning transaction; a lost race (unique key) or a busy SQLite retries."""
        for tries in range(5):
            try:
                with self.db.session() as session:
                    self._serialize_planning(session)
                    return attempt(session)
            except IntegrityError:
                if tries == 4:
                    raise
            except DatabaseUnavailable as exc:
                if "locked" not in str(exc) or tries == 4:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    def _cutoff(self, day: date, end: datetime) -> datetime:
        """Findings stored before this instant are due in ``day``'s digest.

        Today's digest, sent by the scheduler at ``send_at`` or by hand later, reports everything
        stored until now; a past day's (a missed run caught up) stops at that day's send time,
        leaving the rest to later digests.
        """
        now = self.clock()
        return now if day >= self.today() else min(end, now)

    def _check_day(self, day: date) -> None:
        if day > self.today():
            raise InvalidInput(f"{day.isoformat()} is in the future: a digest reports the past")

    def plan_daily(self, day: date | None = None, group: str = DEFAULT_GROUP) -> int:
        """Record the day's digest and its items if not yet recorded; return its id."""
        day = day or self.today()
        self._check_day(day)
        period_key = day.isoformat()
        start, end = self.daily_period(day)

        def attempt(session: Session) -> int:
            existing = self._find(session, DAILY, group, period_key)
            if existing is not None:
                return existing.id
            cutoff = self._cutoff(day, end)
            new_ids, open_ids = self._daily_candidates(session, group, cutoff)
            digest = self._insert(
                session,
                kind=DAILY,
                group=group,
                period_key=period_key,
                start=start,
                end=cutoff,
                sections=[("new", new_ids), ("open", open_ids)],
            )
            log.info(
                "planned daily digest %s: %d new, %d open", period_key, len(new_ids), len(open_ids)
            )
            return digest.id

        digest_id = self._plan(attempt)
        assert digest_id is not None
        return digest_id

    def plan_immediate(self, group: str = DEFAULT_GROUP) -> int | None:
        """Record an immediate alert for unalerted critical findings, one per batch window.

        Returns None when there is nothing to alert, or when this window already has its alert
        (the findings then wait for the next window: a burst becomes one email per window).
        """
        categories = list(self.settings.alerts.immediate.categories)
        if not categories:
            return None

        def attempt(session: Session) -> int | None:
            now = self.clock()
            period_key, window_start = self.immediate_window(now)
            if self._find(session, IMMEDIATE, group, period_key) is not None:
                return None
            reported = self._reported_ids(session, IMMEDIATE, group)
            ids = list(
                session.scalars(
                    select(Finding.id)
                    .where(
                        Finding.category.in_(categories),
                        Finding.status.in_(OPEN_STATUSES),
                        Finding.created_at <= now,
                        Finding.id.not_in(reported),
                    )
                    .order_by(Finding.id)
                )
            )
            if not ids:
                return None
            first = session.scalar(select(func.min(Finding.created_at)).where(Finding.id.in_(ids)))
            digest = self._insert(
                session,
                kind=IMMEDIATE,
                group=group,
                period_key=period_key,
                start=min(first or window_start, window_start),
                end=now,
                sections=[("new", ids)],
            )
            log.info("planned immediate alert %s: %d findings", period_key, len(ids))
            return digest.id

        return self._plan(attempt)

    # -- views ----------------------------------------------------------------------------

    def _rows(self, session: Session, finding_ids: Sequence[int]) -> list[FindingRow]:
        if not finding_ids:
            return []
        include_full = self.settings.alerts.digest.include_full_text
        findings = list(
            session.scalars(
                select(Finding)
                .where(Finding.id.in_(finding_ids))
                .options(
                    joinedload(Finding.post).joinedload(Post.source).joinedload(Source.staff),
                    joinedload(Finding.post_version),
                )
            ).unique()
        )
        texts = [t for f in findings for t in (f.excerpt, f.explanation)]
        masked = iter(mask_names(texts, self.name_finder(), self._allowed_names(session)))
        rows = []
        for f in findings:
            excerpt, explanation = next(masked), next(masked)
            post = f.post
            source = post.source
            rows.append(
                FindingRow(
                    finding_id=f.id,
                    category=f.category,
                    severity=f.severity,
                    rule=f.rule,
                    explanation=explanation,
                    excerpt=excerpt,
                    status=f.status,
                    created_at=f.created_at,
                    staff_name=source.staff.name if source.staff else PRACTICE_ACCOUNTS,
                    source_label=source_label(source),
                    platform=post.platform,
                    channel=post.channel,
                    url=post.url,
                    published_at=post.published_at,
                    full_text=f.post_version.text if include_full else None,
                )
            )
        return rows

    def name_finder(self) -> EntityFinder:
        """The person-name finder for excerpts: the scanner's spaCy model unless injected."""
        if self._name_finder is None:
            self._name_finder = spacy_name_finder(self.settings.policy.spacy_model)
        return self._name_finder

    def _allowed_names(self, session: Session) -> list[str]:
        staff = session.scalars(select(StaffMember.name)).all()
        return [*staff, *self.settings.policy.allow_names]

    def _sources(self, session: Session, start: datetime, end: datetime) -> list[SourceRow]:
        in_period = and_(SyncRun.source_id == Source.id, SyncRun.started_at >= start)
        in_period = and_(in_period, SyncRun.started_at < end)
        ok = func.count(SyncRun.id).filter(SyncRun.outcome.in_(OK_SYNC_OUTCOMES))
        failed = func.count(SyncRun.id).filter(SyncRun.outcome.in_(FAILED_SYNC_OUTCOMES))
        fetched = func.coalesce(func.sum(SyncRun.posts_fetched), 0)
        stmt = (
            select(Source, ok, failed, fetched)
            .outerjoin(SyncRun, in_period)
            .where(Source.unlinked_at.is_(None))
            .group_by(Source.id)
            .options(joinedload(Source.staff))
        )
        rows = []
        for source, n_ok, n_failed, n_fetched in session.execute(stmt).unique():
            rows.append(
                SourceRow(
                    source_id=source.id,
                    label=source_label(source),
                    staff_name=source.staff.name if source.staff else PRACTICE_ACCOUNTS,
                    platform=source.platform,
                    status=source.status,
                    last_error=source.last_error,
                    last_success_at=source.last_success_at,
                    ok_runs=int(n_ok),
                    failed_runs=int(n_failed),
                    posts_fetched=int(n_fetched),
                )
            )
        return rows

    def _trend(self, session: Session, end: datetime) -> list[tuple[datetime, str]]:
        days = self.settings.alerts.digest.trend_days
        last_day = (end - timedelta(microseconds=1)).astimezone(self.zone).date()
        first = datetime.combine(last_day - timedelta(days=days - 1), time(0), tzinfo=self.zone)
        result = session.execute(
            select(Finding.created_at, Finding.category).where(
                Finding.status != "superseded",
                Finding.created_at >= first.astimezone(UTC),
                Finding.created_at < end,
            )
        )
        return [(row[0], row[1]) for row in result]

    def _input(
        self,
        session: Session,
        *,
        kind: str,
        period_key: str,
        start: datetime,
        end: datetime,
        new_ids: Sequence[int],
        open_ids: Sequence[int],
    ) -> DigestInput:
        daily = kind == DAILY
        return DigestInput(
            kind=kind,
            practice_name=self.settings.practice.name,
            timezone=self.settings.practice.timezone,
            period_key=period_key,
            period_start=start,
            period_end=end,
            new=self._rows(session, new_ids),
            still_open=self._rows(session, open_ids),
            sources=self._sources(session, start, end) if daily else (),
            trend_points=self._trend(session, end) if daily else (),
            trend_days=self.settings.alerts.digest.trend_days,
            include_full_text=self.settings.alerts.digest.include_full_text,
            max_items=self.settings.alerts.digest.max_items,
        )

    def _listed_ids(self, session: Session, digest: Digest) -> set[int]:
        """The findings the digest's email showed (``max_items`` may have left some out)."""
        items = session.execute(
            select(DigestItem.finding_id, DigestItem.section).where(
                DigestItem.digest_id == digest.id
            )
        ).all()
        new, still_open = listed_rows(
            self._rows(session, [fid for fid, section in items if section == "new"]),
            self._rows(session, [fid for fid, section in items if section == "open"]),
            self.settings.alerts.digest.max_items,
        )
        return {row.finding_id for row in [*new, *still_open]}

    def _view(self, session: Session, digest: Digest) -> DigestView:
        items = session.execute(
            select(DigestItem.finding_id, DigestItem.section).where(
                DigestItem.digest_id == digest.id
            )
        ).all()
        return build_view(
            self._input(
                session,
                kind=digest.kind,
                period_key=digest.period_key,
                start=digest.period_start,
                end=digest.period_end,
                new_ids=[fid for fid, section in items if section == "new"],
                open_ids=[fid for fid, section in items if section == "open"],
            )
        )

    def preview_daily(self, day: date | None = None, group: str = DEFAULT_GROUP) -> DigestView:
        """The day's digest as it is recorded, or as it would be planned now; writes nothing."""
        day = day or self.today()
        self._check_day(day)
        with self.db.session() as session:
            existing = self._find(session, DAILY, group, day.isoformat())
            if existing is not None:
                return self._view(session, existing)
            start, end = self.daily_period(day)
            cutoff = self._cutoff(day, end)
            new_ids, open_ids = self._daily_candidates(session, group, cutoff)
            return build_view(
                self._input(
                    session,
                    kind=DAILY,
                    period_key=day.isoformat(),
                    start=start,
                    end=cutoff,
                    new_ids=new_ids,
                    open_ids=open_ids,
                )
            )

    def compose(self, digest_id: int) -> RenderedMessage:
        """The message for a recorded digest, rebuilt from its items (same on every retry)."""
        with self.db.session() as session:
            digest = session.get(Digest, digest_id)
            if digest is None:
                raise NotFound(f"no digest with id {digest_id}")
            view = self._view(session, digest)
            body = self.renderer.render(view)
            return RenderedMessage(
                message_id=digest.message_id,
                from_address=self.settings.alerts.email.from_address,
                recipients=tuple(digest.recipients or ()),
                subject=digest.subject or body.subject,
                text=body.text,
                html=body.html,
                date=digest.created_at,
                headers={"X-Social-Monitor-Digest": f"{digest.kind} {digest.period_key}"},
            )

    # -- delivery -------------------------------------------------------------------------

    def _claim(self, digest_id: int) -> bool:
        now = self.clock()
        with self.db.session() as session:
            result = session.execute(
                update(Digest)
                .where(
                    Digest.id == digest_id,
                    Digest.status == "pending",
                    or_(Digest.lease_owner.is_(None), Digest.lease_expires_at < now),
                )
                .values(
                    lease_owner=self.owner,
                    lease_expires_at=now + self.lease,
                    attempts=Digest.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _mark_sent(self, digest_id: int, receipt: DeliveryReceipt) -> DeliveryOutcome:
        now = self.clock()
        with self.db.session() as session:
            refused = "; ".join(f"{r}: {why}" for r, why in sorted(receipt.refused.items()))
            result = session.execute(
                update(Digest)
                .where(Digest.id == digest_id, Digest.lease_owner == self.owner)
                .values(
                    status="sent",
                    sent_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    last_error=f"refused: {refused}" if refused else None,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                log.warning("digest %s: lease lost before it was marked sent", digest_id)
            digest = session.get(Digest, digest_id)
            assert digest is not None
            section = "new"
            kind_event = "digest_sent" if digest.kind == DAILY else "alerted"
            ids = session.scalars(
                select(DigestItem.finding_id).where(
                    DigestItem.digest_id == digest_id, DigestItem.section == section
                )
            ).all()
            listed = self._listed_ids(session, digest)
            for fid in ids:
                record_event(
                    session,
                    fid,
                    kind_event,
                    details={
                        "digest_id": digest_id,
                        "kind": digest.kind,
                        "period_key": digest.period_key,
                        "message_id": digest.message_id,
                        "transport": receipt.transport,
                        # False: counted in the email but past ``max_items``, not listed.
                        "listed": fid in listed,
                    },
                    at=now,
                )
            return self._outcome(session, digest, location=receipt.location)

    def _record_failure(self, digest_id: int, error: str) -> DeliveryOutcome:
        max_attempts = self.settings.alerts.email.max_attempts
        with self.db.session() as session:
            digest = session.get(Digest, digest_id)
            assert digest is not None
            session.execute(
                update(Digest)
                .where(Digest.id == digest_id, Digest.lease_owner == self.owner)
                .values(
                    status="failed" if digest.attempts >= max_attempts else "pending",
                    last_error=error[:1000],
                    lease_owner=None,
                    lease_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            session.refresh(digest)
            return self._outcome(session, digest)

    def _outcome(
        self,
        session: Session,
        digest: Digest,
        *,
        status: str | None = None,
        location: str | None = None,
    ) -> DeliveryOutcome:
        count = session.scalar(
            select(func.count()).select_from(DigestItem).where(DigestItem.digest_id == digest.id)
        )
        return DeliveryOutcome(
            digest_id=digest.id,
            kind=digest.kind,
            period_key=digest.period_key,
            status=status or digest.status,
            message_id=digest.message_id,
            attempts=digest.attempts,
            error=digest.last_error,
            location=location,
            items=int(count or 0),
        )

    def deliver(self, digest_id: int) -> DeliveryOutcome:
        """Claim, send and record one digest; another sender's live lease makes this a no-op."""
        if not self._claim(digest_id):
            with self.db.session() as session:
                digest = session.get(Digest, digest_id)
                if digest is None:
                    raise NotFound(f"no digest with id {digest_id}")
                busy = "busy" if digest.status == "pending" else None
                return self._outcome(session, digest, status=busy)
        try:
            message = self.compose(digest_id)
            if self.notifier is None:
                raise DeliveryError("no notifier configured")
            receipt = self.notifier.send(message)
        except DeliveryError as exc:
            log.warning("digest %s not delivered: %s", digest_id, exc)
            return self._record_failure(digest_id, str(exc))
        except Exception as exc:
            # A template or data bug: keep the digest pending and say what kind of failure.
            self._record_failure(digest_id, f"could not render or send: {type(exc).__name__}")
            raise
        return self._mark_sent(digest_id, receipt)

    def deliver_pending(self, kind: str | None = None) -> list[DeliveryOutcome]:
        """Deliver every pending digest (oldest period first), retries included."""
        with self.db.session() as session:
            stmt = select(Digest.id).where(Digest.status == "pending")
            if kind is not None:
                stmt = stmt.where(Digest.kind == kind)
            ids = list(session.scalars(stmt.order_by(Digest.period_start, Digest.id)))
        return [self.deliver(digest_id) for digest_id in ids]

    def send_daily(self, day: date | None = None) -> list[DeliveryOutcome]:
        """Plan the day's digest (if needed) and deliver every pending daily digest."""
        self._check_recipients(DAILY)
        self.plan_daily(day)
        return self.deliver_pending(DAILY)

    def flush_immediate(self) -> list[DeliveryOutcome]:
        """Plan this window's immediate alert (if any finding waits) and deliver pending ones."""
        self._check_recipients(IMMEDIATE)
        self.plan_immediate()
        return self.deliver_pending(IMMEDIATE)

    def _check_recipients(self, kind: str) -> None:
        if self.settings.alerts.email.smtp_host and not self._recipients(kind):
            raise InvalidInput("[alerts.digest] recipients is empty: nobody to email")

    def list_digests(self, limit: int = 30) -> list[DeliveryOutcome]:
        """The most recent digests with their delivery state, newest first."""
        with self.db.session() as session:
            digests = session.scalars(
                select(Digest).order_by(Digest.created_at.desc(), Digest.id.desc()).limit(limit)
            ).all()
            return [self._outcome(session, d) for d in digests]


def source_label(source: Source) -> str:
    """How a source is named in emails: platform, kind and handle or name (no token, no id)."""
    name = source.display_name or (f"@{source.handle}" if source.handle else None)
    return f"{source.platform} {source.kind} {name or source.external_id or source.id}"
