"""Configuration (flag, then environment, then default), ``claims config``, ``--quiet`` and NO_COLOR."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import click
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.api import Tracker
from claims.cli import claims_cmds, output
from claims.cli.context import Settings
from claims.projections.queries import Times
from tests.ux.conftest import Run


def config(run: Run, *args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    result = run(*args, "config", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_config_defaults(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLAIMS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAIMS_USER", raising=False)
    shown = config(run)
    assert shown["database"] == {
        "value": f"sqlite:///{tmp_path.resolve() / 'claims.db'}",
        "from": "default (./claims.db)",
        "note": "no such file yet: run `claims init`",
    }
    assert shown["recorder"]["from"] == "default (your login name)" and shown["recorder"]["value"]
    assert not (tmp_path / "claims.db").exists()  # showing the configuration creates nothing


def test_config_environment_then_flag(run: Run, seeded_file: Tracker) -> None:
    env = {"CLAIMS_DATABASE_URL": seeded_file.url, "CLAIMS_USER": "ana"}
    from_env = config(run, env=env)
    assert from_env["database"] == {"value": seeded_file.url, "from": "CLAIMS_DATABASE_URL", "note": ""}
    assert from_env["recorder"] == {"value": "ana", "from": "CLAIMS_USER"}
    from_flags = config(run, "--db", "other.db", "--as-user", "ben", env=env)
    assert from_flags["database"]["from"] == "--db" and from_flags["database"]["value"].endswith("/other.db")
    assert from_flags["recorder"] == {"value": "ben", "from": "--as-user"}


def test_config_hides_the_password(run: Run) -> None:
    result = run("--db", "postgresql+psycopg://ana:s3cret@db.example:5432/claims", "config", "--format", "table")
    assert result.exit_code == 0
    assert "s3cret" not in result.stdout
    assert "postgresql+psycopg://ana:***@db.example:5432/claims" in result.stdout
    assert "--db" in result.stdout


def test_quiet_silences_messages_not_data_nor_errors(run: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    assert run("-q", "--db", db, "init").stderr == ""
    loud = run("--db", db, "party", "add", "x", "--name", "X")
    assert loud.stderr == "recorded party x\n"
    quiet = run("--quiet", "--db", db, "party", "add", "y", "--name", "Y")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    error = run("-q", "--db", db, "narrative", "nobody")
    assert error.exit_code == 1 and error.stderr == "Error: unknown party: nobody\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it in the test body: pytest's own capture replaces sys.stdout between set-up and the test."""

    def attach() -> None:
        monkeypatch.setattr(sys, "stdout", Terminal())
        monkeypatch.setattr(sys, "stderr", Terminal())
        monkeypatch.delenv("NO_COLOR", raising=False)

    return attach


def test_colour_on_a_terminal(terminal: Callable[[], None]) -> None:
    terminal()
    assert output.style("x", bold=True) == "\x1b[1mx\x1b[0m"
    assert output.style("x", err=True, fg="yellow") == "\x1b[33mx\x1b[0m"


@pytest.mark.parametrize("value", ["1", "true", "anything"])
def test_no_color_turns_colour_off(terminal: Callable[[], None], monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    terminal()
    monkeypatch.setenv("NO_COLOR", value)
    assert output.style("x", bold=True) == "x"
    assert output.style("x", err=True, fg="yellow") == "x"


def test_an_empty_no_color_leaves_colour_on(terminal: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    terminal()
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: only a non-empty value counts
    assert output.style("x", bold=True) != "x"


def test_no_colour_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert output.style("x", bold=True) == "x"


def test_tables_honour_no_color(terminal: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    terminal()
    rows = [{"id": "a", "text": "b"}]
    assert "\x1b[" in output.text_table(rows, ["id", "text"])
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in output.text_table(rows, ["id", "text"])


@pytest.mark.parametrize(("quiet", "shown"), [(False, True), (True, False)])
def test_progress_only_on_a_terminal_and_not_quiet(terminal: Callable[[], None], quiet: bool, shown: bool) -> None:
    terminal()
    with click.Context(click.Command("x"), obj=Settings(db=None, user=None, quiet=quiet)):
        assert output.progress_enabled() is shown
        assert (claims_cmds._progress_line("seed.yaml") is not None) is shown


def test_no_progress_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with click.Context(click.Command("x"), obj=Settings(db=None, user=None)):
        assert output.progress_enabled() is False
        assert claims_cmds._progress_line("seed.yaml") is None


def _on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run ``python -m claims ARGS`` with standard output and error on a pseudo-terminal."""
    import os
    import pty
    import subprocess

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env | {"COLUMNS": "200"}
    with subprocess.Popen(
        [sys.executable, "-m", "claims", *args], stdout=follower, stderr=follower, env=environment
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the command ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks)


def test_no_color_on_a_real_terminal(seeded_file: Tracker) -> None:
    args = ["--db", seeded_file.url, "compare", "russia", "united-states"]
    coloured = _on_a_terminal(args, {})
    assert b"\x1b[1m== russia" in coloured
    plain = _on_a_terminal(args, {"NO_COLOR": "1"})
    assert b"== russia" in plain and b"\x1b[" not in plain


@pytest.mark.parametrize(
    "data",
    [
        [],
        [{}],
        [{"a": [1, {"b": []}], "é": "x\ny"}, 3, "s", None, []],
        [{"n": n} for n in range(1000)],  # one whole batch
        [{"n": n, "m": [n]} for n in range(2501)],  # batches and a part of one
        {"k": [1, 2]},
        {},
        {"a": [], "b": {"c": [1, {"d": []}]}, "é": "x\ny", "n": None, "t": (1, 2)},
        {"claims": [{"n": n, "m": [n]} for n in range(2501)], "after": [[]], "last": {}},
        "text",
    ],
)
def test_json_is_the_text_of_one_dumps_though_a_list_is_written_an_item_at_a_time(
    data: object, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    output.emit_json(data)
    assert capsys.readouterr().out == expected
    if isinstance(data, list):  # as an iterator, such as the log's lines read as they are printed
        output.emit_json(iter(data))
        assert capsys.readouterr().out == expected


def test_a_member_of_a_json_object_is_taken_once_the_members_before_it_are_read_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """How ``claims compare`` names its contradictions after its claims, which are read as they
    are written."""
    claims = [{"id": f"claim-{n}"} for n in range(2500)]
    taken: list[int] = []

    def read() -> Iterator[dict[str, str]]:
        for claim in claims:
            taken.append(1)
            yield claim

    def members() -> Iterator[tuple[str, object]]:
        yield "claims", read()
        yield "count", len(taken)  # how many claims had been taken by then

    output.emit_json_object(members())
    assert capsys.readouterr().out == json.dumps({"claims": claims, "count": 2500}, indent=2) + "\n"


@pytest.mark.parametrize("data", [{1: "a", None: [1], False: {}}, {"a": 1, 2.5: [[]]}])
def test_a_mapping_whose_keys_are_not_all_text_is_written_as_json_dumps_writes_it(
    data: object, capsys: pytest.CaptureFixture[str]
) -> None:
    output.emit_json(data)
    assert capsys.readouterr().out == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("data", [{"s": {1, 2}}, {"v": {"a": 1}.keys()}, {1, 2}])
def test_what_json_dumps_refuses_inside_an_answer_is_refused(data: object) -> None:
    with pytest.raises(TypeError):
        json.dumps(data)
    with pytest.raises(TypeError):
        output.emit_json(data)


# What every answer holds: text (any character but a lone surrogate), whole numbers, truth values,
# nothing, and floats (similarity scores) written the same way by both encoders: none of magnitude
# below 1e-4 but zero, which orjson writes without an exponent.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
_ANSWERS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(min_value=1e-4, max_value=1e300)
    | st.floats(min_value=-1e300, max_value=-1e-4)
    | st.just(0.0)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_ANSWERS)
def test_indented_json_is_what_the_standard_library_writes(data: object) -> None:
    expected = json.dumps(data, indent=2, ensure_ascii=False)
    assert orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") == expected  # written by orjson
    assert output.indented_json(data) == expected


@pytest.mark.parametrize("data", [{"big": 2**64}, ["\ud800"], {1: "a key that is not text"}, [-(2**63) - 1]])
def test_indented_json_leaves_what_orjson_refuses_to_the_standard_library(data: object) -> None:
    with pytest.raises(TypeError):
        orjson.dumps(data, option=orjson.OPT_INDENT_2)
    assert output.indented_json(data) == json.dumps(data, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("data", [{"when": date(2023, 3, 2)}, [datetime(2023, 3, 2, tzinfo=UTC)], [Times()]])
def test_what_the_standard_library_refuses_is_not_written_by_orjson_either(data: object) -> None:
    """A date or a dataclass in an answer is a mistake the standard library refuses; orjson would
    write it, and is told to pass it on instead."""
    with pytest.raises(TypeError):
        json.dumps(data)
    with pytest.raises(TypeError):
        output.indented_json(data)


def test_an_import_that_fails_on_a_terminal_ends_its_progress_line_first(seeded_file: Tracker, tmp_path: Path) -> None:
    document = tmp_path / "wrong-speaker.yaml"
    document.write_text(
        "format: claims/v1\n"
        "claims:\n"
        "  - {party: russia, topic: g20-joint-statement, said_on: 2023-03-03, source: tass, text: x,"
        " speaker: antony-blinken}\n",
        encoding="utf-8",
    )
    shown = _on_a_terminal(["--db", seeded_file.url, "import", str(document)], {}).decode()
    assert f"{document}: 1/1 entries" in shown  # the progress was shown, then the problem found
    assert f"\nError: {document}: invalid claims document (1 problem)" in shown.replace("\r\n", "\n"), shown


def test_the_long_reads_show_progress_on_a_terminal_and_not_when_quiet(seeded_file: Tracker, tmp_path: Path) -> None:
    """SPEC section 4: import, rebuild, export and verify show progress on a terminal. verify showed
    none; export and rebuild showed theirs with --quiet too."""
    trail = tmp_path / "trail.jsonl"
    db = ["--db", seeded_file.url]
    for args, shown in (
        (["export", "--out", str(trail)], "read 52 events"),
        (["verify"], "checked 52 events"),
        (["verify", "--file", str(trail)], "checked 52 events"),
        (["projections", "rebuild"], "folded 52 events"),
    ):
        out = _on_a_terminal([*db, *args], {}).decode().replace("\r\n", "\n")
        assert f"\r{shown}\n" in out, (args, out)  # drawn in place, then its line ended
        quiet = _on_a_terminal(["-q", *db, *args], {}).decode()
        assert shown not in quiet and "\r" not in quiet.replace("\r\n", ""), (args, quiet)
    party = tmp_path / "russia.jsonl"
    _on_a_terminal([*db, "export", "--party", "russia", "--out", str(party)], {})
    events = len(party.read_text(encoding="utf-8").splitlines()) - 1  # the header is no event
    out = _on_a_terminal([*db, "verify", "--file", str(party)], {}).decode()
    assert f"\rchecked {events} events" in out and f"intact, {events} events" in out, out


def test_a_shorter_progress_line_covers_the_longer_one_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected document's check counts its entries again after the import's count: its first,
    shorter line must not leave the end of the longer one on the terminal."""
    shown = io.StringIO()
    monkeypatch.setattr(sys, "stderr", shown)
    line = claims_cmds._ProgressLine("doc.json")
    line(25_000, 57_606)
    line(500, 57_606)
    last = shown.getvalue().split("\r")[-1]
    assert last == "doc.json: 500/57606 entries".ljust(len("doc.json: 25000/57606 entries"))
