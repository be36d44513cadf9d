"""The review trail: finding events appended to one SHA-256 hash chain.

Every event stores the hash of its canonical content and of the previous event, so an edited,
deleted or reordered event breaks the chain at that point. Appends are serialized (a PostgreSQL
transaction-level advisory lock; SQLite serializes writers itself) so two writers never fork it.

What the chain covers:

- every column of every event (``seq``, finding id, kind, actor, statuses, note, details, time);
- the finding itself: each event's ``details`` carries ``finding_sha256``, the fingerprint of the
  finding's fixed fields (category, severity, rule, spans, explanation, masked excerpt, policy
  version, creation time, post and version ids) and of the flagged post version's text. So
  editing a finding or its evidence after the fact shows up in ``audit verify`` as a finding
  that no longer matches its trail; its ``status`` must equal the status the trail ends with;
- not covered: the post's mutable "last seen" columns (text, bio, ``deleted_at``...), which the
  sync legitimately updates; facts about them enter the chain as ``post_edited`` /
  ``post_deleted`` events.

An unkeyed chain cannot stop someone with write access from rebuilding it whole; the head hash
written into every export manifest is the outside anchor that makes such a rewrite visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from monitor.storage.models import AuditCheckpoint, Finding, FindingEvent, PostVersion, utcnow

GENESIS_HASH = "0" * 64
FINGERPRINT_KEY = "finding_sha256"
_CHAIN_LOCK_KEY = 0x534D5452  # "SMTR": the advisory lock id guarding chain appends

# The finding columns a fingerprint covers: those that never change after the scanner wrote them.
FINGERPRINT_COLUMNS = (
    "id",
    "post_id",
    "post_version_id",
    "category",
    "severity",
    "rule",
    "spans",
    "span_key",
    "explanation",
    "excerpt",
    "policy_version",
    "created_at",
)


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in the review trail")
    return value.astimezone(UTC).isoformat()


def canonical(fields: Mapping[str, Any]) -> bytes:
    """A stable serialization: sorted keys, no whitespace, UTC ISO times, tuples as lists."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return _utc_iso(value)
        raise TypeError(f"cannot serialize {type(value).__name__}")

    return json.dumps(
        dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    ).encode()


def event_fields(event: FindingEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "finding_id": event.finding_id,
        "kind": event.kind,
        "actor": event.actor,
        "status_from": event.status_from,
        "status_to": event.status_to,
        "note": event.note,
        "details": event.details or {},
        "created_at": event.created_at,
    }


def event_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


def finding_fingerprint(columns: Mapping[str, Any], evidence_text: str) -> str:
    """SHA-256 over a finding's fixed columns and the text of the post version it flags."""
    fields = {name: columns[name] for name in FINGERPRINT_COLUMNS}
    fields["evidence_sha256"] = hashlib.sha256(evidence_text.encode()).hexdigest()
    return hashlib.sha256(canonical(fields)).hexdigest()


def status_after(events: Iterable[tuple[str, str | None]], start: str = "open") -> str:
    """The finding status a sequence of ``(kind, status_to)`` events leaves behind."""
    status = start
    for kind, status_to in events:
        if status_to:
            status = status_to
        elif kind == "superseded":
            status = "superseded"
    return status


def head(session: Session) -> tuple[int, str]:
    """The last ``(seq, hash)`` of the chain: the newest event, else the newest checkpoint."""
    last = session.execute(
        select(FindingEvent.seq, FindingEvent.hash).order_by(FindingEvent.seq.desc()).limit(1)
    ).first()
    if last is not None:
        return int(last[0]), str(last[1])
    checkpoint = session.execute(
        select(AuditCheckpoint.last_seq, AuditCheckpoint.last_hash)
        .order_by(AuditCheckpoint.last_seq.desc())
        .limit(1)
    ).first()
    if checkpoint is not None:
        return int(checkpoint[0]), str(checkpoint[1])
    return 0, GENESIS_HASH


_head = head  # the name other modules used before it was public


def _fingerprint_of(session: Session, finding_id: int) -> str | None:
    finding = session.get(Finding, finding_id)
    if finding is None:
        return None
    version_text = session.scalar(
        select(PostVersion.text).where(PostVersion.id == finding.post_version_id)
    )
    columns = {name: getattr(finding, name) for name in FINGERPRINT_COLUMNS}
    return finding_fingerprint(columns, version_text or "")


def record_event(
    session: Session,
    finding_id: int,
    kind: str,
    *,
    actor: str = "system",
    status_from: str | None = None,
    status_to: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> FindingEvent:
    """Append one event to the chain inside the caller's transaction.

    The finding must be stored (flushed) with its final fixed columns before its first event:
    the event records the finding's fingerprint (``details["finding_sha256"]``).
    """
    if at is not None and at.tzinfo is None:
        raise ValueError("record_event needs a timezone-aware time")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    session.flush()
    seq, prev_hash = head(session)
    payload = dict(details or {})
    fingerprint = _fingerprint_of(session, finding_id)
    if fingerprint is not None:
        payload[FINGERPRINT_KEY] = fingerprint
    event = FindingEvent(
        seq=seq + 1,
        finding_id=finding_id,
        kind=kind,
        actor=actor,
        status_from=status_from,
        status_to=status_to,
        note=note,
        details=payload,
        created_at=(at or utcnow()).astimezone(UTC),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event_fields(event), prev_hash)
    session.add(event)
    session.flush()
    return event


def chain_length(session: Session) -> int:
    """Events still stored (a purged prefix is not counted)."""
    return int(session.scalar(select(func.count()).select_from(FindingEvent)) or 0)
