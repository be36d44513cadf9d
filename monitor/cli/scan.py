"""``scan`` (stored posts) and ``scan-file`` (a JSONL dry run that touches no database).

``scan-file IN.jsonl [--out OUT.jsonl]`` reads one JSON object per line (``id``, ``text``,
optional ``platform``, ``channel`` = public/group/comment/direct (default public), ``author``
{``name``, ``role``, ``bio``}) and writes exactly one JSON line per input record, in input
order: ``{"id": ..., "findings": [{"category", "severity", "rule", "spans", "explanation",
"excerpt"}, ...]}``. Blank lines are not records and produce nothing.

A bad line (not UTF-8, not JSON, not an object, no ``id`` or ``text``, an unknown channel) is
reported on
stderr as ``IN.jsonl:LINE: reason`` and still gets an output line, ``{"id": <id or null>,
"line": LINE, "error": reason}``, without a ``findings`` key: the output stays aligned with the
input, and a bad record can never be mistaken for a clean one. The rest are still scanned and
the command exits 1 if any line was bad.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click

from monitor.cli.common import app, cli, command, emit, fail, format_option
from monitor.config import PolicySettings
from monitor.domain import Author, Channel, PostContext
from monitor.policy.scanner import Scanner

SCAN_FILE_BATCH = 512


def build_scanner(settings: PolicySettings, *, shortcuts: bool = True) -> Scanner:
    """The scanner for ``[policy]``: the configured rules, the analyzer, the worker count."""
    from monitor.policy.analyzer import PostAnalyzer
    from monitor.policy.policy import Policy

    return Scanner(
        Policy.from_settings(settings),
        PostAnalyzer(settings),
        workers=settings.workers,
        shortcuts=shortcuts,
    )


@dataclass(frozen=True)
class BadLine:
    line: int
    id: Any
    reason: str


def _string(record: dict[str, Any], key: str, default: str = "") -> str:
    value = record.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def parse_record(raw: str, line: int) -> tuple[Any, PostContext | BadLine]:
    """One input line's id as given (or None) and its post, or the reason it is not one."""
    parsed = _parse(raw, line)
    if isinstance(parsed, BadLine):
        return parsed.id, parsed
    return parsed[0], parsed[1]


def _parse(raw: str, line: int) -> tuple[Any, PostContext] | BadLine:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return BadLine(line, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(record, dict):
        return BadLine(line, None, "not a JSON object")
    post_id = record.get("id")
    if post_id is None or isinstance(post_id, bool) or not isinstance(post_id, str | int):
        return BadLine(line, None, "missing 'id' (a string or an integer)")
    try:
        if not isinstance(record.get("text"), str):
            raise ValueError("missing 'text' (a string)")
        channel_name = _string(record, "channel", "public") or "public"
        try:
            channel = Channel(channel_name.lower())
        except ValueError:
            choices = ", ".join(c.value for c in Channel)
            raise ValueError(f"unknown channel {channel_name!r} (one of {choices})") from None
        author = record.get("author") or {}
        if not isinstance(author, dict):
            raise ValueError("'author' must be an object")
        return post_id, PostContext(
            id=str(post_id),
            text=record["text"],
            platform=_string(record, "platform"),
            channel=channel,
            author=Author(
                name=_string(author, "name"),
                role=_string(author, "role"),
                bio=_string(author, "bio"),
            ),
        )
    except ValueError as exc:
        return BadLine(line, post_id, str(exc))


def _records(lines: IO[bytes]) -> Iterator[tuple[Any, PostContext | BadLine]]:
    # Decoded line by line: a stray byte costs its own line, not the file. A BOM (which
    # spreadsheet tools write) is dropped from the first line.
    for number, data in enumerate(lines, start=1):
        try:
            raw = data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield None, BadLine(number, None, f"not UTF-8 text (byte {exc.start + 1})")
            continue
        if not raw.strip():
            continue
        yield parse_record(raw, number)


def scan_lines(
    scanner: Scanner, lines: IO[bytes], out: IO[str], name: str, batch: int = SCAN_FILE_BATCH
) -> int:
    """Scan JSONL ``lines`` into ``out``; the number of bad lines (each reported on stderr)."""
    bad = 0
    pending: list[tuple[Any, PostContext | BadLine]] = []

    def flush() -> None:
        posts = [p for _, p in pending if isinstance(p, PostContext)]
        results = iter(scanner.scan_many(posts))
        for original_id, parsed in pending:
            if isinstance(parsed, BadLine):
                row: dict[str, Any] = {"id": parsed.id, "line": parsed.line}
                row["error"] = parsed.reason
            else:
                findings = next(results)
                row = {"id": original_id, "findings": [f.as_dict() for f in findings]}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
        pending.clear()

    for original_id, parsed in _records(lines):
        if isinstance(parsed, BadLine):
            bad += 1
            click.echo(f"{name}:{parsed.line}: {parsed.reason}", err=True)
        pending.append((original_id, parsed))
        if len(pending) >= batch:
            flush()
    flush()
    return bad


@command(cli, "scan-file")
@click.argument("in_path", metavar="IN.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    metavar="OUT.jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write results here instead of standard output.",
)
@click.option(
    "--no-shortcuts",
    is_flag=True,
    help="Run NER on every post, one by one (slow; to check the fast path).",
)
def scan_file(in_path: Path, out_path: Path | None, no_shortcuts: bool) -> None:
    """Dry run: scan a JSONL file of posts under [policy] of --config; no database."""
    settings = app().settings
    scanner = build_scanner(settings.policy, shortcuts=not no_shortcuts)
    try:
        source = in_path.open("rb")
    except OSError as exc:
        fail(f"cannot read {in_path}: {exc.strerror or exc}")
    with source:
        try:
            if out_path is None:
                bad = scan_lines(scanner, source, sys.stdout, str(in_path))
            else:
                with out_path.open("w", encoding="utf-8") as out:
                    bad = scan_lines(scanner, source, out, str(in_path))
        except OSError as exc:
            fail(f"cannot write {out_path}: {exc.strerror or exc}")
    if bad:
        fail(f"{bad} bad line(s) in {in_path} skipped (see above)")


@command(cli, "scan")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Scan at most N versions.")
@format_option
def scan(limit: int | None, fmt: str) -> None:
    """Scan stored post versions not yet scanned under the current policy."""
    from monitor.scan import ScanService

    ctx = app()
    settings = ctx.settings
    ctx.db.check()
    service = ScanService(
        ctx.db,
        build_scanner(settings.policy),
        batch_size=settings.scheduler.scan_batch_size,
        lease_seconds=settings.scheduler.lease_seconds,
    )
    report = service.run(limit=limit)
    emit(
        fmt,
        ["policy_version", "scanned", "findings_created", "superseded", "failed"],
        [
            {
                "policy_version": report.policy_version,
                "scanned": report.scanned,
                "findings_created": report.findings_created,
                "superseded": report.superseded,
                "failed": len(report.failed),
            }
        ],
    )
    if report.failed:
        ids = ", ".join(str(i) for i in report.failed[:20])
        fail(f"{len(report.failed)} post version(s) failed to scan and will be retried: {ids}")
