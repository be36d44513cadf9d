"""Alembic, driven from code: the migrations ship inside the installed ``migrations`` package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

import migrations
from monitor.errors import DatabaseUnavailable
from monitor.storage.database import Database, mask_url

# Tables owned by other libraries (APScheduler's job stores, one per instance) are not ours.
FOREIGN_TABLE_PREFIXES = ("apscheduler_jobs",)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic filter: leave other libraries' tables (and their indexes) alone."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return not (table or "").startswith(FOREIGN_TABLE_PREFIXES)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Alembic's config is interpolated; escape % in passwords.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(db: Database, fn: str, *args: str) -> None:
    cfg = alembic_config(db.url)
    try:
        with db.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            getattr(command, fn)(cfg, *args)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        raise DatabaseUnavailable(f"database {mask_url(db.url)}: {reason}") from None


def upgrade(db: Database, revision: str = "head") -> None:
    _run(db, "upgrade", revision)


def downgrade(db: Database, revision: str) -> None:
    _run(db, "downgrade", revision)


def current(db: Database) -> str | None:
    try:
        with db.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        raise DatabaseUnavailable(f"database {mask_url(db.url)} is unreachable: {reason}") from None


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
