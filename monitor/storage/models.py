"""SQLAlchemy models for the whole domain; ``migrations/`` must match them exactly.

Times are stored timezone-aware and always come back as UTC ``datetime`` objects, on SQLite as on
PostgreSQL. Enumerated values are stored as plain strings (the ``monitor.domain`` enums' values)
so a new value never needs a database type migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# An integer primary key that is 64-bit on PostgreSQL and a rowid alias on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class StaffMember(Base):
    """A person whose accounts are monitored. Never deleted: offboarding deactivates."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]

    sources: Mapped[list[Source]] = relationship(back_populates="staff")


class Source(Base):
    """A feed to pull: a staff member's linked account, or a practice-owned page, group or file."""

    __tablename__ = "sources"
    __table_args__ = (
        UniqueConstraint("platform", "kind", "handle"),
        UniqueConstraint("platform", "kind", "external_id"),
        Index("ix_sources_status_next_sync_at", "status", "next_sync_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    platform: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(100))
    handle: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    bio_snapshot: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)  # the file connector's input
    token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    consent_scope: Mapped[str] = mapped_column(String(30), default="public")
    consent_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    # Set after a rate limit or a failure: the source is not due before this time.
    next_sync_at: Mapped[datetime | None]
    # A lease so that several instances never sync one source at the same time.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    unlinked_at: Mapped[datetime | None]

    staff: Mapped[StaffMember | None] = relationship(back_populates="sources")


class Post(Base):
    """A post, comment or message as last seen on its platform; its texts live in versions."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_posts_source_id_published_at", "source_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_external_id: Mapped[str | None] = mapped_column(String(100))
    author_role: Mapped[str] = mapped_column(String(40), default="")
    author_bio: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]  # the platform's own edit marker
    is_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]  # marked by the reconcile pass; evidence is kept

    source: Mapped[Source] = relationship()
    versions: Mapped[list[PostVersion]] = relationship(
        back_populates="post", order_by="PostVersion.version_no"
    )


class PostVersion(Base):
    """One text of a post; an edit adds a version, and each version is scanned on its own."""

    __tablename__ = "post_versions"
    __table_args__ = (UniqueConstraint("post_id", "version_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    platform_updated_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The policy version this text was last scanned under; NULL: never scanned.
    scanned_policy_version: Mapped[str | None] = mapped_column(String(64), index=True)
    scanned_at: Mapped[datetime | None]
    scan_lease_owner: Mapped[str | None] = mapped_column(String(100))
    scan_lease_expires_at: Mapped[datetime | None]
    # The last scan failure (exception type only, never post text) and how many in a row;
    # a failed version keeps its old scanned_policy_version and is retried by the next scan.
    scan_error: Mapped[str | None] = mapped_column(String(200))
    scan_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    post: Mapped[Post] = relationship(back_populates="versions")


class Finding(Base):
    """A policy violation found in one post version under one policy version."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("post_version_id", "policy_version", "rule", "span_key"),
        Index("ix_findings_status_severity", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_version_id: Mapped[int] = mapped_column(ForeignKey("post_versions.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(100))
    spans: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    span_key: Mapped[str] = mapped_column(String(200), default="")
    explanation: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text, default="")  # masked: safe to email
    policy_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))

    post_version: Mapped[PostVersion] = relationship()
    post: Mapped[Post] = relationship()
    events: Mapped[list[FindingEvent]] = relationship(
        back_populates="finding", order_by="FindingEvent.seq"
    )


class FindingEvent(Base):
    """One entry of the review trail: appended, never updated, hash-chained to the previous one."""

    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # position in the global chain
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # created, status_changed, post_edited, ...
    actor: Mapped[str] = mapped_column(String(200), default="system")
    status_from: Mapped[str | None] = mapped_column(String(20))
    status_to: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    finding: Mapped[Finding] = relationship(back_populates="events")


class AuditCheckpoint(Base):
    """A signed summary of a purged prefix of the trail, so the rest still verifies."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    purged_events: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """An email owed for one period (daily digest or immediate batch), recorded before sending.

    The unique key on (kind, recipient_group, period_key) is what makes "never sent twice for
    the same period" hold across crashes and several instances.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("kind", "recipient_group", "period_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # daily | immediate
    recipient_group: Mapped[str] = mapped_column(String(100), default="default")
    period_key: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    message_id: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]

    items: Mapped[list[DigestItem]] = relationship(back_populates="digest")


class DigestItem(Base):
    """A finding reported by a digest, as new or as still open."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "finding_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    section: Mapped[str] = mapped_column(String(20))  # new | open

    digest: Mapped[Digest] = relationship(back_populates="items")
    finding: Mapped[Finding] = relationship()


class SyncRun(Base):
    """One attempt to sync one source, with its outcome; failures are retried next cycle."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_source_id_started_at", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    posts_fetched: Mapped[int] = mapped_column(Integer, default=0)
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_edited: Mapped[int] = mapped_column(Integer, default=0)
    posts_deleted: Mapped[int] = mapped_column(Integer, default=0)
    items_skipped: Mapped[int] = mapped_column(Integer, default=0)
    waited_seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)  # reason only: never tokens or post text
    instance: Mapped[str | None] = mapped_column(String(100))

    source: Mapped[Source] = relationship()


class SkippedItem(Base):
    """A malformed item a connector skipped, kept so that nothing is silently dropped."""

    __tablename__ = "skipped_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
