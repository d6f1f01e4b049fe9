"""Command lines ``claims`` must refuse, in one ``Error:`` line and a non-zero exit, having written
nothing: an ``--out`` that is the database itself, empty global options and file names, and a
``similar --threshold`` that is no number; and a usage error whose message Click lays out on
several lines, shown in one clean line.

An ``--out`` naming the SQLite database (however spelt: relative, absolute, through a link, the
default ``./claims.db``, a ``-wal``/``-shm``/``-journal`` companion) would replace the log with
its own export or report; these tests run in a directory of their own (``monkeypatch.chdir``), so
that relative names and the default database are the test's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claims.cli import cli
from tests.conftest import SEED, new_database_url

# Click 8.2+ keeps standard error apart: result.stdout, result.stderr (result.output has both).
RUNNER = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1", "CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None})


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return RUNNER.invoke(cli, list(args), env=env, prog_name="claims")


def ok(*args: str, env: dict[str, str | None] | None = None) -> Result:
    result = run(*args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"
    return result


def refused(*args: str, code: int = 1, env: dict[str, str | None] | None = None) -> str:
    """The command refuses: exit ``code``, no traceback, nothing on standard output, and one line
    on standard error starting ``Error:``, which is returned."""
    result = run(*args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, f"{args} exited {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def state(db: str) -> dict[str, Any]:
    """The log's checkpoint (size and Merkle root): what any write would change."""
    checkpoint = json.loads(ok("--db", db, "checkpoint").stdout)
    return {"size": checkpoint["size"], "root": checkpoint["root"]}


def seeded(db: str) -> dict[str, Any]:
    """Initialise ``db``, import the seed into it, and return its checkpoint."""
    ok("--db", db, "init")
    ok("--db", db, "import", str(SEED))
    return state(db)


def intact(db: str, before: dict[str, Any]) -> None:
    """The database still holds the log it held, its hash chain intact, and no partial output is left."""
    assert state(db) == before
    ok("--db", db, "verify")
    assert not [path for path in Path.cwd().iterdir() if path.name.endswith(".partial")]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of the test's own."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


WRITERS = ("export", "report")


# -- --out is the database ------------------------------------------------------------------------

# How --out may name the database x.db (in the working directory ``here``), and what it is then.
SPELLINGS = {
    "as given": ("x.db", "the database itself"),
    "dot slash": ("./x.db", "the database itself"),
    "absolute": ("{here}/x.db", "the database itself"),
    "round about": ("../{name}/x.db", "the database itself"),
    "symbolic link": ("link.db", "the database itself"),
    "hard link": ("hard.db", "the database itself"),
    "write-ahead log": ("x.db-wal", "the database's -wal file"),
    "shared memory": ("x.db-shm", "the database's -shm file"),
    "rollback journal": ("x.db-journal", "the database's -journal file"),
}


@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_out_naming_the_database_is_refused_and_the_log_kept(here: Path, command: str, spelling: str) -> None:
    before = seeded("x.db")
    Path("link.db").symlink_to("x.db")
    os.link("x.db", "hard.db")
    pattern, what = SPELLINGS[spelling]
    out = pattern.format(here=here, name=here.name)
    line = refused("--db", "x.db", command, "--out", out)
    assert line == f"Error: --out {out} is {what}; choose another file"
    intact("x.db", before)


@pytest.mark.parametrize("command", WRITERS)
def test_out_naming_the_default_database_is_refused(here: Path, command: str) -> None:
    """No --db: the database is ./claims.db, and --out claims.db is it."""
    before = seeded(str(here / "claims.db"))
    for out in ("claims.db", "./claims.db", str(here / "claims.db")):
        assert refused(command, "--out", out) == f"Error: --out {out} is the database itself; choose another file"
    intact("claims.db", before)


@pytest.mark.parametrize("command", WRITERS)
def test_out_naming_the_database_of_the_environment_or_a_link_or_a_url_is_refused(here: Path, command: str) -> None:
    before = seeded("x.db")
    Path("link.db").symlink_to("x.db")
    expected = "Error: --out x.db is the database itself; choose another file"
    assert refused(command, "--out", "x.db", env={"CLAIMS_DATABASE_URL": "x.db"}) == expected
    assert refused("--db", "link.db", command, "--out", "x.db") == expected  # --db through a link
    assert refused("--db", "sqlite:///x.db", command, "--out", "x.db") == expected  # --db as a URL
    intact("x.db", before)


@pytest.mark.parametrize("command", WRITERS)
def test_out_beside_the_database_is_written(here: Path, command: str) -> None:
    """What is not the database is written as before: a file named like it elsewhere, standard output."""
    before = seeded("x.db")
    Path("elsewhere").mkdir()
    ok("--db", "x.db", command, "--out", "elsewhere/x.db")
    assert Path("elsewhere/x.db").stat().st_size > 100
    ok("--db", "x.db", command, "--out", "x.db.out")
    assert Path("x.db.out").stat().st_size > 100
    assert len(ok("--db", "x.db", command, "--out", "-").stdout) > 100
    intact("x.db", before)


@pytest.fixture
def postgresql_url(tmp_path: Path) -> Iterator[str]:
    """An empty PostgreSQL database (skipped where no server is reachable, but under CI)."""
    yield from new_database_url("postgresql", tmp_path)


@pytest.mark.parametrize("command", WRITERS)
def test_on_postgresql_there_is_no_database_file_to_protect(postgresql_url: str, here: Path, command: str) -> None:
    seeded(postgresql_url)
    ok("--db", postgresql_url, command, "--out", "claims.db")  # the default SQLite name, but not this database
    assert Path("claims.db").stat().st_size > 100


# -- empty values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--db", "", "init"), "Error: --db needs a database path or URL, not an empty one"),
        (("--db", " ", "init"), "Error: --db needs a database path or URL, not an empty one"),
        (("--db", "", "config"), "Error: --db needs a database path or URL, not an empty one"),
        (("--as-user", "", "config"), "Error: --as-user needs a name, not an empty one"),
    ],
)
def test_an_empty_global_option_is_refused(here: Path, args: tuple[str, ...], expected: str) -> None:
    """Not taken for the default (./claims.db, the login name) while `config` says it came from the flag."""
    assert refused(*args) == expected
    assert list(here.iterdir()) == []  # `init` created no ./claims.db


def test_an_empty_recorder_writes_nothing(here: Path) -> None:
    before = seeded("x.db")
    line = refused("--db", "x.db", "--as-user", "", "party", "add", "brazil", "--name", "Brazil")
    assert line == "Error: --as-user needs a name, not an empty one"
    intact("x.db", before)
    refused("--db", "x.db", "narrative", "brazil")


def test_import_of_an_empty_file_name_names_it_and_imports_nothing(db_url: str, here: Path) -> None:
    ok("--db", db_url, "init")
    before = state(db_url)
    expected = "Error: import needs a file name, not an empty one"
    assert refused("--db", db_url, "import", "") == expected
    assert refused("--db", db_url, "import", str(SEED), "") == expected  # refused before the seed is
    assert state(db_url) == before


# -- a usage error in one clean line ---------------------------------------------------------------


def test_a_missing_choice_is_one_clean_line(here: Path) -> None:
    """Click lays the choices out one a line, tab-indented: in one line, separated by spaces,
    with neither the characters nor their escapes (\\n, \\t)."""
    line = refused("completion", code=2)
    assert line == (
        "Error: Missing argument '{bash|zsh|fish}'. Choose from: bash, zsh, fish (see: claims completion --help)"
    )


def test_a_control_character_the_user_typed_is_still_escaped(here: Path) -> None:
    line = refused("--db", "x.db", "narrative", "russia", "--format", "bo\ngus", code=2)
    assert "bo\\ngus" in line


# -- similar --threshold --------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", ["nan", "NaN", "-nan", "inf", "-inf", "101", "-1"])
def test_similar_refuses_a_threshold_that_is_no_score(here: Path, threshold: str) -> None:
    before = seeded("x.db")
    line = refused("--db", "x.db", "similar", "farce", "--threshold", threshold, code=2)
    assert line.startswith("Error: Invalid value for '--threshold': ")
    assert "is not in the range 0<=x<=100." in line
    intact("x.db", before)


def test_similar_takes_the_bounds_of_the_range(here: Path) -> None:
    seeded("x.db")
    everything = json.loads(ok("--db", "x.db", "similar", "farce", "--threshold", "0", "--format", "json").stdout)
    assert everything
    ok("--db", "x.db", "similar", "farce", "--threshold", "100", "--format", "json")


# -- text that says nothing, or holds a terminal's controls ------------------------------------------

CLAIM = ("add", "--party", "russia", "--topic", "g20-joint-statement", "--said-on", "2023-03-03", "--source", "tass")


@pytest.mark.parametrize("blank", [" ", "   ", "\n\t", " \u00a0\u2003 ", "\u200b", "\ufeff \u200b"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((*CLAIM, "--text", "{blank}"), "Error: text is required"),
        (("party", "add", "brazil", "--name", "{blank}", "--kind", "state"), "Error: name is required"),
        (
            ("correct", "zakharova-no-real-meeting", "--text", "Fixed.", "--reason", "{blank}"),
            "Error: reason is required",
        ),
        (("verdict", "zakharova-no-real-meeting", "--rating", "{blank}", "--by", "tass"), "Error: rating is required"),
        (("--as-user", "{blank}", *CLAIM, "--text", "Said."), "Error: recorder (--as-user or CLAIMS_USER) is required"),
    ],
)
def test_a_required_text_of_blanks_alone_is_refused(
    here: Path, blank: str, args: tuple[str, ...], expected: str
) -> None:
    """As an empty one is: spaces, tabs, newlines and other blanks say nothing."""
    before = seeded("x.db")
    assert refused("--db", "x.db", *(arg.replace("{blank}", blank) for arg in args)) == expected
    intact("x.db", before)


@pytest.mark.parametrize("control", ["\x9b", "\x85", "\x80", "\x1c"])
@pytest.mark.parametrize("option", ["--text", "--quote"])
def test_a_c1_or_c0_control_character_in_a_text_is_refused(here: Path, control: str, option: str) -> None:
    """U+009B is a terminal's CSI (what ESC [ is): stored, it would be obeyed wherever the text is
    printed. Optional fields are held to it as required ones are."""
    before = seeded("x.db")
    text = ("--text", "Said.") if option == "--quote" else ()
    line = refused("--db", "x.db", *CLAIM, *text, option, f"csi {control}31m red")
    code = f"U+{ord(control):04X}"
    assert line == f"Error: {option.removeprefix('--')} contains control characters ({code} at character 5)"
    intact("x.db", before)


@pytest.mark.parametrize("command", ["source", "verdict"])
def test_a_blank_url_is_no_address_rather_than_missing(here: Path, command: str) -> None:
    """The url is optional: given blank, it is refused for what it is, not called required."""
    before = seeded("x.db")
    if command == "source":
        args: tuple[str, ...] = ("source", "add", "s9", "--name", "S9", "--kind", "website", "--url", " ")
    else:
        args = ("verdict", "zakharova-no-real-meeting", "--rating", "false", "--by", "tass", "--url", " ")
    assert refused("--db", "x.db", *args) == "Error: url must be an http(s) address with a host and without spaces: ' '"
    intact("x.db", before)


@pytest.mark.parametrize("url", ["http://", "https:///path", "http://?q", "https://user@/x", "ftp://x.org"])
def test_a_url_without_a_host_is_refused(here: Path, url: str) -> None:
    before = seeded("x.db")
    line = refused("--db", "x.db", "source", "add", "s9", "--name", "S9", "--url", url)
    assert line == f"Error: url must be an http(s) address with a host and without spaces: {url!r}"
    intact("x.db", before)


def test_a_url_s_scheme_is_read_in_any_case(here: Path) -> None:
    seeded("x.db")
    ok("--db", "x.db", "source", "add", "s9", "--name", "S9", "--url", "HTTPS://example.org/a")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to fill standard output")
def test_an_add_whose_id_cannot_be_printed_says_it_is_recorded(here: Path) -> None:
    import subprocess
    import sys

    seeded("x.db")
    claim = ["--party", "russia", "--topic", "g20-joint-statement", "--said-on", "2023-03-04", "--source", "tass"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "claims",
                "--db",
                "x.db",
                "add",
                *claim,
                "--text",
                "Printed nowhere.",
                "--id",
                "lost",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "CLAIMS_DATABASE_URL"},
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == "Error: claim lost is recorded, but its id could not be printed: No space left on device\n"
    assert json.loads(ok("--db", "x.db", "show", "lost", "--format", "json").stdout)["claim"]["id"] == "lost"
