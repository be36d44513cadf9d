"""The models and the migrations agree, and upgrade/downgrade both work, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from monitor.storage import migrate
from monitor.storage.database import Database
from monitor.storage.migrate import include_object
from monitor.storage.models import Base


def test_when_migrated_to_head_then_autogenerate_finds_no_difference(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_when_downgraded_to_base_then_no_tables_remain_and_upgrade_works_again(
    db: Database,
) -> None:
    assert migrate.current(db) == migrate.head()
    migrate.downgrade(db, "base")
    assert migrate.current(db) is None
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    with db.engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
