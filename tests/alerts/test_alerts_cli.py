"""``digest preview/send/list`` and ``alerts flush`` end to end, with the outbox (the demo path)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from alert_helpers import PLANTED, World, check_html
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.storage.database import Database
from monitor.storage.models import Digest


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{db.url}"\n'
        '[practice]\nname = "Lakeside Family Clinic"\n'
        '[alerts.email]\noutbox_dir = "outbox"\n',
        encoding="utf-8",
    )

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    return invoke


def _digests(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Digest)) or 0)


def test_when_preview_runs_then_it_renders_without_recording(
    run, db: Database, world: World, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    src = world.source("nurse_jo", staff="Jo Rivera")
    fid = world.finding(src, created_at=datetime.now(UTC) - timedelta(minutes=5))

    result = run("digest", "preview", "--html", str(tmp_path / "p.html"))

    assert result.exit_code == 0, result.output
    assert "Subject: [Social Monitor] Lakeside Family Clinic: digest" in result.output
    assert f"finding #{fid}" in result.output
    check_html((tmp_path / "p.html").read_text(encoding="utf-8"))
    assert _digests(db) == 0
    assert not (tmp_path / "outbox").exists()


def test_when_send_runs_without_smtp_then_the_digest_lands_in_the_outbox_once(
    run, db: Database, world: World, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    src = world.source("nurse_jo", staff="Jo Rivera")
    fid = world.finding(src, created_at=datetime.now(UTC) - timedelta(minutes=5))

    result = run("digest", "send", "--format", "json")

    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["status"] == "sent" and row["items"] == 1
    path = tmp_path / row["delivered_to"]
    message = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message.get_content_type() == "multipart/alternative"
    assert f"finding #{fid}" in message.as_string()
    raw = path.read_bytes().decode("utf-8", "replace")
    assert not any(identifier in raw for identifier in PLANTED)

    again = run("digest", "send")
    assert again.exit_code == 0 and "already sent" in again.output
    assert len(list((tmp_path / "outbox").iterdir())) == 1
    listed = run("digest", "list")
    assert "sent" in listed.output and "daily" in listed.output


def test_when_a_future_date_is_asked_then_one_line_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("digest", "send", "--date", "2999-01-01")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: 2999-01-01 is in the future: a digest reports the past"
    ]


def test_when_alerts_flush_runs_then_critical_findings_are_alerted_once(
    run, db: Database, world: World, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    src = world.source("nurse_jo", staff="Jo Rivera")
    world.finding(src, created_at=datetime.now(UTC) - timedelta(minutes=1))
    world.finding(src, created_at=datetime.now(UTC), category="medical_advice", severity="high")

    first = run("alerts", "flush", "--format", "json")
    assert first.exit_code == 0, first.output
    [row] = json.loads(first.output)
    assert (row["kind"], row["status"], row["items"]) == ("immediate", "sent", 1)
    second = run("alerts", "flush")
    assert second.exit_code == 0 and "no critical finding" in second.output
