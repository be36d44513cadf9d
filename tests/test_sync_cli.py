"""``sync`` and ``posts list`` end to end: a jsonl file source registered through the admin CLI,
synced into a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.storage.database import Database
from monitor.storage.models import Source

SAMPLE = Path(__file__).resolve().parents[1] / "monitor" / "data" / "sample_posts.jsonl"
Run = Callable[..., Result]


@pytest.fixture
def run(db: Database, tmp_path: Path) -> Run:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{db.url}"\n[practice]\ntimezone = "America/New_York"\n',
        encoding="utf-8",
    )

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    return invoke


def add_file_source(run: Run, path: Path) -> None:
    added = run("sources", "add", "--platform", "jsonl", "--path", str(path), "--name", "import")
    assert added.exit_code == 0, added.output


def listed(run: Run, *args: str) -> list[dict[str, object]]:
    result = run("posts", "list", "--format", "jsonl", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_when_sample_file_is_synced_then_all_posts_are_listed_once(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "sample.jsonl"
    shutil.copy(SAMPLE, path)
    add_file_source(run, path)

    first = run("sync")
    second = run("sync")

    assert first.exit_code == 0, first.output
    assert "[1] jsonl:file import: ok: 40 posts (40 new, 0 edited, 0 deleted), 1 pages" in (
        first.output
    )
    assert "synced 1 source(s): 1 ok; 40 posts fetched, 40 new" in first.output
    assert "0 posts fetched, 0 new" in second.output
    posts = listed(run)
    assert len(posts) == 40
    assert len({(p["platform"], p["external_id"]) for p in posts}) == 40
    first_line = json.loads(SAMPLE.read_text().splitlines()[0])
    stored = next(p for p in posts if p["external_id"] == first_line["id"])
    assert (stored["text"], stored["author"], stored["versions"]) == (
        first_line["text"],
        first_line["author"]["name"],
        1,
    )
    assert stored["published_at"] == first_line["published_at"]


def test_when_a_line_is_edited_or_malformed_then_marks_and_skips_show(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": "a1", "text": "first words"}) + "\n")
    add_file_source(run, path)
    assert run("sync").exit_code == 0
    with path.open("a") as handle:
        handle.write("{broken\n")
        handle.write(json.dumps({"id": "a1", "text": "second words"}) + "\n")

    result = run("sync")
    table = run("posts", "list")

    assert result.exit_code == 0, result.output
    assert ": partial: 1 posts (0 new, 1 edited, 0 deleted), 1 pages, 0 waits, 1 skipped" in (
        result.output
    )
    [post] = listed(run)
    assert (post["text"], post["versions"], post["edited"]) == ("second words", 2, True)
    assert "edited" in table.output and "second words" in table.output


def test_when_file_is_missing_then_sync_exits_1_naming_it(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "gone.jsonl"
    path.write_text("")
    add_file_source(run, path)
    path.unlink()

    result = run("sync")

    assert result.exit_code == 1
    assert "failed" in result.output and "gone.jsonl does not exist" in result.output
    assert "synced 1 source(s): 1 failed" in result.output


def test_when_source_is_unknown_or_not_active_then_one_line_error(
    run: Run, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("")
    add_file_source(run, path)
    with db.session() as session:
        session.get(Source, 1).status = "disabled"  # type: ignore[union-attr]

    unknown = run("sync", "--source", "9")
    inactive = run("sync", "--source", "1")

    assert (unknown.exit_code, unknown.output.strip()) == (1, "error: no source with id 9")
    assert inactive.exit_code == 1 and "source 1 is disabled, not active" in inactive.output


def test_when_filtered_by_platform_then_other_sources_are_left(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "a1", "text": "t"}) + "\n")
    add_file_source(run, path)
    result = run("sync", "--platform", "x")
    assert result.exit_code == 0
    assert "synced 0 source(s): none due" in result.output
    assert listed(run) == []


def test_when_listing_since_a_date_then_older_posts_are_left_out(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"id": "old", "text": "t", "published_at": "2025-02-01T04:59:00Z"})
        + "\n"
        + json.dumps({"id": "new", "text": "t", "published_at": "2025-02-01T05:00:00Z"})
        + "\n"
    )
    add_file_source(run, path)
    run("sync")
    # Midnight in New York is 05:00 UTC.
    assert [p["external_id"] for p in listed(run, "--since", "2025-02-01")] == ["new"]
    assert [p["external_id"] for p in listed(run, "--source", "1")] == ["new", "old"]
    assert listed(run, "--source", "2") == []
