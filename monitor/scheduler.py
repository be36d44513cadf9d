"""APScheduler wiring only: when each step of the service cycle runs.

Two jobs, persisted in the database through APScheduler's SQLAlchemy job store:
- ``cycle`` every minute: sync the sources that are due (each on its platform's interval, with
  per-source jitter kept as data in ``sources.next_sync_at``), scan what was stored, flush the
  immediate alerts;
- ``digest`` at the configured local time in the practice's time zone (a cron trigger on the
  zone, so it stays at that wall-clock time across DST changes).

Both coalesce misfires and never overlap themselves. Each instance keeps its own job-store table
(APScheduler's documentation warns that schedulers sharing a store each run every job); which
instance does a piece of work is decided by database leases, and the digest's once-only
guarantee is a unique constraint, not a scheduling assumption.

Jobs are pickled by the store, so they name a module-level function and plain arguments; the
live objects they need are looked up in ``_RUNTIMES`` by instance name.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Settings

log = logging.getLogger(__name__)

JOBSTORE_TABLE_PREFIX = "apscheduler_jobs"


@dataclass
class StepResult:
    """What one step of the cycle did; ``ok`` is False when anything needs a person."""

    name: str
    ok: bool = True
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Steps(Protocol):
    """The work the scheduler triggers; ``stop`` is set when the process is asked to exit,
    and long steps check it between units of work (pages, batches)."""

    def sync(self, stop: threading.Event) -> StepResult: ...

    def scan(self, stop: threading.Event) -> StepResult: ...

    def flush_alerts(self, stop: threading.Event) -> StepResult: ...

    def send_digest(self, stop: threading.Event, now: datetime | None = None) -> StepResult: ...


def run_cycle(steps: Steps, stop: threading.Event) -> list[StepResult]:
    """One full cycle: sync, scan, immediate alerts. A step's failure does not skip the next."""
    results: list[StepResult] = []
    for name in ("sync", "scan", "flush_alerts"):
        if stop.is_set():
            break
        try:
            results.append(getattr(steps, name)(stop))
        except Exception as exc:
            log.exception("step failed", extra={"step": name})
            results.append(StepResult(name, ok=False, summary=f"{type(exc).__name__}: {exc}"))
    return results


@dataclass
class Runtime:
    steps: Steps
    stop: threading.Event
    on_result: Callable[[list[StepResult]], None] = lambda _results: None


_RUNTIMES: dict[str, Runtime] = {}


def job_cycle(instance: str) -> None:
    """The persisted job's target: one cycle on this instance's live objects."""
    runtime = _RUNTIMES.get(instance)
    if runtime is None or runtime.stop.is_set():
        return
    runtime.on_result(run_cycle(runtime.steps, runtime.stop))


def job_digest(instance: str) -> None:
    runtime = _RUNTIMES.get(instance)
    if runtime is None or runtime.stop.is_set():
        return
    try:
        result = runtime.steps.send_digest(runtime.stop)
    except Exception as exc:
        log.exception("digest step failed")
        result = StepResult("send_digest", ok=False, summary=f"{type(exc).__name__}: {exc}")
    runtime.on_result([result])


def jobstore_table(instance: str) -> str:
    """This instance's own job-store table: one per instance name, stable across restarts."""
    slug = re.sub(r"[^a-z0-9]+", "_", instance.lower()).strip("_")[:40] or "default"
    return f"{JOBSTORE_TABLE_PREFIX}_{slug}"


def triggers(settings: Settings) -> dict[str, Any]:
    zone = ZoneInfo(settings.practice.timezone)
    send_at = settings.alerts.digest.send_at
    return {
        "cycle": IntervalTrigger(minutes=1, timezone=zone),
        "digest": CronTrigger(hour=send_at.hour, minute=send_at.minute, timezone=zone),
    }


def build_scheduler(
    settings: Settings, db_url: str, instance: str, runtime: Runtime
) -> BackgroundScheduler:
    """A started-paused scheduler whose jobs match the config; ``resume()`` sets it going.

    Existing persisted jobs keep their next run time when their trigger is unchanged, so a
    restart neither loses a schedule nor forgets a digest that came due while it was down.
    """
    _RUNTIMES[instance] = runtime
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=db_url, tablename=jobstore_table(instance))},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler.misfire_grace_seconds,
        },
        timezone=ZoneInfo(settings.practice.timezone),
    )
    scheduler.start(paused=True)
    functions = {"cycle": job_cycle, "digest": job_digest}
    for job_id, trigger in triggers(settings).items():
        existing = scheduler.get_job(job_id)
        if existing is not None and str(existing.trigger) == str(trigger):
            continue
        scheduler.add_job(
            functions[job_id],
            trigger=trigger,
            args=[instance],
            id=job_id,
            name=job_id,
            replace_existing=True,
        )
    return scheduler


def next_runs(scheduler: BackgroundScheduler) -> dict[str, datetime | None]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs()}


def forget(instance: str) -> None:
    _RUNTIMES.pop(instance, None)
