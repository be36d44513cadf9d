"""File sources: posts read from a JSON-lines file (archive imports, group exports, the demo).

One JSON object per line, the same shape ``scan-file`` reads::

    {"id": "fb-1", "platform": "facebook", "channel": "group",
     "author": {"name": "...", "role": "nurse", "bio": "..."},
     "text": "...", "published_at": "2024-05-01T09:30:00Z", "url": "https://..."}

``id`` and ``text`` are required; ``platform`` defaults to ``jsonl``, ``channel`` to ``public``;
a ``published_at`` without a time zone is taken as UTC.

Incremental: the cursor is ``"<byte offset>:<line number>"`` of the first unread line, so lines
appended later come in on the next sync and nothing is read twice. A final line with no newline
that does not parse yet is left for next time (a writer may still be appending it). A file that
shrank below the cursor was replaced, and is read again from the start (storing is idempotent).
A bad line becomes a ``SkippedItem`` naming its line number; the message never quotes the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import ConfigurationError, Connector
from monitor.domain import Channel, FetchedPage, FetchedPost, SkippedItem, SourceRef

DEFAULT_PLATFORM = "jsonl"
MAX_ID_LENGTH = 200
MAX_PLATFORM_LENGTH = 20


class LineError(ValueError):
    """One line is not a valid post; the message names the field, never its content."""


def _text_field(obj: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = obj.get(name)
    if value is None:
        if required:
            raise LineError(f"missing {name!r}")
        return ""
    if not isinstance(value, str):
        raise LineError(f"{name!r} must be a string")
    return value


def _published(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LineError("'published_at' must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LineError("'published_at' is not an ISO 8601 date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_post(obj: Any) -> FetchedPost:
    """Normalize one decoded line; raises LineError naming the faulty field."""
    if not isinstance(obj, dict):
        raise LineError("not a JSON object")
    raw_id = obj.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id).strip() == "":
        raise LineError("missing or invalid 'id'")
    external_id = str(raw_id).strip()
    if len(external_id) > MAX_ID_LENGTH:
        raise LineError(f"'id' longer than {MAX_ID_LENGTH} characters")
    platform = _text_field(obj, "platform") or DEFAULT_PLATFORM
    if len(platform) > MAX_PLATFORM_LENGTH:
        raise LineError(f"'platform' longer than {MAX_PLATFORM_LENGTH} characters")
    channel_value = _text_field(obj, "channel") or Channel.PUBLIC.value
    try:
        channel = Channel(channel_value)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise LineError(f"'channel' must be one of {allowed}") from None
    author = obj.get("author") or {}
    if not isinstance(author, dict):
        raise LineError("'author' must be an object")
    url = _text_field(obj, "url") or None
    return FetchedPost(
        external_id=external_id,
        platform=platform,
        channel=channel,
        text=_text_field(obj, "text", required=True),
        author_name=_text_field(author, "name"),
        author_role=_text_field(author, "role"),
        author_bio=_text_field(author, "bio"),
        url=url,
        published_at=_published(obj.get("published_at")),
        raw=obj,
    )


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``(byte offset, line number)`` of the first unread line; ``(0, 1)`` for no cursor."""
    if not cursor:
        return 0, 1
    try:
        offset_text, line_text = cursor.split(":", 1)
        offset, line = int(offset_text), int(line_text)
    except ValueError:
        raise ConfigurationError("jsonl cursor is not '<offset>:<line>'") from None
    if offset < 0 or line < 1:
        raise ConfigurationError("jsonl cursor is out of range")
    return offset, line


class JsonlConnector(Connector):
    """Reads a source's ``path``; see the module docstring for the format and the cursor."""

    platform: ClassVar[str] = "jsonl"

    def __init__(self, page_size: int = 200) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.page_size = page_size

    def fetch(self, source: SourceRef, cursor: str | None) -> Iterator[FetchedPage]:
        if not source.path:
            raise ConfigurationError(f"file source {source.id} has no path")
        path = Path(source.path)
        if not path.is_file():
            raise ConfigurationError(f"file source {source.id}: {path} does not exist")
        offset, line_no = parse_cursor(cursor)
        try:
            handle = path.open("rb")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigurationError(
                f"file source {source.id}: cannot read {path}: {reason}"
            ) from None
        with handle:
            size = path.stat().st_size
            if offset > size:  # replaced or truncated: read it again from the start
                offset, line_no = 0, 1
            handle.seek(offset)
            posts: list[FetchedPost] = []
            skipped: list[SkippedItem] = []
            while True:
                data = handle.readline()
                if not data:
                    break
                complete = data.endswith(b"\n")
                item = self._parse_line(data, line_no)
                if not complete and isinstance(item, SkippedItem):
                    break  # possibly still being written: read it next time
                offset += len(data)
                line_no += 1
                if isinstance(item, FetchedPost):
                    posts.append(item)
                elif item is not None:
                    skipped.append(item)
                if len(posts) + len(skipped) >= self.page_size:
                    yield FetchedPage(posts=posts, cursor=f"{offset}:{line_no}", skipped=skipped)
                    posts, skipped = [], []
            if posts or skipped or cursor != f"{offset}:{line_no}":
                yield FetchedPage(posts=posts, cursor=f"{offset}:{line_no}", skipped=skipped)

    @staticmethod
    def _parse_line(data: bytes, line_no: int) -> FetchedPost | SkippedItem | None:
        """A post, a skipped item naming the line, or None for a blank line."""
        try:
            # A BOM (spreadsheet tools write one) can only open the file's first line.
            text = data.decode("utf-8-sig" if line_no == 1 else "utf-8")
        except UnicodeDecodeError:
            return SkippedItem(reason=f"line {line_no}: not UTF-8 text")
        if not text.strip():
            return None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return SkippedItem(reason=f"line {line_no}: not valid JSON")
        try:
            return parse_post(obj)
        except LineError as exc:
            external_id = None
            if isinstance(obj, dict) and isinstance(obj.get("id"), str | int):
                external_id = str(obj["id"])[:MAX_ID_LENGTH]
            raw = obj if isinstance(obj, dict) else None
            return SkippedItem(reason=f"line {line_no}: {exc}", external_id=external_id, raw=raw)
