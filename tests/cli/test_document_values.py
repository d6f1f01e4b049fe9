"""A claims document's values are stored as written, and a value that cannot be stored is named as
the document writes it, through the real command on a real SQLite database.

No field of a claims document is a number: a YAML integer is the text it was written as
(``0x7E7`` is no date, ``007`` is the text ``007``), as ``claims add`` takes it. An error names a
value or a key as YAML or JSON spells it (``true``, ``["a"]``, ``null``), never as Python does, and
keeps both halves of PyYAML's message. Each refusal is one error, exit 1, and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claims.cli import cli

RUNNER = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None, "NO_COLOR": "1", "COLUMNS": "200"})
REGISTRY = (
    "format: claims/v1\nparties: [{id: p, name: P, kind: state}]\nsources: [{id: s, name: S, kind: news-agency}]\n"
)


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(cli, ["--db", db, *args])
    # A refusal is a clean exit with a message, never an exception escaping the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A new SQLite database holding one party and one source."""
    url = str(tmp_path / "claims.db")
    assert run(url, "init")[0] == 0
    imported(url, tmp_path / "registry.yaml", REGISTRY)
    return url


def events(db: str) -> list[dict[str, Any]]:
    code, out, err = run(db, "log", "--format", "json")
    assert code == 0, err
    return list(json.loads(out))


def imported(db: str, document: Path, content: str) -> list[dict[str, Any]]:
    """Import ``content``; return the payloads of the events it recorded."""
    before = len(events(db))
    document.write_text(content)
    code, _, err = run(db, "import", str(document))
    assert code == 0, err
    return [event["payload"] for event in events(db)[before:]]


def refused(db: str, document: Path, content: str) -> list[str]:
    """Import ``content``, check that it failed and wrote nothing; return the lines of its error,
    the first without ``Error: FILE: ``."""
    before = events(db)
    document.write_text(content)
    code, out, err = run(db, "import", str(document))
    assert (code, out) == (1, ""), err
    assert events(db) == before, "a refused document left events behind"
    lines = err.rstrip("\n").splitlines()
    assert lines[0].startswith(f"Error: {document}: ") and all(line.startswith("  ") for line in lines[1:]), err
    return [lines[0].removeprefix(f"Error: {document}: "), *(line.strip() for line in lines[1:])]


def test_yaml_integers_are_the_text_they_were_written_as(db: str, tmp_path: Path) -> None:
    """They were rewritten: the date ``0x7E7`` stored as 2023, the id ``0o17`` as 15, the texts
    ``0x1F`` and ``007`` as 31 and 7, the quote ``+12`` as 12, the title ``007`` as 7."""
    claims = (
        "topics: [{id: t, title: 007}]\n"
        "claims:\n"
        "  - {id: 0o17, party: p, topic: t, said_on: SAID, source: s, text: 0x1F, quote: +12}\n"
        "  - {id: c2, party: p, topic: t, said_on: '2023-03-02', source: s, text: 007}\n"
    )
    lines = refused(db, tmp_path / "ints.yaml", REGISTRY + claims.replace("SAID", "0x7E7"))
    assert lines == ["invalid claims document (1 problem)", "claims[0].said_on: not a date: 0x7E7"]
    code, _, err = run(db, "add", "--party", "p", "--topic", "t", "--said-on", "0x7E7", "--source", "s", "--text", "x")
    assert code != 0 and "said_on: not a date: 0x7E7" in err  # what `claims add` says of the same

    payloads = imported(db, tmp_path / "ints.yaml", REGISTRY + claims.replace("SAID", "2023"))
    topic, first, second = payloads
    assert topic["title"] == "007"
    assert (first["claim"], first["said_on"], first["text"], first["quote"]) == ("0o17", "2023", "0x1F", "+12")
    assert (second["claim"], second["text"]) == ("c2", "007")


def test_a_json_integer_is_its_one_spelling_and_a_float_is_no_text(db: str, tmp_path: Path) -> None:
    """``7`` has one spelling; ``-0`` has two, and stays ``-0`` rather than becoming ``0``.
    ``1E2`` and ``1.0`` are refused, not stored as ``100.0`` or ``1``."""
    claim = '{"party": "p", "topic": "t", "said_on": "2023", "source": "s", "text": TEXT}'
    doc = '{"format": "claims/v1", "topics": [{"id": "t", "title": "T"}], "claims": [CLAIMS]}'
    for number in ("1E2", "1.0"):
        lines = refused(db, tmp_path / "numbers.json", doc.replace("CLAIMS", claim.replace("TEXT", number)))
        assert lines == ["invalid claims document (1 problem)", "claims[0].text: text must be text"]
    both = ", ".join(claim.replace("TEXT", number) for number in ("7", "-0"))
    payloads = imported(db, tmp_path / "numbers.json", doc.replace("CLAIMS", both))
    assert [payload["text"] for payload in payloads[1:]] == ["7", "-0"]


def test_a_5000_digit_number_is_text_in_yaml_and_one_clear_error_in_json(db: str, tmp_path: Path) -> None:
    """YAML said "Exceeds the limit (4300 digits) for integer string conversion ... use
    sys.set_int_max_str_digits()": in YAML it is now text, in JSON (a number there, since JSON
    quotes its text) the error JSON always gave."""
    digits = "9" * 5000
    too_long = REGISTRY + f"topics: [{{id: t, title: {digits}}}]\n"
    lines = refused(db, tmp_path / "huge.yaml", too_long)
    assert lines == ["invalid claims document (1 problem)", "topics[0].title: title is longer than 500 characters"]
    claim = f"claims: [{{party: p, topic: t, said_on: 2023, source: s, text: {digits}}}]\n"
    payloads = imported(db, tmp_path / "huge.yaml", REGISTRY + "topics: [{id: t, title: T}]\n" + claim)
    assert payloads[-1]["text"] == digits
    lines = refused(
        db, tmp_path / "huge.json", '{"format": "claims/v1", "topics": [{"id": "t", "title": ' + digits + "}]}"
    )
    assert lines == ["a value cannot be read (a number of more than 4,300 digits)"]


def test_a_yaml_stream_of_several_documents_is_refused_in_one_whole_sentence(db: str, tmp_path: Path) -> None:
    """It lost its first half: "not valid YAML: but found another document at line 7 column 1"."""
    lines = refused(db, tmp_path / "stream.yaml", REGISTRY + "---\n" + REGISTRY)
    assert lines == [
        "not valid YAML: expected a single document in the stream, but found another document at line 4 column 1"
    ]


def test_values_and_keys_that_are_no_text_are_named_as_the_document_writes_them(db: str, tmp_path: Path) -> None:
    """Not as Python shows them: ``'True…'``, ``"['a']…"``, ``found None``, ``claims[0].None``."""
    lines = refused(
        db,
        tmp_path / "shapes.yaml",
        "parties: [{id: true, name: A}, {id: [a], name: B}, {id: {a: 1}, name: C}, {id: 1.5, name: D}]\n"
        "~: 1\n"
        "claims:\n"
        "  - {null: 1, true: 2, party: p, topic: t, said_on: 2023, source: s, text: x}\n",
    )
    slug = "party id must be a lowercase slug ([a-z0-9][a-z0-9-]*, at most 120)"
    assert lines == [
        "invalid claims document (9 problems)",
        "format: must be claims/v1, found nothing",
        "null: unknown section (expected one of parties, speakers, sources, topics, claims, events)",
        f"parties[0].id: {slug}: true",
        f'parties[1].id: {slug}: ["a"]',
        f'parties[2].id: {slug}: {{"a": "1"}}',
        f"parties[3].id: {slug}: 1.5",
        "claims[0].null: unknown field",
        "claims[0].true: unknown field",
        "claims[0].topic: unknown topic: t",
    ]
