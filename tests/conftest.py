"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when
``TEST_DATABASE_URL`` is set (each test gets its own schema, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, select, text

from monitor.storage import migrate
from monitor.storage.database import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PG_SKIP_REASON = "TEST_DATABASE_URL is not set: PostgreSQL tests skipped"


def _backends() -> list[object]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)],
        ),
    ]


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    migrate.upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database only, for tests where the backend does not matter."""
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    migrate.upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


# --- review trail seeding (added for the review/audit/export/retention tests) -----------------


def _seed_finding(
    session: Any,
    *,
    text: str = "Saw Jane Roe (DOB 03/14/1961) in room 4 today",
    post_id: int | None = None,
    staff_name: str = "Dr. Ada Example",
    at: datetime | None = None,
    **finding_fields: Any,
) -> Any:
    """Store a finding (and, unless ``post_id`` is given, its staff member, source, post and
    version) with its ``created`` trail event, as the scanner would. Returns the Finding."""
    from monitor.storage.models import Finding, Post, PostVersion, Source, StaffMember
    from monitor.storage.trail import record_event

    when = at or datetime.now(UTC)
    if post_id is None:
        tag = uuid.uuid4().hex[:10]
        staff = StaffMember(name=staff_name, email=f"{tag}@example.org", role="nurse")
        source = Source(staff=staff, platform="x", kind="profile", handle=f"h{tag}")
        post = Post(
            platform="x",
            external_id=tag,
            source=source,
            channel="public",
            author_name=staff_name,
            text=text,
            url=f"https://x.example/{tag}",
            published_at=when,
            content_hash=tag,
            first_seen_at=when,
            last_seen_at=when,
        )
        version = PostVersion(post=post, version_no=1, text=text, content_hash=tag, fetched_at=when)
        session.add_all([staff, source, post, version])
        session.flush()
    else:
        version = session.scalars(
            select(PostVersion)
            .where(PostVersion.post_id == post_id)
            .order_by(PostVersion.version_no.desc())
        ).first()
    fields: dict[str, Any] = {
        "category": "patient_privacy",
        "severity": "critical",
        "rule": "privacy.name_with_condition",
        "spans": [[5, 13]],
        "span_key": uuid.uuid4().hex,
        "explanation": "A patient's name next to a visit.",
        "excerpt": "Saw [NAME] ([DATE]) in room 4 today",
        "policy_version": "p1",
        "created_at": when,
    }
    fields.update(finding_fields)
    finding = Finding(post_version_id=version.id, post_id=version.post_id, **fields)
    session.add(finding)
    session.flush()
    record_event(session, finding.id, "created", at=when, status_to=None)
    return finding


@pytest.fixture
def seed_finding() -> Any:
    """The finding seeder above, as a fixture: ``seed_finding(session, **overrides)``."""
    return _seed_finding
