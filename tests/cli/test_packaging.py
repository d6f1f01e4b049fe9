"""The migrations ship inside the built package: a non-editable install runs `claims init` anywhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_non_editable_install_initialises_a_database(tmp_path: Path) -> None:
    # Built from a copy: setuptools keeps its build/ directory between builds, and a build in the
    # working tree would ship a migration file renamed or deleted since (two revisions 0004).
    source = tmp_path / "source"
    shutil.copytree(
        REPO, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "demo", "bench")
    )
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--verbose",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert "BuildBackendWarning" not in build.stdout + build.stderr  # e.g. a deprecated pyproject field
    (metadata,) = target.glob("claims_tracker-*.dist-info/METADATA")
    assert "License-Expression: MIT" in metadata.read_text(encoding="utf-8").splitlines()
    assert (target / "claims" / "migrations" / "env.py").is_file()
    assert list((target / "claims" / "migrations" / "versions").glob("0001_*.py"))
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import claims; "
        "assert claims.__file__.startswith(sys.argv[1]), claims.__file__; "
        "from claims.cli import cli; cli(['--db', sys.argv[2], 'init'])"
    )
    database = tmp_path / "installed.db"
    run = subprocess.run(
        [sys.executable, "-c", script, str(target), str(database)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "database ready" in run.stderr
    import sqlite3

    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"events", "claim_versions", "claim_periods", "alembic_version"} <= tables
    # The newest migration of the tree shipped, and only the tree's (a stale one would fork the head).
    newest = max(path.name.split("_")[0] for path in (REPO / "alembic" / "versions").glob("[0-9]*.py"))
    assert version == newest
