"""``sync`` (pull every due source once) and ``posts list`` (what was stored)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from monitor.cli.common import app, cli, command, emit, subgroup
from monitor.domain import Platform, SourceStatus
from monitor.errors import Conflict, NotFound
from monitor.storage import posts as post_store
from monitor.storage import sources as source_store
from monitor.sync import SourceProgress, SyncService, SyncSummary

posts = subgroup("posts", "Show the posts stored from the sources.")

POST_COLUMNS = [
    "id",
    "platform",
    "external_id",
    "channel",
    "author",
    "published",
    "marks",
    "versions",
    "text",
]
TEXT_WIDTH = 60


def _progress_line(state: SourceProgress) -> str:
    counts = (
        f"{state.posts_fetched} posts ({state.posts_new} new, {state.posts_edited} edited, "
        f"{state.posts_deleted} deleted), {state.pages} pages, {state.waits} waits"
    )
    if state.skipped:
        counts += f", {state.skipped} skipped"
    outcome = state.outcome.value if state.outcome else "running"
    line = f"[{state.source_id}] {state.label}: {outcome}: {counts}"
    if state.error:
        line += f" - {state.error}"
    return line


def _report(state: SourceProgress) -> None:
    if state.outcome is not None:
        click.echo(_progress_line(state), err=state.failed)


def _summary_line(summary: SyncSummary) -> str:
    outcomes: dict[str, int] = {}
    for state in summary.sources:
        key = state.outcome.value if state.outcome else "running"
        outcomes[key] = outcomes.get(key, 0) + 1
    parts = ", ".join(f"{n} {name}" for name, n in sorted(outcomes.items()))
    line = (
        f"synced {len(summary.sources)} source(s): {parts or 'none due'}; "
        f"{summary.total('posts_fetched')} posts fetched, {summary.total('posts_new')} new, "
        f"{summary.total('posts_edited')} edited, {summary.total('posts_deleted')} deleted, "
        f"{summary.total('skipped')} skipped"
    )
    if summary.held:
        line += f"; {len(summary.held)} left to another instance"
    return line


@command(cli, "sync")
@click.option("--source", "source_id", type=int, help="Only this source (even if rescheduled).")
@click.option(
    "--platform", type=click.Choice([p.value for p in Platform]), help="Only this platform."
)
def sync(source_id: int | None, platform: str | None) -> None:
    """Pull new posts from every active, due source once; exit 1 if any source failed.

    One line per source as it finishes (posts fetched, pages, rate-limit waits), then a
    summary. Failed, expired (needs re-authorization) and refused (no API access) sources
    count as failures; a rate-limited source is rescheduled and does not.
    """
    ctx = app()
    if source_id is not None:
        row = source_store.get_source(ctx.db, source_id)
        if row is None:
            raise NotFound(f"no source with id {source_id}")
        if row.status != SourceStatus.ACTIVE.value:
            raise Conflict(
                f"source {source_id} is {row.status}, not active: fix it first "
                "(`accounts set-token` for an expired token)"
            )
    service = SyncService(ctx.db, ctx.settings)
    summary = service.run(source_id=source_id, platform=platform, progress=_report)
    click.echo(_summary_line(summary))
    if summary.failed:
        sys.exit(1)


def _since(value: datetime | None, zone: str) -> datetime | None:
    """A date or date-time on the command line, in the practice's time zone."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _post_dict(row: post_store.PostRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "source_id": row.source_id,
        "platform": row.platform,
        "external_id": row.external_id,
        "channel": row.channel,
        "author": row.author_name,
        "author_role": row.author_role,
        "published_at": _when(row.published_at),
        "first_seen_at": _when(row.first_seen_at),
        "url": row.url,
        "edited": row.edited,
        "deleted_at": _when(row.deleted_at),
        "versions": row.versions,
        "text": row.text,
    }


def _table_row(row: post_store.PostRow) -> dict[str, Any]:
    marks = [m for m, on in (("edited", row.edited), ("deleted", row.deleted_at)) if on]
    text = " ".join(row.text.split())
    if len(text) > TEXT_WIDTH:
        text = text[: TEXT_WIDTH - 3] + "..."
    published = row.published_at.strftime("%Y-%m-%d %H:%M") if row.published_at else None
    return {
        "id": row.id,
        "platform": row.platform,
        "external_id": row.external_id,
        "channel": row.channel,
        "author": row.author_name or None,
        "published": published,
        "marks": ",".join(marks) or None,
        "versions": row.versions,
        "text": text,
    }


@command(posts, "list")
@click.option("--source", "source_id", type=int, help="Only posts of this source.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Published (or first seen) on or after this date, in the practice's time zone.",
)
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most this many (0: all).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    show_default=True,
    help="A readable table (text shortened) or one JSON object per line (full text).",
)
def posts_list(source_id: int | None, since: datetime | None, limit: int, fmt: str) -> None:
    """List stored posts, newest first, with edited/deleted marks and version counts."""
    ctx = app()
    rows = post_store.list_posts(
        ctx.db,
        source_id=source_id,
        since=_since(since, ctx.settings.practice.timezone),
        limit=limit or None,
    )
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(_post_dict(row), ensure_ascii=False))
        return
    emit("table", POST_COLUMNS, [_table_row(row) for row in rows])
