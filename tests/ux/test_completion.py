"""Shell completion: ids from the database named by --db or CLAIMS_DATABASE_URL, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from claims.api import Tracker
from claims.cli import cli
from claims.cli.completion import IdType
from tests.ux.conftest import Run


def offered(args: list[str], incomplete: str) -> list[str]:
    return [
        item.value for item in ShellComplete(cli, {}, "claims", "_CLAIMS_COMPLETE").get_completions(args, incomplete)
    ]


@pytest.fixture
def database(seeded_file: Tracker, monkeypatch: pytest.MonkeyPatch) -> Tracker:
    monkeypatch.setenv("CLAIMS_DATABASE_URL", seeded_file.url)
    return seeded_file


@pytest.mark.parametrize(
    ("args", "incomplete", "expected"),
    [
        (["narrative"], "", ["china", "g20", "india", "russia", "united-states", "western-delegations"]),
        (["narrative"], "r", ["russia"]),
        (["compare", "russia"], "u", ["united-states"]),
        (["narrative", "russia", "--topic"], "g", ["g20-joint-statement", "global-governance"]),
        (["add", "--source"], "r", ["ria-novosti"]),
        (["add", "--via"], "a", ["ap-2023-03-02"]),
        (["add", "--speaker"], "maria", ["maria-zakharova"]),
        (["verdict", "x", "--by"], "t", ["tass"]),
        (["show"], "zakharova", ["zakharova-blinken-initiated-fleeting-encounter", "zakharova-no-real-meeting"]),
        (["retract"], "modi-n", ["modi-not-a-time-for-war"]),
        (["report", "--party"], "ch", ["china"]),
        (["similar", "text", "--party"], "in", ["india"]),
        (["speaker", "add", "x", "--party"], "w", ["western-delegations"]),
        (["narrative"], "nobody", []),
        (["narrative"], "100%_", []),
    ],
)
def test_ids_complete_from_the_database(
    database: Tracker, args: list[str], incomplete: str, expected: list[str]
) -> None:
    assert offered(args, incomplete) == expected


def test_completion_items_carry_names(database: Tracker) -> None:
    items = ShellComplete(cli, {}, "claims", "_CLAIMS_COMPLETE").get_completions(["narrative"], "ru")
    assert [(i.value, i.help) for i in items] == [("russia", "Russia")]


def test_the_db_flag_on_the_command_line_wins(database: Tracker, tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere.db"
    assert offered(["--db", str(missing), "narrative"], "") == []
    assert not missing.exists()  # completing never creates a database
    assert offered(["--db", database.url, "narrative"], "ind") == ["india"]


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "mysql://x/y", "not a url://"])
def test_completion_offers_nothing_rather_than_fail(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    assert offered(["narrative"], "") == []


def test_completion_of_an_uninitialised_database_offers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("CLAIMS_DATABASE_URL", str(empty))
    assert offered(["show"], "") == []


def test_completion_through_the_shell_protocol(database: Tracker, run: Run) -> None:
    result = run(
        env={"_CLAIMS_COMPLETE": "bash_complete", "COMP_WORDS": "claims compare russia uni", "COMP_CWORD": "3"}
    )
    assert result.exit_code == 0
    assert result.stdout == "plain,united-states\n"


def test_commands_and_options_complete_too(database: Tracker) -> None:
    assert "report" in offered([], "rep")
    assert offered(["report"], "--o") == ["--out"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_activation_script(shell: str, run: Run) -> None:
    result = run("completion", shell)
    assert result.exit_code == 0
    assert f"_CLAIMS_COMPLETE={shell}_complete" in result.stdout.replace("'", "").replace('"', "")


def test_every_id_parameter_completes(database: Tracker) -> None:
    """Each option or argument named as an id has an id type, whichever module defines it."""
    names = {"party", "parties", "speaker", "source", "via", "by", "topic", "claim", "responds_to"}

    def walk(command):  # type: ignore[no-untyped-def]
        yield command
        for child in getattr(command, "commands", {}).values():
            yield from walk(child)

    untyped = [
        f"{command.name} {param.name}"
        for command in walk(cli)
        for param in command.params
        if param.name in names and not isinstance(param.type, IdType)
    ]
    assert untyped == []
