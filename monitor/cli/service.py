"""``run`` (the scheduled service, or one cycle with ``--once``) and ``status``."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import click

from monitor.cli.common import app, cli, command, emit, render_table
from monitor.config import Settings
from monitor.logs import configure_logging
from monitor.scheduler import (
    Runtime,
    StepResult,
    build_scheduler,
    forget,
    run_cycle,
    triggers,
)
from monitor.service import ServiceSteps
from monitor.storage.status import service_status
from monitor.sync import SourceProgress

log = logging.getLogger("monitor.service")


def _instance_name(value: str | None) -> str:
    return value or os.environ.get("SOCIAL_MONITOR_INSTANCE") or socket.gethostname()


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop``; the previous handlers come back afterwards."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _progress_line(state: SourceProgress) -> None:
    if state.outcome is None:
        return
    line = (
        f"  {state.label}: {state.outcome.value}, {state.posts_fetched} fetched, "
        f"{state.posts_new} new, {state.posts_edited} edited, {state.pages} page(s)"
    )
    if state.waits:
        line += f", waited {state.waited_seconds:.0f}s"
    if state.error:
        line += f" ({state.error})"
    click.echo(line)


def _report(results: list[StepResult]) -> None:
    for result in results:
        mark = "ok" if result.ok else "FAILED"
        click.echo(f"{result.name}: {mark}: {result.summary}")
        for location in result.details.get("locations", []):
            click.echo(f"  written to {location}")


@command(cli, "run")
@click.option("--once", is_flag=True, help="Do one full cycle and exit (for cron).")
@click.option("--instance", help="This instance's name (default: $SOCIAL_MONITOR_INSTANCE, host).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None)
def run(once: bool, instance: str | None, log_format: str | None) -> None:
    """Run the service: sync, scan, alert and send the daily digest on schedule.

    SIGTERM or SIGINT stops it after the unit of work in hand is committed (exit code 0).
    With --once, the exit code says whether anything failed.
    """
    ctx = app()
    settings = ctx.settings
    configure_logging(settings, log_format)
    db = ctx.db
    db.check()
    name = _instance_name(instance)
    owner = f"{name}:{os.getpid()}"
    stop = threading.Event()
    steps = ServiceSteps(settings, db, owner, on_progress=_progress_line if once else None)
    with _stop_on_signals(stop):
        if once:
            results = _one_cycle(steps, stop)
        else:
            _serve(settings, db.url, name, steps, stop)
            return
    _report(results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


def _one_cycle(steps: ServiceSteps, stop: threading.Event) -> list[StepResult]:
    """Sync, scan, immediate alerts, then today's digest if its time has passed."""
    results = run_cycle(steps, stop)
    if not stop.is_set():
        if steps.digest_due():
            results.append(steps.send_digest(stop))
        else:
            results.append(steps.retry_digests(stop))
    return results


def _serve(
    settings: Settings, db_url: str, name: str, steps: ServiceSteps, stop: threading.Event
) -> None:
    """Run the scheduler until ``stop``; then wait for the job in hand to finish."""

    def on_result(results: list[StepResult]) -> None:
        for r in results:
            log.info("%s: %s", r.name, r.summary, extra={"step": r.name, "ok": r.ok})

    scheduler = build_scheduler(settings, db_url, name, Runtime(steps, stop, on_result))
    scheduler.modify_job("cycle", next_run_time=datetime.now(UTC))
    scheduler.resume()
    log.info("service started", extra={"instance": name})
    while not stop.wait(0.5):
        pass
    scheduler.shutdown(wait=True)
    forget(name)
    log.info("service stopped", extra={"instance": name})


def _when(value: datetime | None, default: str = "-", zone: ZoneInfo | None = None) -> str:
    """A time in the practice's zone (UTC if none), with the zone's abbreviation."""
    if value is None:
        return default
    return value.astimezone(zone or UTC).strftime("%Y-%m-%d %H:%M %Z")


def _next_sync(
    settings: Settings, platform: str, at: datetime | None, now: datetime, zone: ZoneInfo
) -> str:
    section = getattr(settings.connectors, platform, None)
    if section is not None and not getattr(section, "enabled", True):
        return "connector off"
    return "due now" if at is None or at <= now else _when(at, zone=zone)


@command(cli, "status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def status(fmt: str) -> None:
    """Each source's last sync and next run, the scan backlog, digests, and what needs an admin."""
    from monitor.policy.policy import Policy

    ctx = app()
    settings = ctx.settings
    ctx.db.check()
    policy = Policy.from_settings(settings.policy)
    state = service_status(ctx.db, policy.version)
    now = datetime.now(UTC)
    zone = ZoneInfo(settings.practice.timezone)
    next_digest = triggers(settings)["digest"].get_next_fire_time(None, now)
    if fmt == "json":
        data: dict[str, Any] = state.as_dict()
        data["policy_version"] = policy.version
        data["next_digest"] = next_digest
        click.echo(json.dumps(data, indent=2, default=str))
        return
    rows = [
        {
            "id": s.id,
            "account": s.account,
            "platform": s.platform,
            "status": s.status,
            "last_sync": _when(s.last_sync, "never", zone),
            "outcome": s.outcome or "-",
            "next_sync": _next_sync(settings, s.platform, s.next_sync, now, zone),
        }
        for s in state.sources
    ]
    click.echo("Sources")
    emit(
        "table", ["id", "account", "platform", "status", "last_sync", "outcome", "next_sync"], rows
    )
    click.echo("")
    last = state.last_digest
    summary = [
        ["policy version", policy.version],
        ["scan backlog", f"{state.scan_backlog} post version(s)"],
        [
            "last digest",
            f"{last.period_key}, sent {_when(last.sent_at, zone=zone)}" if last else "none yet",
        ],
        ["next digest", _when(next_digest, zone=zone)],
        ["emails pending", str(state.pending_digests)],
    ]
    click.echo(render_table(["", ""], summary).split("\n", 1)[1])
    click.echo("")
    if state.attention:
        click.echo("Needs an admin:")
        for item in state.attention:
            click.echo(f"  - {item}")
    else:
        click.echo("Nothing needs an admin.")
