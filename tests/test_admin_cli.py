"""The admin CLI end to end against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from monitor.cli import cli
from monitor.crypto import TokenCipher
from monitor.storage.database import Database
from monitor.storage.models import Source


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SOCIAL_MONITOR_SECRET_KEY", key)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(config), *args], input=input, env=env)

    invoke.key = key  # type: ignore[attr-defined]
    return invoke


def _nurse_with_x_account(run) -> None:  # type: ignore[no-untyped-def]
    """Staff member 1 (a nurse) with X account 1 (@a, public consent)."""
    run("staff", "add", "--name", "A", "--email", "a@example.org", "--role", "nurse")
    run(
        "accounts",
        "link",
        "--staff",
        "1",
        "--platform",
        "x",
        "--handle",
        "a",
        "--consent",
        "public",
    )


def _json(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_when_staff_added_then_listed(run) -> None:  # type: ignore[no-untyped-def]
    added = _json(
        run(
            "staff",
            "add",
            "--name",
            "Marcus Webb",
            "--email",
            "MW@Example.org",
            "--role",
            "nurse",
            "--format",
            "json",
        )
    )
    assert added[0]["email"] == "mw@example.org"
    listed = _json(run("staff", "list", "--format", "json"))
    assert [s["name"] for s in listed] == ["Marcus Webb"]
    table = run("staff", "list")
    assert "Marcus Webb" in table.output and "NAME" in table.output


def test_when_duplicate_email_or_unknown_id_then_one_line_error(run) -> None:  # type: ignore[no-untyped-def]
    run("staff", "add", "--name", "A", "--email", "a@example.org", "--role", "nurse")
    dup = run("staff", "add", "--name", "B", "--email", "a@example.org", "--role", "nurse")
    assert dup.exit_code == 1
    assert (
        dup.output.strip() == "error: a staff member with email a@example.org already exists (id 1)"
    )
    unknown = run(
        "accounts",
        "link",
        "--staff",
        "42",
        "--platform",
        "x",
        "--handle",
        "x",
        "--consent",
        "public",
    )
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: unknown staff id 42"


def test_when_account_linked_then_consent_recorded_and_duplicate_refused(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    run("staff", "add", "--name", "A", "--email", "a@example.org", "--role", "physician")
    linked = _json(
        run(
            "accounts",
            "link",
            "--staff",
            "1",
            "--platform",
            "x",
            "--handle",
            "@DrA_md",
            "--consent",
            "public_and_direct",
            "--bio",
            "MD. Views mine.",
            "--format",
            "json",
        )
    )
    assert linked[0]["account"] == "@DrA_md" and linked[0]["consent"] == "public_and_direct"
    with db.session() as session:
        source = session.get(Source, 1)
        assert source is not None and source.consent_at is not None
        assert source.bio_snapshot == "MD. Views mine."
    dup = run(
        "accounts",
        "link",
        "--staff",
        "1",
        "--platform",
        "x",
        "--handle",
        "dra_md",
        "--consent",
        "public",
    )
    assert dup.exit_code == 1 and "already linked" in dup.output


def test_when_facebook_consent_covers_direct_messages_then_refused(run) -> None:  # type: ignore[no-untyped-def]
    run("staff", "add", "--name", "A", "--email", "a@example.org", "--role", "physician")
    result = run(
        "accounts",
        "link",
        "--staff",
        "1",
        "--platform",
        "facebook",
        "--page-id",
        "1234567",
        "--consent",
        "public_and_direct",
    )
    assert result.exit_code == 1 and "--consent" in result.output


def test_when_token_set_from_stdin_then_stored_encrypted_and_decryptable(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    _nurse_with_x_account(run)
    result = run("accounts", "set-token", "1", input="tok-SECRET-123\n")
    assert result.exit_code == 0, result.output
    assert "tok-SECRET-123" not in result.output
    with db.session() as session:
        source = session.get(Source, 1)
        assert source is not None and source.token_encrypted is not None
        assert b"tok-SECRET-123" not in source.token_encrypted
        assert TokenCipher(run.key).decrypt(source.token_encrypted) == "tok-SECRET-123"


def test_when_token_set_without_key_then_clear_error(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _nurse_with_x_account(run)
    monkeypatch.delenv("SOCIAL_MONITOR_SECRET_KEY")
    result = run("accounts", "set-token", "1", input="tok\n")
    assert result.exit_code == 1
    assert "SOCIAL_MONITOR_SECRET_KEY is not set" in result.output


def test_when_keys_rotated_then_tokens_decrypt_only_under_new_key(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    _nurse_with_x_account(run)
    run("accounts", "set-token", "1", input="tok-1\n")
    new_key = Fernet.generate_key().decode()
    result = run("keys", "rotate", "--new-key-env", "NEW_KEY", env={"NEW_KEY": new_key})
    assert result.exit_code == 0, result.output
    assert "1 token(s) re-encrypted" in result.output
    with db.session() as session:
        blob = session.get(Source, 1).token_encrypted  # type: ignore[union-attr]
    assert blob is not None
    assert TokenCipher(new_key).decrypt(blob) == "tok-1"
    with pytest.raises(Exception, match="does not decrypt"):
        TokenCipher(run.key).decrypt(blob)


def test_when_staff_deactivated_then_accounts_disabled_and_history_kept(run) -> None:  # type: ignore[no-untyped-def]
    _nurse_with_x_account(run)
    assert run("staff", "deactivate", "1").exit_code == 0
    assert _json(run("staff", "list", "--format", "json")) == []
    assert len(_json(run("staff", "list", "--all", "--format", "json"))) == 1
    accounts = _json(run("accounts", "list", "--format", "json"))
    assert accounts[0]["status"] == "disabled"
    again = run(
        "accounts",
        "link",
        "--staff",
        "1",
        "--platform",
        "x",
        "--handle",
        "b",
        "--consent",
        "public",
    )
    assert again.exit_code == 1 and "deactivated" in again.output


def test_when_account_unlinked_then_token_destroyed_and_hidden_by_default(
    run, db: Database
) -> None:  # type: ignore[no-untyped-def]
    _nurse_with_x_account(run)
    run("accounts", "set-token", "1", input="tok\n")
    assert run("accounts", "unlink", "1").exit_code == 0
    assert _json(run("accounts", "list", "--format", "json")) == []
    rows = _json(run("accounts", "list", "--all", "--format", "json"))
    assert rows[0]["status"] == "unlinked"
    with db.session() as session:
        assert session.get(Source, 1).token_encrypted is None  # type: ignore[union-attr]


def test_when_practice_sources_added_then_listed_as_practice(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    group = _json(
        run(
            "sources",
            "add",
            "--platform",
            "facebook",
            "--kind",
            "group",
            "--id",
            "99887766",
            "--name",
            "Patients group",
            "--format",
            "json",
        )
    )
    assert group[0]["staff"] == "(practice)" and group[0]["kind"] == "group"
    feed = tmp_path / "posts.jsonl"
    feed.write_text("")
    file_source = _json(
        run("sources", "add", "--platform", "jsonl", "--path", str(feed), "--format", "json")
    )
    assert file_source[0]["kind"] == "file"
    bad = run("sources", "add", "--platform", "facebook", "--kind", "group", "--id", "abc")
    assert bad.exit_code == 1 and "--id" in bad.output


def test_when_database_not_migrated_then_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "staff", "list"])
    assert result.exit_code == 1
    assert "run `social-monitor db upgrade`" in result.output


def test_when_database_unreachable_then_url_shown_with_password_masked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://bob:hunter2@127.0.0.1:1/nodb"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "staff", "list"])
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "bob:***@127.0.0.1:1/nodb" in result.output and "unreachable" in result.output
