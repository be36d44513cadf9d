"""The service end to end: one cycle on sample data, graceful stop, status, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.storage.database import Database
from monitor.storage.models import Digest, Finding, Post, PostVersion, Source

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "monitor" / "data" / "sample_posts.jsonl"


def _config(tmp_path: Path, db_url: str, **extra: str) -> Path:
    config = tmp_path / "config.toml"
    lines = [
        "[practice]",
        'name = "Riverside Family Medicine"',
        'timezone = "America/New_York"',
        "[database]",
        f'url = "{db_url}"',
        "[policy]",
        'practice_name = "Riverside Family Medicine"',
        'practice_aliases = ["Riverside FM", "RFM"]',
        "workers = 1",
        "[alerts.email]",
        f'outbox_dir = "{tmp_path / "outbox"}"',
        "[alerts.digest]",
        'recipients = ["compliance@example.org"]',
        # Always past, so `run --once` sends the day's digest.
        "send_at = 00:00:00",
        "[scheduler]",
        "lease_seconds = 10",
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SOCIAL_MONITOR_SECRET_KEY", key)
    return {"SOCIAL_MONITOR_SECRET_KEY": key}


def _invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.output


def _counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {
            "posts": session.scalar(select(func.count()).select_from(Post)) or 0,
            "versions": session.scalar(select(func.count()).select_from(PostVersion)) or 0,
            "findings": session.scalar(select(func.count()).select_from(Finding)) or 0,
            "digests": session.scalar(
                select(func.count()).select_from(Digest).where(Digest.kind == "daily")
            )
            or 0,
        }


def test_when_run_once_twice_then_everything_is_done_once_and_exit_is_zero(
    db: Database, tmp_path: Path, env: dict[str, str]
) -> None:
    config = _config(tmp_path, db.url)
    code, out = _invoke(config, "sources", "add", "--platform", "jsonl", "--path", str(SAMPLE))
    assert code == 0, out
    code, out = _invoke(config, "run", "--once")
    assert code == 0, out
    assert "sync: ok" in out and "scan: ok" in out and "send_digest: ok" in out
    first = _counts(db)
    assert first["posts"] == sum(1 for line in SAMPLE.open() if line.strip())
    assert first["findings"] > 0 and first["digests"] == 1
    daily = list((tmp_path / "outbox").glob("daily.*.eml"))
    assert len(daily) == 1

    code, out = _invoke(config, "run", "--once")
    assert code == 0, out
    assert _counts(db) == first
    assert len(list((tmp_path / "outbox").glob("daily.*.eml"))) == 1


def test_when_a_source_fails_then_run_once_exits_1_and_status_names_it(
    sqlite_db: Database, tmp_path: Path, env: dict[str, str]
) -> None:
    config = _config(tmp_path, sqlite_db.url)
    missing = tmp_path / "missing.jsonl"
    missing.write_text("")
    _invoke(config, "sources", "add", "--platform", "jsonl", "--path", str(missing))
    missing.unlink()
    code, out = _invoke(config, "run", "--once")
    assert code == 1
    assert "sync: FAILED" in out
    with sqlite_db.session() as session:
        session.get(Source, 1).status = "needs_reauth"  # type: ignore[union-attr]
    code, out = _invoke(config, "status")
    assert code == 0, out
    assert "Needs an admin:" in out and "source 1" in out and "needs reauth" in out
    code, out = _invoke(config, "status", "--format", "json")
    data = json.loads(out)
    assert data["scan_backlog"] == 0 and data["sources"][0]["status"] == "needs_reauth"


def test_when_sigterm_then_service_stops_gracefully_with_exit_0(
    sqlite_db: Database, tmp_path: Path, env: dict[str, str]
) -> None:
    config = _config(tmp_path, sqlite_db.url)
    _invoke(config, "sources", "add", "--platform", "jsonl", "--path", str(SAMPLE))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run", "--log-format", "json"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _counts(sqlite_db)["posts"] > 0:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [r["msg"] for r in records]
    assert "stop requested" in messages and messages[-1] == "service stopped"
    # The stored posts are whole: every post has its first version.
    counts = _counts(sqlite_db)
    assert counts["posts"] == counts["versions"] > 0
