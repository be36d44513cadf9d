"""Several instances on one PostgreSQL database share the work; a killed one loses nothing.

Three ``run --once`` processes start together over many sources; one is killed (SIGKILL) in
the middle of its work. After its leases expire one more cycle runs. Then every post is stored
once, every finding once (the same findings a single dry-run scan gives), and there is one
daily digest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from monitor.storage import migrate
from monitor.storage.database import Database
from monitor.storage.models import Digest, Finding, Post, PostVersion, Source

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "monitor" / "data" / "sample_posts.jsonl"
SOURCES = 8
LEASE_SECONDS = 10

pytestmark = pytest.mark.postgres


def _write_sources(folder: Path) -> list[Path]:
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    paths = []
    for n in range(SOURCES):
        path = folder / f"feed-{n:02d}.jsonl"
        with path.open("w") as fh:
            for record in records:
                fh.write(json.dumps({**record, "id": f"s{n:02d}-{record['id']}"}) + "\n")
        paths.append(path)
    return paths


def _config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[practice]",
                'timezone = "UTC"',
                "[database]",
                f'url = "{url}"',
                "[policy]",
                'practice_name = "Riverside Family Medicine"',
                "workers = 1",
                "[alerts.email]",
                f'outbox_dir = "{tmp_path / "outbox"}"',
                "[alerts.digest]",
                'recipients = ["compliance@example.org"]',
                "send_at = 00:00:00",
                "[scheduler]",
                f"lease_seconds = {LEASE_SECONDS}",
                "scan_batch_size = 40",
            ]
        )
        + "\n"
    )
    return config


def _cli(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_when_three_instances_run_and_one_is_killed_then_everything_happens_once(
    pg_schema_url: str, tmp_path: Path
) -> None:
    db = Database(pg_schema_url)
    migrate.upgrade(db)
    env = {**os.environ, "SOCIAL_MONITOR_SECRET_KEY": Fernet.generate_key().decode()}
    config = _config(tmp_path, pg_schema_url)
    feeds = _write_sources(tmp_path)
    for path in feeds:
        add = _cli(config, env, "sources", "add", "--platform", "jsonl", "--path", str(path))
        assert add.wait(60) == 0, add.communicate()[1]

    procs = [_cli(config, env, "run", "--once", "--instance", f"inst-{i}") for i in range(3)]
    victim = procs[0]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with db.session() as session:
            held = session.scalar(
                select(func.count()).select_from(Source).where(Source.lease_owner.like("inst-0:%"))
            )
            versions = session.scalar(
                select(func.count())
                .select_from(PostVersion)
                .where(PostVersion.scan_lease_owner.like("inst-0:%"))
            )
        if held or versions:
            break
        if victim.poll() is not None:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    for proc in procs[1:]:
        proc.communicate(timeout=600)

    time.sleep(LEASE_SECONDS + 1)  # the killed instance's leases expire
    final = _cli(config, env, "run", "--once", "--instance", "inst-final")
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, out + err

    (tmp_path / "all.jsonl").write_text("".join(p.read_text() for p in feeds))
    dry = _cli(config, env, "scan-file", str(tmp_path / "all.jsonl"))
    dry_out, dry_err = dry.communicate(timeout=600)
    assert dry.returncode == 0, dry_err
    expected_findings = sum(len(json.loads(line)["findings"]) for line in dry_out.splitlines())

    expected_posts = SOURCES * sum(1 for line in SAMPLE.read_text().splitlines() if line.strip())
    with db.session() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
        distinct = session.scalar(select(func.count(func.distinct(Post.external_id))))
        versions = session.scalar(select(func.count()).select_from(PostVersion))
        unscanned = session.scalar(
            select(func.count())
            .select_from(PostVersion)
            .where(PostVersion.scanned_policy_version.is_(None))
        )
        findings = session.scalar(select(func.count()).select_from(Finding))
        digests = session.scalar(
            select(func.count()).select_from(Digest).where(Digest.kind == "daily")
        )
    assert posts == distinct == versions == expected_posts
    assert unscanned == 0
    assert findings == expected_findings > 0
    assert digests == 1
    assert len(list((tmp_path / "outbox").glob("daily.*.eml"))) == 1
    db.dispose()
