"""Config loading: one clear line per problem naming the file and key, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_when_example_config_loaded_then_it_is_valid_and_documents_every_key() -> None:
    import tomllib

    settings = load_config(str(ROOT / "config.example.toml"))
    data = tomllib.loads((ROOT / "config.example.toml").read_text())

    def keys(model: object, node: dict[str, object], prefix: str) -> set[str]:
        found = set()
        for name, field in type(model).model_fields.items():  # type: ignore[attr-defined]
            if field.exclude:
                continue
            sub = getattr(model, name)
            if hasattr(type(sub), "model_fields"):
                found |= keys(sub, node.get(name, {}), f"{prefix}{name}.")  # type: ignore[arg-type]
            else:
                found.add(f"{prefix}{name}")
        return found

    def documented(node: dict[str, object], prefix: str) -> set[str]:
        out = set()
        for k, v in node.items():
            if isinstance(v, dict) and k not in ("severity_overrides", "learned_thresholds"):
                out |= documented(v, f"{prefix}{k}.")
            else:
                out.add(f"{prefix}{k}")
        return out

    assert keys(settings, data, "") == documented(data, "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[alerts.email]\nsmtp_port = "abc"\n',
            'config.toml: [alerts.email] smtp_port: expected an integer, got "abc"',
        ),
        ("[alerts.email]\nsmtp_prot = 25\n", "config.toml: [alerts.email] smtp_prot: unknown key"),
        ("[nonsense]\na = 1\n", "config.toml: nonsense: unknown key"),
        (
            '[policy]\nallow_names = "x"\n',
            'config.toml: [policy] allow_names: expected a list, got "x"',
        ),
        (
            '[practice]\ntimezone = "Mars/Base"\n',
            "config.toml: [practice] timezone: unknown time zone 'Mars/Base'",
        ),
        ("[database\n", "config.toml: invalid TOML"),
        (
            "[policy]\nlearned_thresholds = { patient_privacy = 1.5 }\n",
            "config.toml: [policy] learned_thresholds.patient_privacy: Input should be less than 1",
        ),
        (
            "[policy]\nlearned_thresholds = { privacy = 0.3 }\n",
            "config.toml: [policy] learned_thresholds.privacy",
        ),
    ],
)
def test_when_config_is_invalid_then_error_names_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    message = str(info.value).replace(str(path), "config.toml")
    assert message.startswith(expected)


def test_when_several_errors_then_all_are_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, '[alerts.email]\nsmtp_port = "x"\ntimeout_seconds = "y"\nbogus = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert len(info.value.lines) == 3


def test_when_cli_gets_bad_config_then_one_line_exit_2_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, '[alerts.email]\nsmtp_port = "abc"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f'{path}: [alerts.email] smtp_port: expected an integer, got "abc"'
    )
    assert "Traceback" not in result.output


def test_when_config_path_missing_explicitly_then_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(tmp_path / "no.toml")])
    assert result.exit_code == 2
    assert "cannot read file" in result.output


def test_when_config_env_var_set_then_it_is_used(tmp_path: Path) -> None:
    path = _write(tmp_path, '[practice]\nname = "Env Practice"\n')
    result = CliRunner().invoke(
        cli, ["config", "check", "--format", "json"], env={"SOCIAL_MONITOR_CONFIG": str(path)}
    )
    assert result.exit_code == 0, result.output
    assert '"name": "Env Practice"' in result.output


def test_when_config_check_then_secrets_are_masked(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[database]\nurl = "postgresql+psycopg://u:hunter2@db/x"\n'
        '[alerts.email]\npassword_env = "MY_SMTP_PW"\n',
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "config", "check"], env={"MY_SMTP_PW": "s3cr3t-pw"}
    )
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "s3cr3t-pw" not in result.output
    assert 'password_env = "MY_SMTP_PW (set)"' in result.output
