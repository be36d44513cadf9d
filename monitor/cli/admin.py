"""Admin commands: staff, linked accounts, practice sources, token encryption keys."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from monitor.cli.common import app, command, emit, fail, format_option, subgroup
from monitor.crypto import TokenCipher, generate_key
from monitor.domain import ConsentScope, Role
from monitor.errors import InvalidInput, SecretMissing
from monitor.storage import admin
from monitor.storage.models import StaffMember

staff = subgroup("staff", "Register, list and offboard staff members.")
accounts = subgroup("accounts", "Link staff members' professional accounts.")
sources = subgroup("sources", "Register the practice's own page, group and file feeds.")
keys = subgroup("keys", "Manage the key that encrypts account tokens.")


def _staff_dict(s: StaffMember) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "email": s.email,
        "role": s.role,
        "active": s.active,
        "created": s.created_at.strftime("%Y-%m-%d"),
        "deactivated": s.deactivated_at.strftime("%Y-%m-%d") if s.deactivated_at else None,
    }


STAFF_COLUMNS = ["id", "name", "email", "role", "active", "created", "deactivated"]
SOURCE_COLUMNS = [
    "id",
    "staff",
    "platform",
    "kind",
    "account",
    "status",
    "consent",
    "token",
    "last_sync",
    "last_outcome",
    "last_error",
]


@command(staff, "add")
@click.option("--name", required=True, help="Full name.")
@click.option("--email", required=True, help="Work email (unique).")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@format_option
def staff_add(name: str, email: str, role: str, fmt: str) -> None:
    """Register a staff member."""
    with app().db.session() as session:
        member = admin.add_staff(session, name, email, role)
        emit(fmt, STAFF_COLUMNS, [_staff_dict(member)])


@command(staff, "list")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated staff.")
@format_option
def staff_list(include_inactive: bool, fmt: str) -> None:
    """List staff members."""
    with app().db.session() as session:
        rows = [
            _staff_dict(s) for s in admin.list_staff(session, include_inactive=include_inactive)
        ]
    emit(fmt, STAFF_COLUMNS, rows)


@command(staff, "deactivate")
@click.argument("staff_id", type=int)
@format_option
def staff_deactivate(staff_id: int, fmt: str) -> None:
    """Offboard a staff member: their accounts stop being monitored, history is kept."""
    with app().db.session() as session:
        member = admin.deactivate_staff(session, staff_id)
        emit(fmt, STAFF_COLUMNS, [_staff_dict(member)])


@command(accounts, "link")
@click.option("--staff", "staff_id", type=int, required=True, help="Staff member id.")
@click.option("--platform", required=True, type=click.Choice(["x", "facebook"]))
@click.option("--handle", help="X handle (with or without @).")
@click.option("--page-id", help="Facebook page id the staff member posts through.")
@click.option(
    "--consent",
    required=True,
    type=click.Choice([c.value for c in ConsentScope]),
    help="What the staff member agreed to have monitored.",
)
@click.option("--bio", help="The profile bio as it reads now (affiliation and disclaimer).")
@format_option
def accounts_link(
    staff_id: int,
    platform: str,
    handle: str | None,
    page_id: str | None,
    consent: str,
    bio: str | None,
    fmt: str,
) -> None:
    """Link a professional account and record the staff member's consent."""
    with app().db.session() as session:
        source = admin.link_account(
            session,
            staff_id=staff_id,
            platform=platform,
            handle=handle,
            page_id=page_id,
            consent=consent,
            bio=bio,
        )
        source_id = source.id
    with app().db.session() as session:
        rows = [r.as_dict() for r in admin.list_sources(session) if r.id == source_id]
    emit(fmt, SOURCE_COLUMNS, rows)


@command(accounts, "unlink")
@click.argument("source_id", type=int)
def accounts_unlink(source_id: int) -> None:
    """Stop monitoring an account and destroy its stored token; its history stays."""
    with app().db.session() as session:
        admin.unlink_account(session, source_id)
    click.echo(f"account {source_id} unlinked; its token was deleted, its history kept")


@command(accounts, "list")
@click.option("--staff", "staff_id", type=int, help="Only this staff member's accounts.")
@click.option("--all", "include_unlinked", is_flag=True, help="Include unlinked accounts.")
@format_option
def accounts_list(staff_id: int | None, include_unlinked: bool, fmt: str) -> None:
    """List accounts and sources with their status, last sync and last error."""
    with app().db.session() as session:
        rows = admin.list_sources(session, staff_id=staff_id, include_unlinked=include_unlinked)
    emit(fmt, SOURCE_COLUMNS, [r.as_dict() for r in rows])


def _read_token(from_env: str | None) -> str:
    if from_env:
        value = os.environ.get(from_env, "")
        if not value:
            raise SecretMissing(f"${from_env} is not set or empty")
        return value.strip()
    if sys.stdin.isatty():
        value = click.prompt("Token", hide_input=True, err=True)
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise InvalidInput("no token given on standard input")
    return value


@command(accounts, "set-token")
@click.argument("source_id", type=int)
@click.option(
    "--from-env",
    metavar="VAR",
    help="Read the token from this environment variable instead of standard input.",
)
def accounts_set_token(source_id: int, from_env: str | None) -> None:
    """Store an account's access token, encrypted. Never pass a token as an argument."""
    ctx = app()
    cipher = TokenCipher.from_settings(ctx.settings)
    token = _read_token(from_env)
    with ctx.db.session() as session:
        admin.set_token(session, source_id, cipher.encrypt(token))
    click.echo(f"token stored encrypted for account {source_id}")


@command(sources, "add")
@click.option("--platform", required=True, type=click.Choice(["facebook", "jsonl"]))
@click.option("--kind", type=click.Choice(["page", "group", "file"]), default=None)
@click.option("--id", "external_id", help="Facebook page or group id.")
@click.option("--path", type=click.Path(dir_okay=False), help="JSONL file (jsonl sources).")
@click.option("--name", help="A display name.")
@click.option("--bio", help="The page's about text (it speaks for the practice).")
@format_option
def sources_add(
    platform: str,
    kind: str | None,
    external_id: str | None,
    path: str | None,
    name: str | None,
    bio: str | None,
    fmt: str,
) -> None:
    """Register a practice-owned Facebook page or group feed, or a JSONL file of posts."""
    if platform == "facebook" and kind is None:
        fail("--kind: required for facebook sources (page or group)", 2)
    with app().db.session() as session:
        source = admin.add_practice_source(
            session,
            platform=platform,
            kind=kind or "file",
            external_id=external_id,
            path=os.path.abspath(path) if path else None,
            name=name,
            bio=bio,
        )
        source_id = source.id
    with app().db.session() as session:
        rows = [r.as_dict() for r in admin.list_sources(session) if r.id == source_id]
    emit(fmt, SOURCE_COLUMNS, rows)


@command(keys, "generate")
def keys_generate() -> None:
    """Print a new encryption key, to put in the key's environment variable."""
    click.echo(generate_key())


@command(keys, "rotate")
@click.option(
    "--new-key-env",
    metavar="VAR",
    required=True,
    help="Environment variable holding the new key.",
)
def keys_rotate(new_key_env: str) -> None:
    """Re-encrypt every stored token under a new key, all or nothing."""
    ctx = app()
    old = TokenCipher.from_settings(ctx.settings)
    new_key = os.environ.get(new_key_env, "")
    if not new_key:
        raise SecretMissing(f"${new_key_env} is not set or empty")
    new = TokenCipher(new_key, new_key_env)
    with ctx.db.session() as session:
        rotated = 0
        for source in admin.encrypted_tokens(session):
            assert source.token_encrypted is not None
            source.token_encrypted = old.rotate_to(new, source.token_encrypted)
            rotated += 1
    old_env = ctx.settings.security.secret_key_env
    click.echo(f"{rotated} token(s) re-encrypted; now set ${old_env} to the new key")
