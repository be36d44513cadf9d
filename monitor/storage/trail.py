"""The review trail: finding events appended to one SHA-256 hash chain.

Every event stores the hash of its canonical content and of the previous event, so an edited,
deleted or reordered event breaks the chain at that point. Appends are serialized (a PostgreSQL
transaction-level advisory lock; SQLite serializes writers itself) so two writers never fork it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from monitor.storage.models import AuditCheckpoint, FindingEvent, utcnow

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 0x534D5452  # "SMTR": the advisory lock id guarding chain appends


def canonical(fields: dict[str, Any]) -> bytes:
    """A stable serialization: sorted keys, no whitespace, UTC ISO times."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"cannot serialize {type(value).__name__}")

    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=default).encode()


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


def event_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


def _head(session: Session) -> tuple[int, str]:
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
    """Append one event to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    session.flush()
    seq, prev_hash = _head(session)
    event = FindingEvent(
        seq=seq + 1,
        finding_id=finding_id,
        kind=kind,
        actor=actor,
        status_from=status_from,
        status_to=status_to,
        note=note,
        details=details or {},
        created_at=at or utcnow(),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event_fields(event), prev_hash)
    session.add(event)
    session.flush()
    return event


def chain_length(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(FindingEvent)) or 0)
