"""``social-monitor policy show``: what an auditor sees of the policy in force."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import PolicySettings
from monitor.policy.policy import Policy
from monitor.policy.rules.registry import RULES


def _config(tmp_path: Path, body: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_when_policy_show_json_then_every_rule_and_the_version_are_listed(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        '[policy]\ndisabled_rules = ["harmful.threat"]\n'
        '[policy.severity_overrides]\n"advice.individualized" = "critical"\n',
    )
    result = CliRunner().invoke(cli, ["--config", config, "policy", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rules = {r["id"]: r for r in data["rules"]}
    assert set(rules) == set(RULES)
    assert rules["harmful.threat"]["enabled"] is False
    assert rules["advice.individualized"]["severity"] == "critical"
    assert rules["privacy.identifier_with_care_context"]["category"] == "patient_privacy"
    expected = Policy.from_settings(
        PolicySettings(
            disabled_rules=["harmful.threat"],
            severity_overrides={"advice.individualized": "critical"},
        )
    ).version
    assert data["version"] == expected


def test_when_policy_show_table_then_it_ends_with_the_version(tmp_path: Path) -> None:
    config = _config(tmp_path, "[policy]\n")
    result = CliRunner().invoke(cli, ["--config", config, "policy", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["ID", "CATEGORY", "SEVERITY", "ENABLED"]
    assert lines[-1].startswith("policy version: ")
    assert any(line.split()[:1] == ["harmful.threat"] and line.endswith("on") for line in lines)


def test_when_config_disables_an_unknown_rule_then_one_clear_line_and_exit_2(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, '[policy]\ndisabled_rules = ["harmful.typo"]\n')
    result = CliRunner().invoke(cli, ["--config", config, "policy", "show"])
    assert result.exit_code == 2
    assert "policy.disabled_rules" in result.output and "harmful.typo" in result.output
    assert "Traceback" not in result.output
