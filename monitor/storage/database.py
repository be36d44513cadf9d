"""The database handle: engine, sessions, and one clear error when it cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.errors import DatabaseUnavailable


def mask_url(url: str) -> str:
    """The URL with its password replaced, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"invalid database URL {mask_url(url)}") from None
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.update(pool_pre_ping=True, connect_args={"connect_timeout": 10})
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """Owns the engine and hands out sessions; one per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_db_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database.effective_url(), echo=settings.database.echo)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailable(self._describe(exc)) from None
        except ProgrammingError as exc:
            # PostgreSQL reports a missing table as a programming error (UndefinedTable).
            if "does not exist" in str(exc.orig):
                raise DatabaseUnavailable(self._describe(exc)) from None
            raise

    def check(self) -> None:
        """Raise DatabaseUnavailable unless the database answers and is migrated."""
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except OperationalError as exc:
            raise DatabaseUnavailable(self._describe(exc)) from None
        if "alembic_version" not in tables:
            raise DatabaseUnavailable(
                f"database {self.masked_url} is not initialized: run `social-monitor db upgrade`"
            )

    def _describe(self, exc: DBAPIError) -> str:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
            return (
                f"database {self.masked_url} is not initialized or is out of date: "
                "run `social-monitor db upgrade`"
            )
        return f"database {self.masked_url} is unreachable: {reason}"

    def dispose(self) -> None:
        self.engine.dispose()
