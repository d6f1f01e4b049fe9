"""Every ``claims`` command through Click's CliRunner, on SQLite and on PostgreSQL.

Proves the command-line contract of SPEC section 4: each command works and prints what it
promises (data on standard output, messages on standard error); each read command's
``--format`` table/json/csv/markdown shows the same rows, JSON being the default when piped; and
every user mistake (unknown party, bad or future date, missing source, unreadable file,
malformed YAML, duplicate id, invalid document, no database) exits non-zero with one clear line
on standard error (an invalid document: a summary, then one line per problem by its path), no
traceback, and nothing written to the log.

Read-only tests share one seeded database per backend (module scope); tests that write get a
fresh database of their own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect

from claims.cli import cli
from claims.domain import merkle
from claims.domain.dates import parse_said_date
from claims.domain.ids import derive_claim_id
from claims.store.engine import open_engine, resolve_url
from tests.conftest import BACKENDS, SEED, new_database_url

# Click 8.2+ keeps standard error apart: result.stdout, result.stderr (result.output has both).
RUNNER = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1", "CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None})
LINE_KEYS = [
    "position",
    "event_id",
    "stream_id",
    "stream_version",
    "type",
    "schema_version",
    "said_at",
    "recorded_at",
    "recorded_by",
    "payload",
    "prev_hash",
    "hash",
]
CLAIM_KEYS = {
    "id",
    "party",
    "speaker",
    "topic",
    "said_on",
    "text",
    "quote",
    "source",
    "via",
    "proposition",
    "stance",
    "status",
}


def run(url: str, *args: str, input: str | None = None) -> Result:
    return RUNNER.invoke(cli, ["--db", url, *args], input=input)


def crashed(result: Result) -> bool:
    """Whether the command died of an exception rather than exiting (CliRunner swallows tracebacks)."""
    return result.exception is not None and not isinstance(result.exception, SystemExit)


def ok(url: str, *args: str, input: str | None = None) -> Result:
    result = run(url, *args, input=input)
    assert not crashed(result), f"{args} crashed: {result.exception!r}"
    assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"
    assert "Traceback" not in result.output
    return result


def fails(url: str, *args: str, input: str | None = None, code: int = 1) -> Result:
    """The command refuses: exit ``code``, a message on stderr beginning 'Error:', nothing on stdout."""
    result = run(url, *args, input=input)
    assert not crashed(result), f"{args} crashed: {result.exception!r}"
    assert result.exit_code == code, f"{args} exited {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return result


def one_clear_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def as_json(url: str, *args: str) -> Any:
    return json.loads(ok(url, *args, "--format", "json").stdout)


def state(url: str) -> dict[str, Any]:
    """What a write would change: the log's checkpoint (size and Merkle root)."""
    return json.loads(ok(url, "checkpoint").stdout)


def log_lines(url: str) -> list[dict[str, Any]]:
    return as_json(url, "log")


def recipe_hash(line: dict[str, Any]) -> str:
    body = {key: value for key, value in line.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


@pytest.fixture
def url(db_url: str) -> str:
    """A fresh database, initialised through ``claims init``."""
    result = ok(db_url, "init")
    assert "database ready" in result.stderr
    return db_url


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One seeded database per backend, shared by the tests that only read or are refused."""
    urls = new_database_url(str(request.param), tmp_path_factory.mktemp("cli"))
    shared = next(urls)
    try:
        ok(shared, "init")
        ok(shared, "import", str(SEED))
        yield shared
    finally:
        urls.close()


# -- schema: init and db ---------------------------------------------------------------------------


def test_init_db_current_history_downgrade_and_upgrade(url: str) -> None:
    current = ok(url, "db", "current").stdout.strip()
    assert current.endswith("(head)")
    revision = current.split()[0]
    history = ok(url, "db", "history").stdout.strip().splitlines()
    assert f"-> {revision}: " in history[0]  # newest first
    assert history[-1].startswith("base -> ")

    again = ok(url, "init")  # initialising twice is an upgrade with nothing to do
    assert revision in again.stderr
    assert state(url)["size"] == 0

    down = ok(url, "db", "downgrade", "base")
    assert "base" in down.stderr
    assert ok(url, "db", "current").stdout.strip() == f"base (head is {revision})"
    assert "claims init" in one_clear_line(fails(url, "log"))

    up = ok(url, "db", "upgrade")
    assert revision in up.stderr
    assert ok(url, "db", "current").stdout.strip() == f"{revision} (head)"
    ok(url, "db", "downgrade", "base")
    ok(url, "db", "upgrade", "head")
    ok(url, "party", "add", "russia", "--name", "Russia")
    assert state(url)["size"] == 1


def test_db_downgrade_needs_a_revision(url: str) -> None:
    result = fails(url, "db", "downgrade", code=2)
    assert "Missing argument" in result.stderr
    assert ok(url, "db", "current").stdout.strip().endswith("(head)")


# -- recording, then reading back (both backends) --------------------------------------------------


def register_basics(url: str) -> None:
    assert "recorded party russia" in ok(url, "party", "add", "russia", "--name", "Russia", "--kind", "state").stderr
    ok(url, "party", "add", "united-states", "--name", "United States", "--kind", "state")
    result = ok(url, "speaker", "add", "sergey-lavrov", "--name", "Sergey Lavrov", "--party", "russia", "--role", "FM")
    assert "recorded speaker sergey-lavrov" in result.stderr
    ok(url, "source", "add", "tass", "--name", "TASS", "--kind", "news-agency", "--url", "https://tass.com")
    ok(url, "source", "add", "ap", "--name", "AP", "--published", "2023-03-02")
    ok(url, "source", "add", "checker", "--name", "A fact-checker", "--kind", "fact-checker")
    assert "recorded topic g20" in ok(url, "topic", "add", "g20", "--title", "G20 joint statement").stderr


def test_write_commands_and_read_them_back(url: str) -> None:
    register_basics(url)
    assert state(url)["size"] == 7

    # Registering the same record again is skipped, and says so.
    again = ok(url, "party", "add", "russia", "--name", "Russia", "--kind", "state")
    assert "already recorded" in again.stderr
    assert state(url)["size"] == 7

    added = ok(
        url,
        "add",
        "--party",
        "russia",
        "--speaker",
        "sergey-lavrov",
        "--topic",
        "g20",
        "--said-on",
        "2023-03-02",
        "--source",
        "tass",
        "--via",
        "ap",
        "--text",
        "The West turned the G20 into a farce.",
        "--quote",
        "turned the G20's agenda into a farce",
        "--proposition",
        "west-derailed-g20",
        "--stance",
        "affirms",
    )
    claim_id = added.stdout.strip()
    assert added.stdout == f"{claim_id}\n"  # the id, and only the id, on standard output
    assert claim_id == derive_claim_id("russia", "2023-03-02", "The West turned the G20 into a farce.")

    explicit = ok(
        url,
        "add",
        "--id",
        "us-denies",
        "--party",
        "united-states",
        "--topic",
        "g20",
        "--said-on",
        "2023-03",
        "--source",
        "ap",
        "--text",
        "The West did not derail the meeting.",
        "--proposition",
        "west-derailed-g20",
        "--stance",
        "denies",
        "--responds-to",
        claim_id,
        "--relation",
        "contradicts",
    )
    assert explicit.stdout == "us-denies\n"

    shown = as_json(url, "show", claim_id)
    claim = shown["claim"]
    assert set(claim) >= CLAIM_KEYS
    assert claim["id"] == claim_id and claim["party"] == "russia" and claim["speaker"] == "sergey-lavrov"
    assert (claim["topic"], claim["said_on"], claim["source"], claim["via"]) == ("g20", "2023-03-02", "tass", ["ap"])
    assert claim["text"] == "The West turned the G20 into a farce."
    assert claim["quote"] == "turned the G20's agenda into a farce"
    assert (claim["proposition"], claim["stance"], claim["status"]) == ("west-derailed-g20", "affirms", "standing")
    assert [event["type"] for event in shown["history"]] == ["ClaimAsserted"]
    assert as_json(url, "show", "us-denies")["claim"]["said_on"] == "2023-03"  # precision kept

    compared = as_json(url, "compare", "russia", "united-states")
    assert compared["contradictions"] == [
        {"proposition": "west-derailed-g20", "affirms": [claim_id], "denies": ["us-denies"]}
    ]

    retracted = ok(url, "retract", claim_id, "--on", "2023-03-10", "--source", "tass", "--reason", "withdrawn")
    assert "recorded retraction" in retracted.stderr
    assert as_json(url, "show", claim_id)["claim"]["status"] == "retracted"
    assert [c["id"] for c in as_json(url, "list", "--status", "retracted")] == [claim_id]
    assert as_json(url, "narrative", "russia") == []
    assert [c["id"] for c in as_json(url, "narrative", "russia", "--as-of", "2023-03-05")] == [claim_id]
    assert as_json(url, "compare", "russia", "united-states")["contradictions"] == []

    # The same retraction again adds nothing.
    same = ok(url, "retract", claim_id, "--on", "2023-03-10", "--source", "tass", "--reason", "withdrawn")
    assert "already recorded" in same.stderr

    assert "recorded reaffirmation" in ok(url, "reaffirm", claim_id, "--on", "2023-03-15", "--source", "tass").stderr
    assert as_json(url, "show", claim_id)["claim"]["status"] == "standing"
    assert as_json(url, "narrative", "russia", "--as-of", "2023-03-12") == []

    timeline = as_json(url, "timeline", "--party", "russia")
    assert [(entry["kind"], entry["said_on"], entry["claim"]) for entry in timeline] == [
        ("asserted", "2023-03-02", claim_id),
        ("retracted", "2023-03-10", claim_id),
        ("reaffirmed", "2023-03-15", claim_id),
    ]

    corrected = ok(url, "correct", claim_id, "--text", "The West made the G20 a farce.", "--reason", "our typo")
    assert "recorded correction" in corrected.stderr
    assert as_json(url, "show", claim_id)["claim"]["text"] == "The West made the G20 a farce."

    verdict = ok(url, "verdict", claim_id, "--rating", "misleading", "--by", "checker", "--url", "https://e.org/r")
    assert "recorded verdict" in verdict.stderr
    history = as_json(url, "show", claim_id)["history"]
    assert [event["type"] for event in history] == [
        "ClaimAsserted",
        "ClaimRetracted",
        "ClaimReaffirmed",
        "ClaimCorrected",
        "VerdictRecorded",
    ]
    assert history[0]["payload"]["text"] == "The West turned the G20 into a farce."  # the original stays
    assert history[-1]["payload"]["rating"] == "misleading" and history[-1]["payload"]["by"] == "checker"

    lines = log_lines(url)
    assert [line["position"] for line in lines] == list(range(1, 14))
    assert all(list(line) == LINE_KEYS for line in lines)
    assert all(line["recorded_by"] == "tester" for line in lines)
    assert [line["position"] for line in as_json(url, "log", "--since", "2", "--limit", "3")] == [3, 4, 5]
    assert as_json(url, "log", "--since", "13") == []
    assert ok(url, "log", "--since", "13", "--format", "table").stderr == "no events after position 13\n"

    verified = ok(url, "verify")
    assert "intact" in verified.stderr and "13 events" in verified.stderr


def test_as_user_names_the_recorder(url: str) -> None:
    result = RUNNER.invoke(cli, ["--db", url, "--as-user", "ana", "party", "add", "russia", "--name", "Russia"])
    assert result.exit_code == 0, result.output
    assert log_lines(url)[-1]["recorded_by"] == "ana"


# -- import ----------------------------------------------------------------------------------------

SMALL_DOCUMENT = {
    "format": "claims/v1",
    "parties": [{"id": "china", "name": "China", "kind": "state"}],
    "sources": [{"id": "xinhua", "name": "Xinhua", "kind": "news-agency"}],
    "topics": [{"id": "arms", "title": "Arms for Russia"}],
    "claims": [
        {
            "party": "china",
            "topic": "arms",
            "said_on": "2023-02",
            "source": "xinhua",
            "text": "China does not supply arms.",
        }
    ],
}


def test_an_add_already_recorded_still_refuses_a_reference_that_resolves_nowhere(url: str) -> None:
    """Every reference must resolve (SPEC section 5), whether or not the claim is new."""
    ok(url, "import", str(SEED))
    claim = ["--party", "russia", "--topic", "g20-joint-statement", "--said-on", "2023-03-04", "--source", "tass"]
    claim += ["--text", "Said once."]
    assert "nothing added" not in ok(url, "add", *claim).stderr
    before = state(url)
    assert "nothing added" in ok(url, "add", *claim).stderr
    assert one_clear_line(fails(url, "add", *claim, "--via", "nowhere")) == "Error: unknown source: nowhere"
    assert state(url) == before


def test_import_a_file_then_again_as_a_no_op(url: str) -> None:
    first = ok(url, "import", str(SEED))
    assert "recorded" in first.stderr and "claims" in first.stderr
    assert len(first.stderr.splitlines()) == 1  # no progress when not on a terminal, just the summary
    before = state(url)
    assert before["size"] > 0
    again = ok(url, "import", str(SEED))
    assert "nothing added" in again.stderr
    assert state(url) == before
    assert "intact" in ok(url, "verify").stderr


def test_import_from_standard_input_as_json_and_yaml(url: str, tmp_path: Path) -> None:
    result = ok(url, "import", "-", input=json.dumps(SMALL_DOCUMENT))
    assert "<stdin>" in result.stderr and "1 claim" in result.stderr
    assert state(url)["size"] == 4
    yaml_text = (
        "format: claims/v1\n"
        "events:\n"
        f"  - {{retract: {derive_claim_id('china', '2023-02', 'China does not supply arms.')}, on: 2023-03-10}}\n"
    )
    ok(url, "import", "-", input=yaml_text)
    assert [c["status"] for c in as_json(url, "list", "--party", "china")] == ["retracted"]
    assert "nothing added" in ok(url, "import", "-", input=yaml_text).stderr
    assert state(url)["size"] == 5


def test_import_several_files_in_one_command(url: str, tmp_path: Path) -> None:
    other = tmp_path / "china.json"
    other.write_text(json.dumps(SMALL_DOCUMENT), encoding="utf-8")
    result = ok(url, "import", str(SEED), str(other))
    assert str(SEED) in result.stderr and str(other) in result.stderr
    assert as_json(url, "list", "--party", "china")[0]["text"] == "China does not supply arms."


@pytest.mark.parametrize("failing", ["invalid", "missing"])
def test_an_import_of_several_files_says_which_it_did_not_reach(url: str, tmp_path: Path, failing: str) -> None:
    """Each document is its own transaction, and the import stops at the first it cannot import:
    the ones before it stay recorded, and the ones after it are named, not silently dropped."""
    bad = tmp_path / "bad.yaml"
    if failing == "invalid":
        bad.write_text("format: claims/v1\ntopics: [{id: t, title: T}]\nclaims: [{said_on: 2023-13-01}]\n")
    later, last = tmp_path / "later.json", tmp_path / "last.json"
    later.write_text(json.dumps(SMALL_DOCUMENT), encoding="utf-8")
    last.write_text(json.dumps(SMALL_DOCUMENT), encoding="utf-8")
    result = fails(url, "import", str(SEED), str(bad), str(later), str(last))
    lines = result.stderr.splitlines()
    assert lines[-1] == f"{later}, {last}: not imported (the import stopped at {bad})"
    assert lines[1].startswith(f"Error: {bad}")
    assert lines[0].startswith(f"{SEED}: recorded")  # the document before it stays recorded
    china = {claim["text"] for claim in as_json(url, "list", "--party", "china")}
    assert china and "China does not supply arms." not in china


def test_standard_input_not_reached_is_named_as_the_import_names_it(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: claims/v1\nclaims: [{said_on: 2023-13-01}]\n")
    result = fails(url, "import", str(bad), "-", input=json.dumps(SMALL_DOCUMENT))
    assert result.stderr.splitlines()[-1] == f"<stdin>: not imported (the import stopped at {bad})"


def test_a_document_not_reached_is_named_whatever_stopped_the_import(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when what stopped it is the command line's own refusal (standard input closed)."""
    from claims.cli import claims_cmds

    def closed() -> bytes:
        raise click.ClickException("no standard input to read the document from")

    monkeypatch.setattr(claims_cmds, "_read_stdin", closed)
    later = tmp_path / "later.json"
    later.write_text(json.dumps(SMALL_DOCUMENT), encoding="utf-8")
    result = fails(url, "import", "-", str(later))
    assert result.stderr.splitlines() == [
        "Error: no standard input to read the document from",
        f"{later}: not imported (the import stopped at <stdin>)",
    ]


def test_projections_status_and_rebuild_give_the_same_answers(url: str) -> None:
    ok(url, "import", str(SEED))
    size = state(url)["size"]
    status = ok(url, "projections", "status").stdout
    assert f"log head: {size}" in status and "up to date" in status
    narrative = as_json(url, "narrative", "russia")
    compared = as_json(url, "compare", "russia", "united-states")
    listed = as_json(url, "list")
    rebuilt = ok(url, "projections", "rebuild")
    assert str(size) in rebuilt.stderr and len(rebuilt.stderr.splitlines()) == 1
    assert as_json(url, "narrative", "russia") == narrative
    assert as_json(url, "compare", "russia", "united-states") == compared
    assert as_json(url, "list") == listed
    assert state(url)["size"] == size  # rebuilding projections writes nothing to the log
    assert "up to date" in ok(url, "projections", "status").stdout


# -- read commands in every format (shared seeded database) ----------------------------------------


@dataclass(frozen=True)
class Reader:
    args: tuple[str, ...]
    rows: str  # how to count the rows of its JSON: "list", "compare" or "history"


READERS = {
    "narrative": Reader(("narrative", "russia"), "list"),
    "compare": Reader(("compare", "russia", "united-states"), "compare"),
    "timeline": Reader(("timeline", "--topic", "blinken-lavrov-encounter"), "list"),
    "list": Reader(("list", "--party", "china"), "list"),
    "changes": Reader(("changes", "china", "--from", "2022", "--to", "2023-03-02"), "changes"),
    "show": Reader(("show", "zakharova-no-real-meeting"), "history"),
    "log": Reader(("log", "--limit", "7"), "list"),
}


def json_rows(reader: Reader, data: Any) -> list[dict[str, Any]]:
    if reader.rows == "compare":
        return data["claims"]
    if reader.rows == "history":
        return data["history"]
    if reader.rows == "changes":
        return [*data["gained"], *data["lost"], *data["corrected"]]
    return data


@pytest.mark.parametrize("name", READERS)
def test_read_commands_agree_across_formats(world: str, name: str) -> None:
    reader = READERS[name]
    data = json.loads(ok(world, *reader.args, "--format", "json").stdout)
    rows = json_rows(reader, data)
    assert rows, f"{name} should have something to show on the seed"

    # Piped (as under CliRunner), the default format is JSON.
    assert json.loads(ok(world, *reader.args).stdout) == data

    table = list(csv.reader(io.StringIO(ok(world, *reader.args, "--format", "csv").stdout)))
    header, body = table[0], table[1:]
    assert header and len(body) == len(rows)
    assert all(len(row) == len(header) for row in body)

    markdown = ok(world, *reader.args, "--format", "markdown").stdout.strip()
    if name == "show":  # the claim's fields, then its history
        fields, markdown = markdown.split("\n\n")
        assert f"| id | {data['claim']['id']} |" in fields.splitlines()
    markdown = markdown.splitlines()
    assert markdown[0].startswith("| ") and markdown[0].endswith(" |")
    assert set(markdown[1]) <= {"|", "-", ":"} and markdown[1].count("|") == markdown[0].count(" | ") + 2
    assert len(markdown) == 2 + len(rows)

    text = ok(world, *reader.args, "--format", "table").stdout
    key = "claim" if name == "timeline" else "position" if name in ("log", "show") else "id"
    for row in rows:
        assert str(row[key]) in text
    if name in ("narrative", "list", "log", "timeline"):
        lines = text.strip().splitlines()
        assert len(lines) == 1 + len(rows) and lines[0] == lines[0].upper()
    # The rows are the same in CSV and markdown as in JSON, in the same order.
    if key in header:
        assert [row[header.index(key)] for row in body] == [str(row[key]) for row in rows]
        assert all(f"| {row[key]} |" in line for row, line in zip(rows, markdown[2:], strict=True))


def test_log_as_csv_and_markdown_carries_every_field_of_the_export(world: str) -> None:
    """`log` is the log shaped as the export's lines: as CSV, the rows of `export --format csv`
    byte for byte (the payload the canonical text that was hashed, so each row re-hashes), and
    Markdown the same columns; only a table on a terminal shows fewer."""
    logged = ok(world, "log", "--format", "csv").stdout
    assert logged == ok(world, "export", "--format", "csv", "--out", "-").stdout
    header, *rows = list(csv.reader(io.StringIO(logged)))
    assert header == LINE_KEYS and len(rows) == len(as_json(world, "log"))
    for row in rows:
        line: dict[str, Any] = dict(zip(header, row, strict=True))
        body = {key: line[key] for key in LINE_KEYS if key != "hash"}
        body.update(
            position=int(line["position"]),
            stream_version=int(line["stream_version"]),
            schema_version=int(line["schema_version"]),
            said_at=line["said_at"] or None,
            payload=json.loads(line["payload"]),
        )
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == line["hash"]
    markdown = ok(world, "log", "--limit", "1", "--format", "markdown").stdout.splitlines()
    assert markdown[0] == "| " + " | ".join(LINE_KEYS) + " |"


@pytest.mark.parametrize(
    "args",
    [
        ("narrative", "russia"),
        ("list",),
        ("compare", "russia", "united-states"),
        ("changes", "russia", "--from", "2022-01-01", "--to", "2023-04-01"),
    ],
    ids=["narrative", "list", "compare", "changes"],
)
def test_claims_as_csv_carry_what_json_gives(world: str, args: tuple[str, ...]) -> None:
    """Every field of a claim in JSON has its column, the claim it responds to in two cells (its id
    and the relation), in the same rows, so that a spreadsheet loses nothing of the answer."""
    data = as_json(world, *args)
    if args[0] == "compare":
        claims = data["claims"]
    elif args[0] == "changes":
        claims = [claim for change in ("gained", "lost", "corrected") for claim in data[change]]
    else:
        claims = data
    rows = list(csv.DictReader(io.StringIO(ok(world, *args, "--format", "csv").stdout)))
    assert len(rows) == len(claims) and any(claim["responds_to"] for claim in claims)
    for claim, row in zip(claims, rows, strict=True):
        reply = claim["responds_to"] or {"claim": "", "relation": ""}
        assert (row["responds_to"], row["relation"]) == (reply["claim"], reply["relation"])
        assert row["corrected"] == str(claim["corrected"])
        for key in set(claim) - {"responds_to"}:
            value = claim[key]
            expected = " > ".join(value) if isinstance(value, list) else "" if value is None else str(value)
            assert row[key] == expected, key


def test_changes_as_csv_carries_a_correction_s_reason_and_position(url: str) -> None:
    """Corrections are chosen by recorded time (today's here), and carry two fields of their own."""
    ok(url, "import", str(SEED))
    ok(url, "correct", "zakharova-no-real-meeting", "--text", "No talks took place.", "--reason", "a typo")
    args = ("changes", "russia", "--from", "2022-01-01", "--to", date.today().isoformat())
    data = as_json(url, *args)
    assert [claim["id"] for claim in data["corrected"]] == ["zakharova-no-real-meeting"]
    rows = list(csv.DictReader(io.StringIO(ok(url, *args, "--format", "csv").stdout)))
    corrected = [row for row in rows if row["change"] == "corrected"]
    assert len(corrected) == 1 and corrected[0]["correction"] == "a typo"
    assert corrected[0]["corrected_at_position"] == str(data["corrected"][0]["corrected_at_position"])
    assert corrected[0]["text"] == "No talks took place." and corrected[0]["corrected"] == "True"


def test_timeline_as_csv_carries_each_entry_s_position(world: str) -> None:
    args = ("timeline", "--topic", "blinken-lavrov-encounter")
    entries = as_json(world, *args)
    rows = list(csv.DictReader(io.StringIO(ok(world, *args, "--format", "csv").stdout)))
    assert [row["position"] for row in rows] == [str(entry["position"]) for entry in entries]
    assert all(set(entry) == set(row) for entry, row in zip(entries, rows, strict=True))


def test_narrative_json_is_an_array_of_claims_of_the_party(world: str) -> None:
    claims = as_json(world, "narrative", "russia")
    assert isinstance(claims, list) and claims
    for claim in claims:
        assert set(claim) >= CLAIM_KEYS
        assert claim["party"] == "russia" and claim["status"] == "standing"
        assert isinstance(claim["via"], list)
    # By topic (each topic's claims together), in said order within a topic.
    topics = [claim["topic"] for claim in claims]
    runs = [topic for index, topic in enumerate(topics) if index == 0 or topics[index - 1] != topic]
    assert len(runs) == len(set(runs))
    for topic in runs:
        ends = [parse_said_date(c["said_on"], allow_future=True).end for c in claims if c["topic"] == topic]
        assert ends == sorted(ends)
    only = as_json(world, "narrative", "russia", "--topic", "blinken-lavrov-encounter")
    assert only and {claim["topic"] for claim in only} == {"blinken-lavrov-encounter"}


def test_compare_json_marks_the_seed_contradictions(world: str) -> None:
    result = as_json(world, "compare", "russia", "united-states")
    assert result["parties"] == ["russia", "united-states"]
    assert {claim["party"] for claim in result["claims"]} == {"russia", "united-states"}
    assert {
        "proposition": "blinken-lavrov-held-real-meeting",
        "affirms": ["us-official-blinken-lavrov-spoke"],
        "denies": ["zakharova-no-real-meeting"],
    } in result["contradictions"]
    ids = {claim["id"] for claim in result["claims"]}
    for contradiction in result["contradictions"]:
        assert contradiction["affirms"] and contradiction["denies"]
        assert set(contradiction["affirms"]) | set(contradiction["denies"]) <= ids
    table = ok(world, "compare", "russia", "united-states", "--format", "table").stdout
    assert "blinken-lavrov-held-real-meeting" in table and "contradictions" in table


def test_compare_needs_two_parties(world: str) -> None:
    assert "two different parties" in fails(world, "compare", "russia", code=2).stderr


def test_timeline_json_entries(world: str) -> None:
    entries = as_json(world, "timeline")
    assert entries
    for entry in entries:
        assert {"said_on", "kind", "party", "claim"} <= set(entry)
        assert entry["kind"] in {"asserted", "reaffirmed", "retracted"}
    assert {entry["party"] for entry in as_json(world, "timeline", "--party", "china")} == {"china"}


def test_show_json_has_the_claim_and_its_history(world: str) -> None:
    shown = as_json(world, "show", "zakharova-no-real-meeting")
    assert set(shown["claim"]) >= CLAIM_KEYS
    assert shown["claim"]["responds_to"] == {"claim": "us-official-blinken-lavrov-spoke", "relation": "contradicts"}
    assert [list(event) for event in shown["history"]] == [LINE_KEYS]
    table = ok(world, "show", "zakharova-no-real-meeting", "--format", "table").stdout
    assert "zakharova-no-real-meeting" in table and "ClaimAsserted" in table


def test_log_json_lines_are_the_hash_chained_export_lines(world: str) -> None:
    lines = log_lines(world)
    previous = "0" * 64
    for number, line in enumerate(lines, start=1):
        assert list(line) == LINE_KEYS and line["position"] == number
        assert line["prev_hash"] == previous and line["hash"] == recipe_hash(line)
        previous = line["hash"]


# -- the audit trail (shared seeded database; files under tmp_path) --------------------------------


def test_export_jsonl_verifies_and_a_tampered_export_does_not(world: str, tmp_path: Path) -> None:
    lines = log_lines(world)
    printed = ok(world, "export").stdout.splitlines()
    assert [json.loads(line) for line in printed] == lines

    trail = tmp_path / "trail.jsonl"
    result = ok(world, "export", "--out", str(trail))
    assert str(len(lines)) in result.stderr and len(result.stderr.splitlines()) == 1
    verified = ok(world, "verify", "--file", str(trail))
    assert "intact" in verified.stderr and len(verified.stderr.splitlines()) == 1

    tampered = [json.loads(line) for line in trail.read_text(encoding="utf-8").splitlines()]
    tampered[6]["payload"]["name"] = "Someone else"
    bad = tmp_path / "tampered.jsonl"
    bad.write_text("".join(json.dumps(line) + "\n" for line in tampered), encoding="utf-8")
    message = one_clear_line(fails(world, "verify", "--file", str(bad)))
    assert "position 7" in message

    dropped = trail.read_text(encoding="utf-8").splitlines()
    del dropped[3]
    bad.write_text("\n".join(dropped) + "\n", encoding="utf-8")
    assert "position 4" in one_clear_line(fails(world, "verify", "--file", str(bad)))


def test_export_csv_has_one_row_per_event(world: str) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(world, "export", "--format", "csv").stdout)))
    lines = log_lines(world)
    assert len(rows) == len(lines)
    assert list(rows[0]) == LINE_KEYS
    assert [row["hash"] for row in rows] == [line["hash"] for line in lines]
    assert json.loads(rows[0]["payload"]) == lines[0]["payload"]


def test_checkpoint_prove_and_verify_against_a_checkpoint(world: str, tmp_path: Path) -> None:
    lines = log_lines(world)
    leaves = [merkle.leaf_hash(bytes.fromhex(line["hash"])) for line in lines]
    checkpoint = state(world)
    assert checkpoint == {
        "size": len(lines),
        "root": merkle.root(leaves).hex(),
        "recorded_at": lines[-1]["recorded_at"],
    }
    assert state(world) == checkpoint  # the same log always gives the same checkpoint
    kept = tmp_path / "checkpoint.json"
    kept.write_text(json.dumps(checkpoint), encoding="utf-8")

    proof = json.loads(ok(world, "prove", "--position", "3", "--checkpoint", str(kept)).stdout)
    assert (proof["position"], proof["leaf_index"], proof["tree_size"]) == (3, 2, len(lines))
    assert proof["leaf_hash"] == hashlib.sha256(b"\x00" + bytes.fromhex(lines[2]["hash"])).hexdigest()
    assert proof["root"] == checkpoint["root"]
    assert merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(checkpoint["root"]),
    )

    by_claim = json.loads(ok(world, "prove", "zakharova-no-real-meeting").stdout)
    asserted = next(line for line in lines if line["stream_id"] == "claim:zakharova-no-real-meeting")
    assert by_claim["position"] == asserted["position"]

    consistency = json.loads(ok(world, "prove", "--consistency", "10").stdout)
    assert consistency["old_size"] == 10 and consistency["new_size"] == len(lines)
    assert consistency["old_root"] == merkle.root(leaves[:10]).hex()
    assert merkle.verify_consistency(
        10,
        len(lines),
        bytes.fromhex(consistency["old_root"]),
        bytes.fromhex(consistency["new_root"]),
        [bytes.fromhex(h) for h in consistency["proof"]],
    )

    assert "intact" in ok(world, "verify", "--checkpoint", str(kept)).stderr
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**checkpoint, "root": "ab" * 32}), encoding="utf-8")
    assert "checkpoint" in one_clear_line(fails(world, "verify", "--checkpoint", str(forged)))
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**checkpoint, "size": checkpoint["size"] + 5}), encoding="utf-8")
    one_clear_line(fails(world, "verify", "--checkpoint", str(future)))


def test_prove_needs_exactly_one_thing_to_prove(world: str) -> None:
    assert "exactly one" in fails(world, "prove", code=2).stderr
    assert "exactly one" in fails(world, "prove", "zakharova-no-real-meeting", "--position", "1", code=2).stderr


# -- every mistake: one clear line, non-zero exit, no traceback, nothing written -------------------

CLAIM = "zakharova-no-real-meeting"


def add(**options: str) -> tuple[str, ...]:
    """``claims add`` with a valid claim on the seed, but for ``options`` (``said_on=`` for ``--said-on``)."""
    given = {"party": "russia", "topic": "g20-joint-statement", "said_on": "2023-03-02", "source": "tass"}
    given |= {"text": "A claim.", **options}
    return ("add", *(item for key, value in given.items() for item in (f"--{key.replace('_', '-')}", value)))


SAME_TEXT = "No talks or real meeting took place between Lavrov and Blinken."
MISTAKES: dict[str, tuple[tuple[str, ...], str]] = {
    "unknown party": (add(party="nobody"), "unknown party: nobody"),
    "unknown topic": (add(topic="nope"), "unknown topic: nope"),
    "missing source": (add(source="nowhere"), "unknown source: nowhere"),
    "missing relay": (add(via="nowhere"), "unknown source: nowhere"),
    "unknown speaker": (add(speaker="x"), "unknown speaker: x"),
    "speaker of another party": (add(speaker="antony-blinken"), "speaks for united-states"),
    "bad date": (add(said_on="2023-02-30"), "not a date: 2023-02-30"),
    "future date": (add(said_on="2999-01-01"), "in the future"),
    "bad id": (add(id="Bad_Id"), "lowercase slug"),
    "duplicate id": (add(id=CLAIM), f"claim {CLAIM} is already recorded"),
    "stance without proposition": (add(stance="denies"), "proposition and stance go together"),
    "responds to unknown claim": (add(responds_to="nope", relation="supports"), "unknown claim: nope"),
    "retract unknown claim": (("retract", "nope", "--on", "2023-03-10"), "unknown claim: nope"),
    "retract bad date": (("retract", CLAIM, "--on", "2023-02-30"), "not a date: 2023-02-30"),
    "retract future date": (("retract", CLAIM, "--on", "2999-01-01"), "in the future"),
    "retract before said": (("retract", CLAIM, "--on", "2023-03-01"), "before the claim was said"),
    "retract missing source": (("retract", CLAIM, "--on", "2023-03-10", "--source", "nowhere"), "unknown source"),
    "reaffirm missing source": (("reaffirm", CLAIM, "--on", "2023-03-10", "--source", "nowhere"), "unknown source"),
    "correct nothing": (("correct", CLAIM, "--reason", "r"), "a correction changes at least one of"),
    "correct to the same": (("correct", CLAIM, "--text", SAME_TEXT, "--reason", "r"), "nothing to correct"),
    "correct bad date": (("correct", CLAIM, "--said-on", "2023-02-30", "--reason", "r"), "not a date: 2023-02-30"),
    "correct unknown claim": (("correct", "nope", "--text", "t", "--reason", "r"), "unknown claim: nope"),
    "verdict unknown reviewer": (("verdict", CLAIM, "--rating", "false", "--by", "nowhere"), "unknown source: nowhere"),
    "verdict bad url": (("verdict", CLAIM, "--rating", "false", "--by", "tass", "--url", "ftp://x"), "url must be"),
    "party with other fields": (
        ("party", "add", "russia", "--name", "Russland", "--kind", "state"),
        "already recorded with other fields",
    ),
    "speaker of unknown party": (("speaker", "add", "x", "--name", "X", "--party", "nobody"), "unknown party: nobody"),
    "source bad url": (("source", "add", "s2", "--name", "S", "--url", "not-a-url"), "url must be"),
    "source bad date": (("source", "add", "s2", "--name", "S", "--published", "2023-02-30"), "not a date"),
    "topic bad id": (("topic", "add", "Bad", "--title", "T"), "lowercase slug"),
    "show unknown claim": (("show", "nope"), "unknown claim: nope"),
    "narrative unknown party": (("narrative", "nobody"), "unknown party: nobody"),
    "narrative unknown topic": (("narrative", "russia", "--topic", "nope"), "unknown topic: nope"),
    "compare unknown party": (("compare", "russia", "nobody"), "unknown party: nobody"),
    "compare two unknown parties": (("compare", "narnia", "russia", "nobody"), "unknown party: narnia"),
    "as-of bad date": (("narrative", "russia", "--as-of", "2023-02-30"), "not a date: 2023-02-30"),
    "known-at garbage": (("compare", "russia", "china", "--known-at", "garbage"), "garbage"),
    "timeline unknown party": (("timeline", "--party", "nobody"), "unknown party: nobody"),
    "list unknown topic": (("list", "--topic", "nope"), "unknown topic: nope"),
    "changes reversed": (("changes", "russia", "--from", "2023-03-10", "--to", "2023-03-01"), "after"),
    "prove unknown claim": (("prove", "nope"), "unknown claim: nope"),
    "prove beyond the log": (("prove", "--position", "99999"), "99999"),
    "consistency beyond the log": (("prove", "--consistency", "99999"), "99999"),
    "unreadable file": (("import", "/nonexistent/claims.yaml"), "/nonexistent/claims.yaml: cannot read"),
    "directory as file": (("import", "/"), "cannot read"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_one_clear_line_and_writes_nothing(world: str, mistake: str) -> None:
    args, expected = MISTAKES[mistake]
    before = state(world)
    line = one_clear_line(fails(world, *args))
    assert expected in line
    assert state(world) == before


def document_file(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.yaml", "format: claims/v1\nclaims: [unclosed\n", "not valid YAML"),
        ("tabs.yaml", "format: claims/v1\nparties:\n\t- {id: x}\n", "not valid YAML"),
        ("bad.json", '{"format": "claims/v1", "parties": [}', "not valid JSON"),
        ("latin1.yaml", "format: claims/v1\nparties: [{id: x, name: Caf\xe9}]\n".encode("latin-1"), "not UTF-8"),
        ("tagged.yaml", "format: claims/v1\nparties: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("dup.yaml", "format: claims/v1\nformat: claims/v1\n", "duplicate key"),
        ("list.yaml", "- just\n- a list\n", "invalid claims document"),
    ],
)
def test_a_malformed_file_is_one_clear_line_naming_it(
    world: str, tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    before = state(world)
    path = document_file(tmp_path, name, content)
    result = fails(world, "import", path)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: {path}") and expected in result.stderr
    if expected != "invalid claims document":
        one_clear_line(result)
    assert state(world) == before


def test_an_invalid_document_lists_every_problem_by_its_path(world: str, tmp_path: Path) -> None:
    path = document_file(
        tmp_path,
        "invalid.yaml",
        "format: claims/v1\n"
        "parties:\n"
        "  - {id: brazil, name: Brazil, kind: state}\n"  # valid on its own: must not be written
        "claims:\n"
        "  - {party: nobody, topic: g20-joint-statement, said_on: 2023-02-30, source: tass, text: x, colour: red}\n"
        "  - {party: russia, topic: nope, said_on: 2023-03-02, source: tass, text: y}\n"
        "events:\n"
        "  - {retract: nope, on: 2023-03-10}\n",
    )
    before = state(world)
    result = fails(world, "import", path)
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Error: {path}: invalid claims document (5 problems)"
    problems = sorted(line.strip() for line in lines[1:])
    assert problems == sorted(
        [
            "claims[0].colour: unknown field",
            "claims[0].said_on: not a date: 2023-02-30",
            "claims[0].party: unknown party: nobody",
            "claims[1].topic: unknown topic: nope",
            "events[0].claim: unknown claim: nope",
        ]
    )
    assert state(world) == before
    assert "unknown party: brazil" in one_clear_line(fails(world, "narrative", "brazil"))


def test_a_document_failing_while_applied_is_not_half_written(world: str) -> None:
    """A conflict found only when applying (a party redeclared with other fields) rolls back it all."""
    document = {
        "format": "claims/v1",
        "parties": [{"id": "brazil", "name": "Brazil", "kind": "state"}, {"id": "russia", "name": "Russland"}],
    }
    before = state(world)
    result = fails(world, "import", "-", input=json.dumps(document))
    assert "russia" in result.stderr and "Russland" in result.stderr
    assert state(world) == before
    fails(world, "narrative", "brazil")


def test_mistakes_with_audit_files_are_one_clear_line(world: str, tmp_path: Path) -> None:
    not_json = document_file(tmp_path, "trail.jsonl", "not json\n")
    assert "line 1 is not JSON" in one_clear_line(fails(world, "verify", "--file", not_json))
    bad = document_file(tmp_path, "checkpoint.json", '{"size": "x"}')
    assert "not a checkpoint" in one_clear_line(fails(world, "verify", "--checkpoint", bad))
    assert "not a checkpoint" in one_clear_line(fails(world, "prove", "--position", "1", "--checkpoint", bad))
    garbled = document_file(tmp_path, "garbled.json", "{")
    assert "cannot read checkpoint" in one_clear_line(fails(world, "verify", "--checkpoint", garbled))


def test_export_to_a_missing_directory_names_the_path_given(world: str, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "trail.jsonl"
    line = one_clear_line(fails(world, "export", "--out", str(target)))
    assert "partial" not in line and str(target) in line


def test_without_a_database_every_command_says_to_run_init_and_writes_nothing(db_url: str) -> None:
    commands = [
        ("party", "add", "russia", "--name", "Russia"),
        ("add", "--party", "russia", "--topic", "t", "--said-on", "2023-03-02", "--source", "s", "--text", "x"),
        ("retract", "c", "--on", "2023-03-02"),
        ("import", str(SEED)),
        ("narrative", "russia"),
        ("compare", "russia", "china"),
        ("timeline",),
        ("list",),
        ("show", "c"),
        ("log",),
        ("verify",),
        ("checkpoint",),
        ("prove", "--position", "1"),
        ("export",),
        ("projections", "status"),
    ]
    for args in commands:
        line = one_clear_line(fails(db_url, *args))
        assert "claims init" in line, (args, line)
    if "://" not in db_url:  # an SQLite path: not even an empty file is left (sqlite3 would create one)
        assert not Path(db_url).exists()
        assert "claims init" in one_clear_line(fails(db_url, "db", "current"))
        assert not Path(db_url).exists()
        ok(db_url, "init")
        assert Path(db_url).exists()
        return
    engine = open_engine(resolve_url(db_url))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["narrative", "russia", "--format", "bogus"], "Invalid value for '--format'"),
        (["--nope"], "No such option '--nope'"),
        (["bogus-command"], "No such command 'bogus-command'"),
        (["log", "--since", "-5"], "Invalid value for '--since'"),
        (["narrative"], "Missing argument 'PARTY'"),
    ],
)
def test_a_mistake_in_the_command_line_is_one_clear_line_and_exit_2(url: str, args: list[str], expected: str) -> None:
    """Not Click's usage, hint and blank line before the error: the error, and where help is."""
    line = one_clear_line(fails(url, *args, code=2))
    assert line.startswith(f"Error: {expected}") and line.endswith(" --help)"), line


def test_a_database_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "claims.db"
    assert "no such directory" in one_clear_line(fails(str(missing), "init"))
    assert not missing.parent.exists()
    assert "unsupported database" in one_clear_line(fails("mysql://somewhere/claims", "init"))
    for command in ("init", "list"):
        assert one_clear_line(fails(str(tmp_path), command)) == f"Error: {tmp_path} is a directory, not a database file"


def test_an_sqlite_older_than_the_upsert_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlite3 import dbapi2  # the module SQLAlchemy's driver uses

    db = tmp_path / "claims.db"
    monkeypatch.setattr(dbapi2, "sqlite_version_info", (3, 23, 1))
    monkeypatch.setattr(dbapi2, "sqlite_version", "3.23.1")
    line = one_clear_line(fails(str(db), "init"))
    assert line == "Error: claims needs SQLite 3.24.0 or later; this Python's sqlite3 module uses SQLite 3.23.1"
    assert not db.exists()
    monkeypatch.setattr(dbapi2, "sqlite_version_info", (3, 24, 0))
    ok(str(db), "init")


@pytest.mark.parametrize(
    "bad_url, expected",
    [
        ("postgresql+psycopg2://u@127.0.0.1/claims", "through psycopg"),
        ("postgresql+asyncpg://u@127.0.0.1/claims", "through psycopg"),
        ("postgresql+psycopg://u@host:notaport/claims", "not a database URL"),
        ("sqlite:///claims.db?timeout=abc", "not a usable database URL"),
        ("sqlite:///claims.db?timeuot=5", "not a usable database URL"),  # an option SQLite ignores
        ("mysql://u@host/claims", "unsupported database"),
        ("postgresql+psycopg://ana:s3cret@host:notaport/claims", "ana:***@host"),
    ],
)
def test_a_database_url_claims_cannot_use_is_one_clear_line(tmp_path: Path, bad_url: str, expected: str) -> None:
    """Mistyped URLs (another driver, a port that is no number, an option that cannot be read or
    that the driver would ignore) are refused before anything connects: no traceback, no warning,
    and no file created."""
    result = RUNNER.invoke(cli, ["--db", bad_url.replace("claims.db", str(tmp_path / "claims.db")), "narrative", "x"])
    assert not crashed(result) and result.exit_code == 1
    assert expected in one_clear_line(result) and "s3cret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_out_writes_through_a_symbolic_link_and_into_a_fifo_in_place(world: str, tmp_path: Path) -> None:
    """A file is written whole by renaming over it; a link is followed, not replaced, and a FIFO
    (or a device) is written in place, never replaced by a plain file."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "report.out").write_text("old")  # a file the link points to already, and one it does not yet
    for command in (("report", "--out"), ("export", "--out")):
        link = tmp_path / f"{command[0]}-link"
        link.symlink_to(real / f"{command[0]}.out")
        ok(world, *command, str(link))
        assert link.is_symlink() and (real / f"{command[0]}.out").stat().st_size > 100
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    ok(world, "report", "--out", str(fifo))
    reader.join(timeout=30)
    if reader.is_alive():  # nothing was written into the FIFO: let the reader go before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert stat.S_ISFIFO(fifo.stat().st_mode) and received and received[0].startswith(b"<!doctype html>")


def test_a_number_too_long_for_python_is_one_clear_line(url: str, tmp_path: Path) -> None:
    """In YAML an integer is kept as the text it was written as (no field of a document is a
    number), so a huge one is text, checked as text; in JSON, Python cannot read it at all."""
    huge = "0x" + "f" * 5000  # YAML's hexadecimal integer: Python reads it, but cannot write it in decimal
    document = document_file(tmp_path, "huge.yaml", f"format: claims/v1\nparties:\n  - {{id: p, name: {huge}}}\n")
    result = fails(url, "import", document)
    assert "parties[0].name: name is longer than 500 characters" in result.stderr
    digits = "9" * 5000
    document = document_file(
        tmp_path, "huge.json", f'{{"format": "claims/v1", "parties": [{{"id": "p", "name": {digits}}}]}}'
    )
    assert one_clear_line(fails(url, "import", document)).endswith(
        "huge.json: a value cannot be read (a number of more than 4,300 digits)"
    )


def test_import_from_a_closed_standard_input_is_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "claims.db"
    command = [sys.executable, "-m", "claims", "--db", str(database)]
    subprocess.run([*command, "init"], capture_output=True, check=True)
    result = subprocess.run(
        [*command, "import", "-"], capture_output=True, text=True, check=False, preexec_fn=lambda: os.close(0)
    )
    assert result.returncode == 1 and result.stderr.strip() == "Error: no standard input to read the document from"
