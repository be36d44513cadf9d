"""Digest and alert commands: preview a digest, send it now, flush immediate alerts.

Sending never bypasses the record: ``digest send`` plans the day's digest (or finds it already
planned) and delivers every pending one, so running it twice, or next to the scheduler, still
sends one email per period. Exit code 1 when something stays undelivered (it will be retried).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from alerts.digest import Renderer
from alerts.email import notifier_from_settings
from alerts.service import AlertService, DeliveryOutcome
from monitor.cli.common import app, command, emit, fail, format_option, subgroup

digest = subgroup("digest", "Preview and send the daily digest email.")
alerts = subgroup("alerts", "Immediate alerts for critical findings.")

OUTCOME_COLUMNS = ["id", "kind", "period", "status", "attempts", "items", "delivered_to", "error"]

date_option = click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The digest's date (YYYY-MM-DD) in the practice's time zone; default today.",
)


def _service(*, send: bool) -> AlertService:
    ctx = app()
    settings = ctx.settings
    notifier = notifier_from_settings(settings.alerts.email) if send else None
    return AlertService(ctx.db, settings, notifier)


def _row(o: DeliveryOutcome) -> dict[str, Any]:
    return {
        "id": o.digest_id,
        "kind": o.kind,
        "period": o.period_key,
        "status": o.status,
        "attempts": o.attempts,
        "items": o.items,
        "delivered_to": o.location,
        "message_id": o.message_id,
        "error": o.error,
    }


def _report(outcomes: list[DeliveryOutcome], fmt: str, nothing: str) -> None:
    if not outcomes and fmt == "table":
        click.echo(nothing)
        return
    emit(fmt, OUTCOME_COLUMNS, [_row(o) for o in outcomes])
    if fmt == "table":
        for o in outcomes:
            if o.location:
                click.echo(f"{o.kind} {o.period_key} written to {Path(o.location).resolve()}")
    stuck = [o for o in outcomes if o.status in ("pending", "failed")]
    if stuck:
        first = stuck[0]
        fail(
            f"{len(stuck)} message(s) not delivered; {first.kind} {first.period_key}: "
            f"{first.error} ({'will retry' if first.status == 'pending' else 'gave up'})"
        )


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None


@command(digest, "preview")
@date_option
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the HTML version to this file.",
)
def digest_preview(day: Any, html_path: str | None) -> None:
    """Render the digest (as recorded, or as it would be planned now) without sending it."""
    service = _service(send=False)
    view = service.preview_daily(_day(day))
    body = Renderer(service.settings.alerts.digest.template_dir or None).render(view)
    click.echo(f"Subject: {body.subject}\n")
    click.echo(body.text)
    if html_path:
        Path(html_path).write_text(body.html, encoding="utf-8")
        click.echo(f"HTML written to {html_path}", err=True)


@command(digest, "send")
@date_option
@format_option
def digest_send(day: Any, fmt: str) -> None:
    """Record the day's digest (once) and deliver it and any earlier pending digest now."""
    outcomes = _service(send=True).send_daily(_day(day))
    _report(outcomes, fmt, "nothing to send: the digest for this day was already sent")


@command(digest, "list")
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@format_option
def digest_list(limit: int, fmt: str) -> None:
    """Recent digests and immediate alerts with their delivery state."""
    emit(fmt, OUTCOME_COLUMNS, [_row(o) for o in _service(send=False).list_digests(limit)])


@command(alerts, "flush")
@format_option
def alerts_flush(fmt: str) -> None:
    """Email critical findings not yet alerted (one email per batch window), retry pending."""
    outcomes = _service(send=True).flush_immediate()
    _report(outcomes, fmt, "no critical finding waiting for an alert")
