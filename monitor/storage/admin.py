"""Staff, linked accounts and practice sources: what admins register and change.

Functions take a session (the caller owns the transaction) and raise ``monitor.errors`` types
with messages that name the id or field at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.domain import ConsentScope, Platform, Role, SourceKind, SourceStatus
from monitor.errors import Conflict, InvalidInput, NotFound
from monitor.storage.models import Source, StaffMember, SyncRun, utcnow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_NUMERIC_ID = re.compile(r"^[0-9]{1,30}$")


def _choice(value: str, enum: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(
            f"{field}: unknown value {value!r} (expected one of: {allowed})"
        ) from None


def get_staff(session: Session, staff_id: int) -> StaffMember:
    staff = session.get(StaffMember, staff_id)
    if staff is None:
        raise NotFound(f"unknown staff id {staff_id}")
    return staff


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"unknown account or source id {source_id}")
    return source


def add_staff(session: Session, name: str, email: str, role: str) -> StaffMember:
    name = name.strip()
    email = email.strip().lower()
    if not name:
        raise InvalidInput("--name: must not be empty")
    if not _EMAIL.match(email):
        raise InvalidInput(f"--email: {email!r} is not an email address")
    role_value = _choice(role.strip().lower(), Role, "--role")
    existing = session.scalar(select(StaffMember).where(func.lower(StaffMember.email) == email))
    if existing is not None:
        raise Conflict(f"a staff member with email {email} already exists (id {existing.id})")
    staff = StaffMember(name=name, email=email, role=role_value.value, active=True)
    session.add(staff)
    session.flush()
    return staff


def list_staff(session: Session, *, include_inactive: bool = False) -> list[StaffMember]:
    query = select(StaffMember).order_by(StaffMember.id)
    if not include_inactive:
        query = query.where(StaffMember.active.is_(True))
    return list(session.scalars(query))


def deactivate_staff(session: Session, staff_id: int) -> StaffMember:
    """Offboarding: stop monitoring the person's accounts, keep every record about them."""
    staff = get_staff(session, staff_id)
    if not staff.active:
        raise Conflict(f"staff id {staff_id} is already deactivated")
    now = utcnow()
    staff.active = False
    staff.deactivated_at = now
    for source in staff.sources:
        if source.unlinked_at is None:
            source.status = SourceStatus.DISABLED.value
            source.last_error = "staff member deactivated"
    return staff


def _normalize_handle(handle: str) -> str:
    value = handle.strip().removeprefix("@")
    if not _HANDLE.match(value):
        raise InvalidInput(f"--handle: {handle!r} is not an X handle (1-15 letters, digits, _)")
    return value


def _check_unique(
    session: Session, platform: str, kind: str, handle: str | None, ext: str | None
) -> None:
    query = select(Source).where(Source.platform == platform, Source.kind == kind)
    if handle is not None:
        clash = session.scalar(query.where(func.lower(Source.handle) == handle.lower()))
        if clash is not None:
            raise Conflict(f"{platform} handle @{handle} is already linked (id {clash.id})")
    if ext is not None:
        clash = session.scalar(query.where(Source.external_id == ext))
        if clash is not None:
            raise Conflict(f"{platform} {kind} {ext} is already registered (id {clash.id})")


def link_account(
    session: Session,
    *,
    staff_id: int,
    platform: str,
    consent: str,
    handle: str | None = None,
    page_id: str | None = None,
    bio: str | None = None,
    consent_at: datetime | None = None,
) -> Source:
    """Link a staff member's professional account, recording their consent and its scope."""
    staff = get_staff(session, staff_id)
    if not staff.active:
        raise Conflict(f"staff id {staff_id} is deactivated: accounts cannot be linked")
    platform_value = _choice(platform.lower(), Platform, "--platform")
    scope = _choice(consent, ConsentScope, "--consent")
    if platform_value is Platform.X:
        if not handle or page_id:
            raise InvalidInput("--handle is required for X accounts (and --page-id is not used)")
        norm_handle: str | None = _normalize_handle(handle)
        kind, external_id = SourceKind.PROFILE, None
    elif platform_value is Platform.FACEBOOK:
        if not page_id or handle:
            raise InvalidInput(
                "--page-id is required for Facebook (the API reads pages, not personal profiles)"
            )
        if not _NUMERIC_ID.match(page_id.strip()):
            raise InvalidInput(f"--page-id: {page_id!r} is not a numeric Facebook page id")
        if scope is ConsentScope.PUBLIC_AND_DIRECT:
            raise InvalidInput(
                "--consent: Facebook page messages are not monitored; use --consent public"
            )
        norm_handle, kind, external_id = None, SourceKind.PAGE, page_id.strip()
    else:
        raise InvalidInput("--platform: staff accounts are on x or facebook")
    _check_unique(session, platform_value.value, kind.value, norm_handle, external_id)
    source = Source(
        staff_id=staff.id,
        platform=platform_value.value,
        kind=kind.value,
        handle=norm_handle,
        external_id=external_id,
        bio_snapshot=bio,
        consent_scope=scope.value,
        consent_at=consent_at or utcnow(),
        status=SourceStatus.ACTIVE.value,
    )
    session.add(source)
    session.flush()
    return source


def unlink_account(session: Session, source_id: int) -> Source:
    """Stop monitoring an account and destroy its token; its posts and findings stay."""
    source = get_source(session, source_id)
    if source.unlinked_at is not None:
        raise Conflict(f"account id {source_id} is already unlinked")
    source.unlinked_at = utcnow()
    source.status = SourceStatus.DISABLED.value
    source.token_encrypted = None
    source.lease_owner = None
    return source


def add_practice_source(
    session: Session,
    *,
    platform: str,
    kind: str,
    external_id: str | None = None,
    path: str | None = None,
    name: str | None = None,
    bio: str | None = None,
) -> Source:
    """Register a practice-owned page or group feed, or a JSONL file source."""
    platform_value = _choice(platform.lower(), Platform, "--platform")
    kind_value = _choice(kind.lower(), SourceKind, "--kind")
    if platform_value is Platform.FACEBOOK:
        if kind_value not in (SourceKind.PAGE, SourceKind.GROUP):
            raise InvalidInput("--kind: Facebook practice sources are a page or a group")
        if not external_id or not _NUMERIC_ID.match(external_id.strip()):
            raise InvalidInput("--id: a numeric Facebook page or group id is required")
        external_id = external_id.strip()
    elif platform_value is Platform.JSONL:
        if not path:
            raise InvalidInput("--path: a JSONL file is required for jsonl sources")
        kind_value = SourceKind.FILE
        external_id = path
    else:
        raise InvalidInput(
            "--platform: practice sources are facebook pages/groups or jsonl files; "
            "link X accounts with `accounts link`"
        )
    _check_unique(session, platform_value.value, kind_value.value, None, external_id)
    source = Source(
        staff_id=None,
        platform=platform_value.value,
        kind=kind_value.value,
        external_id=external_id,
        path=path,
        display_name=name,
        bio_snapshot=bio,
        consent_scope=ConsentScope.PUBLIC.value,
        status=SourceStatus.ACTIVE.value,
    )
    session.add(source)
    session.flush()
    return source


def set_token(session: Session, source_id: int, encrypted: bytes) -> Source:
    source = get_source(session, source_id)
    if source.unlinked_at is not None:
        raise Conflict(f"account id {source_id} is unlinked: link it again first")
    source.token_encrypted = encrypted
    if source.status == SourceStatus.NEEDS_REAUTH.value:
        source.status = SourceStatus.ACTIVE.value
        source.last_error = None
    return source


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source as ``accounts list`` shows it."""

    id: int
    staff: str
    platform: str
    kind: str
    account: str
    status: str
    consent: str
    token: str
    last_sync: str
    last_outcome: str
    last_error: str

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def list_sources(
    session: Session, *, staff_id: int | None = None, include_unlinked: bool = False
) -> list[SourceRow]:
    query = select(Source).order_by(Source.id)
    if staff_id is not None:
        get_staff(session, staff_id)
        query = query.where(Source.staff_id == staff_id)
    if not include_unlinked:
        query = query.where(Source.unlinked_at.is_(None))
    sources = list(session.scalars(query))
    last_runs: dict[int, SyncRun] = {}
    if sources:
        latest = (
            select(SyncRun.source_id, func.max(SyncRun.id).label("run_id"))
            .where(SyncRun.source_id.in_([s.id for s in sources]))
            .group_by(SyncRun.source_id)
            .subquery()
        )
        runs = session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.run_id))
        last_runs = {r.source_id: r for r in runs}
    rows = []
    for s in sources:
        last = last_runs.get(s.id)
        account = f"@{s.handle}" if s.handle else (s.display_name or s.external_id or "")
        if s.display_name and s.external_id and s.platform == Platform.FACEBOOK.value:
            account = f"{s.display_name} ({s.external_id})"
        status = "unlinked" if s.unlinked_at else s.status
        rows.append(
            SourceRow(
                id=s.id,
                staff=s.staff.name if s.staff else "(practice)",
                platform=s.platform,
                kind=s.kind,
                account=account,
                status=status,
                consent=s.consent_scope,
                token="set" if s.token_encrypted else "-",
                last_sync=_when(s.last_sync_at),
                last_outcome=last.outcome if last else "-",
                last_error=s.last_error or "",
            )
        )
    return rows


def encrypted_tokens(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).where(Source.token_encrypted.is_not(None))))
