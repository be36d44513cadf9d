"""The review, audit, export and retention commands end to end against a real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from sqlalchemy import update

from monitor.cli import cli
from monitor.storage.database import Database
from monitor.storage.models import FindingEvent
from monitor.storage.trail import record_event

Run = Callable[..., Result]
SECRET_TEXT = "Jane Roe (DOB 03/14/1961) is back in bed 4"


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("SOCIAL_MONITOR_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("SOCIAL_MONITOR_ACTOR", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)

    return invoke


@pytest.fixture
def seeded(db: Database, seed_finding: Any) -> dict[str, int]:
    with db.session() as session:
        a = seed_finding(session, text=SECRET_TEXT, excerpt="[NAME] ([DATE]) is back in bed 4")
        b = seed_finding(session, category="harmful_content", severity="high")
        record_event(session, a.id, "post_edited", details={"version_no": 2})
        return {"a": a.id, "b": b.id}


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_when_listing_then_findings_show_masked_and_filter_by_severity(
    run: Run, seeded: dict[str, int]
) -> None:
    rows = _json(run("violations", "list", "--format", "json"))
    assert sorted(r["id"] for r in rows) == sorted(seeded.values())
    assert SECRET_TEXT not in json.dumps(rows)
    rows = _json(run("violations", "list", "--severity", "high", "--format", "json"))
    assert [r["id"] for r in rows] == [seeded["b"]]
    tomorrow = str(datetime.now(UTC).date() + timedelta(days=2))
    assert _json(run("violations", "list", "--since", tomorrow, "--format", "json")) == []
    table = run("violations", "list")
    assert table.exit_code == 0 and "[NAME] ([DATE])" in table.output
    assert "Jane Roe" not in table.output


def test_when_showing_then_the_evidence_and_history_are_printed(
    run: Run, seeded: dict[str, int]
) -> None:
    result = run("violations", "show", str(seeded["a"]))
    assert result.exit_code == 0, result.output
    assert SECRET_TEXT in result.output
    assert "post_edited" in result.output and "created" in result.output
    shown = _json(run("violations", "show", str(seeded["a"]), "--format", "json"))
    assert shown["post"]["text"] == SECRET_TEXT
    missing = run("violations", "show", "999")
    assert missing.exit_code == 1 and "no finding with id 999" in missing.output


def test_when_updating_without_an_actor_then_it_refuses_in_one_line(
    run: Run, seeded: dict[str, int]
) -> None:
    result = run("violations", "update", str(seeded["a"]), "--status", "acknowledged")
    assert result.exit_code == 1
    assert "SOCIAL_MONITOR_ACTOR" in result.output
    assert "Traceback" not in result.output


def test_when_updating_as_an_actor_then_the_disposition_joins_the_history(
    run: Run, seeded: dict[str, int]
) -> None:
    env = {"SOCIAL_MONITOR_ACTOR": "alice@example.org"}
    refused = run("violations", "update", str(seeded["b"]), "--status", "dismissed", env=env)
    assert refused.exit_code == 1 and "note" in refused.output
    done = _json(
        run(
            "violations", "update", str(seeded["b"]), "--status", "dismissed",
            "--note", "quoting a film", "--format", "json", env=env,
        )
    )  # fmt: skip
    assert done[0]["actor"] == "alice@example.org" and done[0]["status_to"] == "dismissed"
    shown = _json(run("violations", "show", str(seeded["b"]), "--format", "json"))
    assert shown["finding"]["history"][-1]["note"] == "quoting a film"
    assert shown["finding"]["status"] == "dismissed"


def test_when_the_trail_is_clean_then_audit_verify_exits_0_with_length_and_head(
    run: Run, seeded: dict[str, int]
) -> None:
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "chain ok: 3 events (seq 1..3), head " in result.output
    assert "findings checked: 2" in result.output


def test_when_an_event_is_edited_then_audit_verify_exits_1_naming_it(
    run: Run, seeded: dict[str, int], db: Database
) -> None:
    with db.session() as session:
        event_id = session.execute(
            update(FindingEvent)
            .where(FindingEvent.seq == 2)
            .values(note="rewritten")
            .returning(FindingEvent.id)
        ).scalar_one()
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"trail BROKEN at event id {event_id} (seq 2)" in result.output


def test_when_exporting_then_file_and_manifest_are_written_and_verify_accepts_the_manifest(
    run: Run, seeded: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "audit.csv"
    today = datetime.now(UTC).date()
    result = run(
        "export", "--from", str(today - timedelta(days=1)), "--to", str(today),
        "--format", "csv", "--out", str(out), "--bom",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 2 findings" in result.output
    assert "Jane Roe" not in out.read_text(encoding="utf-8-sig")
    manifest = tmp_path / "audit.csv.manifest.json"
    assert json.loads(manifest.read_text())["rows"] == 2
    assert run("audit", "verify", "--manifest", str(manifest)).exit_code == 0
    again = run(
        "export", "--from", str(today), "--to", str(today), "--out", str(out),
    )  # fmt: skip
    assert again.exit_code == 1 and "already exists" in again.output
    out.write_bytes(out.read_bytes() + b"extra,row\r\n")
    altered = run("audit", "verify", "--manifest", str(manifest))
    assert altered.exit_code == 1 and "SHA-256 differs" in altered.output


def test_when_purging_then_dry_run_counts_and_the_trail_still_verifies_after(
    run: Run, db: Database, seed_finding: Any
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=365 * 7)
    with db.session() as session:
        seed_finding(session, at=long_ago)
        seed_finding(session)
    dry = _json(run("retention", "purge", "--dry-run", "--format", "json"))
    assert (dry["findings"], dry["events"], dry["dry_run"]) == (1, 1, True)
    assert "would delete 1 findings" in run("retention", "purge", "--dry-run").output
    done = run("retention", "purge")
    assert done.exit_code == 0, done.output
    assert "deleted trail events seq 1..1 (1)" in done.output
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "checkpoints: 1 signed, 1 events purged" in verified.output
    no_key = run("audit", "verify", env={"SOCIAL_MONITOR_SECRET_KEY": ""})
    assert no_key.exit_code == 1 and "SOCIAL_MONITOR_SECRET_KEY" in no_key.output


def test_when_an_export_date_is_wrong_then_one_line_and_no_file(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    result = run("export", "--from", "soon", "--to", "2026-01-01", "--out", str(out))
    assert result.exit_code == 1
    assert "not a date" in result.output and not out.exists()
