"""Structured logs: one JSON object a line, extra fields kept, secrets redacted."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.config import Settings
from monitor.logs import configure_logging


def test_when_json_format_then_each_line_is_an_object_with_extras_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "AAAA-super-secret-bearer")
    configure_logging(Settings(), fmt="json", level="INFO")
    log = logging.getLogger("monitor.test")
    log.info("synced source %s", 7, extra={"posts": 3, "detail": "auth AAAA-super-secret-bearer"})
    log.info("token is AAAA-super-secret-bearer")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["msg"] == "synced source 7" and lines[0]["posts"] == 3
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "monitor.test"
    assert all("AAAA-super-secret-bearer" not in json.dumps(line) for line in lines)
    assert lines[1]["msg"] == "token is ***"
