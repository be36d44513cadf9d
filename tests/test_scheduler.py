"""Scheduler wiring: DST-correct digest time, persisted jobs, coalesced misfires."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.config import Settings, parse_config
from monitor.scheduler import (
    Runtime,
    StepResult,
    build_scheduler,
    forget,
    jobstore_table,
    run_cycle,
    triggers,
)
from monitor.storage import migrate
from monitor.storage.database import Database


class FakeSteps:
    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.digests = threading.Semaphore(0)

    def _step(self, name: str) -> StepResult:
        self.calls.append(name)
        if name == self.fail:
            raise RuntimeError("boom")
        return StepResult(name)

    def sync(self, stop: threading.Event) -> StepResult:
        return self._step("sync")

    def scan(self, stop: threading.Event) -> StepResult:
        return self._step("scan")

    def flush_alerts(self, stop: threading.Event) -> StepResult:
        return self._step("flush_alerts")

    def send_digest(self, stop: threading.Event, now: datetime | None = None) -> StepResult:
        result = self._step("send_digest")
        self.digests.release()
        return result


def _settings(send_at: str = "07:00:00", tz: str = "America/New_York") -> Settings:
    return parse_config(
        {"practice": {"timezone": tz}, "alerts": {"digest": {"send_at": send_at}}}, "test.toml"
    )


def test_when_dst_ends_then_digest_stays_at_local_send_time() -> None:
    trigger = triggers(_settings("07:00:00"))["digest"]
    fire = trigger.get_next_fire_time(None, datetime(2026, 10, 29, 12, 0, tzinfo=UTC))
    seen = []
    for _ in range(4):
        seen.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert [f.hour for f in seen] == [7, 7, 7, 7]
    # Oct 30 .. Nov 2: DST ends in New York on Nov 1, so 07:00 local moves from 11:00Z to 12:00Z.
    assert [f.astimezone(UTC).hour for f in seen] == [11, 11, 12, 12]


def test_when_a_step_fails_then_the_next_steps_still_run() -> None:
    steps = FakeSteps(fail="sync")
    results = run_cycle(steps, threading.Event())
    assert steps.calls == ["sync", "scan", "flush_alerts"]
    assert [r.ok for r in results] == [False, True, True]


def test_when_stop_is_set_then_no_further_step_starts() -> None:
    stop = threading.Event()
    stop.set()
    assert run_cycle(FakeSteps(), stop) == []


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'sched.db'}")
    migrate.upgrade(db)
    return db


def test_when_restarted_then_persisted_schedule_is_kept_and_changed_config_replaces_it(
    database: Database,
) -> None:
    settings = _settings("07:00:00")
    first = build_scheduler(
        settings, database.url, "inst-a", Runtime(FakeSteps(), threading.Event())
    )
    kept = first.get_job("digest").next_run_time
    first.shutdown(wait=False)
    again = build_scheduler(
        settings, database.url, "inst-a", Runtime(FakeSteps(), threading.Event())
    )
    assert again.get_job("digest").next_run_time == kept
    again.shutdown(wait=False)
    changed = build_scheduler(
        _settings("18:30:00"), database.url, "inst-a", Runtime(FakeSteps(), threading.Event())
    )
    next_run = changed.get_job("digest").next_run_time
    assert (next_run.hour, next_run.minute) == (18, 30)
    changed.shutdown(wait=False)
    forget("inst-a")


def test_when_digest_came_due_while_down_then_it_runs_once_after_restart(
    database: Database,
) -> None:
    settings = _settings("07:00:00")
    first = build_scheduler(
        settings, database.url, "inst-b", Runtime(FakeSteps(), threading.Event())
    )
    first.shutdown(wait=False)
    # The process was down across its digest time: the stored next run is now in the past.
    store = SQLAlchemyJobStore(url=database.url, tablename=jobstore_table("inst-b"))
    store.start(BackgroundScheduler(), "default")
    for job_id, delta in (("digest", -timedelta(minutes=3)), ("cycle", timedelta(hours=1))):
        job = store.lookup_job(job_id)
        job.next_run_time = datetime.now(UTC) + delta
        store.update_job(job)
    store.shutdown()
    steps = FakeSteps()
    second = build_scheduler(settings, database.url, "inst-b", Runtime(steps, threading.Event()))
    second.resume()
    assert steps.digests.acquire(timeout=10)
    time.sleep(0.5)
    second.shutdown(wait=True)
    assert steps.calls.count("send_digest") == 1
    forget("inst-b")


def test_when_jobstore_table_exists_then_migrations_still_match_models(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.storage.migrate import include_object
    from monitor.storage.models import Base

    scheduler = build_scheduler(
        _settings(), database.url, "inst-c", Runtime(FakeSteps(), threading.Event())
    )
    scheduler.shutdown(wait=False)
    forget("inst-c")
    with database.engine.connect() as conn:
        assert jobstore_table("inst-c") in conn.dialect.get_table_names(conn)
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        assert compare_metadata(ctx, Base.metadata) == []
