"""``config check``: validate a config file and show the effective settings, secrets masked."""

from __future__ import annotations

import json
from typing import Any

import click

from monitor.cli.common import app, command, subgroup
from monitor.config import Settings, read_secret
from monitor.storage.database import mask_url

config_group = subgroup("config", "Validate and show the configuration.")


def effective(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, with every secret replaced by whether it is set."""
    data: dict[str, Any] = settings.model_dump(mode="json")

    def walk(node: dict[str, Any]) -> None:
        for key, value in list(node.items()):
            if isinstance(value, dict):
                walk(value)
            elif key.endswith("_env") and isinstance(value, str) and value:
                node[key] = f"{value} ({'set' if read_secret(value) else 'not set'})"

    walk(data)
    data["database"]["url"] = mask_url(settings.database.url)
    return data


def _toml_lines(data: dict[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict) and k != "severity_overrides"}
    if "severity_overrides" in data:
        scalars["severity_overrides"] = data["severity_overrides"]
    if prefix and scalars:
        lines.append(f"[{prefix}]")
    for key, value in scalars.items():
        lines.append(f"{key} = {json.dumps(value)}")
    if prefix and scalars:
        lines.append("")
    for key, value in tables.items():
        lines.extend(_toml_lines(value, f"{prefix}.{key}" if prefix else key))
    return lines


@command(config_group, "check")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml")
def config_check(fmt: str) -> None:
    """Validate the config file and print the effective settings (secrets masked)."""
    settings = app().settings
    click.echo(f"# {settings.source_path}: valid", err=True)
    data = effective(settings)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo("\n".join(_toml_lines(data)).rstrip())
