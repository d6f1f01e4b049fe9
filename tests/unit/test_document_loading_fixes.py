"""Fixes to reading and importing claims documents: a YAML mapping in flow style is YAML though it
opens with a brace as JSON does; a loop of replies inside one document is said to be one, not an
"unknown claim" that the document declares; and an import report tells a document of no entries
from one whose entries are all recorded already."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.domain import commands as cmd
from claims.domain.dates import period_end
from claims.domain.errors import DocumentError, ValidationError
from claims.io import loading, strict_json
from claims.io.loading import load_text
from claims.service.import_plan import reply_loops

FLOW = "{format: claims/v1, parties: [{id: flowp, name: Flow}]}\n"


# A YAML mapping in flow style -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["flow.yaml", "flow.yml", "<stdin>", "document", "flow.txt"])
def test_a_yaml_mapping_in_flow_style_is_read_as_yaml(name: str) -> None:
    assert load_text(FLOW, name=name) == {"format": "claims/v1", "parties": [{"id": "flowp", "name": "Flow"}]}


def test_flow_style_yaml_is_read_with_the_claims_document_rules() -> None:
    """Integers keep the text they were written as, and only ``true``/``false`` are booleans, as
    for any YAML document (``DocumentLoader``): ``on`` and ``no`` stay text."""
    read = load_text("{said_on: 2023, id: 007, hex: 0x7E7, on: no, flag: true}", name="<stdin>")
    assert read == {"said_on": "2023", "id": "007", "hex": "0x7E7", "on": "no", "flag": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{format: claims/v1, format: x}", r"^<stdin>: not valid YAML: found duplicate key 'format' at line 1"),
        ("{format: !!python/object:object {}}", r"^<stdin>: not valid YAML: could not determine a constructor"),
        ("{a: &x 1, b: [" + ", ".join(["*x"] * 101) + "]}", r"^<stdin>: document uses more than 100 aliases$"),
    ],
    ids=["duplicate key", "tag", "aliases"],
)
def test_flow_style_yaml_that_breaks_a_yaml_rule_is_refused_in_yaml_words(text: str, message: str) -> None:
    """YAML parsed the text, and refused it for one of its rules: the problem is YAML's, not a JSON
    syntax error at the first unquoted key."""
    with pytest.raises(ValidationError, match=message):
        load_text(text, name="<stdin>")


@pytest.mark.parametrize("name", ["<stdin>", "broken.txt"])
def test_text_that_is_neither_json_nor_yaml_gets_the_json_error_when_it_looks_like_json(name: str) -> None:
    with pytest.raises(ValidationError, match=rf"^{name}: not valid JSON: .* at line 2 column 1$"):
        load_text('{"format": "claims/v1",\n', name=name)


@pytest.mark.parametrize("name", ["broken.yaml", "broken.yml"])
def test_text_that_is_neither_json_nor_yaml_gets_the_yaml_error_in_a_yaml_file(name: str) -> None:
    with pytest.raises(ValidationError, match=rf"^{name}: not valid YAML: .* at line 2 column 1$"):
        load_text('{"format": "claims/v1",\n', name=name)


def test_a_json_file_is_read_as_json_only() -> None:
    """A ``.json`` file says what it is: flow-style YAML in it (or JSON broken into valid YAML, by
    a trailing comma) is a JSON error, not a document read another way."""
    with pytest.raises(ValidationError, match=r"^flow\.json: not valid JSON: Expecting property name"):
        load_text(FLOW, name="flow.json")
    with pytest.raises(ValidationError, match=r"^comma\.json: not valid JSON"):
        load_text('{"format": "claims/v1",}', name="comma.json")


def test_broken_json_too_long_to_be_read_as_yaml_gets_the_json_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large documents are JSON: one that is broken is not handed to the YAML reader, which would
    only refuse it for its length."""
    monkeypatch.setattr(loading, "MAX_YAML_CHARACTERS", 20)
    with pytest.raises(ValidationError, match=r"^big\.txt: not valid JSON"):
        load_text('{"format": "claims/v1", "parties": [}', name="big.txt")
    with pytest.raises(ValidationError, match=r"^big\.yaml: a YAML document is limited to"):
        load_text('{"format": "claims/v1", "parties": [}', name="big.yaml")


@pytest.mark.parametrize("name", ["doc.json", "doc.yaml", "<stdin>"])
def test_valid_json_is_parsed_once_and_never_as_yaml(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    parse = strict_json.loads

    def counted(text: str, **options: Any) -> Any:
        calls.append(name)
        return parse(text, **options)

    def no_yaml(*args: Any, **options: Any) -> Any:
        raise AssertionError("valid JSON was read as YAML")

    monkeypatch.setattr(strict_json, "loads", counted)
    monkeypatch.setattr(loading, "load_yaml", no_yaml)
    document = {"format": "claims/v1", "parties": [{"id": "p", "name": "P"}]}
    assert load_text(json.dumps(document), name=name) == document
    assert calls == [name]


@pytest.mark.parametrize("name", ["flow.yaml", "<stdin>"])
def test_a_flow_style_document_imports(tracker: Tracker, name: str) -> None:
    report = tracker.import_bytes(FLOW.encode(), name=name)
    assert report.recorded == {"party": 1}
    assert tracker.import_text(FLOW, name=name).nothing_new


# A loop of replies inside one document ----------------------------------------------------------

CLAIM = "party: russia, topic: g20-joint-statement, said_on: 2023-03-03, source: tass"


def reply(ident: str, to: str, *, extra: str = "") -> str:
    return f"  - {{id: {ident}, {CLAIM}, text: {ident}., responds_to: {{claim: {to}, relation: contradicts}}{extra}}}\n"


def problems_of(tracker: Tracker, text: str) -> list[str]:
    """The problems the import of ``text`` is rejected with, checking that it recorded nothing."""
    size = tracker.checkpoint()["size"]
    with pytest.raises(DocumentError) as rejected:
        tracker.import_text(text, name="loops.yaml")
    assert tracker.checkpoint()["size"] == size
    return rejected.value.problems


WHY = "(a claim can only respond to one recorded before it)"


def test_each_claim_of_a_loop_of_replies_is_said_to_be_in_a_loop(seeded: Tracker) -> None:
    problems = problems_of(seeded, "format: claims/v1\nclaims:\n" + reply("a", "b") + reply("b", "a") + reply("c", "c"))
    assert problems == [
        f"claims[0].responds_to: a and b respond to each other in a loop {WHY}",
        f"claims[1].responds_to: b and a respond to each other in a loop {WHY}",
        "claims[2].responds_to: c responds to itself",
    ]


def test_a_longer_loop_is_named_in_the_order_of_its_replies_and_a_very_long_one_by_its_length(
    seeded: Tracker,
) -> None:
    three = reply("x", "y") + reply("y", "z") + reply("z", "x")
    six = "".join(reply(f"l{i}", f"l{(i + 1) % 6}") for i in range(6))
    problems = problems_of(seeded, "format: claims/v1\nclaims:\n" + three + six)
    assert problems[:3] == [
        f"claims[0].responds_to: x responds to y, y to z and z to x: a loop of replies {WHY}",
        f"claims[1].responds_to: y responds to z, z to x and x to y: a loop of replies {WHY}",
        f"claims[2].responds_to: z responds to x, x to y and y to z: a loop of replies {WHY}",
    ]
    assert problems[3] == f"claims[3].responds_to: l0 responds to l1 in a loop of 6 replies that leads back to l0 {WHY}"
    assert len(problems) == 9


def test_entries_that_wait_for_a_loop_are_held_back_and_other_problems_still_listed(seeded: Tracker) -> None:
    """A reply into the loop and a verdict on one of its claims wait for the loop, and are not
    "unknown claims" of their own; a problem elsewhere, even of a claim of the loop, is listed too."""
    problems = problems_of(
        seeded,
        "format: claims/v1\nclaims:\n"
        + reply("a", "b")
        + reply("b", "a", extra=", quote: [q]")
        + reply("into", "a")
        + "events:\n  - {verdict: a, rating: 'false', by: tass}\n",
    )
    assert problems == [
        f"claims[0].responds_to: a and b respond to each other in a loop {WHY}",
        "claims[1].quote: quote must be text",
        f"claims[1].responds_to: b and a respond to each other in a loop {WHY}",
    ]


def test_a_loop_through_a_recorded_claim_is_no_problem_and_imports_again_as_nothing_new(seeded: Tracker) -> None:
    """The recorded claim is skipped and the other can respond to it: importing the document
    again must stay idempotent, not be refused as a loop."""
    seeded.import_text(f"format: claims/v1\nclaims:\n  - {{id: b, {CLAIM}, text: b.}}\n")
    document = "format: claims/v1\nclaims:\n" + reply("a", "b") + reply("b", "a")
    assert seeded.import_text(document).recorded == {"claim": 1}
    assert seeded.import_text(document).nothing_new
    assert seeded.show("a")["claim"]["responds_to"] == {"claim": "b", "relation": "contradicts"}


def test_reply_loops_takes_the_first_declaration_of_an_id_and_leaves_out_replies_of_no_text() -> None:
    def claim(ident: Any, responds_to: Any) -> cmd.AssertClaim:
        return cmd.AssertClaim(
            id=ident,
            party="p",
            topic="t",
            said_on="2023",
            source="s",
            text="x",
            responds_to=responds_to,
            relation="supports",
        )

    assertions = [claim("a", "b"), claim("b", "a"), claim("b", "c"), claim(["a"], "a"), claim("d", ["d"])]
    assert reply_loops(assertions) == [["a", "b"]] or reply_loops(assertions) == [["b", "a"]]
    assert reply_loops([claim("a", "b"), claim("b", "c"), claim("b", "a")]) == []


# An import of a document of no entries ----------------------------------------------------------


def test_a_report_tells_a_document_of_no_entries_from_one_already_imported(tracker: Tracker, tmp_path: Path) -> None:
    """Both add nothing; only one of them has anything recorded already, which the command line
    needs to say "already imported" of that one only."""
    empty = tracker.import_text("format: claims/v1\n")
    assert empty.nothing_new and not empty.recorded and not empty.skipped
    party = "format: claims/v1\nparties:\n  - id: flowp\n    name: Flow\n"
    tracker.import_text(party)
    again = tracker.import_text(party)
    assert again.nothing_new and again.skipped == {"party": 1}
    runner = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None})
    document = tmp_path / "empty.yaml"
    document.write_text("format: claims/v1\n", encoding="utf-8")
    said = runner.invoke(cli, ["--db", tracker.url, "import", str(document)])
    assert said.exit_code == 0 and said.stderr == f"{document}: the document holds no entries; nothing added\n"


def test_a_claim_responding_to_itself_is_said_so_on_the_command_line(seeded: Tracker) -> None:
    with pytest.raises(ValidationError, match=r"^claim self cannot respond to itself$"):
        seeded.add_claim(
            id="self",
            party="russia",
            topic="g20-joint-statement",
            said_on="2023-03-03",
            source="tass",
            text="Myself.",
            responds_to="self",
            relation="supports",
        )


def test_a_date_that_is_not_text_is_spelt_as_json() -> None:
    with pytest.raises(ValidationError, match=r'^not a date: \["2023"\]$'):
        period_end(["2023"])


def test_long_json_broken_far_from_its_start_is_not_read_again_as_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow-style YAML document breaks JSON at its first unquoted key; a long JSON document cut
    short broke far on and was read again by the pure-Python YAML parser (47 s for 7.6 MB)."""
    read_as_yaml: list[str] = []
    monkeypatch.setattr(loading, "_document_yaml", lambda text: read_as_yaml.append(text))
    claims = ",".join(json.dumps({"id": f"c{i}", "text": "x" * 200}) for i in range(2000))
    cut_short = '{"format": "claims/v1", "claims": [' + claims  # about 470 KB, broken at its end
    with pytest.raises(ValidationError, match="not valid JSON"):
        load_text(cut_short, name="<stdin>")
    assert read_as_yaml == []
    load_text("{format: claims/v1, parties: [" + "{id: p, name: P}, " * 5000 + "]}", name="<stdin>")
    assert len(read_as_yaml) == 1  # broken at its first key: YAML in flow style, however long
