"""Review, audit, export and retention commands: what compliance officers and auditors run."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor import audit, export, retention, review
from monitor.cli.common import app, cli, command, emit, format_option, subgroup
from monitor.domain import Category, FindingStatus, Severity
from monitor.errors import InvalidInput, SecretMissing

violations = subgroup("violations", "List, inspect and record dispositions on findings.")
audit_group = subgroup("audit", "Check that the review trail has not been tampered with.")
retention_group = subgroup("retention", "Delete records older than the retention period.")

EXCERPT_WIDTH = 72
LIST_COLUMNS = [
    "id",
    "created",
    "severity",
    "category",
    "status",
    "staff",
    "platform",
    "channel",
    "handle",
    "excerpt",
]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return export.iso(value)
    return str(value)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _optional_key() -> bytes | None:
    try:
        return audit.checkpoint_key(app().settings)
    except SecretMissing:
        return None


def _key_missing() -> SecretMissing:
    env_name = app().settings.security.secret_key_env
    return SecretMissing(
        f"${env_name} is not set: it holds the key that signs and checks the review trail's "
        "purge checkpoints"
    )


@command(violations, "list")
@click.option("--status", type=click.Choice([s.value for s in FindingStatus]))
@click.option("--severity", type=click.Choice([s.value for s in Severity]))
@click.option("--category", type=click.Choice([c.value for c in Category]))
@click.option("--staff", "staff_id", type=int, metavar="ID", help="Only this staff member's.")
@click.option("--since", metavar="DATE", help="Created on or after (YYYY-MM-DD, practice time).")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@format_option
def violations_list(
    status: str | None,
    severity: str | None,
    category: str | None,
    staff_id: int | None,
    since: str | None,
    limit: int,
    fmt: str,
) -> None:
    """List findings, newest first (superseded ones only with --status superseded).

    Shows the masked excerpt; `violations show ID` has the evidence.
    """
    settings = app().settings
    filters = review.ListFilters(
        status=status,
        severity=severity,
        category=category,
        staff_id=staff_id,
        since=export.parse_bound(since, settings.practice.timezone, end=False) if since else None,
        limit=limit,
    )
    with app().db.session() as session:
        rows = review.list_findings(session, filters)
    records = [
        {
            "id": r["id"],
            "created": export.iso(r["created_at"]),
            "severity": r["severity"],
            "category": r["category"],
            "rule": r["rule"],
            "status": r["status"],
            "staff": r["staff_name"],
            "staff_id": r["staff_id"],
            "platform": r["platform"],
            "channel": r["channel"],
            "handle": r["handle"],
            "post_id": r["post_id"],
            "post_deleted": export.iso(r["deleted_at"]),
            "excerpt": r["excerpt"],
        }
        for r in rows
    ]
    if fmt == "table":
        for record, row in zip(records, rows, strict=True):
            record["created"] = row["created_at"].strftime("%Y-%m-%d %H:%M")
            record["excerpt"] = _clip(record["excerpt"] or "", EXCERPT_WIDTH)
    emit(fmt, LIST_COLUMNS, records)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _history_line(event: dict[str, Any]) -> str:
    change = ""
    if event["status_to"]:
        change = f" {event['status_from'] or '?'} -> {event['status_to']}"
    note = f": {event['note']}" if event["note"] else ""
    details = f" {json.dumps(event['details'], ensure_ascii=False)}" if event["details"] else ""
    return (
        f"    {export.iso(event['at'])}  {event['kind']}{change} by {event['actor']}{note}{details}"
    )


def _finding_lines(finding: dict[str, Any]) -> list[str]:
    lines = [
        f"Finding {finding['id']}  {finding['severity']}  {finding['category']}  "
        f"({finding['rule']}, policy {finding['policy_version']})  status: {finding['status']}",
        f"  created:     {export.iso(finding['created_at'])}",
        f"  explanation: {finding['explanation']}",
        f"  excerpt:     {finding['excerpt']}",
        f"  spans:       {finding['spans']}",
    ]
    if finding["superseded_by_id"]:
        lines.append(f"  superseded by finding {finding['superseded_by_id']}")
    lines.append("  history:")
    lines += [_history_line(e) for e in finding["history"]] or ["    (none)"]
    return lines


def _show_text(shown: dict[str, Any]) -> str:
    post, source, staff = shown["post"], shown["source"], shown["staff"]
    who = f"{staff['name']} (staff {staff['id']}, {staff['role']})" if staff else "practice source"
    lines = _finding_lines(shown["finding"])
    lines += [
        "",
        f"Post {post['id']}  {post['platform']}/{post['channel']}  external id "
        f"{post['external_id']}",
        f"  source:    {source['platform']} {source['kind']} {source['handle'] or '-'} — {who}",
        f"  author:    {post['author_name'] or '-'} ({post['author_role'] or 'role unknown'})",
        f"  url:       {post['url'] or '-'}",
        f"  published: {export.iso(post['published_at']) or '-'}",
        f"  seen:      {export.iso(post['first_seen_at'])} .. {export.iso(post['last_seen_at'])}",
        f"  deleted:   {export.iso(post['deleted_at']) or 'no'}",
        "  versions:",
    ]
    for version in shown["versions"]:
        flag = "  <- flagged" if version["flagged"] else ""
        lines.append(
            f"    v{version['version_no']} fetched {export.iso(version['fetched_at'])}{flag}"
        )
        lines += [f"      | {line}" for line in (version["text"] or "").splitlines() or [""]]
    if shown["other_findings"]:
        lines += ["", "Other findings on this post:"]
        for other in shown["other_findings"]:
            lines += ["", *_finding_lines(other)]
    return "\n".join(lines)


@command(violations, "show")
@click.argument("finding_id", type=int)
@format_option
def violations_show(finding_id: int, fmt: str) -> None:
    """The evidence: post text and versions, where and when, the findings and their history.

    This view is the secure store's own: it shows the full post text.
    """
    with app().db.session() as session:
        shown = review.show_finding(session, finding_id)
    if fmt == "json":
        _echo_json(shown)
    else:
        click.echo(_show_text(shown))


@command(violations, "update")
@click.argument("finding_id", type=int)
@click.option("--status", required=True, type=click.Choice([d.value for d in review.DISPOSITIONS]))
@click.option("--note", default=None, help="Why; required when dismissing.")
@format_option
def violations_update(finding_id: int, status: str, note: str | None, fmt: str) -> None:
    """Record a disposition (as $SOCIAL_MONITOR_ACTOR or [review] actor)."""
    actor = review.resolve_actor(app().settings)
    with app().db.session() as session:
        event = review.update_status(session, finding_id, status, note, actor)
        record = {
            "finding": finding_id,
            "status_from": event.status_from,
            "status_to": event.status_to,
            "actor": event.actor,
            "at": export.iso(event.created_at),
            "event_seq": event.seq,
        }
    emit(fmt, list(record), [record])


def _manifest_problems(path: Path) -> list[str]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        head_seq, head_hash = (
            int(manifest["chain"]["head_seq"]),
            str(manifest["chain"]["head_hash"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidInput(f"{path} is not a readable export manifest") from None
    problems = []
    with app().db.session() as session:
        anchor = audit.verify_anchor(session, head_seq, head_hash)
    if anchor is not None:
        problems.append(f"manifest {path.name}: exported head no longer in the trail: {anchor}")
    data = path.with_name(str(manifest.get("file", "")))
    if data.is_file():
        if export.file_sha256(data) != manifest.get("sha256"):
            problems.append(f"{data.name}: its SHA-256 differs from the manifest's (altered)")
    else:
        problems.append(f"{data.name}: not found beside the manifest, not checked")
    return problems


@command(audit_group, "verify")
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="An export manifest whose chain head must still be in the trail (repeatable); its "
    "export file is checked against its SHA-256 too.",
)
@format_option
def audit_verify(manifests: tuple[Path, ...], fmt: str) -> None:
    """Walk the review trail; exit 1 naming the first broken link or altered finding."""
    key = _optional_key()
    try:
        with app().db.session() as session:
            report = audit.verify(session, key)
    except SecretMissing:
        raise _key_missing() from None
    manifest_problems = [p for m in manifests for p in _manifest_problems(m)]
    ok = report.ok and not manifest_problems
    if fmt == "json":
        _echo_json({**report.as_dict(), "ok": ok, "manifest_problems": manifest_problems})
    else:
        if report.broken is not None:
            click.echo(f"trail BROKEN at {report.broken.describe()}")
        else:
            span = f"seq {report.first_seq}..{report.head_seq}" if report.events else "empty"
            click.echo(f"chain ok: {report.events} events ({span}), head {report.head_hash}")
        if report.checkpoints:
            click.echo(
                f"checkpoints: {report.checkpoints} signed, {report.purged_events} events purged"
            )
        click.echo(f"findings checked: {report.findings_checked}")
        for problem in report.finding_problems:
            click.echo(f"  {problem.describe()}")
        if report.finding_problem_count > len(report.finding_problems):
            click.echo(f"  ... {report.finding_problem_count} finding problems in all")
        for line in manifest_problems:
            click.echo(line)
    if not ok:
        sys.exit(1)


@command(cli, "export")
@click.option("--from", "start", required=True, metavar="DATE", help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, metavar="DATE", help="Last day, included.")
@click.option("--status", type=click.Choice([s.value for s in FindingStatus]))
@click.option("--category", type=click.Choice([c.value for c in Category]))
@click.option("--staff", "staff_id", type=int, metavar="ID")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--full-text", is_flag=True, help="Include post text, author and URL (unmasked).")
@click.option("--bom", is_flag=True, help="Start the CSV with a UTF-8 BOM (for Excel).")
@click.option("--force", is_flag=True, help="Replace an existing file and manifest.")
def export_cmd(
    start: str,
    end: str,
    status: str | None,
    category: str | None,
    staff_id: int | None,
    fmt: str,
    out: Path,
    full_text: bool,
    bom: bool,
    force: bool,
) -> None:
    """Write one row per finding created in the period (dates in practice time), with its
    evidence (masked unless --full-text) and disposition history, plus OUT.manifest.json."""
    settings = app().settings
    filters = export.make_filters(
        start,
        end,
        settings.practice.timezone,
        status=status,
        category=category,
        staff_id=staff_id,
    )
    try:
        actor: str | None = review.resolve_actor(settings)
    except review.ActorMissing:
        actor = None
    with app().db.session() as session:
        manifest = export.export_findings(
            session,
            out,
            filters,
            fmt="jsonl" if fmt == "jsonl" else "csv",
            full_text=full_text,
            bom=bom,
            overwrite=force,
            exported_by=actor,
        )
    click.echo(f"wrote {manifest['rows']} findings to {out} ({manifest['bytes']} bytes)")
    click.echo(f"sha256 {manifest['sha256']}")
    click.echo(f"chain head seq {manifest['chain']['head_seq']} {manifest['chain']['head_hash']}")
    click.echo(f"manifest {export.manifest_path(out)}")
    if full_text:
        click.echo("note: this file contains unmasked post text; keep it in the secure store")


@command(retention_group, "purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@format_option
def retention_purge(dry_run: bool, fmt: str) -> None:
    """Delete findings, their trail and posts older than [retention] years; the trail keeps a
    signed checkpoint so `audit verify` still passes."""
    settings = app().settings
    cutoff = retention.cutoff_for(datetime.now(UTC), settings.retention.years)
    try:
        with app().db.session() as session:
            if dry_run:
                outcome = retention.plan(session, cutoff)
            else:
                outcome = retention.purge(session, cutoff, _optional_key())
    except SecretMissing:
        raise _key_missing() from None
    record = outcome.as_dict()
    if fmt == "json":
        _echo_json(record)
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"retention {settings.retention.years} years: cutoff {record['cutoff']}")
    if outcome.events:
        click.echo(
            f"{verb} trail events seq {outcome.first_seq}..{outcome.last_seq} ({outcome.events})"
        )
    else:
        click.echo(f"{verb} no trail events")
    click.echo(
        f"{verb} {outcome.findings} findings, {outcome.digest_items} digest entries, "
        f"{outcome.posts} posts ({outcome.post_versions} versions)"
    )
    click.echo(
        f"{verb} {outcome.sync_runs} sync runs ({outcome.skipped_items} skipped items), "
        f"{outcome.digests} digests"
    )


__all__ = ["audit_verify", "export_cmd", "retention_purge", "violations_list"]
