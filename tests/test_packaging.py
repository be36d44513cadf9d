"""A non-editable install carries what the CLI needs at run time: migrations, templates, data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_when_wheel_built_then_it_ships_migrations_templates_and_data(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("social_monitor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected_from_tree = {
        str(p.relative_to(ROOT))
        for pattern in ("migrations/**/*.py", "migrations/*.mako", "alerts/templates/*",
                        "monitor/data/*")
        for p in ROOT.glob(pattern)
        if "__pycache__" not in p.parts and p.is_file()
    }  # fmt: skip
    assert "migrations/env.py" in names
    assert any(n.startswith("migrations/versions/0001") for n in names)
    assert expected_from_tree - names == set()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "social-monitor = monitor.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
