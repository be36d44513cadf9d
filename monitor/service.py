"""The service's steps over the real parts: sync, scan, immediate alerts, the daily digest.

Each step checks ``stop`` between units of work (a source, a scan batch), so a SIGTERM lets the
unit in hand finish and commit, and no unit is left half-done. Each step reports a
``StepResult``; a step's failure is recorded by the layers below (sync runs, scan errors,
pending digests) and retried on the next cycle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from monitor.config import Settings
from monitor.scheduler import StepResult
from monitor.storage.database import Database
from monitor.storage.status import schedule_next_syncs
from monitor.sync import SourceProgress, SyncService

if TYPE_CHECKING:
    from alerts.service import AlertService, DeliveryOutcome
    from monitor.scan import ScanService

log = logging.getLogger(__name__)

# Outcomes after which a source waits for its next interval; others (failures) retry sooner.
_RESCHEDULED = frozenset({"ok", "partial"})


class ServiceSteps:
    """One instance's live objects; the spaCy model is loaded on the first scan only."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        instance: str,
        *,
        on_progress: Callable[[SourceProgress], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.instance = instance
        self.on_progress = on_progress
        self.now = clock or (lambda: datetime.now(UTC))

    @cached_property
    def sync_service(self) -> SyncService:
        return SyncService(self.db, self.settings, instance=self.instance)

    @cached_property
    def scan_service(self) -> ScanService:
        from monitor.cli.scan import build_scanner
        from monitor.scan import ScanService

        return ScanService(
            self.db,
            build_scanner(self.settings.policy),
            batch_size=self.settings.scheduler.scan_batch_size,
            lease_seconds=self.settings.scheduler.lease_seconds,
            instance=self.instance,
        )

    @cached_property
    def alert_service(self) -> AlertService:
        from alerts.email import notifier_from_settings
        from alerts.service import AlertService

        return AlertService(
            self.db,
            self.settings,
            notifier_from_settings(self.settings.alerts.email),
            owner=f"{self.instance}:alerts",
        )

    def _interval(self, platform: str) -> timedelta:
        section = getattr(self.settings.connectors, platform, None)
        return timedelta(minutes=int(getattr(section, "interval_minutes", 30)))

    # -- steps ---------------------------------------------------------------------------

    def sync(self, stop: threading.Event) -> StepResult:
        service = self.sync_service
        service.should_stop = stop.is_set
        run = service.run(progress=self.on_progress)
        results = run.sources
        held = len(run.held)
        finished = {
            p.source_id: self.now()
            for p in results
            if p.outcome is not None and p.outcome.value in _RESCHEDULED
        }
        schedule_next_syncs(
            self.db,
            finished,
            {p.source_id: self._interval(p.platform) for p in results if p.source_id in finished},
            self.settings.scheduler.jitter_seconds,
        )
        failed = [p for p in results if p.failed]
        posts = sum(p.posts_new + p.posts_edited for p in results)
        summary = f"{len(results)} source(s) synced, {posts} new or edited post(s)"
        if held:
            summary += f", {held} held by another instance"
        if failed:
            summary += f", {len(failed)} need attention"
        return StepResult("sync", ok=not failed, summary=summary)

    def scan(self, stop: threading.Event) -> StepResult:
        service = self.scan_service
        batch = self.settings.scheduler.scan_batch_size
        scanned = created = 0
        failed: list[int] = []
        while not stop.is_set():
            report = service.run(limit=batch)
            scanned += report.scanned
            created += report.findings_created
            failed.extend(report.failed)
            if report.scanned + len(report.failed) < batch:
                break
        summary = f"{scanned} post version(s) scanned, {created} finding(s)"
        if failed:
            summary += f", {len(failed)} failed (retried next cycle)"
        return StepResult("scan", ok=not failed, summary=summary)

    def flush_alerts(self, stop: threading.Event) -> StepResult:
        outcomes = self.alert_service.flush_immediate()
        return _delivery_result("flush_alerts", outcomes)

    def digest_due(self, now: datetime | None = None) -> bool:
        """Whether today's digest time has passed in the practice's time zone."""
        local = (now or self.now()).astimezone(ZoneInfo(self.settings.practice.timezone))
        return local.time() >= self.settings.alerts.digest.send_at

    def send_digest(self, stop: threading.Event, now: datetime | None = None) -> StepResult:
        outcomes = self.alert_service.send_daily()
        return _delivery_result("send_digest", outcomes)

    def retry_digests(self, stop: threading.Event) -> StepResult:
        """Deliver daily digests left pending by an earlier failure (no new one planned)."""
        outcomes = self.alert_service.deliver_pending("daily")
        return _delivery_result("retry_digests", outcomes)


def _delivery_result(name: str, outcomes: Sequence[DeliveryOutcome]) -> StepResult:
    sent = [o for o in outcomes if o.status == "sent"]
    unsent = [o for o in outcomes if o.status in ("pending", "failed")]
    summary = f"{len(sent)} email(s) sent"
    locations = [o.location for o in sent if o.location]
    if unsent:
        summary += f", {len(unsent)} left pending"
    return StepResult(name, ok=not unsent, summary=summary, details={"locations": locations})
