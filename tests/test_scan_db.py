"""DB scans: idempotent, superseding with history, failures recorded and retried."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.config import PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.analyzer import PostAnalyzer
from monitor.policy.base import Analysis
from monitor.policy.scanner import Scanner
from monitor.scan import ScanService, span_key
from monitor.storage import migrate, models
from monitor.storage.database import Database

_CARE = re.compile(r"\b(?:patient|admitted)\b", re.IGNORECASE)


@dataclass
class RoomPolicy:
    """Test-only policy: a room number next to a care word; ``fail_on`` raises on a text."""

    version: str = "v1"
    rule: str = "toy.room"
    fail_on: str = "\x00never"

    def needs_ner(self, post: PostContext, cheap: Analysis) -> bool:
        return False

    def evaluate(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        if self.fail_on in post.text:
            raise RuntimeError("rule crashed")
        if not _CARE.search(post.text):
            return []
        return [
            Finding(
                category=Category.PATIENT_PRIVACY,
                severity=Severity.CRITICAL,
                rule=self.rule,
                spans=((e.start, e.end),),
                explanation="A room number next to care.",
            )
            for e in analysis.of_type("ROOM_NUMBER")
        ]


TEXTS = [
    "the patient in room 12 is driving me nuts",
    "Long shift, exhausted.",
    "admitted to bed 4 and room 9 tonight",
]


def _service(db: Database, policy: RoomPolicy, **kwargs: object) -> ScanService:
    scanner = Scanner(policy, PostAnalyzer(PolicySettings(), ner=False))
    return ScanService(db, scanner, batch_size=2, **kwargs)  # type: ignore[arg-type]


def _store_posts(db: Database, texts: list[str]) -> list[int]:
    with db.session() as s:
        source = models.Source(platform="jsonl", kind="file", handle="demo")
        s.add(source)
        s.flush()
        ids = []
        for i, text in enumerate(texts):
            post = models.Post(
                platform="jsonl",
                external_id=f"p{i}",
                source_id=source.id,
                channel="public",
                author_name="Jane Smith",
                text=text,
                content_hash=str(i),
            )
            s.add(post)
            s.flush()
            version = models.PostVersion(
                post_id=post.id, version_no=1, text=text, content_hash=str(i)
            )
            s.add(version)
            s.flush()
            ids.append(version.id)
    return ids


def _findings(db: Database) -> list[models.Finding]:
    with db.session() as s:
        return list(s.scalars(select(models.Finding).order_by(models.Finding.id)))


def _events(db: Database) -> list[tuple[int, str]]:
    with db.session() as s:
        rows = s.execute(
            select(models.FindingEvent.finding_id, models.FindingEvent.kind).order_by(
                models.FindingEvent.seq
            )
        )
        return [(int(a), str(b)) for a, b in rows]


def test_when_scanned_twice_then_findings_are_stored_once_with_created_events(db: Database) -> None:
    _store_posts(db, TEXTS)
    first = _service(db, RoomPolicy()).run()
    assert (first.scanned, first.findings_created, first.failed) == (3, 3, [])
    second = _service(db, RoomPolicy()).run()
    assert (second.scanned, second.findings_created) == (0, 0)
    findings = _findings(db)
    assert len(findings) == 3
    assert all(f.excerpt and "12" not in f.excerpt for f in findings)
    assert _events(db) == [(f.id, "created") for f in findings]


def test_when_policy_version_changes_then_open_findings_are_superseded_with_history(
    db: Database,
) -> None:
    _store_posts(db, TEXTS)
    _service(db, RoomPolicy(version="v1")).run()
    old = _findings(db)
    with db.session() as s:
        reviewed = s.get(models.Finding, old[0].id)
        assert reviewed is not None
        reviewed.status = "acknowledged"
    report = _service(db, RoomPolicy(version="v2")).run()
    assert (report.scanned, report.findings_created, report.superseded) == (3, 3, 2)
    by_id = {f.id: f for f in _findings(db)}
    assert by_id[old[0].id].status == "acknowledged"
    for before in old[1:]:
        after = by_id[before.id]
        assert after.status == "superseded"
        successor = by_id[after.superseded_by_id or 0]
        assert successor.policy_version == "v2"
        assert (successor.rule, successor.span_key) == (before.rule, before.span_key)
    superseded_events = [fid for fid, kind in _events(db) if kind == "superseded"]
    assert superseded_events == [f.id for f in old[1:]]


def test_when_a_post_fails_to_scan_then_it_is_recorded_and_retried_next_run(
    db: Database,
) -> None:
    ids = _store_posts(db, TEXTS)
    report = _service(db, RoomPolicy(fail_on="bed 4")).run()
    assert report.failed == [ids[2]]
    assert report.scanned == 2
    with db.session() as s:
        failed = s.get(models.PostVersion, ids[2])
        assert failed is not None
        assert (failed.scanned_policy_version, failed.scan_error) == (None, "RuntimeError")
        assert failed.scan_failures == 1
    retry = _service(db, RoomPolicy()).run()
    assert (retry.scanned, retry.findings_created, retry.failed) == (1, 2, [])
    with db.session() as s:
        fixed = s.get(models.PostVersion, ids[2])
        assert fixed is not None
        assert (fixed.scanned_policy_version, fixed.scan_error) == ("v1", None)


def test_when_another_instance_holds_the_lease_then_the_version_is_left_to_it(
    db: Database,
) -> None:
    ids = _store_posts(db, TEXTS)
    with db.session() as s:
        held = s.get(models.PostVersion, ids[0])
        assert held is not None
        held.scan_lease_owner = "other:1"
        held.scan_lease_expires_at = datetime.now(UTC) + timedelta(minutes=5)
    report = _service(db, RoomPolicy(), instance="me:1").run()
    assert report.scanned == 2
    with db.session() as s:
        assert s.get(models.PostVersion, ids[0]).scanned_policy_version is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("spans", "key"),
    [(((3, 9),), "3-9"), (((3, 9), (12, 20)), "3-9,12-20")],
)
def test_when_spans_are_keyed_then_key_is_stable_and_readable(
    spans: tuple[tuple[int, int], ...], key: str
) -> None:
    assert span_key(spans) == key


def test_when_spans_are_too_many_for_the_column_then_key_is_hashed() -> None:
    key = span_key([(i, i + 1) for i in range(0, 400, 2)])
    assert key.startswith("sha256:") and len(key) <= 200


@pytest.mark.slow
def test_when_scan_command_runs_then_it_scans_stored_posts_and_reports_counts(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(url)
    migrate.upgrade(database)
    _store_posts(database, ["Eleanor Whitfield in room 12 was admitted with pneumonia", "hi"])
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    first = CliRunner().invoke(cli, ["--config", str(config), "scan", "--format", "json"])
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)[0]
    assert (report["scanned"], report["failed"]) == (2, 0)
    assert report["findings_created"] >= 1
    again = CliRunner().invoke(cli, ["--config", str(config), "scan", "--format", "json"])
    assert json.loads(again.stdout)[0]["scanned"] == 0
    database.dispose()
