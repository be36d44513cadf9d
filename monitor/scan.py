"""Scan stored post versions under the current policy and store their findings.

``ScanService.run`` scans every post version whose ``scanned_policy_version`` differs from the
current policy version, in batches:

* **idempotent**: findings are keyed by (post version, policy version, rule, span key); a
  finding already stored is never stored twice, and a version already scanned under this
  policy is not picked up again;
* **history kept**: when a version is rescanned under a new policy version, its earlier *open*
  findings are marked ``superseded`` (``superseded_by_id`` set where the new scan produced a
  successor: same rule and spans, else same rule, else same category); findings a reviewer
  has acted on keep their status. Every new finding gets a ``created`` event and every
  supersession a ``superseded`` event in the review trail;
* **failures retried**: a version that fails to scan keeps its old ``scanned_policy_version``,
  gets ``scan_error`` (the exception's type, never post text) and ``scan_failures`` + 1, and is
  retried by the next run (not again in the same run);
* **several instances**: a batch is claimed with a lease on ``post_versions`` so two instances
  never scan the same version at once.

Logs carry counts and ids only: never post text, names or excerpts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from monitor.domain import Author, Channel, Finding, FindingStatus, PostContext
from monitor.policy.scanner import Scanner
from monitor.storage import models
from monitor.storage.database import Database
from monitor.storage.trail import record_event

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
DEFAULT_LEASE_SECONDS = 300
_SPAN_KEY_MAX = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def span_key(spans: Sequence[Sequence[int]]) -> str:
    """A stable key for a finding's spans ("12-20,31-40"); hashed if too long for the column."""
    key = ",".join(f"{int(s)}-{int(e)}" for s, e in spans)
    if len(key) > _SPAN_KEY_MAX:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


@dataclass
class ScanReport:
    """What one run did; ``failed`` holds post version ids (safe to log)."""

    policy_version: str
    scanned: int = 0
    findings_created: int = 0
    superseded: int = 0
    failed: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _context(version: models.PostVersion, post: models.Post) -> PostContext:
    try:
        channel = Channel(post.channel)
    except ValueError:
        channel = Channel.PUBLIC
    return PostContext(
        id=str(version.id),
        text=version.text,
        platform=post.platform,
        channel=channel,
        author=Author(name=post.author_name, role=post.author_role, bio=post.author_bio),
    )


class ScanService:
    """Runs the scanner over the database; one instance per process is enough."""

    def __init__(
        self,
        db: Database,
        scanner: Scanner,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        instance: str | None = None,
    ) -> None:
        self.db = db
        self.scanner = scanner
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.instance = instance or default_instance()

    @property
    def policy_version(self) -> str:
        return self.scanner.policy_version

    def pending(self) -> int:
        """How many post versions are not yet scanned under the current policy."""
        with self.db.session() as session:
            return len(session.scalars(select(models.PostVersion.id).where(self._stale())).all())

    def run(self, *, limit: int | None = None) -> ScanReport:
        """Scan pending versions, batch by batch, until none is left (or ``limit`` reached)."""
        report = ScanReport(self.policy_version)
        tried: set[int] = set()
        while limit is None or report.scanned + len(report.failed) < limit:
            size = self.batch_size
            if limit is not None:
                size = min(size, limit - report.scanned - len(report.failed))
            ids = self._claim(size, exclude=tried)
            if not ids:
                break
            tried.update(ids)
            self._scan_batch(ids, report)
        log.info(
            "scan finished: policy %s, %d scanned, %d findings created, %d superseded, %d failed",
            report.policy_version,
            report.scanned,
            report.findings_created,
            report.superseded,
            len(report.failed),
        )
        return report

    def _stale(self) -> ColumnElement[bool]:
        version = models.PostVersion.scanned_policy_version
        return or_(version.is_(None), version != self.policy_version)

    def _claim(self, size: int, *, exclude: set[int]) -> list[int]:
        """Lease up to ``size`` pending versions for this instance; their ids, ascending."""
        now = utcnow()
        pv = models.PostVersion
        free = or_(pv.scan_lease_owner.is_(None), pv.scan_lease_expires_at < now)
        with self.db.session() as session:
            query = select(pv.id).where(self._stale(), free)
            if exclude:
                query = query.where(pv.id.not_in(exclude))
            candidates = list(session.scalars(query.order_by(pv.id).limit(size)))
            if not candidates:
                return []
            session.execute(
                update(pv)
                .where(and_(pv.id.in_(candidates), free))
                .values(scan_lease_owner=self.instance, scan_lease_expires_at=now + self.lease)
            )
            return list(
                session.scalars(
                    select(pv.id)
                    .where(pv.id.in_(candidates), pv.scan_lease_owner == self.instance)
                    .order_by(pv.id)
                )
            )

    def _scan_batch(self, ids: list[int], report: ScanReport) -> None:
        with self.db.session() as session:
            rows = session.execute(
                select(models.PostVersion, models.Post)
                .join(models.Post, models.Post.id == models.PostVersion.post_id)
                .where(models.PostVersion.id.in_(ids))
                .order_by(models.PostVersion.id)
            ).all()
            contexts = [_context(v, p) for v, p in rows]
        results = self._scan_isolating_failures(contexts)
        with self.db.session() as session:
            for (version, post), result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    self._record_failure(session, version.id, result)
                    report.failed.append(version.id)
                    continue
                created, superseded = self._store(session, version.id, post.id, result)
                report.scanned += 1
                report.findings_created += created
                report.superseded += superseded

    def _scan_isolating_failures(
        self, contexts: list[PostContext]
    ) -> list[list[Finding] | Exception]:
        try:
            return list(self.scanner.scan_many(contexts))
        except Exception:  # one bad post must not fail the batch: find it
            log.warning("scan batch of %d failed; rescanning one by one", len(contexts))
        out: list[list[Finding] | Exception] = []
        for context in contexts:
            try:
                out.append(self.scanner.scan(context))
            except Exception as exc:
                out.append(exc)
        return out

    def _record_failure(self, session: Session, version_id: int, exc: Exception) -> None:
        log.error("post version %d failed to scan: %s", version_id, type(exc).__name__)
        version = session.get(models.PostVersion, version_id)
        assert version is not None
        version.scan_error = type(exc).__name__
        version.scan_failures = (version.scan_failures or 0) + 1
        version.scan_lease_owner = None
        version.scan_lease_expires_at = None

    def _store(
        self, session: Session, version_id: int, post_id: int, findings: list[Finding]
    ) -> tuple[int, int]:
        """Store one version's findings and supersede its older ones; (created, superseded)."""
        policy_version = self.policy_version
        existing = {
            (f.rule, f.span_key): f
            for f in session.scalars(
                select(models.Finding).where(
                    models.Finding.post_version_id == version_id,
                    models.Finding.policy_version == policy_version,
                )
            )
        }
        current: list[models.Finding] = list(existing.values())
        created = 0
        for finding in findings:
            key = (finding.rule, span_key(finding.spans))
            if key in existing:
                continue
            row = models.Finding(
                post_version_id=version_id,
                post_id=post_id,
                category=str(finding.category),
                severity=str(finding.severity),
                rule=finding.rule,
                spans=[list(s) for s in finding.spans],
                span_key=key[1],
                explanation=finding.explanation,
                excerpt=finding.excerpt,
                policy_version=policy_version,
                status=str(FindingStatus.OPEN),
            )
            session.add(row)
            session.flush()
            record_event(
                session,
                row.id,
                "created",
                details={"policy_version": policy_version, "rule": finding.rule},
            )
            existing[key] = row
            current.append(row)
            created += 1
        superseded = self._supersede(session, version_id, current)
        version = session.get(models.PostVersion, version_id)
        assert version is not None
        version.scanned_policy_version = policy_version
        version.scanned_at = utcnow()
        version.scan_error = None
        version.scan_lease_owner = None
        version.scan_lease_expires_at = None
        return created, superseded

    def _supersede(self, session: Session, version_id: int, current: list[models.Finding]) -> int:
        older = session.scalars(
            select(models.Finding)
            .where(
                models.Finding.post_version_id == version_id,
                models.Finding.policy_version != self.policy_version,
                models.Finding.status == str(FindingStatus.OPEN),
            )
            .order_by(models.Finding.id)
        ).all()
        for old in older:
            successor = _successor(old, current)
            old.status = str(FindingStatus.SUPERSEDED)
            old.superseded_by_id = successor.id if successor else None
            record_event(
                session,
                old.id,
                "superseded",
                status_from=str(FindingStatus.OPEN),
                status_to=str(FindingStatus.SUPERSEDED),
                details={
                    "policy_version": self.policy_version,
                    "superseded_by": successor.id if successor else None,
                },
            )
        return len(older)


def _successor(old: models.Finding, current: list[models.Finding]) -> models.Finding | None:
    """The new finding that replaces ``old``: same rule and spans, else same rule, else category."""
    for same in (
        lambda f: f.rule == old.rule and f.span_key == old.span_key,
        lambda f: f.rule == old.rule,
        lambda f: f.category == old.category,
    ):
        match = next((f for f in current if same(f)), None)
        if match is not None:
            return match
    return None
