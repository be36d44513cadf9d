"""The sync service: pull every due source through its connector and store what comes back.

What it promises:
- One source's failure never stops the others; each run is recorded (``sync_runs``) before the
  first request and closed with its outcome and a reason that carries no token and no post text.
- A page's posts, skipped items and cursor are committed together, so a crash anywhere and a
  rerun give exactly the same stored posts (see ``monitor.storage.posts``).
- Rate limits: a reset within ``max_inline_wait_seconds`` is waited for in place (a few times at
  most), a later one reschedules the source (``next_sync_at``) with its cursor kept.
- Expired tokens make the source ``needs_reauth``; an API that refuses the source makes it
  ``no_api_access``, a coverage gap the admin sees. Both need a person, so both count as failures.
- Transient and unexpected errors fail the run; the source is retried next cycle.
- After a complete fetch, a reconcile pass asks the platform which recent posts it still shows
  and marks the others deleted, keeping their text and versions as evidence.
- Direct messages are never stored from a staff member's account whose consent does not
  cover them.

The service takes its connectors, clock and sleep by injection; it imports no SQL library.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from connectors.base import (
    AuthExpired,
    ConfigurationError,
    Connector,
    ConnectorError,
    NoApiAccess,
    RateLimited,
    TransientError,
)
from monitor.config import Settings
from monitor.crypto import TokenCipher
from monitor.domain import (
    ConsentScope,
    FetchedPage,
    FetchedPost,
    SkippedItem,
    SourceKind,
    SourceRef,
    SourceStatus,
    SyncOutcome,
)
from monitor.errors import DatabaseUnavailable, MonitorError
from monitor.storage import posts as post_store
from monitor.storage import sources as source_store
from monitor.storage.database import Database
from monitor.storage.sources import LeaseLost, SourceRow

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[Settings], Connector]

# Outcomes a person must look at: the CLI exits 1 when any run ends with one of them.
FAILED_OUTCOMES = frozenset(
    {SyncOutcome.FAILED, SyncOutcome.AUTH_EXPIRED, SyncOutcome.NO_API_ACCESS}
)
# Column sizes of ``posts``: a longer value is skipped as malformed rather than failing a page.
_LIMITS = {"external_id": 200, "platform": 20, "author_name": 200, "author_role": 40}


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_instance() -> str:
    """This process's name in leases and runs: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SourceProgress:
    """Where one source's sync stands; passed to the progress callback after every page and
    once more when the source is done (``outcome`` set)."""

    source_id: int
    label: str
    platform: str = ""
    run_id: int | None = None
    pages: int = 0
    posts_fetched: int = 0
    posts_new: int = 0
    posts_edited: int = 0
    posts_deleted: int = 0
    skipped: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    outcome: SyncOutcome | None = None
    error: str | None = None
    next_sync_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES


@dataclass
class SyncSummary:
    """Every source's final progress, in the order they ran."""

    sources: list[SourceProgress] = field(default_factory=list)
    # Ids of due sources another instance was syncing (left to it).
    held: list[int] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceProgress]:
        return [s for s in self.sources if s.failed]

    def total(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.sources)

    def count(self, outcome: SyncOutcome) -> int:
        return sum(1 for s in self.sources if s.outcome is outcome)


class _Finished(Exception):
    """Internal: the source's run ended with this outcome (raised to leave the page loop)."""

    def __init__(
        self,
        outcome: SyncOutcome,
        error: str | None,
        *,
        status: SourceStatus | None = None,
        next_sync_at: datetime | None = None,
    ) -> None:
        super().__init__(error or outcome.value)
        self.outcome = outcome
        self.error = error
        self.status = status
        self.next_sync_at = next_sync_at


def _too_long(post: FetchedPost) -> str | None:
    for name, limit in _LIMITS.items():
        if len(getattr(post, name)) > limit:
            return f"{name} longer than {limit} characters"
    return None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SyncService:
    """Runs the connectors over the due sources and stores their pages."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        connectors: Mapping[str, ConnectorFactory] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        instance: str | None = None,
        reconcile_window: timedelta | None = None,  # default: [connectors] reconcile_days
        max_inline_waits: int = 3,
        cipher: TokenCipher | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        if connectors is None:
            from connectors.registry import REGISTRY

            connectors = REGISTRY
        self.db = db
        self.settings = settings
        self.factories = connectors
        self.clock = clock
        self.sleep = sleep
        self.instance = instance or default_instance()
        self.reconcile_window = (
            reconcile_window
            if reconcile_window is not None
            else timedelta(days=settings.connectors.reconcile_days)
        )
        self.max_inline_waits = max_inline_waits
        self.lease_seconds = float(settings.scheduler.lease_seconds)
        self._cipher = cipher
        # Checked after each committed page: a shutdown stops between pages, never inside one.
        self.should_stop = should_stop
        self._connectors: dict[str, Connector] = {}

    # -- the whole cycle -----------------------------------------------------------------

    def run(
        self,
        *,
        source_id: int | None = None,
        platform: str | None = None,
        progress: Callable[[SourceProgress], None] | None = None,
    ) -> SyncSummary:
        """Sync every due source once (or just ``source_id``, due or not, if active).

        Sources whose platform is disabled in the config, or held by another instance, are
        left alone. Raises only when the database itself fails.
        """
        summary = SyncSummary()
        rows = source_store.due_sources(
            self.db,
            self.clock(),
            source_id=source_id,
            platform=platform,
            ignore_schedule=source_id is not None,
        )
        for row in rows:
            if self.should_stop():
                break  # a shutdown: the sources left are due again next cycle
            if not self.platform_enabled(row.platform):
                log.info("source %s skipped: connector %s is disabled", row.id, row.platform)
                continue
            result = self.sync_source(row, progress)
            if result is None:
                summary.held.append(row.id)
            else:
                summary.sources.append(result)
        return summary

    def platform_enabled(self, platform: str) -> bool:
        """Whether the platform's connector is switched on in the config."""
        section = getattr(self.settings.connectors, platform, None)
        return bool(getattr(section, "enabled", True))

    # -- one source ----------------------------------------------------------------------

    def sync_source(
        self, row: SourceRow, progress: Callable[[SourceProgress], None] | None = None
    ) -> SourceProgress | None:
        """Sync one source under its lease; None when another instance holds it."""
        now = self.clock()
        if not source_store.claim(self.db, row.id, self.instance, now, self.lease_seconds):
            log.info("source %s skipped: another instance is syncing it", row.id)
            return None
        state = SourceProgress(source_id=row.id, label=row.label, platform=row.platform)
        try:
            state.run_id = source_store.start_run(self.db, row.id, self.instance, now)
        except BaseException:
            source_store.release(self.db, row.id, self.instance)
            raise
        notify = progress or (lambda _state: None)
        try:
            self._fetch_all(row, state, notify)
            finished = _Finished(SyncOutcome.PARTIAL if state.skipped else SyncOutcome.OK, None)
        except _Finished as exc:
            finished = exc
        except LeaseLost:
            finished = _Finished(SyncOutcome.FAILED, "lease lost to another instance")
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # one source's bug must not stop the others
            log.error(
                "source %s: unexpected %s\n%s",
                row.id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            finished = _Finished(SyncOutcome.FAILED, f"unexpected error ({type(exc).__name__})")
        except BaseException:  # Ctrl-C or exit: close the run and free the source for a rerun
            source_store.finish_run(
                self.db,
                source_id=row.id,
                run_id=state.run_id,
                owner=self.instance,
                outcome=SyncOutcome.FAILED,
                now=self.clock(),
                error=source_store.INTERRUPTED,
            )
            raise
        state.outcome = finished.outcome
        state.error = finished.error
        state.next_sync_at = finished.next_sync_at
        source_store.finish_run(
            self.db,
            source_id=row.id,
            run_id=state.run_id,
            owner=self.instance,
            outcome=finished.outcome,
            now=self.clock(),
            error=finished.error,
            status=finished.status,
            next_sync_at=finished.next_sync_at,
        )
        log.info(
            "source %s: %s, %s posts in %s pages",
            row.id,
            state.outcome,
            state.posts_fetched,
            state.pages,
        )
        notify(state)
        return state

    def _fetch_all(
        self, row: SourceRow, state: SourceProgress, notify: Callable[[SourceProgress], None]
    ) -> None:
        ref = self._ref(row)
        connector = self._connector(row.platform)
        cursor = row.cursor
        assert state.run_id is not None
        while True:
            try:
                resolved = connector.resolve_external_id(ref)
                if resolved:
                    source_store.set_external_id(self.db, row.id, resolved)
                    ref = replace(ref, external_id=resolved)
                for page in connector.fetch(ref, cursor):
                    self._store(row, ref, state, page)
                    cursor = page.cursor
                    notify(state)
                    if self.should_stop():
                        raise _Finished(
                            SyncOutcome.INTERRUPTED,
                            "stopped on request after a committed page; resumes from its cursor",
                        )
                self._reconcile(connector, ref, state)
                return
            except RateLimited as exc:
                reset_at = _aware(exc.reset_at) or self.clock()
                delay = max(0.0, (reset_at - self.clock()).total_seconds())
                inline = self.settings.connectors.max_inline_wait_seconds
                if delay <= inline and state.waits < self.max_inline_waits:
                    state.waits += 1
                    state.waited_seconds += delay
                    notify(state)
                    self.sleep(delay)
                    continue  # resume from the last committed cursor
                raise _Finished(
                    SyncOutcome.RATE_LIMITED,
                    f"rate limited until {reset_at.isoformat(timespec='seconds')}",
                    next_sync_at=reset_at,
                ) from None
            except AuthExpired as exc:
                raise _Finished(
                    SyncOutcome.AUTH_EXPIRED,
                    f"authorization expired or revoked: {exc}",
                    status=SourceStatus.NEEDS_REAUTH,
                ) from None
            except NoApiAccess as exc:
                raise _Finished(
                    SyncOutcome.NO_API_ACCESS,
                    f"no API access: {exc}",
                    status=SourceStatus.NO_API_ACCESS,
                ) from None
            except (TransientError, ConfigurationError) as exc:
                raise _Finished(SyncOutcome.FAILED, str(exc)) from None
            except ConnectorError as exc:
                raise _Finished(SyncOutcome.FAILED, f"{type(exc).__name__}: {exc}") from None

    def _store(
        self, row: SourceRow, ref: SourceRef, state: SourceProgress, page: FetchedPage
    ) -> None:
        assert state.run_id is not None
        keep: list[FetchedPost] = []
        skipped = list(page.skipped)
        for post in page.posts:
            if row.staff_id is not None and not ref.consent.covers(post.channel):
                # Outside the staff member's consent: not stored, not even as a skipped item.
                # (Consent is a staff member's; practice-owned sources are the practice's own.)
                skipped.append(
                    SkippedItem(
                        reason="direct message outside the account's consent scope",
                        external_id=post.external_id[:200],
                    )
                )
                continue
            problem = _too_long(post)
            if problem is not None:
                skipped.append(SkippedItem(reason=problem, external_id=post.external_id[:200]))
                continue
            keep.append(self._with_author(row, post))
        stats = post_store.store_page(
            self.db,
            source_id=row.id,
            run_id=state.run_id,
            owner=self.instance,
            posts=keep,
            skipped=skipped,
            cursor=page.cursor,
            now=self.clock(),
            lease_seconds=self.lease_seconds,
            waited_seconds=page.waited_seconds,
        )
        state.pages += 1
        state.posts_fetched += stats.fetched
        state.posts_new += stats.new
        state.posts_edited += stats.edited
        state.skipped += stats.skipped
        if page.waited_seconds:
            state.waits += 1
            state.waited_seconds += page.waited_seconds

    def _with_author(self, row: SourceRow, post: FetchedPost) -> FetchedPost:
        """Fill what the connector left empty from the staff member and the bio snapshot
        (the missing-disclosure rule needs the bio); make naive times UTC."""
        changes: dict[str, object] = {}
        if not post.author_name and (row.staff_name or row.display_name):
            changes["author_name"] = row.staff_name or row.display_name
        if not post.author_role and row.staff_role:
            changes["author_role"] = row.staff_role
        if not post.author_bio and row.bio_snapshot:
            changes["author_bio"] = row.bio_snapshot
        if post.published_at is not None and post.published_at.tzinfo is None:
            changes["published_at"] = _aware(post.published_at)
        if post.updated_at is not None and post.updated_at.tzinfo is None:
            changes["updated_at"] = _aware(post.updated_at)
        return replace(post, **changes) if changes else post  # type: ignore[arg-type]

    def _reconcile(self, connector: Connector, ref: SourceRef, state: SourceProgress) -> None:
        """Mark recent posts the platform no longer shows as deleted (evidence kept)."""
        assert state.run_id is not None
        if self.reconcile_window <= timedelta(0):
            return
        since = self.clock() - self.reconcile_window
        for batch in post_store.live_external_ids(self.db, ref.id, since):
            shown = connector.existing(ref, batch)
            if shown is None:
                return  # this connector cannot tell
            gone = [external_id for external_id in batch if external_id not in shown]
            state.posts_deleted += post_store.mark_deleted(
                self.db,
                source_id=ref.id,
                run_id=state.run_id,
                external_ids=gone,
                now=self.clock(),
            )

    # -- building blocks -----------------------------------------------------------------

    def _connector(self, platform: str) -> Connector:
        if platform not in self._connectors:
            factory = self.factories.get(platform)
            if factory is None:
                raise _Finished(SyncOutcome.FAILED, f"no connector for platform {platform!r}")
            self._connectors[platform] = factory(self.settings)
        return self._connectors[platform]

    def _ref(self, row: SourceRow) -> SourceRef:
        token: str | None = None
        if row.token_encrypted:
            try:
                if self._cipher is None:
                    self._cipher = TokenCipher.from_settings(self.settings)
                token = self._cipher.decrypt(row.token_encrypted)
            except MonitorError as exc:
                raise _Finished(SyncOutcome.FAILED, str(exc)) from None
        try:
            kind = SourceKind(row.kind)
            consent = ConsentScope(row.consent_scope)
        except ValueError:
            raise _Finished(SyncOutcome.FAILED, "source has an unknown kind or consent") from None
        return SourceRef(
            id=row.id,
            platform=row.platform,
            kind=kind,
            external_id=row.external_id,
            handle=row.handle,
            token=token,
            consent=consent,
            path=row.path,
        )
