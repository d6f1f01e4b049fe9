"""A claims/v1 document becomes commands, with every shape problem listed by its path.

``claims.io.document.read_document`` never stops at the first problem: a document with several
mistakes reports all of them (``claims[0].said_on: not a date: 2023-02-30``), including unknown
sections and fields, duplicate ids (explicit or derived), and malformed lifecycle entries. No
database is involved: reference checks are the importer's.
"""

from __future__ import annotations

from typing import Any

import pytest

from claims.domain import commands as cmd
from claims.domain.ids import derive_claim_id
from claims.io.document import read_document
from claims.io.loading import load_text


def claim(**overrides: Any) -> dict[str, Any]:
    item = {
        "party": "russia",
        "topic": "g20",
        "said_on": "2023-03-02",
        "source": "tass",
        "text": "The West derailed the meeting.",
    }
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not None}


def document(**sections: Any) -> dict[str, Any]:
    return {"format": "claims/v1", **sections}


def test_a_valid_document_becomes_commands_in_application_order() -> None:
    read = read_document(
        document(
            events=[{"retract": "c1", "on": "2023-03-10", "source": "tass"}],
            claims=[claim(id="c1", via=["ap"], proposition="west-derailed", stance="affirms")],
            topics=[{"id": "g20", "title": "G20"}],
            sources=[{"id": "tass", "name": "TASS", "kind": "news-agency"}, {"id": "ap", "name": "AP"}],
            speakers=[{"id": "lavrov", "name": "Sergey Lavrov", "party": "russia", "role": "Foreign Minister"}],
            parties=[{"id": "russia", "name": "Russia", "kind": "state"}],
        )
    )
    assert read.problems == []
    kinds = [type(entry.command) for entry in read.entries]
    assert kinds == [
        cmd.AddParty,
        cmd.AddSpeaker,
        cmd.AddSource,
        cmd.AddSource,
        cmd.AddTopic,
        cmd.AssertClaim,
        cmd.RetractClaim,
    ]
    assert [entry.path for entry in read.entries] == [
        "parties[0]",
        "speakers[0]",
        "sources[0]",
        "sources[1]",
        "topics[0]",
        "claims[0]",
        "events[0]",
    ]
    asserted = read.entries[5].command
    assert isinstance(asserted, cmd.AssertClaim)
    assert asserted.via == ("ap",) and asserted.stance == "affirms"
    assert read.claim_ids() == {"c1": "claims[0]"}


def test_an_impossible_date_is_reported_by_its_path_from_yaml_text() -> None:
    text = (
        "format: claims/v1\n"
        "claims:\n"
        "  - {party: russia, topic: g20, said_on: 2023-03-02, source: tass, text: fine}\n"
        "  - {party: russia, topic: g20, said_on: 2023-02-30, source: tass, text: impossible}\n"
    )
    read = read_document(load_text(text, name="doc.yaml"))
    assert read.problems == ["claims[1].said_on: not a date: 2023-02-30"]


def test_every_problem_is_listed_by_its_path() -> None:
    read = read_document(
        {
            "format": "claims/v1",
            "stuff": 1,
            "parties": [{"id": "x", "name": "X", "kind": "planet"}],
            "claims": [
                claim(party="Russia", said_on="2023-02-30", colour="red"),
                claim(id="a"),
                claim(id="a", text="another text"),
            ],
            "events": [{"retract": "a", "reaffirm": "a"}, {"retract": "a", "on": "2023-13-01"}],
        }
    )
    assert sorted(read.problems) == sorted(
        [
            "stuff: unknown section (expected one of parties, speakers, sources, topics, claims, events)",
            "parties[0].kind: kind must be one of state, bloc, organisation, person, other: 'planet'",
            "claims[0].colour: unknown field",
            "claims[0].party: party must be a lowercase slug ([a-z0-9][a-z0-9-]*, at most 120): 'Russia'",
            "claims[0].said_on: not a date: 2023-02-30",
            "events[0]: must have exactly one of retract, reaffirm, correct, verdict",
            "events[1].on: not a date: 2023-13-01",
            "claims[2].id: duplicate id a (also claims[1])",
        ]
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("text", None, "claims[0].text: text is required"),
        ("party", None, "claims[0].party: party is required"),
        ("said_on", None, "claims[0].said_on: date is required"),
        ("said_on", "2999-01-01", "claims[0].said_on: date is in the future: 2999-01-01"),
        ("source", "TASS", "claims[0].source: source must be a lowercase slug"),
        ("stance", "maybe", "claims[0].stance: proposition and stance go together"),
        ("via", ["ap", "Bad Relay"], "claims[0].via[1]: via must be a lowercase slug"),
        ("text", ["a", "list"], "claims[0].text: text must be text"),
        ("responds_to", "other-claim", "claims[0]: responds_to: must be {claim: ID, relation: contradicts|supports}"),
    ],
)
def test_claim_field_problems_name_their_path(field: str, value: Any, problem: str) -> None:
    item = claim()
    if value is None:
        item.pop(field, None)
    else:
        item[field] = value
    read = read_document(document(claims=[item]))
    assert any(p.startswith(problem) for p in read.problems), read.problems


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"id": "Not A Slug"}, "claims[0].id: claim id must be a lowercase slug"),
        ({"speaker": "Lavrov"}, "claims[0].speaker: speaker must be a lowercase slug"),
        ({"quote": ["a", "list"]}, "claims[0].quote: quote must be text"),
        ({"proposition": "Bad Prop", "stance": "supports"}, "claims[0].proposition: proposition must be a lowercase"),
        ({"proposition": "p", "stance": "maybe"}, "claims[0].stance: stance must be one of affirms, denies"),
        ({"responds_to": {"claim": "Bad", "relation": "supports"}}, "claims[0].responds_to: responds_to claim must"),
        ({"responds_to": {"claim": "c1", "relation": "likes"}}, "claims[0].relation: relation must be one of"),
    ],
)
def test_an_optional_field_given_is_checked(fields: dict[str, Any], problem: str) -> None:
    read = read_document(document(claims=[claim(**fields)]))
    assert any(p.startswith(problem) for p in read.problems), read.problems


def test_optional_fields_left_out_or_empty_are_no_problem() -> None:
    assert read_document(document(claims=[claim(quote="")])).problems == []
    full = claim(id="c1", speaker="lavrov", quote="q", proposition="p", stance="denies", via=["ap"])
    full["responds_to"] = {"claim": "c0", "relation": "contradicts"}
    assert read_document(document(claims=[full])).problems == []


def test_a_partial_or_numeric_year_said_on_is_accepted() -> None:
    read = read_document(document(claims=[claim(said_on=2022), claim(said_on="2023-02", text="other")]))
    assert read.problems == []
    first = read.entries[0].command
    assert isinstance(first, cmd.AssertClaim) and first.said_on == "2022"


def test_a_claim_without_id_gets_the_derived_one_and_a_repeated_one_is_a_duplicate() -> None:
    read = read_document(document(claims=[claim(), claim()]))
    derived = derive_claim_id("russia", "2023-03-02", "The West derailed the meeting.")
    assert read.problems == [f"claims[1].id: duplicate id {derived} (also claims[0])"]


def test_duplicate_registry_ids_are_reported_per_section() -> None:
    read = read_document(
        document(
            parties=[{"id": "russia", "name": "Russia"}, {"id": "russia", "name": "Russia"}],
            # The same id in another section is no duplicate: a topic and a party may share it.
            topics=[{"id": "russia", "title": "Russia"}],
        )
    )
    assert read.problems == ["parties[1].id: duplicate id russia (also parties[0])"]


def test_unknown_fields_are_reported_in_every_section() -> None:
    read = read_document(
        document(
            parties=[{"id": "p", "name": "P", "flag": "x"}],
            speakers=[{"id": "s", "name": "S", "party": "p", "age": 3}],
            sources=[{"id": "t", "name": "T", "reach": 1}],
            topics=[{"id": "g", "title": "G", "tags": []}],
            events=[{"retract": "c", "on": "2023-03-10", "mood": "sad"}],
        )
    )
    assert sorted(read.problems) == sorted(
        [
            "parties[0].flag: unknown field",
            "speakers[0].age: unknown field",
            "sources[0].reach: unknown field",
            "topics[0].tags: unknown field",
            "events[0].mood: unknown field",
        ]
    )


def test_lifecycle_entries_become_their_commands() -> None:
    read = read_document(
        document(
            events=[
                {"retract": "c", "on": "2023-03-10", "source": "tass", "reason": "withdrawn"},
                {"reaffirm": "c", "on": "2023-03-15", "source": "tass"},
                {"correct": "c", "text": "fixed", "via": "ap", "reason": "typo"},
                {"verdict": "c", "rating": "misleading", "by": "checker", "url": "https://example.org/r"},
            ]
        )
    )
    assert read.problems == []
    retract, reaffirm, correct, verdict = (entry.command for entry in read.entries)
    assert retract == cmd.RetractClaim(claim="c", on="2023-03-10", source="tass", reason="withdrawn")
    assert reaffirm == cmd.ReaffirmClaim(claim="c", on="2023-03-15", source="tass")
    assert isinstance(correct, cmd.CorrectClaim)
    assert correct.changes == {"text": "fixed", "via": ["ap"]} and correct.reason == "typo"
    assert verdict == cmd.RecordVerdict(claim="c", rating="misleading", by="checker", url="https://example.org/r")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"correct": "c", "reason": "nothing"}, "events[0].changes: a correction changes at least one of"),
        ({"correct": "c", "text": "x"}, "events[0].reason: reason is required"),
        ({"correct": "c", "party": "china", "reason": "r"}, "events[0].party: unknown field"),
        ({"verdict": "c", "rating": "false", "by": "checker", "url": "ftp://x"}, "events[0].url: url must be"),
        ({"reaffirm": "c", "on": "2023-03-15"}, "events[0].source: source is required"),
        ({"on": "2023-03-15"}, "events[0]: must have exactly one of"),
    ],
)
def test_lifecycle_problems_name_their_path(entry: dict[str, Any], problem: str) -> None:
    read = read_document(document(events=[entry]))
    assert any(p.startswith(problem) for p in read.problems), read.problems


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        ([], ["document: must be a mapping with format: claims/v1"]),
        (None, ["document: must be a mapping with format: claims/v1"]),
        ({"format": "claims/v2"}, ["format: must be claims/v1, found 'claims/v2'"]),
        ({}, ["format: must be claims/v1, found nothing"]),
        ({"format": None}, ["format: must be claims/v1, found nothing"]),
        ({"format": ["claims/v1"]}, ['format: must be claims/v1, found ["claims/v1"]']),
        ({"format": True}, ["format: must be claims/v1, found true"]),
        ({"format": "x" * 100}, [f"format: must be claims/v1, found '{'x' * 60}…'"]),
        ({"format": "claims/v1", "claims": {}}, ["claims: must be a list"]),
        ({"format": "claims/v1", "claims": [1]}, ["claims[0]: must be a mapping"]),
    ],
)
def test_a_document_of_the_wrong_shape_says_so(data: Any, problems: list[str]) -> None:
    assert read_document(data).problems == problems


@pytest.mark.parametrize("field", ["party", "said_on", "text"])
def test_a_lone_surrogate_in_a_claim_without_an_id_is_a_problem_not_a_crash(field: str) -> None:
    claim = {"party": "russia", "topic": "g20", "said_on": "2023", "source": "tass", "text": "fine"}
    claim[field] += "\ud800"
    read = read_document({"format": "claims/v1", "claims": [claim]})
    assert read.problems and all(problem.startswith("claims[0].") for problem in read.problems)
    assert len(read.claim_ids()) == 1  # the id is still derived, and checks go on


def test_a_required_field_left_out_is_named_as_required() -> None:
    """Not by the constructor's complaint (``AddSpeaker.__init__() missing 1 required keyword-only
    argument``) nor as a value that is no date or slug (``not a date: None``, ``'None…'``)."""
    read = read_document(
        {
            "format": "claims/v1",
            "parties": [{"name": "Russia"}],
            "speakers": [{"id": "lavrov", "name": "Sergey Lavrov"}],
            "events": [{"retract": "some-claim"}],
        }
    )
    assert read.problems == [
        "parties[0].id: party id is required",
        "speakers[0].party: party is required",
        "events[0].on: date is required",
    ]


def test_a_documents_commands_and_entries_hold_no_attribute_dictionary() -> None:
    """An import holds every command of its document until it commits: at 1M events (869,473
    claims), commands and entries with slots rather than a dictionary each took its peak from
    2,031 to 1,939 MB."""
    read = read_document(
        document(
            parties=[{"id": "russia", "name": "Russia", "kind": "state"}],
            claims=[claim(id="c1")],
            events=[{"retract": "c1", "on": "2023-03-10", "source": "tass"}],
        )
    )
    assert not read.problems
    held = [held for entry in read.entries for held in (entry, entry.command)]
    assert {type(h).__name__ for h in held} == {"Entry", "AddParty", "AssertClaim", "RetractClaim"}
    assert not [h for h in held if hasattr(h, "__dict__")]
    kinds = [
        k for k in vars(cmd).values() if isinstance(k, type) and issubclass(k, cmd.Command) and k is not cmd.Command
    ]
    assert len(kinds) >= 9 and not [kind.__name__ for kind in kinds if kind.__dictoffset__]


def test_keys_that_are_not_text_are_named_as_json_not_as_python() -> None:
    """A YAML key ``null:``, ``~:``, ``true:`` or ``1.5:`` was named ``None``, ``True``."""
    read = read_document({"format": "claims/v1", None: [], True: 1, "claims": [{**claim(), None: 1, 1.5: "x"}]})
    assert read.problems == [
        "null: unknown section (expected one of parties, speakers, sources, topics, claims, events)",
        "true: unknown section (expected one of parties, speakers, sources, topics, claims, events)",
        "claims[0].null: unknown field",
        "claims[0].1.5: unknown field",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "true"),
        (["a"], '["a"]'),
        ({"a": "1"}, '{"a": "1"}'),
        (1.5, "1.5"),
        ("Not A Slug", "'Not A Slug'"),
        ("X" * 200, f"'{'X' * 60}…'"),  # text cut short: the ellipsis says so
        (["a"] * 100, '["a", ' + '"a", ' * 10 + '"a",…'),  # 60 characters of its JSON, then the ellipsis
    ],
)
def test_an_id_that_is_no_slug_is_shown_as_written_with_an_ellipsis_only_when_cut(value: Any, shown: str) -> None:
    """Not as Python shows it with a stray ellipsis (``'True…'``, ``"['a']…"``)."""
    read = read_document(document(claims=[claim(id=value)]))
    assert read.problems == [
        f"claims[0].id: claim id must be a lowercase slug ([a-z0-9][a-z0-9-]*, at most 120): {shown}"
    ]


def test_integers_of_a_yaml_document_are_stored_as_written() -> None:
    """``claims add --said-on 0x7E7`` says "not a date: 0x7E7"; the same in a document was the
    year 2023, and the id ``0o17`` was ``15``, the text ``007`` was ``7``, the quote ``+12`` was ``12``."""
    text = (
        "format: claims/v1\n"
        "topics: [{id: t, title: 007}]\n"
        "claims:\n"
        "  - {id: 0o17, party: p, topic: t, said_on: 0x7E7, source: s, text: 0x1F, quote: +12}\n"
        "  - {id: c2, party: p, topic: t, said_on: 2023, source: s, text: 007, via: [0010]}\n"
    )
    read = read_document(load_text(text, name="doc.yaml"))
    assert read.problems == ["claims[0].said_on: not a date: 0x7E7"]
    topic, first, second = (entry.command for entry in read.entries)
    assert isinstance(topic, cmd.AddTopic) and topic.title == "007"
    assert isinstance(first, cmd.AssertClaim) and (first.id, first.text, first.quote) == ("0o17", "0x1F", "+12")
    assert isinstance(second, cmd.AssertClaim)
    assert (second.said_on, second.text, second.via) == ("2023", "007", ("0010",))


@pytest.mark.parametrize(
    ("number", "problem", "stored"),
    [
        ("7", None, "7"),
        ("-0", None, "-0"),
        ("1E2", "claims[0].text: text must be text", None),
        ("1.0", "claims[0].text: text must be text", None),
    ],
)
def test_a_json_number_as_text_is_its_one_spelling_or_refused(
    number: str, problem: str | None, stored: str | None
) -> None:
    """A JSON integer has one spelling, but for ``-0`` (int() makes it ``0``), which stays ``-0``;
    ``1E2`` and ``1.0`` are floats, refused as no text rather than respelled ``100.0`` or ``1``."""
    item = '{"party": "p", "topic": "t", "said_on": "2023", "source": "s", "text": ' + number + "}"
    read = read_document(load_text('{"format": "claims/v1", "claims": [' + item + "]}", name="doc.json"))
    assert read.problems == ([problem] if problem else [])
    asserted = read.entries[0].command
    assert isinstance(asserted, cmd.AssertClaim)
    if stored is not None:
        assert asserted.text == stored
