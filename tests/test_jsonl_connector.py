"""The file connector: the scan-file line format, an incremental byte-offset cursor, bad lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConfigurationError
from connectors.jsonl import JsonlConnector, parse_cursor
from connectors.registry import REGISTRY
from monitor.config import Settings
from monitor.domain import Channel, FetchedPage, SourceKind, SourceRef


def line(i: int, **overrides: Any) -> str:
    obj: dict[str, Any] = {
        "id": f"post-{i}",
        "platform": "facebook",
        "channel": "group",
        "author": {"name": "Dana Ortiz", "role": "nurse", "bio": "RN at Maple Clinic"},
        "text": f"Post number {i}",
        "published_at": "2025-02-03T04:05:06Z",
        "url": f"https://example.org/p/{i}",
    }
    obj.update(overrides)
    return json.dumps(obj) + "\n"


def source(path: Path | None) -> SourceRef:
    return SourceRef(id=7, platform="jsonl", kind=SourceKind.FILE, path=str(path) if path else None)


def fetch(path: Path, cursor: str | None = None, page_size: int = 200) -> list[FetchedPage]:
    return list(JsonlConnector(page_size=page_size).fetch(source(path), cursor))


def ids(pages: list[FetchedPage]) -> list[str]:
    return [p.external_id for page in pages for p in page.posts]


def test_when_a_line_is_complete_then_every_field_is_normalized(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1))
    [post] = fetch(path)[0].posts
    assert (post.external_id, post.platform, post.channel, post.text) == (
        "post-1",
        "facebook",
        Channel.GROUP,
        "Post number 1",
    )
    assert (post.author_name, post.author_role, post.author_bio) == (
        "Dana Ortiz",
        "nurse",
        "RN at Maple Clinic",
    )
    assert post.published_at == datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert post.url == "https://example.org/p/1"
    assert post.raw["id"] == "post-1"


def test_when_optional_fields_are_absent_then_defaults_apply(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": 42, "text": "hi", "published_at": "2025-01-01T08:00"}))
    [post] = fetch(path)[0].posts
    assert (post.external_id, post.platform, post.channel, post.author_name, post.url) == (
        "42",
        "jsonl",
        Channel.PUBLIC,
        "",
        None,
    )
    assert post.published_at == datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


def test_when_lines_are_appended_then_only_they_come_in_next_time(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1) + line(2))
    first = fetch(path)
    cursor = first[-1].cursor
    with path.open("a") as handle:
        handle.write(line(3) + line(4))

    second = fetch(path, cursor)
    third = fetch(path, second[-1].cursor)

    assert ids(first) == ["post-1", "post-2"]
    assert ids(second) == ["post-3", "post-4"]
    assert ids(third) == []
    assert parse_cursor(second[-1].cursor) == (path.stat().st_size, 5)


def test_when_file_is_long_then_pages_carry_increasing_cursors(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(line(i) for i in range(7)))
    pages = fetch(path, page_size=3)
    assert [len(p.posts) for p in pages] == [3, 3, 1]
    resumed = fetch(path, pages[0].cursor, page_size=3)
    assert ids(resumed) == [f"post-{i}" for i in range(3, 7)]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: not a JSON object"),
        ('{"text": "no id here"}', "line 2: missing or invalid 'id'"),
        ('{"id": "x1"}', "line 2: missing 'text'"),
        ('{"id": "x1", "text": 5}', "line 2: 'text' must be a string"),
        ('{"id": "x1", "text": "t", "channel": "dm"}', "line 2: 'channel' must be one of"),
        ('{"id": "x1", "text": "t", "published_at": "yesterday"}', "line 2: 'published_at'"),
        ('{"id": "x1", "text": "t", "author": "Dana"}', "line 2: 'author' must be an object"),
        (json.dumps({"id": "x" * 201, "text": "t"}), "line 2: 'id' longer than 200"),
    ],
)
def test_when_a_line_is_malformed_then_it_is_skipped_naming_its_line(
    tmp_path: Path, bad: str, reason: str
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1) + bad + "\n" + line(3))
    pages = fetch(path)
    [skipped] = [s for page in pages for s in page.skipped]
    assert skipped.reason.startswith(reason)
    assert "no id here" not in skipped.reason
    assert ids(pages) == ["post-1", "post-3"]


def test_when_bytes_are_not_utf8_then_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_bytes(line(1).encode() + b"\xff\xfe\n" + line(3).encode())
    pages = fetch(path)
    assert [s.reason for page in pages for s in page.skipped] == ["line 2: not UTF-8 text"]


def test_when_the_file_starts_with_a_bom_then_its_first_line_is_still_a_post(
    tmp_path: Path,
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line(1).encode() + b"\xef\xbb\xbf" + line(2).encode())
    pages = fetch(path)
    assert ids(pages) == ["post-1"]  # a BOM anywhere else is not UTF-8 JSON text
    assert [s.reason for page in pages for s in page.skipped] == ["line 2: not valid JSON"]


def test_when_blank_lines_are_present_then_they_are_ignored_but_counted(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1) + "\n   \n" + "{oops\n")
    pages = fetch(path)
    assert [s.reason for page in pages for s in page.skipped] == ["line 4: not valid JSON"]


def test_when_last_line_is_still_being_written_then_it_waits_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    full = line(2)
    path.write_text(line(1) + full[:20])
    first = fetch(path)
    with path.open("a") as handle:
        handle.write(full[20:])
    second = fetch(path, first[-1].cursor)
    assert ids(first) == ["post-1"]
    assert [s for page in first for s in page.skipped] == []
    assert ids(second) == ["post-2"]


def test_when_last_line_has_no_newline_but_is_valid_then_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1) + line(2).rstrip("\n"))
    assert ids(fetch(path)) == ["post-1", "post-2"]


def test_when_file_was_replaced_by_a_shorter_one_then_it_is_read_from_the_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1) + line(2) + line(3))
    cursor = fetch(path)[-1].cursor
    path.write_text(line(9))
    assert ids(fetch(path, cursor)) == ["post-9"]


def test_when_file_is_missing_then_configuration_error_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(ConfigurationError, match=r"nowhere\.jsonl does not exist"):
        fetch(missing)


def test_when_source_has_no_path_then_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="has no path"):
        list(JsonlConnector().fetch(source(None), None))


def test_when_cursor_is_garbage_then_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(line(1))
    with pytest.raises(ConfigurationError, match="cursor"):
        fetch(path, "abc")


def test_when_registry_is_asked_for_jsonl_then_it_builds_the_file_connector() -> None:
    assert isinstance(REGISTRY["jsonl"](Settings()), JsonlConnector)


def test_when_bundled_sample_is_read_then_every_line_is_a_valid_post() -> None:
    sample = Path(__file__).resolve().parents[1] / "monitor" / "data" / "sample_posts.jsonl"
    pages = fetch(sample)
    posts = [p for page in pages for p in page.posts]
    assert [s for page in pages for s in page.skipped] == []
    assert len(posts) >= 35
    assert len({p.external_id for p in posts}) == len(posts)
    assert all(p.published_at is not None and p.author_name for p in posts)
