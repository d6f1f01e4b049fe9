"""Hostile input: never a traceback, never a partial write, always one clear error and a non-zero exit.

Hypothesis feeds the document loader (``load_text``, ``read_document``, ``Tracker.import_text``)
and every command-line option and argument that takes text (found by walking the command tree,
so a command added later is fuzzed too) with what a careless or malicious user could type: very
long strings, control characters, lone surrogates (bytes that are not UTF-8 in ``argv``), SQL
metacharacters, impossible and non-ASCII dates, odd URLs, numbers too large for the database. A
few hand-made cases run through the installed ``claims`` command: a YAML alias bomb, deeply
nested JSON and YAML, a file that is not UTF-8, arguments that are not UTF-8, a 100 MB document
(as a huge YAML scalar, as a huge JSON string, on standard input), and a document over the size
limit read from a device that never ends. Text that passes validation is stored and read back
exactly, SQL metacharacters included.
"""

from __future__ import annotations

import getpass
import itertools
import json
import os
import resource
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import claims
import claims.api
from claims.api import Tracker
from claims.cli import cli
from claims.domain.errors import ClaimsError, ValidationError
from claims.io.document import read_document
from claims.io.loading import MAX_YAML_CHARACTERS, load_text
from tests.conftest import BACKENDS, new_database_url
from tests.reliability.support import (
    CLAIMS_BIN,
    assert_consistent,
    assert_one_clear_error,
    claims_command,
    event_count,
    large_document,
    registry_document,
    scaled,
)

EXAMPLES = scaled(60, at_most=1000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
RUNNER = CliRunner(env={"CLAIMS_DATABASE_URL": None, "CLAIMS_USER": None, "COLUMNS": "200", "NO_COLOR": "1"})
MB = 2**20

# -- what a hostile user types ---------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "'; DROP TABLE events; --",
    'Robert"); DELETE FROM events WHERE (1=1',
    "%s %d {0} ${HOME} $(rm -rf /) `id`",
    "\\x00\\n",
    "a\x00b",
    "line one\nline two",
    "\r\n",
    "\x1b[31mred\x1b[0m\x07",
    "\u202eevil\u202c",
    "\ud800",
    "x\udcffy",
    "２０２３-０３-０２",
    "2023-02-30",
    "2023-13-01",
    "0000-01-01",
    "9999-12-31",
    "99999-01-01",
    " 2023-03-02",
    "2023-03-02\n",
    "2023-03-02T10:00:00+25:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "-1",
    "--help",
    "9" * 30,
    "1e999",
    "NaN",
    "null",
    "~",
    "true",
    "../../../../etc/passwd",
    "/dev/zero",
    "-",
    "javascript:alert(1)",
    "http://exa mple.org",
    "https://" + "x" * 3000,
    "file:///etc/shadow",
    "UPPER-Case",
    "a" * 121,
    "é" * 600,
    "x" * 25_000,
]
SURROGATES = st.sampled_from(["\ud800", "\udcff", "\udfff"])
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=80),
    st.text(st.characters(max_codepoint=0x20), max_size=20),
    st.lists(st.one_of(st.characters(), SURROGATES), max_size=20).map("".join),
    st.builds(lambda piece, n: piece * n, st.sampled_from(["a", "é", "'", "-", "\n", "9"]), st.integers(100, 30_000)),
    st.from_regex(r"\A[0-9]{1,5}(-[0-9]{1,3}){0,2}(T[0-9:.]{1,15}(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

# -- one database per backend for the whole module ---------------------------------------------------

_fresh = itertools.count()


def small_world(backend: str, folder: Path) -> Iterator[Tracker]:
    """A small world every fuzzed command can refer to: parties, topics, sources, claim c1; checked
    for consistency after everything the tests threw at it."""
    urls = new_database_url(backend, folder)
    with claims.open_tracker(next(urls), user="tester") as tracker:
        tracker.init()
        document = registry_document()
        document["claims"] = [
            {"id": "c1", "party": "north", "topic": "summit", "said_on": "2023-03-02", "source": "wire", "text": "Hi."}
        ]
        tracker.import_text(json.dumps(document), name="world.json")
        yield tracker
        assert_consistent(tracker)
    urls.close()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    yield from small_world(str(request.param), tmp_path_factory.mktemp("hostile"))


def fresh_id() -> str:
    return f"fz{next(_fresh)}"


# -- the document loader ---------------------------------------------------------------------------


@FUZZ
@given(text=st.one_of(hostile_text, st.text()), name=st.sampled_from(["doc.yaml", "doc.json", "-"]))
def test_the_loader_reads_or_refuses_any_text_with_one_clear_error(text: str, name: str) -> None:
    try:
        data = load_text(text, name=name)
    except ValidationError as error:
        assert str(error).startswith(f"{name}: ")
        return
    document = read_document(data)  # never raises: every problem is collected with its path
    assert isinstance(document.problems, list)


@FUZZ
@given(data=json_values)
def test_read_document_collects_problems_of_any_shape_without_raising(data: Any) -> None:
    for shaped in (data, {"format": "claims/v1", "claims": [data]}, {"format": "claims/v1", "events": [data]}):
        document = read_document(shaped)
        assert all(isinstance(problem, str) for problem in document.problems)


def base_document(prefix: str) -> dict[str, Any]:
    document = registry_document()
    document["speakers"] = [{"id": f"{prefix}-sp", "name": "A speaker", "party": "north", "role": "Envoy"}]
    document["claims"] = [
        {
            "id": f"{prefix}-a",
            "party": "north",
            "speaker": f"{prefix}-sp",
            "topic": "summit",
            "said_on": "2023-03-02",
            "source": "wire",
            "via": ["paper"],
            "text": "Said it.",
            "quote": "We said it.",
            "proposition": "it-was-said",
            "stance": "affirms",
        },
        {
            "id": f"{prefix}-b",
            "party": "south",
            "topic": "summit",
            "said_on": "2023-03",
            "source": "paper",
            "text": "No.",
        },
    ]
    document["events"] = [
        {"retract": f"{prefix}-a", "on": "2023-03-10", "source": "wire", "reason": "changed its mind"},
        {"correct": f"{prefix}-b", "text": "No!", "reason": "typo"},
        {"verdict": f"{prefix}-b", "rating": "false", "by": "fact-check", "url": "https://example.org/check"},
    ]
    return document


@st.composite
def spoiled_documents(draw: st.DrawFn) -> tuple[str, str]:
    """A valid document with one thing spoiled, as YAML or JSON text."""
    document = base_document(fresh_id())
    section = draw(st.sampled_from(["parties", "speakers", "topics", "sources", "claims", "events", "format", "x"]))
    value = draw(json_values)
    if section in ("format", "x"):
        document[section] = value
    else:
        item = draw(st.sampled_from(document[section]))
        key = draw(st.one_of(st.sampled_from(sorted(item)), st.text(max_size=10)))
        if draw(st.booleans()) and key in item:
            del item[key]
        else:
            item[key] = value
    if draw(st.booleans()):
        return "doc.json", json.dumps(document, ensure_ascii=draw(st.booleans()))
    try:
        return "doc.yaml", yaml.safe_dump(document, allow_unicode=draw(st.booleans()))
    except yaml.YAMLError:
        return "doc.json", json.dumps(document)


@FUZZ
@given(spoiled=spoiled_documents())
def test_a_spoiled_document_is_refused_whole_or_recorded_whole(world: Tracker, spoiled: tuple[str, str]) -> None:
    name, text = spoiled
    before = event_count(world)
    try:
        report = world.import_text(text, name=name)
    except ClaimsError as error:
        assert str(error).startswith(name) or "is not valid Unicode" in str(error), str(error)
        assert event_count(world) == before, "a refused document left events behind"
        return
    assert event_count(world) == before + report.events


# -- every command-line option that takes text -----------------------------------------------------

# Commands fuzzed elsewhere by hand, because a random value could do what it says: `db downgrade
# base` drops the log; `init` and `db upgrade` change the schema; grant-writer needs a role.
NOT_FUZZED = {("init",), ("db", "downgrade"), ("db", "upgrade"), ("db", "grant-writer")}
DEFAULTS: dict[str, Any] = {
    "party": "north",
    "topic": "summit",
    "source": "wire",
    "said_on": "2023-03-02",
    "text": "Some text.",
    "name": "A name",
    "title": "A title",
    "claim": "c1",
    "on": "2023-03-05",
    "reason": "a reason",
    "rating": "false",
    "by": "fact-check",
    "since": "2023",
    "until": "2023-12",
    "parties": ["north", "south"],
    "shell": "bash",
}


def text_parameters() -> list[tuple[tuple[str, ...], click.Command, click.Parameter]]:
    """Every (command path, command, parameter) whose parameter takes free text or a path."""
    found = []

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        for name, command in sorted(group.commands.items()):
            here = (*path, name)
            if isinstance(command, click.Group):
                walk(command, here)
            elif here not in NOT_FUZZED:
                found.extend(
                    (here, command, param)
                    for param in command.params
                    if isinstance(param.type, click.types.StringParamType | click.Path)
                )

    walk(cli, ())
    return found


TARGETS = text_parameters()


def test_the_fuzzer_reaches_every_text_option_of_the_main_commands() -> None:
    reached = {(" ".join(path), param.name) for path, _, param in TARGETS}
    for expected in [
        ("add", "said_on"),
        ("add", "text"),
        ("add", "via"),
        ("party add", "ident"),
        ("source add", "url"),
        ("retract", "on"),
        ("narrative", "known_at"),
        ("compare", "parties"),
        ("import", "files"),
        ("verify", "file"),
        ("export", "out"),
    ]:
        assert expected in reached


PATHS = {"files", "file", "checkpoint_file", "out"}


def is_path(param: click.Parameter) -> bool:
    return isinstance(param.type, click.Path) or param.name in PATHS


def confined(value: str, folder: Path) -> str:
    """A hostile file name kept inside ``folder``: the fuzzer must not write over /dev/null or
    /etc/passwd (these tests may run as root); devices are tried by hand, below."""
    return str(folder / value.replace("/", "_").replace("\x00", "_"))


def invocation(
    path: tuple[str, ...], command: click.Command, target: click.Parameter, value: str, out: Path
) -> list[str]:
    options: list[str] = []
    positional: list[str] = []
    for param in command.params:
        if param is target:
            given: Any = confined(value, out.parent) if is_path(param) else value
        elif param.required:
            given = DEFAULTS.get(param.name or "", fresh_id() if param.name == "ident" else str(out))
        else:
            continue
        if isinstance(param, click.Argument):
            positional += given if isinstance(given, list) else [given]
        else:
            options.append(f"{param.opts[0]}={given}")  # "=": a value starting with "-" stays a value
    return [*path, *options, "--", *positional]


@FUZZ
@given(target=st.sampled_from(TARGETS), value=hostile_text)
def test_every_text_option_takes_hostile_values_without_a_traceback_or_a_partial_write(
    world: Tracker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: tuple[tuple[str, ...], click.Command, click.Parameter],
    value: str,
) -> None:
    path, command, param = target
    monkeypatch.chdir(tmp_path)
    args = invocation(path, command, param, value, tmp_path / "out.file")
    before = event_count(world)
    result = RUNNER.invoke(cli, ["--db", world.url, "--as-user", "fuzzer", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"claims {args!r} crashed") from result.exception
    if result.exit_code != 0:
        assert_one_clear_error(result.stderr, result.exit_code)
        assert event_count(world) == before, f"claims {args!r} failed but wrote events"


@FUZZ
@given(user=hostile_text)
def test_a_hostile_recorder_name_is_refused_or_recorded_exactly(world: Tracker, user: str) -> None:
    before = event_count(world)
    ident = fresh_id()
    result = RUNNER.invoke(cli, ["--db", world.url, "--as-user", user, "topic", "add", ident, "--title", "T"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code != 0:
        assert_one_clear_error(result.stderr, result.exit_code)
        assert event_count(world) == before
        return
    assert [line["recorded_by"] for line in world.log(since=before)] == [user or getpass.getuser()]


@FUZZ
@given(text=st.text(min_size=1, max_size=400))
def test_text_that_passes_validation_is_stored_and_read_back_exactly(world: Tracker, text: str) -> None:
    ident = fresh_id()
    try:
        world.add_claim(id=ident, party="north", topic="summit", said_on="2023-03-02", source="wire", text=text)
    except ValidationError:
        assume(False)  # control characters, lone surrogates: refused, as the other tests check
    assert world.show(ident)["claim"]["text"] == text
    assert [line["payload"]["text"] for line in world.log(since=event_count(world) - 1)] == [text]


# -- by hand, through the installed command ----------------------------------------------------------

ALIAS_BOMB = "format: claims/v1\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(12)
)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    """SQLite for the hand-made cases through the real command: each is refused before the
    database is written to, so one backend shows it (the fuzzers above run on both)."""
    yield from small_world("sqlite", tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("files")
    files = {
        "alias-bomb.yaml": ALIAS_BOMB.encode(),
        "many-aliases.yaml": ("format: claims/v1\nx: &x 1\ny: [" + ", ".join(["*x"] * 150) + "]\n").encode(),
        "nested.json": b'{"format": "claims/v1", "claims": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested.yaml": b"format: claims/v1\nclaims: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "latin1.yaml": "format: claims/v1\nparties: [{id: x, name: Bogotá}]\n".encode("latin-1"),
        "binary.json": bytes(range(256)) * 4,
        "python-object.yaml": b"format: claims/v1\nparties: !!python/object/apply:os.system [echo pwned]\n",
        "huge-int.json": b'{"format": "claims/v1", "claims": [{"said_on": ' + b"9" * 5000 + b"}]}",
        "tag.yaml": b"format: claims/v1\nparties: [{id: !!int x, name: n}]\n",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    # 100 MB: a YAML document that is one huge scalar, and a JSON document with one huge string.
    with (folder / "huge.yaml").open("w") as out:
        out.write("format: claims/v1\nparties:\n  - id: big\n    name: ")
        for _ in range(100):
            out.write("x" * MB)
        out.write("\n")
    with (folder / "huge.json").open("w") as out:
        out.write('{"format": "claims/v1", "parties": [{"id": "big", "name": "')
        for _ in range(100):
            out.write("y" * MB)
        out.write('"}]}')
    yield {path.name: path for path in folder.iterdir()}
    for path in folder.iterdir():
        path.unlink()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alias-bomb.yaml", "alias bomb"),
        ("many-aliases.yaml", "more than 100 aliases"),
        ("nested.json", "nested too deeply"),
        ("nested.yaml", "nested too deeply"),
        ("latin1.yaml", "not UTF-8"),
        ("binary.json", "not UTF-8"),
        ("python-object.yaml", "could not determine a constructor"),
        ("huge-int.json", "a value cannot be read"),
        ("tag.yaml", "a value cannot be read"),
        ("huge.yaml", f"limited to {MAX_YAML_CHARACTERS // MB} MiB"),
        ("huge.json", "longer than 500 characters"),
    ],
)
def test_hostile_files_are_one_clear_error_from_the_real_command(
    local: Tracker, hostile_files: dict[str, Path], name: str, message: str
) -> None:
    before = event_count(local)
    done = claims_command(local.url, "import", str(hostile_files[name]))
    assert_one_clear_error(done.stderr, done.returncode)
    assert message in done.stderr.decode(), done.stderr
    assert event_count(local) == before


def test_100_mb_on_standard_input_is_one_clear_error(local: Tracker, hostile_files: dict[str, Path]) -> None:
    before = event_count(local)
    done = claims_command(local.url, "import", "-", input=hostile_files["huge.yaml"].read_bytes())
    assert_one_clear_error(done.stderr, done.returncode)
    assert b"limited to" in done.stderr
    assert event_count(local) == before


def test_a_document_over_the_size_limit_is_refused_unread(
    local: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims.api, "MAX_DOCUMENT_BYTES", 64 * 1024)
    document = tmp_path / "big.json"
    document.write_text(json.dumps(large_document(400)))
    assert document.stat().st_size > 64 * 1024
    before = event_count(local)
    for args, stdin in [(["import", str(document)], None), (["import", "-"], document.read_bytes())]:
        result = RUNNER.invoke(cli, ["--db", local.url, *args], input=stdin)
        assert_one_clear_error(result.stderr, result.exit_code)
        assert "larger than" in result.stderr
    endless = RUNNER.invoke(cli, ["--db", local.url, "import", "/dev/zero"])  # read no further than the limit
    assert "larger than" in endless.stderr
    assert event_count(local) == before


@pytest.mark.parametrize(
    "argv",
    [
        [b"party", b"add", b"p\xff", b"--name", b"x"],
        [b"party", b"add", b"fine", b"--name", b"caf\xe9"],
        [b"narrative", b"nor\xffth"],
        [b"show", b"\xc3\x28"],
        [b"--as-user", b"\xff\xfe", b"topic", b"add", b"t-bytes", b"--title", b"T"],
        [
            b"add",
            b"--party",
            b"north",
            b"--topic",
            b"summit",
            b"--said-on",
            b"2023\xff",
            b"--source",
            b"wire",
            b"--text",
            b"x",
        ],
    ],
    ids=["id", "name", "read-argument", "claim", "recorder", "date"],
)
def test_arguments_that_are_not_utf8_are_one_clear_error(local: Tracker, argv: list[bytes]) -> None:
    before = event_count(local)
    done = claims_command(local.url, *argv)
    assert_one_clear_error(done.stderr, done.returncode)
    assert event_count(local) == before


@pytest.mark.parametrize(
    "args",
    [
        ["party", "add", "evil", "--name", "\x1b[31mred"],
        ["source", "add", "evil", "--name", "E", "--url", "javascript:alert(1)"],
        [
            "add",
            "--party",
            "north",
            "--topic",
            "summit",
            "--said-on",
            "２０２３-０３-０２",
            "--source",
            "wire",
            "--text",
            "x",
        ],
        ["retract", "c1", "--on", "2023-03-05\n"],
        ["narrative", "north", "--known-at", "9999-12-31T23:59:59-01:00"],
        ["show", "\x1b[2J\x1b[Hgotcha"],
        ["db", "upgrade", "no-such-revision"],
        ["db", "downgrade", "no-such-revision"],
        ["db", "downgrade", "0001\nbase"],
    ],
)
def test_hostile_arguments_are_one_clear_line_from_the_real_command(local: Tracker, args: list[str]) -> None:
    before = event_count(local)
    done = claims_command(local.url, *args)
    assert_one_clear_error(done.stderr, done.returncode)
    assert b"\x1b" not in done.stderr  # a terminal escape in the input is shown escaped, not obeyed
    assert event_count(local) == before


def test_a_log_asked_from_beyond_any_position_is_empty(local: Tracker) -> None:
    """A position past the head, even past the database's integers, has no events after it (it once
    reached the driver, which refused the number)."""
    done = claims_command(local.url, "log", "--since", "99999999999999999999999", "--format", "json")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"[]\n", b"")


@pytest.mark.parametrize(
    "db",
    [
        "/no/such/directory/claims.db",
        "nosuch://host/db",
        "mysql://user@host/db",
        "postgresql+psycopg://127.0.0.1:1/none",
        "sqlite:////proc/version",
        "/etc/passwd",
        "/dev/null",
    ],
)
def test_a_hostile_database_url_is_one_clear_line(db: str) -> None:
    done = claims_command(db, "narrative", "north")
    assert_one_clear_error(done.stderr, done.returncode)


# -- files named on the command line -------------------------------------------------------------------
# Found by this suite and fixed in claims/cli/audit.py and claims/io/trail.py; kept as regressions.


def test_export_to_an_empty_file_name_is_one_clear_error(
    local: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = RUNNER.invoke(cli, ["--db", local.url, "export", "--out="])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert_one_clear_error(result.stderr, result.exit_code)


def test_export_never_replaces_a_special_file(local: Tracker, tmp_path: Path) -> None:
    """As root, `claims export --out /dev/null` replaced the device /dev/null with a regular file."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # so that writing into it would not block
    try:
        RUNNER.invoke(cli, ["--db", local.url, "export", "--out", str(pipe)])
        assert stat.S_ISFIFO(pipe.lstat().st_mode), "the FIFO was replaced by a regular file"
    finally:
        os.close(reader)


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * MB, 1536 * MB))


@pytest.mark.parametrize("option", ["--file", "--checkpoint"])
def test_verify_reads_an_endless_file_no_further_than_a_limit(local: Tracker, option: str) -> None:
    done = subprocess.run(
        [str(CLAIMS_BIN), "--db", local.url, "verify", option, "/dev/zero"],
        capture_output=True,
        timeout=120,
        preexec_fn=_limited_memory,
        check=False,
    )
    assert_one_clear_error(done.stderr, done.returncode)
