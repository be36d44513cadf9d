"""The core stays pure: domain and policy import no I/O library, connectors no database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {
    "sqlalchemy", "alembic", "psycopg", "requests", "tweepy", "facebook", "smtplib",
    "aiosmtpd", "jinja2", "apscheduler", "socket", "urllib", "http",
}  # fmt: skip
# Policy modules that build the NLP engine may import presidio/spaCy, but still no I/O library.
PURE = ["monitor/domain.py", "monitor/policy"]
NO_DATABASE = ["connectors"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("monitor.storage"):
                names.add("monitor.storage")
    return names


def _files(spec: str) -> list[Path]:
    target = ROOT / spec
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("path", [p for s in PURE for p in _files(s)], ids=str)
def test_when_core_module_then_it_imports_no_io_library(path: Path) -> None:
    assert _imports(path) & (IO_LIBRARIES | {"monitor.storage"}) == set()


@pytest.mark.parametrize("path", [p for s in NO_DATABASE for p in _files(s)], ids=str)
def test_when_connector_module_then_it_does_no_database_work(path: Path) -> None:
    assert _imports(path) & {"sqlalchemy", "alembic", "psycopg", "monitor.storage"} == set()
