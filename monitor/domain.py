"""Plain domain types shared by connectors, the scanner, storage and alerts.

This module imports nothing from outside the standard library: it is the vocabulary every
other layer speaks, so it must stay cheap to import and free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    JSONL = "jsonl"


class SourceKind(StrEnum):
    """What a source is on its platform: a person's profile, a page, a group, or a file."""

    PROFILE = "profile"
    PAGE = "page"
    GROUP = "group"
    FILE = "file"


class SourceStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    DISABLED = "disabled"
    # The platform refuses API access (e.g. Facebook groups since April 2024): a coverage gap
    # that auditors must see, never a silently "green" source.
    NO_API_ACCESS = "no_api_access"


class Channel(StrEnum):
    PUBLIC = "public"
    GROUP = "group"
    COMMENT = "comment"
    DIRECT = "direct"


class ConsentScope(StrEnum):
    """What a staff member agreed to have monitored when the account was linked."""

    PUBLIC = "public"  # public posts and comments only
    PUBLIC_AND_DIRECT = "public_and_direct"  # also direct messages

    def covers(self, channel: Channel) -> bool:
        return channel is not Channel.DIRECT or self is ConsentScope.PUBLIC_AND_DIRECT


class Role(StrEnum):
    """A staff member's role; clinicians are held to the medical-advice disclaimer rule."""

    PHYSICIAN = "physician"
    NURSE = "nurse"
    CLINICIAN = "clinician"
    THERAPIST = "therapist"
    PHARMACIST = "pharmacist"
    ASSISTANT = "assistant"
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    ADMIN = "admin"
    MARKETING = "marketing"
    OTHER = "other"


CLINICAL_ROLES = frozenset(
    {Role.PHYSICIAN, Role.NURSE, Role.CLINICIAN, Role.THERAPIST, Role.PHARMACIST}
)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is worse; used for ordering digests."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]


class Category(StrEnum):
    """The five policy categories of the built-in policy (the product's contract)."""

    PATIENT_PRIVACY = "patient_privacy"
    CONFIDENTIAL_INFO = "confidential_info"
    MISSING_DISCLOSURE = "missing_disclosure"
    HARMFUL_CONTENT = "harmful_content"
    MEDICAL_ADVICE = "medical_advice"


class FindingStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    DISMISSED = "dismissed"
    REMEDIATED = "remediated"
    # Replaced by a finding produced under a newer policy version; kept for history.
    SUPERSEDED = "superseded"


class SyncOutcome(StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # finished, but some items were malformed and skipped
    RATE_LIMITED = "rate_limited"
    AUTH_EXPIRED = "auth_expired"
    NO_API_ACCESS = "no_api_access"
    FAILED = "failed"
    # Stopped on request (shutdown) after a committed page; resumes from its cursor next run.
    INTERRUPTED = "interrupted"


class DigestStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after too many attempts; still visible, can be retried by hand


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a post, as the scanner needs to see them."""

    name: str = ""
    role: str = ""
    bio: str = ""


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What a connector needs to know about a source; built by the sync service from storage.

    ``token`` is already decrypted; connectors must never log it.
    """

    id: int
    platform: str
    kind: SourceKind
    external_id: str | None = None
    handle: str | None = None
    token: str | None = None
    consent: ConsentScope = ConsentScope.PUBLIC
    path: str | None = None  # the file connector's input


@dataclass(frozen=True, slots=True)
class FetchedPost:
    """One post as a connector normalized it, before storage."""

    external_id: str
    platform: str
    channel: Channel
    text: str
    author_name: str = ""
    author_external_id: str | None = None
    author_role: str = ""
    author_bio: str = ""
    url: str | None = None
    published_at: datetime | None = None
    # The platform's own edit marker (Facebook updated_time, X edit history head); a change in
    # text or in this marker makes a new post version.
    updated_at: datetime | None = None
    is_repost: bool = False
    parent_external_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """A malformed item a connector could not normalize: recorded, never fatal."""

    reason: str
    external_id: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A page of posts plus the cursor to save once they are committed."""

    posts: list[FetchedPost]
    cursor: str | None
    skipped: list[SkippedItem] = field(default_factory=list)
    waited_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PostContext:
    """Everything the policy judges a post by: its text, where it was posted and by whom."""

    id: str
    text: str
    platform: str = ""
    channel: Channel = Channel.PUBLIC
    author: Author = field(default_factory=Author)


@dataclass(frozen=True, slots=True)
class Finding:
    """One policy violation in one post (version), with its evidence and masked excerpt."""

    category: Category
    severity: Severity
    rule: str
    spans: tuple[tuple[int, int], ...]
    explanation: str
    excerpt: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": str(self.category),
            "severity": str(self.severity),
            "rule": self.rule,
            "spans": [list(s) for s in self.spans],
            "explanation": self.explanation,
            "excerpt": self.excerpt,
        }
