"""Claims documents are read safely and with YAML 1.2 core-schema meaning.

``claims.io.loading.load_text``: only ``true``/``false`` are booleans, so ``on:`` stays a key and
``yes`` stays text; dates (even impossible ones like 2023-02-30) stay text for the importer to
check; no tag constructs Python objects; alias bombs, deep nesting and repeated keys are refused
with one clear error naming the document. No field of a claims document is a number, so there an
integer keeps the text it was written as (``007``, ``0x7E7``); the core-schema loader underneath
(``load_yaml``) reads it as the integer it means.
"""

from __future__ import annotations

import json

import pytest

from claims.domain.errors import ValidationError
from claims.io.loading import MAX_ALIASES, load_text, load_yaml


def yaml(text: str) -> object:
    return load_text(text, name="doc.yaml")


def test_on_stays_a_key_and_yes_no_off_stay_text() -> None:
    data = yaml("events:\n  - {retract: c, on: 2023-03-10}\nanswer: yes\nother: no\nswitch: off\ny: y\n")
    assert data == {
        "events": [{"retract": "c", "on": "2023-03-10"}],
        "answer": "yes",
        "other": "no",
        "switch": "off",
        "y": "y",
    }


def test_dates_stay_text_even_when_impossible() -> None:
    data = yaml("said_on: 2023-02-30\nvalid: 2023-03-02\nstamp: 2023-03-02T10:00:00Z\nmonth: 2023-02\n")
    assert data == {
        "said_on": "2023-02-30",
        "valid": "2023-03-02",
        "stamp": "2023-03-02T10:00:00Z",
        "month": "2023-02",
    }
    assert all(isinstance(value, str) for value in data.values())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("42", 42),
        ("-7", -7),
        ("017", 17),  # YAML 1.2: decimal, not octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("2022", 2022),
        ("1_000", "1_000"),  # YAML 1.1 only
        ("1:20", "1:20"),  # sexagesimal is YAML 1.1 only
        ("0b101", "0b101"),
        ("Yes", "Yes"),
        ("ON", "ON"),
        ("n", "n"),
    ],
)
def test_core_schema_scalars(scalar: str, value: object) -> None:
    assert load_yaml(f"key: {scalar}\n") == {"key": value}


@pytest.mark.parametrize(
    "scalar",
    ["42", "-7", "+12", "007", "-0", "0o17", "0x1F", "0x7E7", "2022", "9" * 5000, "-" + "1" * 4301],
)
def test_a_claims_documents_integer_is_the_text_it_was_written_as(scalar: str) -> None:
    """Read as a number, ``0x7E7`` became the date ``2023`` and ``007`` the text ``7``; a
    5,000-digit one was "a value cannot be read". List items too, and keys (YAML allows a plain
    key of at most 1,024 characters)."""
    assert yaml(f"key: {scalar}\nlist: [{scalar}]\n") == {"key": scalar, "list": [scalar]}
    if len(scalar) < 1024:
        assert yaml(f"{scalar}: v\n") == {scalar: "v"}


@pytest.mark.parametrize(
    ("scalar", "value"),
    [("true", True), ("null", None), ("1.5", 1.5), ("1e3", 1000.0), (".inf", float("inf")), ("'007'", "007")],
)
def test_a_claims_documents_other_scalars_keep_their_core_schema_meaning(scalar: str, value: object) -> None:
    """Floats and booleans stay what they are, for the document reader to refuse as no text."""
    assert yaml(f"key: {scalar}\n") == {"key": value}


def test_an_explicit_int_tag_in_a_claims_document_keeps_its_text_or_is_refused() -> None:
    assert yaml("a: !!int 0x1F\nb: !!int '007'\n") == {"a": "0x1F", "b": "007"}
    with pytest.raises(ValidationError, match=r"^doc\.yaml: .*a value cannot be read \(!!int 'x' is not an integer\)$"):
        yaml("a: !!int x\n")
    with pytest.raises(ValidationError, match=r"!!int '12\\n' is not an integer"):
        yaml('a: !!int "12\\n"\n')


def test_a_core_schema_integer_of_too_many_digits_is_refused_in_the_words_json_uses() -> None:
    """Not Python's "Exceeds the limit (4300 digits) for integer string conversion ... use
    sys.set_int_max_str_digits()"."""
    with pytest.raises(ValidationError, match=r"^a value cannot be read \(a number of more than 4,300 digits\)$"):
        load_yaml("a: " + "9" * 5000 + "\n")
    with pytest.raises(ValidationError, match=r"^doc\.json: a value cannot be read \(a number of more than 4,300"):
        load_text('{"a": ' + "9" * 5000 + "}", name="doc.json")
    with pytest.raises(ValueError, match="invalid literal"):  # no integer at all: not "too many digits"
        load_yaml("a: !!int x\n")


@pytest.mark.parametrize(
    ("number", "value"),
    [("7", 7), ("-12", -12), ("-0", "-0"), ("1E2", 100.0), ("1.0", 1.0), ("-0.0", -0.0)],
)
def test_a_json_number_is_read_as_the_number_except_negative_zero_which_stays_text(number: str, value: object) -> None:
    """A JSON integer has one spelling (no leading zero, no ``+``) but for ``-0``, which int()
    would store as ``0``; floats stay floats, to be refused as no text by the document reader."""
    read = load_text('{"a": ' + number + "}", name="doc.json")
    assert read == {"a": value} and type(read["a"]) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['echo owned']\n",
        "a: !!python/name:os.system\n",
        "a: !!binary aGk=\n",
        "a: !!timestamp 2023-01-01\n",
        "a: !!set {x}\n",
        "a: !custom thing\n",
    ],
)
def test_no_tag_constructs_anything(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^doc\.yaml: not valid YAML: could not determine a constructor"):
        yaml(text)


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    with pytest.raises(ValidationError, match=r"^bomb\.yaml: .*alias bomb"):
        load_text(billion_laughs(), name="bomb.yaml")


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(ValidationError, match=rf"^many\.yaml: .*more than {MAX_ALIASES} aliases"):
        load_text(text, name="many.yaml")


def test_a_few_aliases_are_fine() -> None:
    assert yaml("base: &s {id: tass}\ncopy: *s\n") == {"base": {"id": "tass"}, "copy": {"id": "tass"}}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "[" * 50_000 + "]" * 50_000),
        ("deep.yaml", "a:\n" + "".join(" " * i + "- \n" for i in range(1, 3000))),
        ("deep.json", "[" * 50_000 + "]" * 50_000),
        ("deep.json", '{"a":' * 50_000 + "1" + "}" * 50_000),
    ],
)
def test_deep_nesting_never_escapes_as_a_crash(name: str, text: str) -> None:
    try:
        load_text(text, name=name)
    except ValidationError as error:
        assert str(error).startswith(f"{name}: ")
    # Anything but a ValidationError (a RecursionError, a crash) fails the test; parsing it is fine.


def test_very_deep_nesting_is_refused() -> None:
    with pytest.raises(ValidationError, match="nested too deeply"):
        load_text("[" * 100_000 + "]" * 100_000, name="deep.yaml")
    with pytest.raises(ValidationError, match="nested too deeply"):
        load_text("[" * 100_000 + "]" * 100_000, name="deep.json")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "claims: [unclosed\n", r"^bad\.yaml: not valid YAML: .* at line \d+ column \d+$"),
        ("bad.yaml", "a: b: c\n", r"^bad\.yaml: not valid YAML: mapping values are not allowed here at line 1"),
        ("bad.yaml", "a:\n\t- b\n", r"^bad\.yaml: not valid YAML"),
        ("bad.json", '{"format": "claims/v1",}', r"^bad\.json: not valid JSON: .* at line 1 column \d+$"),
        ("bad.txt", '{"format": ', r"^bad\.txt: not valid JSON"),  # JSON recognised by its first brace
        (
            "stream.yaml",
            "format: claims/v1\n---\nformat: claims/v1\n",
            r"^stream\.yaml: not valid YAML: expected a single document in the stream,"
            r" but found another document at line 2 column 1$",
        ),
        (
            "anchor.yaml",
            "a: &x 1\nb: &x 2\n",
            r"^anchor\.yaml: not valid YAML: found duplicate anchor 'x'; first occurrence at line 1 column 4,"
            r" second occurrence at line 2 column 4$",
        ),
        (
            "quote.yaml",
            "a: 'open\n",
            r"^quote\.yaml: not valid YAML: found unexpected end of stream at line 2 column 1$",
        ),
    ],
)
def test_malformed_text_is_one_clear_error_with_its_place(name: str, text: str, message: str) -> None:
    """PyYAML's message comes in two halves: a context ("expected a single document in the
    stream") that is half the sentence is kept, one that only sets the scene ("while scanning a
    quoted scalar") is not."""
    with pytest.raises(ValidationError, match=message):
        load_text(text, name=name)


def test_a_key_repeated_in_one_mapping_is_refused_not_silently_overwritten() -> None:
    with pytest.raises(ValidationError, match=r"^dup\.yaml: not valid YAML: found duplicate key 'text' at line 3"):
        load_text("claims:\n  - text: first\n    text: second\n", name="dup.yaml")
    with pytest.raises(ValidationError, match=r"^dup\.json: not valid JSON: duplicate key 'text'"):
        load_text('{"claims": [{"text": "first", "text": "second"}]}', name="dup.json")


def test_a_repeated_key_that_is_no_text_is_named_as_yaml_writes_it() -> None:
    with pytest.raises(ValidationError, match=r"^dup\.yaml: not valid YAML: found duplicate key null at line 2"):
        load_text("null: 1\n~: 2\n", name="dup.yaml")
    with pytest.raises(ValidationError, match=r"found duplicate key true at line 2"):
        load_text("true: 1\nTrue: 2\n", name="dup.yaml")


def test_the_same_key_in_different_mappings_is_fine() -> None:
    assert yaml("- {id: a}\n- {id: b}\n") == [{"id": "a"}, {"id": "b"}]


def test_json_documents_read_as_json() -> None:
    document = {"format": "claims/v1", "claims": [{"said_on": "2023-02-30", "on": "x"}]}
    assert load_text(json.dumps(document), name="doc.json") == document
    assert load_text("  " + json.dumps(document), name="doc.txt") == document


def test_an_empty_document_is_none() -> None:
    assert yaml("") is None
    assert yaml("# only a comment\n") is None
