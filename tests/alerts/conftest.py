"""Fixtures of the alert tests; the helpers themselves live in ``alert_helpers``.

pytest puts ``tests/`` on ``sys.path`` (rootdir conftest), where ``tests/alerts`` looks like a
namespace package named ``alerts``; the editable install's finder comes after it. Putting the
project root first makes ``import alerts`` find the real (regular) package.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if "alerts" in sys.modules and getattr(sys.modules["alerts"], "__file__", None) is None:
    del sys.modules["alerts"]  # a namespace stand-in imported before us

from alert_helpers import raw_peer, smtp_server, world  # noqa: E402

__all__ = ["raw_peer", "smtp_server", "world"]
