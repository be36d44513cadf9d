"""Verifying the review trail: the hash chain, its purge checkpoints, the findings it vouches for.

``verify`` walks the chain in ``seq`` order, recomputes every hash and reports the first broken
link by event id: an edited event (its content no longer matches its hash), a deleted one (a gap
in ``seq``) or a reordered one (it does not link to the event before it). It then checks every
finding against its events: the fixed columns and the flagged text must match the fingerprint
the trail recorded, and the status must be the one the trail ends with (see
``monitor.storage.trail`` for what the chain covers).

A retention purge deletes a prefix of the chain; it leaves a checkpoint (the last purged seq and
hash) signed with an HMAC key derived from the secret key in the environment, so the remaining
chain still verifies from that point and a forged checkpoint does not.

Everything is streamed: memory stays flat however long the trail is.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from monitor.config import Settings, read_secret
from monitor.errors import SecretMissing
from monitor.storage.models import AuditCheckpoint, Finding, FindingEvent, PostVersion
from monitor.storage.trail import (
    FINGERPRINT_COLUMNS,
    FINGERPRINT_KEY,
    GENESIS_HASH,
    canonical,
    event_hash,
    finding_fingerprint,
    status_after,
)

_KEY_LABEL = b"social-monitor/audit-checkpoint/v1"
_STREAM_BATCH = 1000
MAX_REPORTED_PROBLEMS = 20


def begin_snapshot(session: Session) -> None:
    """Make every following read in this transaction see one consistent state of the database.

    Call before any other statement in the session's transaction. PostgreSQL: REPEATABLE READ;
    SQLite (WAL): an explicit BEGIN, whose read snapshot lasts until the transaction ends.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Fails loudly (rather than being ignored) if a query already ran in this transaction.
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    elif not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN")


# --- checkpoint signatures -------------------------------------------------------------------


def checkpoint_key(settings: Settings) -> bytes:
    """The HMAC key for checkpoints: from ``[security] audit_key_env`` when set (a key that is
    never rotated with the token key), else derived from the token key."""
    audit = read_secret(settings.security.audit_key_env)
    if audit is not None:
        return derive_key(audit.get_secret_value())
    env_name = settings.security.secret_key_env
    secret = read_secret(env_name)
    if secret is None:
        raise SecretMissing(
            f"${env_name} is not set: it holds the key that signs the audit trail's purge "
            "checkpoints"
        )
    return derive_key(secret.get_secret_value())


def derive_key(secret: str) -> bytes:
    """A key for checkpoint signatures only, so the token-encryption key is never used twice."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short public name for a key, so a signature made with another key says so."""
    return hashlib.sha256(b"key-id\n" + key).hexdigest()[:8]


def _checkpoint_payload(
    last_seq: int, last_hash: str, purged_events: int, created_at: datetime
) -> bytes:
    return canonical(
        {
            "last_seq": last_seq,
            "last_hash": last_hash,
            "purged_events": purged_events,
            "created_at": created_at,
        }
    )


def sign_checkpoint(
    key: bytes, last_seq: int, last_hash: str, purged_events: int, created_at: datetime
) -> str:
    """``v1:<key id>:<HMAC-SHA256 hex>`` over the checkpoint's fields."""
    payload = _checkpoint_payload(last_seq, last_hash, purged_events, created_at)
    mac = hmac.new(key, payload, hashlib.sha256).hexdigest()
    return f"v1:{key_id(key)}:{mac}"


def checkpoint_problem(key: bytes, checkpoint: AuditCheckpoint) -> str | None:
    """Why the checkpoint's signature does not hold, or None when it does."""
    parts = checkpoint.signature.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        return "its signature is not in a known format"
    if parts[1] != key_id(key):
        return (
            f"it was signed with key id {parts[1]}, the configured key has id {key_id(key)} "
            "(another key, or a forged checkpoint)"
        )
    expected = sign_checkpoint(
        key,
        checkpoint.last_seq,
        checkpoint.last_hash,
        checkpoint.purged_events,
        checkpoint.created_at,
    )
    if not hmac.compare_digest(expected, checkpoint.signature):
        return "its signature does not match its content (edited or forged)"
    return None


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place where the trail stops proving itself."""

    what: str  # "event" or "checkpoint"
    id: int
    seq: int
    reason: str

    def describe(self) -> str:
        return f"{self.what} id {self.id} (seq {self.seq}): {self.reason}"


@dataclass(frozen=True, slots=True)
class FindingProblem:
    """A finding that no longer matches what its trail recorded."""

    finding_id: int
    reason: str

    def describe(self) -> str:
        return f"finding {self.finding_id}: {self.reason}"


@dataclass(slots=True)
class VerifyReport:
    """What ``verify`` found; ``ok`` only when both the chain and every finding hold."""

    events: int = 0
    first_seq: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    purged_events: int = 0
    findings_checked: int = 0
    broken: BrokenLink | None = None
    finding_problems: list[FindingProblem] = field(default_factory=list)
    finding_problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.broken is None and self.finding_problem_count == 0

    def add_problem(self, problem: FindingProblem) -> None:
        self.finding_problem_count += 1
        if len(self.finding_problems) < MAX_REPORTED_PROBLEMS:
            self.finding_problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "first_seq": self.first_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "purged_events": self.purged_events,
            "findings_checked": self.findings_checked,
            "broken": None
            if self.broken is None
            else {
                "what": self.broken.what,
                "id": self.broken.id,
                "seq": self.broken.seq,
                "reason": self.broken.reason,
            },
            "finding_problem_count": self.finding_problem_count,
            "finding_problems": [
                {"finding_id": p.finding_id, "reason": p.reason} for p in self.finding_problems
            ],
        }


# --- verification ----------------------------------------------------------------------------


def _stream(session: Session, stmt: Any) -> Iterator[Row[Any]]:
    yield from session.execute(stmt, execution_options={"yield_per": _STREAM_BATCH})


def _check_checkpoints(
    session: Session, key: bytes | None, report: VerifyReport
) -> tuple[int, str]:
    """Check every checkpoint; return where the stored chain must start from."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.last_seq)
    checkpoints = list(session.scalars(stmt))
    report.checkpoints = len(checkpoints)
    if not checkpoints:
        return 0, GENESIS_HASH
    if key is None:
        raise SecretMissing(
            f"the trail has {len(checkpoints)} purge checkpoint(s) and no key to check their "
            "signatures: set the secret key variable named in [security]"
        )
    for checkpoint in checkpoints:
        problem = checkpoint_problem(key, checkpoint)
        if problem is not None and report.broken is None:
            report.broken = BrokenLink("checkpoint", checkpoint.id, checkpoint.last_seq, problem)
    latest = checkpoints[-1]
    report.purged_events = sum(c.purged_events for c in checkpoints)
    return latest.last_seq, latest.last_hash


def _walk_chain(session: Session, start_seq: int, start_hash: str, report: VerifyReport) -> None:
    stmt = select(
        FindingEvent.id,
        FindingEvent.seq,
        FindingEvent.finding_id,
        FindingEvent.kind,
        FindingEvent.actor,
        FindingEvent.status_from,
        FindingEvent.status_to,
        FindingEvent.note,
        FindingEvent.details,
        FindingEvent.created_at,
        FindingEvent.prev_hash,
        FindingEvent.hash,
    ).order_by(FindingEvent.seq)
    expected_seq, running = start_seq, start_hash
    report.head_seq, report.head_hash = start_seq, start_hash
    for row in _stream(session, stmt):
        report.events += 1
        if report.events == 1:
            report.first_seq = row.seq
        report.head_seq, report.head_hash = row.seq, row.hash
        if report.broken is not None:
            continue  # keep counting to report the length, but only the first break matters
        reason = None
        if row.seq <= expected_seq:
            reason = f"it comes before the purge checkpoint at seq {expected_seq}"
        elif row.seq > expected_seq + 1:
            missing = f"{expected_seq + 1}" + (
                f"..{row.seq - 1}" if row.seq - 1 > expected_seq + 1 else ""
            )
            reason = f"the event(s) at seq {missing} before it are missing (deleted)"
        elif row.prev_hash != running:
            reason = (
                "it does not link to the event before it (events reordered, or the one before "
                "it was altered)"
            )
        else:
            fields = {
                "seq": row.seq,
                "finding_id": row.finding_id,
                "kind": row.kind,
                "actor": row.actor,
                "status_from": row.status_from,
                "status_to": row.status_to,
                "note": row.note,
                "details": row.details or {},
                "created_at": row.created_at,
            }
            if event_hash(fields, row.prev_hash) != row.hash:
                reason = "its content does not match its hash (edited)"
        if reason is not None:
            report.broken = BrokenLink("event", row.id, row.seq, reason)
        expected_seq, running = row.seq, row.hash


def _check_findings(session: Session, report: VerifyReport) -> None:
    """Merge the findings (by id) with their events (by finding id, seq): two flat streams."""
    columns = [getattr(Finding, name) for name in FINGERPRINT_COLUMNS]
    findings = _stream(
        session,
        select(*columns, Finding.status, PostVersion.text.label("evidence"))
        .join(PostVersion, PostVersion.id == Finding.post_version_id)
        .order_by(Finding.id),
    )
    events = _stream(
        session,
        select(
            FindingEvent.finding_id,
            FindingEvent.kind,
            FindingEvent.status_to,
            FindingEvent.details,
        ).order_by(FindingEvent.finding_id, FindingEvent.seq),
    )
    pending = next(events, None)
    for finding in findings:
        report.findings_checked += 1
        fingerprint = finding_fingerprint(dict(finding._mapping), finding.evidence or "")
        while pending is not None and pending.finding_id < finding.id:
            pending = next(events, None)  # events of a finding that is gone: the FK forbids it
        transitions: list[tuple[str, str | None]] = []
        anchored = altered = False
        while pending is not None and pending.finding_id == finding.id:
            transitions.append((pending.kind, pending.status_to))
            recorded = (pending.details or {}).get(FINGERPRINT_KEY)
            if recorded is not None:
                anchored = True
                altered = altered or recorded != fingerprint
            pending = next(events, None)
        if not transitions:
            report.add_problem(
                FindingProblem(finding.id, "it has no trail events (stored outside the trail)")
            )
            continue
        if not anchored:
            report.add_problem(FindingProblem(finding.id, "no event records its fingerprint"))
        elif altered:
            report.add_problem(
                FindingProblem(
                    finding.id,
                    "its content or evidence text differs from what its trail recorded (edited)",
                )
            )
        expected = status_after(transitions)
        if finding.status != expected:
            report.add_problem(
                FindingProblem(
                    finding.id,
                    f"its status is {finding.status!r} but its trail ends with {expected!r}",
                )
            )


def verify(session: Session, key: bytes | None) -> VerifyReport:
    """Check the whole trail; ``key`` is needed only when purge checkpoints exist.

    Raises SecretMissing when checkpoints exist and ``key`` is None.
    """
    begin_snapshot(session)
    report = VerifyReport()
    start_seq, start_hash = _check_checkpoints(session, key, report)
    _walk_chain(session, start_seq, start_hash, report)
    _check_findings(session, report)
    return report


def verify_anchor(session: Session, seq: int, hash_: str) -> str | None:
    """Check that an earlier head (from an export manifest) is still in the chain.

    Returns None when it is, else why not. This is what catches a chain rebuilt whole or cut
    short since that export.
    """
    stored = session.scalar(select(FindingEvent.hash).where(FindingEvent.seq == seq))
    if stored is not None:
        return None if stored == hash_ else f"the event at seq {seq} has another hash now"
    checkpoint = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.last_seq == seq))
    if checkpoint is not None:
        return None if checkpoint.last_hash == hash_ else f"checkpoint at seq {seq} differs"
    if seq == 0 and hash_ == GENESIS_HASH:
        return None
    covered = session.scalar(
        select(AuditCheckpoint.last_seq).where(AuditCheckpoint.last_seq >= seq).limit(1)
    )
    if covered is not None:
        return None  # purged since: the signed checkpoint vouches for that prefix
    return f"the chain has no event at seq {seq} any more (cut short)"
