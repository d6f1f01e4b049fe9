"""Every command has help with an example, and docs/commands.md is exactly what its --help says."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import click
import pytest

from claims.cli import cli

REPO = Path(__file__).resolve().parents[2]


def _reference_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("command_reference", REPO / "docs" / "command_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference_script()
CONTEXTS = {context.command_path: context for context in REFERENCE.walk(cli)}


# Help waiting on its module's owner; strict, so the entry must go as soon as the help is there.
PENDING: dict[str, str] = {}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=pytest.mark.xfail(strict=True, reason=PENDING[path])) if path in PENDING else path
        for path in sorted(CONTEXTS)
    ],
)
def test_every_command_has_help_with_an_example(path: str) -> None:
    command = CONTEXTS[path].command
    text = inspect.cleandoc(command.help or "")
    assert text, f"`{path}` has no help text"
    assert re.search(r"^\x08\nExamples?:\n", text, re.M), f"`{path}` has no example block ('\\b', then 'Example:')"
    example = text.split("Example", 1)[1]
    assert "claims " in example or "_CLAIMS_COMPLETE" in example, f"`{path}`: the example shows no command line"


def test_the_command_reference_is_generated_from_help() -> None:
    expected = REFERENCE.render(cli)
    written = REFERENCE.TARGET.read_text(encoding="utf-8")
    assert written == expected, "docs/commands.md is out of date with the commands' --help: run `make docs`"


def test_the_command_reference_has_a_section_per_command() -> None:
    written = REFERENCE.TARGET.read_text(encoding="utf-8")
    for path in CONTEXTS:
        assert f"\n## {path}\n" in written
        assert f"[`{path}`](#{path.replace(' ', '-')})" in written


def test_the_reference_is_the_help_users_see(run) -> None:  # type: ignore[no-untyped-def]
    """The generated section of a subcommand is what `claims … --help` prints at the same width."""
    result = run("party", "add", "--help", env={"COLUMNS": str(REFERENCE.WIDTH)})
    written = REFERENCE.TARGET.read_text(encoding="utf-8")
    assert f"```text\n{result.stdout}```" in written


def test_help_never_imports_the_database_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from claims.cli import cli; cli(['report', '--help'], standalone_mode=False); "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'rapidfuzz'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_groups_list_their_commands() -> None:
    assert isinstance(cli, click.Group)
    for name in ("report", "similar", "config", "completion"):
        assert name in cli.commands
