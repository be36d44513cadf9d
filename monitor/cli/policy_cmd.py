"""``policy show``: the rules in force and the policy version, for auditors."""

from __future__ import annotations

import json

import click

from monitor.cli.common import app, command, emit, format_option, subgroup
from monitor.policy.policy import Policy

policy_group = subgroup("policy", "Show the policy being enforced.")


@command(policy_group, "show")
@format_option
def policy_show(fmt: str) -> None:
    """List every built-in rule (id, category, severity, on/off) and the policy version."""
    policy = Policy.from_settings(app().settings.policy)
    rows = [
        {
            "id": s.id,
            "category": str(s.category),
            "severity": str(s.severity),
            "enabled": "on" if s.enabled else "off",
            "explanation": s.explanation,
        }
        for s in policy.states
    ]
    if fmt == "json":
        for row in rows:
            row["enabled"] = row["enabled"] == "on"  # type: ignore[assignment]
        click.echo(json.dumps({"version": policy.version, "rules": rows}, indent=2))
        return
    emit(fmt, ["id", "category", "severity", "enabled"], rows)
    click.echo(f"policy version: {policy.version}")
