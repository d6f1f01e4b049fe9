"""The console script starts with the cyclic garbage collector paused (``claims.startup``) and
collects again once a command has loaded what it works with.

Each check runs in a fresh interpreter: pausing the collector of the test process itself would
change every test after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import SEED


def run_python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def claims_command(database: str, *args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "claims", "--db", database, "--as-user", "tester", *args],
        cwd=cwd,
        capture_output=True,
        check=True,
    )


def watching(module: str, function: str) -> str:
    """The console script's own entry point, run with ``module.function`` reporting on standard
    error whether the collector runs, and has frozen what start-up built, when the command calls it."""
    return (
        "import gc, sys\n"
        "from claims.__main__ import main\n"
        f"import {module} as watched_module\n"
        f"original = watched_module.{function}\n"
        "def watched(*args, **options):\n"
        "    print('collector during the command:', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)\n"
        "    return original(*args, **options)\n"
        f"watched_module.{function} = watched\n"
        "sys.argv = ['claims', *sys.argv[1:]]\n"
        "print('collector at start-up:', gc.isenabled(), file=sys.stderr)\n"
        "main()\n"
    )


def test_resume_freezes_what_was_built_and_collects_again(tmp_path: Path) -> None:
    code = (
        "import gc; from claims import startup\n"
        "startup.pause(); assert not gc.isenabled() and gc.get_freeze_count() == 0\n"
        "startup.resume(); assert gc.isenabled() and gc.get_freeze_count() > 0\n"
        "frozen = gc.get_freeze_count(); startup.resume(); assert gc.get_freeze_count() == frozen\n"
        "print('ok')"
    )
    assert run_python(code, cwd=tmp_path).stdout == "ok\n"


def test_without_pause_resume_changes_nothing(tmp_path: Path) -> None:
    """A program that imports claims itself (a notebook, a test) keeps its collector as it was."""
    code = (
        "import gc; from claims import startup\n"
        "gc.disable(); startup.resume(); assert not gc.isenabled() and gc.get_freeze_count() == 0\n"
        "gc.enable(); startup.resume(); assert gc.isenabled() and gc.get_freeze_count() == 0\n"
        "print('ok')"
    )
    assert run_python(code, cwd=tmp_path).stdout == "ok\n"


def test_the_console_script_collects_again_once_its_command_has_loaded(tmp_path: Path) -> None:
    """By the time the importer runs, the command has opened its tracker: the collector must be
    running again (an import of a million events makes garbage cycles that would otherwise stay
    until the process ends)."""
    database = str(tmp_path / "claims.db")
    claims_command(database, "init", cwd=tmp_path)
    code = watching("claims.service.importer", "import_document")
    reported = run_python(code, "--db", database, "--as-user", "tester", "import", str(SEED), cwd=tmp_path).stderr
    assert "collector at start-up: True" in reported  # importing the entry point pauses nothing
    assert "collector during the command: True True" in reported


def test_verify_of_an_exported_file_collects_again_before_it_reads(tmp_path: Path) -> None:
    """``verify --file`` opens no tracker: it resumes the collector before reading the file."""
    database, exported = str(tmp_path / "claims.db"), str(tmp_path / "trail.jsonl")
    for args in (["init"], ["import", str(SEED)], ["export", "--format", "jsonl", "--out", exported]):
        claims_command(database, *args, cwd=tmp_path)
    code = watching("claims.io.trail", "verify_trail")
    reported = run_python(code, "--db", database, "verify", "--file", exported, cwd=tmp_path).stderr
    assert "collector during the command: True True" in reported
