"""The installed ``claims`` console script, run as a user runs it, in a subprocess.

Proves that the entry point declared in pyproject.toml works from the virtual environment:
``--version`` and ``--help``; init, import of the seed (and again, adding nothing), a narrative
as JSON (the default when piped), verify; a user's mistake exits 1 with one clear line on standard
error and no traceback; and ``python -m claims`` is the same program.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claims import __version__
from tests.conftest import SEED

BIN = Path(sys.executable).parent
CLAIMS = shutil.which("claims", path=str(BIN)) or str(BIN / "claims")


def claims_command(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLAIMS_")}
    env |= {"CLAIMS_USER": "tester", "NO_COLOR": "1"}
    return subprocess.run(
        [CLAIMS, *args], cwd=cwd, env=env, input=input, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_console_script_is_installed() -> None:
    assert Path(CLAIMS).is_file() and os.access(CLAIMS, os.X_OK)


def test_version_and_help(tmp_path: Path) -> None:
    version = claims_command("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.strip() == f"claims, version {__version__}"
    shown = claims_command("--help", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stderr == ""
    for command in ("init", "db", "import", "add", "retract", "narrative", "compare", "verify", "--db", "--as-user"):
        assert command in shown.stdout
    assert not (tmp_path / "claims.db").exists()  # asking for help creates no database


def test_python_dash_m_claims_is_the_same_program(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "claims", "--version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"claims, version {__version__}"


def test_init_import_narrative_verify(db_url: str, tmp_path: Path) -> None:
    init = claims_command("--db", db_url, "init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "database ready" in init.stderr

    imported = claims_command("--db", db_url, "import", str(SEED), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "recorded" in imported.stderr
    again = claims_command("--db", db_url, "import", str(SEED), cwd=tmp_path)
    assert again.returncode == 0 and "nothing added" in again.stderr

    narrative = claims_command("--db", db_url, "narrative", "russia", "--format", "json", cwd=tmp_path)
    assert narrative.returncode == 0, narrative.stderr
    claims = json.loads(narrative.stdout)
    assert claims and {claim["party"] for claim in claims} == {"russia"}
    piped = claims_command("--db", db_url, "narrative", "russia", cwd=tmp_path)
    assert json.loads(piped.stdout) == claims  # JSON is the default when piped

    verified = claims_command("--db", db_url, "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stderr


def test_the_default_database_is_claims_db_in_the_current_directory(tmp_path: Path) -> None:
    assert claims_command("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "claims.db").is_file()
    added = claims_command("party", "add", "russia", "--name", "Russia", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    log = claims_command("log", "--format", "json", cwd=tmp_path)
    assert [line["stream_id"] for line in json.loads(log.stdout)] == ["party:russia"]


@pytest.mark.parametrize(
    "args",
    [
        ("narrative", "russia"),  # no database initialised
        ("import", "/nonexistent/claims.yaml"),
    ],
)
def test_a_mistake_exits_1_with_one_line_and_no_traceback(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = claims_command("--db", str(tmp_path / "fresh.db"), *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")


def test_an_invalid_document_from_stdin_lists_its_problems(tmp_path: Path) -> None:
    db = str(tmp_path / "claims.db")
    assert claims_command("--db", db, "init", cwd=tmp_path).returncode == 0
    document = "format: claims/v1\nclaims:\n  - {party: nobody, topic: t, said_on: 2023-02-30, source: s, text: x}\n"
    result = claims_command("--db", db, "import", "-", cwd=tmp_path, input=document)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: <stdin>: invalid claims document")
    assert "  claims[0].said_on: not a date: 2023-02-30" in lines
    assert "  claims[0].party: unknown party: nobody" in lines
    log = claims_command("--db", db, "log", "--format", "json", cwd=tmp_path)
    assert json.loads(log.stdout) == []


def test_a_reader_closing_the_pipe_early_is_not_an_error_message(tmp_path: Path) -> None:
    database = str(tmp_path / "pipe.db")
    assert claims_command("--db", database, "init", cwd=tmp_path).returncode == 0
    assert claims_command("--db", database, "import", str(SEED), cwd=tmp_path).returncode == 0
    # The report (83 KB) outgrows the pipe's buffer, so its writes meet the closed pipe.
    for args in (
        ("log", "--format", "json"),
        ("show", "zakharova-no-real-meeting", "--format", "table"),
        ("report", "--out", "-"),
        ("export",),
    ):
        shell = f"{CLAIMS} --db {database} {' '.join(args)} | head -c 1 > /dev/null"
        done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, cwd=tmp_path)
        assert "Error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 0, (args, done.returncode)
