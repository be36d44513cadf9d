"""``db upgrade/current/downgrade`` through the CLI, from an installed package's migrations."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.storage import migrate


def test_when_db_upgrade_then_current_is_head_and_downgrade_to_base_works(
    db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    runner = CliRunner()
    up = runner.invoke(cli, ["--config", str(config), "db", "upgrade"])
    assert up.exit_code == 0, up.output
    current = runner.invoke(cli, ["--config", str(config), "db", "current"])
    assert f"revision {migrate.head()} (up to date)" in current.output
    down = runner.invoke(cli, ["--config", str(config), "db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    assert "at revision base" in down.output
    behind = runner.invoke(cli, ["--config", str(config), "db", "current"])
    assert "revision none (behind" in behind.output
