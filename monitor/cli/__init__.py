"""The ``social-monitor`` command line: one group, one short function per verb.

Commands live in small modules by area (``admin``, ``database``, ...); each registers itself on
``cli``. User mistakes and edge failures become one clear line and an exit code, never a
traceback: configuration errors exit 2, everything else that fails exits 1.
"""

from __future__ import annotations

import importlib

from monitor.cli.common import cli

# Command modules, imported for their registrations on ``cli``. Add one line per area.
_COMMAND_MODULES = [
    "monitor.cli.config_cmd",
    "monitor.cli.database",
    "monitor.cli.admin",
    "monitor.cli.sync",
    "monitor.cli.digest",
    "monitor.cli.policy_cmd",
    "monitor.cli.review",
    "monitor.cli.scan",
    "monitor.cli.service",
]


for _name in _COMMAND_MODULES:
    importlib.import_module(_name)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="social-monitor", standalone_mode=True)


__all__ = ["cli", "main"]
