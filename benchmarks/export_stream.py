"""Export throughput and memory: 10k and 200k findings, streamed to CSV and JSONL.

Seeds a temporary SQLite database with bulk inserts (a post, its version, a finding and its
hash-chained ``created`` event per finding, a disposition on every tenth), then times the
export and, in a second run under ``tracemalloc``, measures its peak Python memory. The peak
must stay flat from 10k to 200k rows: rows stream from the cursor and are written one by one.
``audit verify`` (also streamed) is measured the same way.

Run: ``.venv/bin/python benchmarks/export_stream.py [N ...]`` (default: 10000 200000).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from monitor.audit import verify
from monitor.export import ExportFilters, export_findings
from monitor.storage import migrate
from monitor.storage.database import Database
from monitor.storage.models import Finding, FindingEvent, Post, PostVersion, Source, StaffMember
from monitor.storage.trail import GENESIS_HASH, event_hash, finding_fingerprint

CHUNK = 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEXT = "Saw {n} (DOB 03/14/1961) in room 4 today, she is doing better after the op"
EXCERPT = "Saw [NAME] ([DATE]) in room 4 today, she is doing better after the op"


def seed(db: Database, count: int) -> None:
    """Insert ``count`` findings with valid chain events, in bulk."""
    staff_n = 50
    with db.session() as session:
        session.execute(
            insert(StaffMember),
            [
                {"id": i, "name": f"Staff {i}", "email": f"s{i}@example.org", "role": "nurse"}
                for i in range(1, staff_n + 1)
            ],
        )
        session.execute(
            insert(Source),
            [
                {"id": i, "staff_id": i, "platform": "x", "kind": "profile", "handle": f"h{i}"}
                for i in range(1, staff_n + 1)
            ],
        )
    prev_hash, seq = GENESIS_HASH, 0
    for start in range(1, count + 1, CHUNK):
        ids = range(start, min(start + CHUNK, count + 1))
        posts, versions, findings, events = [], [], [], []
        for i in ids:
            at = T0 + timedelta(seconds=i)
            text = TEXT.format(n=f"Patient {i}")
            posts.append(
                {
                    "id": i,
                    "platform": "x",
                    "external_id": str(i),
                    "source_id": 1 + i % staff_n,
                    "channel": "public",
                    "author_name": f"Staff {1 + i % staff_n}",
                    "text": text,
                    "url": f"https://x.example/{i}",
                    "published_at": at,
                    "raw": {},
                    "content_hash": str(i),
                    "first_seen_at": at,
                    "last_seen_at": at,
                }
            )
            versions.append(
                {"id": i, "post_id": i, "version_no": 1, "text": text, "content_hash": str(i)}
            )
            finding: dict[str, Any] = {
                "id": i,
                "post_id": i,
                "post_version_id": i,
                "category": "patient_privacy",
                "severity": "critical",
                "rule": "privacy.name_with_condition",
                "spans": [[4, 14]],
                "span_key": "4-14",
                "explanation": "A patient's name next to a visit.",
                "excerpt": EXCERPT,
                "policy_version": "p1",
                "created_at": at,
                "status": "acknowledged" if i % 10 == 0 else "open",
            }
            findings.append(finding)
            fingerprint = finding_fingerprint(finding, text)
            kinds: list[tuple[str, str | None, str | None, str | None]] = [
                ("created", None, None, None)
            ]
            if i % 10 == 0:
                kinds.append(("status_changed", "open", "acknowledged", "spoke to the author"))
            for kind, status_from, status_to, note in kinds:
                seq += 1
                fields = {
                    "seq": seq,
                    "finding_id": i,
                    "kind": kind,
                    "actor": "system" if kind == "created" else "alice@example.org",
                    "status_from": status_from,
                    "status_to": status_to,
                    "note": note,
                    "details": {"finding_sha256": fingerprint},
                    "created_at": at,
                }
                digest = event_hash(fields, prev_hash)
                events.append({**fields, "prev_hash": prev_hash, "hash": digest})
                prev_hash = digest
        with db.session() as session:
            session.execute(insert(Post), posts)
            session.execute(insert(PostVersion), versions)
            session.execute(insert(Finding), findings)
            session.execute(insert(FindingEvent), events)


def measure(fn: Callable[[], int]) -> tuple[float, float, int]:
    """(seconds without tracing, peak MiB under tracemalloc, rows)."""
    started = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, rows


def run(count: int, folder: Path) -> None:
    db = Database(f"sqlite:///{folder / f'bench-{count}.db'}")
    migrate.upgrade(db)
    started = time.perf_counter()
    seed(db, count)
    print(f"{count:>7} findings seeded in {time.perf_counter() - started:6.1f} s")
    wide = ExportFilters(start=T0 - timedelta(days=1), end=T0 + timedelta(days=3650))
    for fmt in ("csv", "jsonl"):
        out = folder / f"export-{count}.{fmt}"

        def do_export(fmt: str = fmt, out: Path = out) -> int:
            with db.session() as session:
                manifest = export_findings(session, out, wide, fmt=fmt, overwrite=True)  # type: ignore[arg-type]
            return int(manifest["rows"])

        seconds, peak, rows = measure(do_export)
        size = out.stat().st_size / 2**20
        print(
            f"{count:>7} export {fmt:<5}: {rows} rows in {seconds:6.2f} s = "
            f"{rows / seconds:8.0f} rows/s, peak {peak:5.1f} MiB (tracemalloc), file {size:.0f} MiB"
        )

    def do_verify() -> int:
        with db.session() as session:
            report = verify(session, None)
        assert report.ok, report.as_dict()
        return report.events

    seconds, peak, events = measure(do_verify)
    print(
        f"{count:>7} audit verify: {events} events in {seconds:6.2f} s = "
        f"{events / seconds:8.0f} events/s, peak {peak:5.1f} MiB (tracemalloc)"
    )
    db.dispose()


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv] or [10_000, 200_000]
    with tempfile.TemporaryDirectory(prefix="sm-export-bench-") as tmp:
        for count in counts:
            run(count, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
