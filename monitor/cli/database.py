"""``db`` commands: migrate the schema that ships inside the package."""

from __future__ import annotations

import click

from monitor.cli.common import app, command, subgroup
from monitor.storage import migrate

db_group = subgroup("db", "Create and migrate the database schema.")


@command(db_group, "upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    database = app().db
    migrate.upgrade(database, revision)
    click.echo(f"database {database.masked_url} at revision {migrate.current(database)}")


@command(db_group, "downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION ("base" removes every table)."""
    database = app().db
    migrate.downgrade(database, revision)
    click.echo(f"database {database.masked_url} at revision {migrate.current(database) or 'base'}")


@command(db_group, "current")
def db_current() -> None:
    """Show the database's revision and whether it is up to date."""
    database = app().db
    current = migrate.current(database)
    head = migrate.head()
    state = "up to date" if current == head else f"behind: latest is {head}"
    click.echo(f"{database.masked_url}: revision {current or 'none'} ({state})")
