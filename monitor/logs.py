"""Logging set-up: plain text or one JSON object per line, with secrets redacted.

Log records carry ids, counts and outcomes, never post text. As a second line of defence, the
values of every secret the config names are replaced by ``***`` wherever they would appear.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.config import Settings, read_secret

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is structured data.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = _extras(record)
        if extras:
            base += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return base


class RedactSecrets(logging.Filter):
    """Replaces known secret values in the message and its extra fields."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, "***")
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self._clean(record.getMessage())
            record.args = None
            for key, value in _extras(record).items():
                setattr(record, key, self._clean(value))
        return True


def secret_values(settings: Settings) -> list[str]:
    names = [
        settings.security.secret_key_env,
        settings.security.audit_key_env,
        settings.connectors.x.bearer_token_env,
        settings.connectors.facebook.app_secret_env,
        settings.alerts.email.password_env,
        settings.database.url_env,
    ]
    values = []
    for name in names:
        secret = read_secret(name)
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


def configure_logging(settings: Settings, fmt: str | None = None, level: str | None = None) -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    chosen = fmt or settings.logging.format
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_social_monitor", False):
            root.removeHandler(old)
    handler._social_monitor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or settings.logging.level)
    for noisy in ("urllib3", "requests_oauthlib", "presidio-analyzer", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
