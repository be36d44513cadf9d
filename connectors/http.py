"""HTTP plumbing shared by the platform connectors: timeouts, base-URL rewriting, retries.

Neither tweepy nor facebook-sdk sets a timeout or retries, and tweepy hard-codes its host, so
every connector mounts a ``ConnectorAdapter`` on the ``requests.Session`` its client uses and
runs each API call through ``RetryPolicy.run``. The policy is deterministic when given a seeded
``random.Random``, a fake ``sleep`` and a fake clock, so tests never wait for real.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from connectors.base import RateLimited, TransientError
from monitor.config import ConnectorsSettings

T = TypeVar("T")

# A rate-limit reset due within ``max_inline_wait_seconds`` is waited for in place, but only
# this many times per call, so a server that keeps answering 429 cannot hold a run forever.
MAX_INLINE_RATE_LIMIT_WAITS = 3

# Loggers of the client libraries that print request URLs (Facebook access tokens travel in the
# query string), headers (X bearer tokens) and response bodies (post text) at DEBUG level.
_LEAKY_LOGGERS = ("tweepy", "urllib3.connectionpool", "facebook")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the default clock of every connector)."""
    return datetime.now(UTC)


def quiet_leaky_loggers() -> None:
    """Keep the client libraries' DEBUG output, which carries tokens and post text, out of logs.

    Raising these loggers to INFO is harmless for everything else they report.
    """
    for name in _LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


class RetryableFailure(Exception):
    """Raised inside a call wrapper for a failure worth retrying (5xx, timeout, reset).

    ``reason`` is short, safe text (a status code or an exception class name): it ends up in
    the ``TransientError`` message, so it never carries URLs, tokens or post text.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConnectorAdapter(HTTPAdapter):
    """An adapter that puts a timeout on every request and can point a client at another host.

    ``rewrite`` maps the client's built-in base URL (e.g. ``https://api.twitter.com``) to the
    configured one (a proxy or a test server); requests to other hosts go out unchanged.
    """

    def __init__(self, timeout: float, rewrite: tuple[str, str] | None = None) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout
        self.rewrite = rewrite

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if timeout is None:
            timeout = (self.timeout, self.timeout)
        if self.rewrite is not None and request.url is not None:
            old, new = self.rewrite
            if request.url.startswith(old):
                request.url = new + request.url[len(old) :]
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def mount_adapter(
    session: requests.Session, *, timeout: float, default_base: str, configured_base: str
) -> requests.Session:
    """Mount a ``ConnectorAdapter`` on ``session`` for http and https; returns the session."""
    default = default_base.rstrip("/")
    configured = configured_base.rstrip("/")
    rewrite = None if configured == default else (default, configured)
    adapter = ConnectorAdapter(timeout, rewrite)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def is_network_failure(exc: BaseException) -> str | None:
    """A safe reason when ``exc`` is a timeout or a broken connection, else None."""
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return "connection error"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection reset while reading"
    return None


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter, plus short rate-limit waits.

    ``run`` retries a call that raises ``RetryableFailure`` up to ``max_retries`` times, waiting
    a random time in ``[0, min(max_seconds, base_seconds * 2**attempt)]`` before each retry, then
    raises ``TransientError``. A ``RateLimited`` whose reset is at most
    ``max_inline_wait_seconds`` away is waited out and the call repeated; a later reset is
    re-raised for the sync service to reschedule the source. Every wait is added to
    ``waited_seconds`` so the connector can report it with the page it delays.

    ``hold`` records a quota that a *successful* response said is used up (X's
    ``x-rate-limit-remaining: 0``, Facebook's usage headers near 100%): the next call under
    the same key is treated as rate limited until then, instead of being sent to earn a 429.
    """

    max_retries: int
    base_seconds: float
    max_seconds: float
    max_inline_wait_seconds: float
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = utc_now
    waited_seconds: float = 0.0
    holds: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        connectors: ConnectorsSettings,
        max_retries: int,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> RetryPolicy:
        """A policy from the ``[connectors]`` backoff settings and a platform's retry budget."""
        return cls(
            max_retries=max_retries,
            base_seconds=connectors.backoff_base_seconds,
            max_seconds=connectors.backoff_max_seconds,
            max_inline_wait_seconds=connectors.max_inline_wait_seconds,
            rng=rng if rng is not None else random.Random(),
            sleep=sleep if sleep is not None else time.sleep,
            now=now if now is not None else utc_now,
        )

    def backoff_delay(self, attempt: int) -> float:
        """The full-jitter wait before retry number ``attempt + 1`` (attempt counts from 0)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2**attempt))
        return self.rng.uniform(0.0, ceiling)

    def take_waited(self) -> float:
        """Seconds waited since the last call, then reset to zero (one figure per page)."""
        waited, self.waited_seconds = self.waited_seconds, 0.0
        return waited

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)
            self.waited_seconds += seconds

    def hold(self, key: str, until: datetime) -> None:
        """Send no call under ``key`` before ``until`` (see the class docstring)."""
        if until > self.now():
            self.holds[key] = max(until, self.holds.get(key, until))

    def run(self, call: Callable[[], T], what: str, key: str | None = None) -> T:
        """Run ``call`` under the policy; ``what`` names the operation in error messages,
        ``key`` the quota it draws on (see ``hold``)."""
        attempt = 0
        inline_waits = 0
        while True:
            try:
                held = self.holds.get(key) if key is not None else None
                if held is not None and held > self.now():
                    raise RateLimited(f"{what}: quota used up until its reset", held)
                return call()
            except RetryableFailure as exc:
                if attempt >= self.max_retries:
                    raise TransientError(
                        f"{what}: {exc.reason} (gave up after {attempt + 1} attempts)"
                    ) from None
                self._wait(self.backoff_delay(attempt))
                attempt += 1
            except RateLimited as exc:
                delay = (exc.reset_at - self.now()).total_seconds()
                if inline_waits >= MAX_INLINE_RATE_LIMIT_WAITS or (
                    delay > self.max_inline_wait_seconds
                ):
                    raise
                # One second of margin: resets are whole seconds and clocks drift.
                self._wait(max(delay, 0.0) + 1.0)
                inline_waits += 1
