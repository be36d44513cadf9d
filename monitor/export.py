"""The auditor export: one row per finding with its post evidence and disposition history.

Promises:

- complete and consistent: every finding created in the period and matching the filters, read
  in one database snapshot together with the chain head recorded in the manifest;
- masked by default: the evidence is the stored masked ``excerpt``; ``full_text`` adds the
  flagged post text, the author's name and the post URL (for a secure hand-over only);
- verifiable: a manifest beside the file names the filters, the row count, the file's SHA-256
  and the chain head hash at export time (``audit verify --manifest`` checks that head later);
- spreadsheet-safe CSV: UTF-8 (optional BOM), ISO 8601 UTC times, and text cells that a
  spreadsheet would run as a formula (= + - @, tab, CR) prefixed with ``'`` — as is any cell
  that already starts with ``'``, so ``unescape_cell`` restores every value exactly;
- bounded memory: rows stream from server-side cursors and are written one at a time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from monitor.audit import begin_snapshot
from monitor.domain import Category, FindingStatus
from monitor.errors import Conflict, InvalidInput
from monitor.storage.models import (
    Finding,
    FindingEvent,
    Post,
    PostVersion,
    Source,
    StaffMember,
)
from monitor.storage.trail import FINGERPRINT_KEY, head

ExportFormat = Literal["csv", "jsonl"]
MANIFEST_SUFFIX = ".manifest.json"
_BATCH = 1000
# Leading characters a spreadsheet treats as the start of a formula (with their full-width
# forms, which some spreadsheets normalize), and the escape character itself.
_FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
_ESCAPE = "'"

BASE_COLUMNS = (
    "finding_id",
    "created_at",
    "status",
    "severity",
    "category",
    "rule",
    "policy_version",
    "explanation",
    "excerpt",
    "spans",
    "superseded_by_id",
    "post_id",
    "post_version_no",
    "platform",
    "channel",
    "source_handle",
    "staff_id",
    "staff_name",
    "published_at",
    "post_deleted_at",
    "last_disposition",
    "last_disposition_by",
    "last_disposition_at",
    "history",
)
FULL_TEXT_COLUMNS = ("post_text", "author_name", "post_url")


def columns_for(full_text: bool) -> tuple[str, ...]:
    return BASE_COLUMNS + (FULL_TEXT_COLUMNS if full_text else ())


def escape_cell(value: str) -> str:
    """Make a text cell inert in a spreadsheet; reversible with ``unescape_cell``."""
    if value and (value[0] in _FORMULA_STARTS or value[0] == _ESCAPE):
        return _ESCAPE + value
    return value


def unescape_cell(value: str) -> str:
    """The original text of a cell written by ``escape_cell``."""
    return value[1:] if value.startswith(_ESCAPE) else value


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``: sorts as text and parses everywhere."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Findings created in ``[start, end)`` (UTC), narrowed by status, category and staff."""

    start: datetime
    end: datetime
    status: str | None = None
    category: str | None = None
    staff_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "created_from": iso(self.start),
            "created_before": iso(self.end),
            "status": self.status,
            "category": self.category,
            "staff_id": self.staff_id,
        }


def parse_bound(text: str, zone: str, *, end: bool) -> datetime:
    """A date (a whole day in ``zone``; the end date is included) or an ISO date-time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1 if end else 0), time(), ZoneInfo(zone))
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    return moment.astimezone(UTC)


def make_filters(
    start: str,
    end: str,
    zone: str,
    *,
    status: str | None = None,
    category: str | None = None,
    staff_id: int | None = None,
) -> ExportFilters:
    """Filters from command-line text, validated; dates are whole days in the practice zone."""
    if status is not None and status not in {str(s) for s in FindingStatus}:
        raise InvalidInput(f"unknown status {status!r}")
    if category is not None and category not in {str(c) for c in Category}:
        raise InvalidInput(f"unknown category {category!r}")
    filters = ExportFilters(
        start=parse_bound(start, zone, end=False),
        end=parse_bound(end, zone, end=True),
        status=status,
        category=category,
        staff_id=staff_id,
    )
    if filters.end <= filters.start:
        raise InvalidInput("--to is before --from")
    return filters


# --- queries -----------------------------------------------------------------------------------


def _filtered(stmt: Select[Any], filters: ExportFilters) -> Select[Any]:
    stmt = stmt.where(Finding.created_at >= filters.start, Finding.created_at < filters.end)
    if filters.status is not None:
        stmt = stmt.where(Finding.status == filters.status)
    if filters.category is not None:
        stmt = stmt.where(Finding.category == filters.category)
    if filters.staff_id is not None:
        stmt = stmt.where(Source.staff_id == filters.staff_id)
    return stmt


def _findings(session: Session, filters: ExportFilters, full_text: bool) -> Iterator[Row[Any]]:
    columns: list[Any] = [
        Finding.id,
        Finding.created_at,
        Finding.status,
        Finding.severity,
        Finding.category,
        Finding.rule,
        Finding.policy_version,
        Finding.explanation,
        Finding.excerpt,
        Finding.spans,
        Finding.superseded_by_id,
        Finding.post_id,
        PostVersion.version_no,
        Post.platform,
        Post.channel,
        Source.handle,
        StaffMember.id.label("staff_id"),
        StaffMember.name.label("staff_name"),
        Post.published_at,
        Post.deleted_at,
    ]
    if full_text:
        columns += [PostVersion.text.label("post_text"), Post.author_name, Post.url]
    stmt = (
        select(*columns)
        .join(PostVersion, PostVersion.id == Finding.post_version_id)
        .join(Post, Post.id == Finding.post_id)
        .join(Source, Source.id == Post.source_id)
        .outerjoin(StaffMember, StaffMember.id == Source.staff_id)
    )
    stmt = _filtered(stmt, filters).order_by(Finding.id)
    yield from session.execute(stmt, execution_options={"yield_per": _BATCH})


def _events(session: Session, filters: ExportFilters) -> Iterator[Row[Any]]:
    stmt = (
        select(
            FindingEvent.finding_id,
            FindingEvent.seq,
            FindingEvent.created_at,
            FindingEvent.kind,
            FindingEvent.actor,
            FindingEvent.status_from,
            FindingEvent.status_to,
            FindingEvent.note,
            FindingEvent.details,
        )
        .join(Finding, Finding.id == FindingEvent.finding_id)
        .join(Post, Post.id == Finding.post_id)
        .join(Source, Source.id == Post.source_id)
    )
    stmt = _filtered(stmt, filters).order_by(FindingEvent.finding_id, FindingEvent.seq)
    yield from session.execute(stmt, execution_options={"yield_per": _BATCH})


def _history(event: Row[Any]) -> dict[str, Any]:
    details = {k: v for k, v in (event.details or {}).items() if k != FINGERPRINT_KEY}
    return {
        "seq": event.seq,
        "at": iso(event.created_at),
        "kind": event.kind,
        "actor": event.actor,
        "status_from": event.status_from,
        "status_to": event.status_to,
        "note": event.note,
        "details": details,
    }


def iter_records(
    session: Session, filters: ExportFilters, *, full_text: bool = False
) -> Iterator[dict[str, Any]]:
    """The export's rows as plain values, in finding id order; two merged streams, O(1) memory.

    Run inside a snapshot (``begin_snapshot``) so the findings and their events agree.
    """
    events = _events(session, filters)
    pending = next(events, None)
    for row in _findings(session, filters, full_text):
        history: list[dict[str, Any]] = []
        while pending is not None and pending.finding_id <= row.id:
            if pending.finding_id == row.id:
                history.append(_history(pending))
            pending = next(events, None)
        last = next((h for h in reversed(history) if h["kind"] == "status_changed"), None)
        record: dict[str, Any] = {
            "finding_id": row.id,
            "created_at": iso(row.created_at),
            "status": row.status,
            "severity": row.severity,
            "category": row.category,
            "rule": row.rule,
            "policy_version": row.policy_version,
            "explanation": row.explanation,
            "excerpt": row.excerpt,
            "spans": row.spans,
            "superseded_by_id": row.superseded_by_id,
            "post_id": row.post_id,
            "post_version_no": row.version_no,
            "platform": row.platform,
            "channel": row.channel,
            "source_handle": row.handle,
            "staff_id": row.staff_id,
            "staff_name": row.staff_name,
            "published_at": iso(row.published_at),
            "post_deleted_at": iso(row.deleted_at),
            "last_disposition": last["status_to"] if last else None,
            "last_disposition_by": last["actor"] if last else None,
            "last_disposition_at": last["at"] if last else None,
            "history": history,
        }
        if full_text:
            record["post_text"] = row.post_text
            record["author_name"] = row.author_name
            record["post_url"] = row.url
        yield record


# --- writing -----------------------------------------------------------------------------------


class _HashingWriter:
    """A text sink that encodes UTF-8, hashes and counts what it writes to a binary file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.sha256.update(data)
        self._raw.write(data)
        self.size += len(data)
        return len(text)


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # the common case first: this runs for every cell
        return escape_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return escape_cell(str(value))


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + MANIFEST_SUFFIX)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (what an auditor recomputes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_findings(
    session: Session,
    out: Path,
    filters: ExportFilters,
    *,
    fmt: ExportFormat = "csv",
    full_text: bool = False,
    bom: bool = False,
    overwrite: bool = False,
    exported_by: str | None = None,
) -> dict[str, Any]:
    """Write the export and its manifest; returns the manifest.

    Call with a fresh session: the export takes a snapshot before its first read. The file is
    written beside its final name and moved into place only when complete.
    """
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput(f"unknown export format {fmt!r}: expected csv or jsonl")
    if not out.parent.is_dir():
        raise InvalidInput(f"folder {out.parent} does not exist")
    manifest_file = manifest_path(out)
    if not overwrite and (out.exists() or manifest_file.exists()):
        raise Conflict(f"{out} or its manifest already exists (use --force to replace them)")
    begin_snapshot(session)
    head_seq, head_hash = head(session)
    chain_events = int(session.scalar(select(func.count()).select_from(FindingEvent)) or 0)
    exported_at = datetime.now(UTC)
    columns = columns_for(full_text)
    partial = out.with_name(f".{out.name}.partial")
    rows = 0
    try:
        with partial.open("wb") as raw:
            sink = _HashingWriter(raw)
            if fmt == "csv":
                if bom:
                    sink.write("\ufeff")
                writer = csv.writer(sink, lineterminator="\r\n")
                writer.writerow(columns)
                for record in iter_records(session, filters, full_text=full_text):
                    writer.writerow([_csv_cell(record[c]) for c in columns])
                    rows += 1
            else:
                for record in iter_records(session, filters, full_text=full_text):
                    sink.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                    sink.write("\n")
                    rows += 1
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    manifest = {
        "file": out.name,
        "format": fmt,
        "encoding": "utf-8" + (" with BOM" if bom and fmt == "csv" else ""),
        "sha256": sink.sha256.hexdigest(),
        "bytes": sink.size,
        "rows": rows,
        "columns": list(columns),
        "full_text": full_text,
        "filters": filters.as_dict(),
        "chain": {"head_seq": head_seq, "head_hash": head_hash, "events": chain_events},
        "exported_at": iso(exported_at),
        "exported_by": exported_by,
    }
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def check_export(out: Path) -> list[str]:
    """Problems found comparing an export file with its manifest (empty: it is unaltered)."""
    manifest = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    problems = []
    if file_sha256(out) != manifest["sha256"]:
        problems.append("the file's SHA-256 differs from the manifest's")
    return problems
