"""The connector interface and the error family every connector raises.

A connector talks to one platform and yields normalized pages; it never touches the database.
The sync service stores each page, and only then saves the page's cursor, so a crash between
pages loses nothing and a rerun duplicates nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import ClassVar

from monitor.domain import FetchedPage, SourceRef


class ConnectorError(Exception):
    """Base of every error a connector raises. Messages never carry tokens or post text."""


class AuthExpired(ConnectorError):
    """The token was expired or revoked: the source needs re-authorization by an admin."""


class RateLimited(ConnectorError):
    """The platform asked us to wait; retry the source at ``reset_at`` with the same cursor."""

    def __init__(self, message: str, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class TransientError(ConnectorError):
    """A failure worth retrying later (5xx, timeout, reset) after in-connector retries ran out."""


class NoApiAccess(ConnectorError):
    """The platform refuses API access to this kind of source (a coverage gap, not a failure)."""


class ConfigurationError(ConnectorError):
    """The source cannot be fetched as configured (missing token, unknown handle, bad file)."""


class Connector(ABC):
    """Pulls posts for one source, one page at a time."""

    platform: ClassVar[str]

    @abstractmethod
    def fetch(self, source: SourceRef, cursor: str | None) -> Iterator[FetchedPage]:
        """Yield pages newer than ``cursor``; each page carries the cursor to save after it.

        Raises AuthExpired, RateLimited, TransientError, NoApiAccess or ConfigurationError.
        """

    def resolve_external_id(self, source: SourceRef) -> str | None:
        """The source's platform id when it was registered by handle only (e.g. X handle to
        user id); the sync service saves it so the lookup, and its cost, happen once.

        ``None`` when the connector needs no such id or the source already has one.
        """
        return None

    def existing(self, source: SourceRef, external_ids: Iterable[str]) -> set[str] | None:
        """Of ``external_ids``, those the platform still shows (for the deletion reconcile).

        ``None`` means this connector cannot tell, so nothing is marked deleted.
        """
        return None
