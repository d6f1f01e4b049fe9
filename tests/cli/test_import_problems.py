"""An invalid claims document is rejected with every problem listed once, by its path, in document
order: those of the document itself and those that need the record together, each entry checked
against the record unless it has a problem of its own, and no "unknown claim" for an entry whose
only trouble is another entry of the same document. Nothing of it is recorded."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.domain.errors import DocumentError
from claims.store.engine import begin_write

RUNNER = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None, "NO_COLOR": "1", "COLUMNS": "200"})

LOOP_WHY = "(a claim can only respond to one recorded before it)"


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(cli, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def log_size(db: str) -> int:
    code, out, err = run(db, "checkpoint")
    assert code == 0, err
    return int(json.loads(out)["size"])


def rejected(db: str, tmp_path: Path, content: str) -> list[str]:
    """Import ``content`` as a document and return the lines of its rejection, checking that the
    import failed and recorded nothing."""
    size = log_size(db)
    document = tmp_path / "doc.yaml"
    document.write_text(content)
    code, out, err = run(db, "import", str(document))
    assert (code, out) == (1, ""), err
    assert log_size(db) == size, "a rejected document left events behind"
    lines = err.rstrip("\n").splitlines()
    assert all(line.startswith("  ") for line in lines[1:]), err
    return [lines[0].removeprefix(f"Error: {document}: "), *(line.strip() for line in lines[1:])]


@pytest.fixture
def db(seeded: Tracker, db_url: str) -> str:
    """The URL of a database holding the G20 seed."""
    return db_url


def test_problems_of_the_document_and_of_the_record_are_listed_together(db: str, tmp_path: Path) -> None:
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "parties: [{id: russia, name: Russia renamed, kind: state}]\n"
        "topics: [{id: t4, title: T4}]\n"
        "claims:\n"
        "  - {id: f1, party: russia, topic: t4, said_on: 2023-03-01, source: tass, text: first}\n"
        "  - {id: g4, party: russia, topic: t4, said_on: 2023-03-01, source: tass, text: fourth,"
        " speaker: antony-blinken}\n"
        "events:\n"
        "  - {retract: f1, on: 2023-02-01, source: tass}\n"
        "  - {correct: f1, said_on: 2099-01-01, reason: x}\n"
        "  - {verdict: f1, rating: false, by: nosuchsource}\n",
    )
    assert lines == [
        "invalid claims document (6 problems)",
        "parties[0]: party russia is already recorded with other fields: name 'Russia' != 'Russia renamed'",
        "claims[1]: speaker antony-blinken speaks for united-states, not for russia",
        "events[0]: date 2023-02-01 is before the claim was said (2023-03-01)",
        "events[1].said_on: date is in the future: 2099-01-01",
        "events[2].rating: rating must be text",
        "events[2].by: unknown source: nosuchsource",
    ]


def test_an_entry_on_a_claim_refused_by_the_record_is_not_an_unknown_claim(db: str, tmp_path: Path) -> None:
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "topics: [{id: t7, title: T7}]\n"
        "claims:\n"
        "  - {id: h2, party: russia, topic: t7, said_on: 2023-03-01, source: tass, text: first,"
        " speaker: antony-blinken}\n"
        "events:\n"
        "  - {verdict: h2, rating: 'false', by: tass}\n",
    )
    assert lines == [
        "invalid claims document (1 problem)",
        "claims[0]: speaker antony-blinken speaks for united-states, not for russia",
    ]


CLAIM = "party: russia, topic: g20-joint-statement, source: tass"


def test_entries_on_entries_with_problems_of_their_own_are_not_reported(db: str, tmp_path: Path) -> None:
    """A topic, a party or a claim with a problem of its own holds back the entries that refer to
    it, however far (a speaker of that party, a claim of that speaker, a reply, a verdict on
    either): only the first is a problem. The loop of replies is a problem of each claim in it."""
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "parties: [{id: p9, name: P, kind: planet}]\n"
        "speakers: [{id: s9, name: S, party: p9, role: Envoy}]\n"
        "topics: [{id: t9}]\n"
        "claims:\n"
        "  - {id: c1, party: russia, topic: t9, said_on: 2023-03-02, source: tass, text: A.}\n"
        f"  - {{id: c2, {CLAIM}, said_on: 2023-13-02, text: B.}}\n"
        "  - {id: c3, party: p9, speaker: s9, topic: g20-joint-statement, said_on: 2023-03-02, source: tass,"
        " text: C.}\n"
        f"  - {{id: c4, {CLAIM}, said_on: 2023-03-02, text: D., responds_to: {{claim: c2, relation: supports}}}}\n"
        f"  - {{id: l1, {CLAIM}, said_on: 2023-03-02, text: L1., responds_to: {{claim: l2, relation: supports}}}}\n"
        f"  - {{id: l2, {CLAIM}, said_on: 2023-03-02, text: L2., responds_to: {{claim: l1, relation: supports}}}}\n"
        f"  - {{id: c5, {CLAIM}, said_on: 2023-03-02, text: E., responds_to: {{claim: l1, relation: supports}}}}\n"
        "events:\n"
        "  - {retract: c1, on: 2023-01-01, source: tass}\n"
        "  - {retract: c2, on: 2023-01-01, source: tass}\n"
        "  - {verdict: c3, rating: 'false', by: tass}\n"
        "  - {verdict: c4, rating: 'false', by: tass}\n"
        "  - {verdict: c5, rating: 'false', by: tass}\n",
    )
    assert lines == [
        "invalid claims document (5 problems)",
        "parties[0].kind: kind must be one of state, bloc, organisation, person, other: 'planet'",
        "topics[0].title: title is required",
        "claims[1].said_on: not a date: 2023-13-02",
        f"claims[4].responds_to: l1 and l2 respond to each other in a loop {LOOP_WHY}",
        f"claims[5].responds_to: l2 and l1 respond to each other in a loop {LOOP_WHY}",
    ]


def test_an_entry_with_a_problem_that_is_recorded_already_leaves_its_entries_checked(db: str, tmp_path: Path) -> None:
    """The claim is recorded (by the seed): an act on it is checked against the record."""
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "claims:\n"
        f"  - {{id: zakharova-no-real-meeting, {CLAIM}, said_on: 2023-13-02, text: B.}}\n"
        "events:\n"
        "  - {retract: zakharova-no-real-meeting, on: 2023-01-05, source: tass}\n",
    )
    assert lines == [
        "invalid claims document (2 problems)",
        "claims[0].said_on: not a date: 2023-13-02",
        "events[0]: date 2023-01-05 is before the claim was said (2023-03-02)",
    ]


@pytest.mark.parametrize(
    ("middle", "problem"),
    [
        ("said_on: 2023-02-30", "claims[1].said_on: not a date: 2023-02-30"),
        (
            "said_on: 2023-03-02, speaker: antony-blinken",
            "claims[1]: speaker antony-blinken speaks for united-states, not for russia",
        ),
    ],
    ids=["of the document", "of the record"],
)
def test_the_valid_entries_around_a_problem_are_not_recorded(
    db: str, tmp_path: Path, middle: str, problem: str
) -> None:
    """Those before it were applied in a transaction never committed, and all of them checked in
    a unit that writes nothing. The verdict on the claim with the problem is no problem of its own."""
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "parties: [{id: brazil, name: Brazil, kind: state}]\n"
        "topics: [{id: t5, title: T5}]\n"
        "claims:\n"
        "  - {id: before, party: brazil, topic: t5, said_on: 2023-03-02, source: tass, text: Before.}\n"
        f"  - {{id: middle, party: russia, topic: t5, source: tass, text: Middle., {middle}}}\n"
        "  - {id: after, party: brazil, topic: t5, said_on: 2023-03-02, source: tass, text: After.}\n"
        "events:\n"
        "  - {retract: before, on: 2023-03-05, source: tass}\n"
        "  - {verdict: middle, rating: 'false', by: tass}\n"
        "  - {verdict: after, rating: 'false', by: tass}\n",
    )
    assert lines == ["invalid claims document (1 problem)", problem]
    for claim in ("before", "middle", "after"):
        code, _, err = run(db, "show", claim)
        assert (code, err.strip()) == (1, f"Error: unknown claim: {claim}")
    code, _, err = run(db, "narrative", "brazil")
    assert code == 1 and "unknown party: brazil" in err


def test_a_top_level_key_named_like_an_entry_hides_none_of_its_problems(db: str, tmp_path: Path) -> None:
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "'claims[0]': stray\n"
        "claims:\n"
        f"  - {{id: a1, {CLAIM}, said_on: 2023-03-01, text: A., speaker: antony-blinken}}\n",
    )
    assert lines == [
        "invalid claims document (2 problems)",
        "claims[0]: unknown section (expected one of parties, speakers, sources, topics, claims, events)",
        "claims[0]: speaker antony-blinken speaks for united-states, not for russia",
    ]


def test_an_id_declared_twice_holds_back_nothing_that_refers_to_it(db: str, tmp_path: Path) -> None:
    """The second declaration is the problem; the first stands, and what refers to it is checked."""
    lines = rejected(
        db,
        tmp_path,
        "format: claims/v1\n"
        "parties: [{id: p1, name: P1, kind: state}, {id: p1, name: P1, kind: state}]\n"
        "claims:\n"
        "  - {id: a1, party: p1, topic: g20-joint-statement, said_on: 2023-03-01, source: tass, text: A.,"
        " speaker: maria-zakharova}\n"
        f"  - {{id: b1, {CLAIM}, said_on: 2023-03-01, text: B.}}\n"
        f"  - {{id: b1, {CLAIM}, said_on: 2023-03-01, text: B.}}\n"
        "events:\n"
        "  - {retract: b1, on: 2023-01-01, source: tass}\n",
    )
    assert lines == [
        "invalid claims document (4 problems)",
        "parties[1].id: duplicate id p1 (also parties[0])",
        "claims[0]: speaker maria-zakharova speaks for russia, not for p1",
        "claims[2].id: duplicate id b1 (also claims[1])",
        "events[0]: date 2023-01-01 is before the claim was said (2023-03-01)",
    ]


GIVE_UP_AFTER = 10.0  # seconds: a check that waits for a writer fails the test rather than hanging it


def test_a_document_with_problems_is_checked_whole_while_another_writer_holds_the_log(
    seeded: Tracker, tmp_path: Path
) -> None:
    """Its checks against the record write nothing and take no lock: a writer in the middle of a
    long import holds up neither, and nothing of the document is written."""
    document = tmp_path / "doc.yaml"
    document.write_text(
        "format: claims/v1\n"
        "claims:\n"
        f"  - {{id: a1, {CLAIM}, said_on: 2023-13-01, text: A.}}\n"
        f"  - {{id: a2, {CLAIM}, said_on: 2023-03-01, text: B., speaker: antony-blinken}}\n"
    )
    size = log_size(seeded.url)
    errors: list[BaseException] = []

    def import_it() -> None:
        try:
            seeded.import_file(document)
        except BaseException as error:  # the thread hands every error over to the test
            errors.append(error)

    writer = begin_write(seeded.engine)
    try:
        importing = threading.Thread(target=import_it)
        importing.start()
        importing.join(GIVE_UP_AFTER)
        assert not importing.is_alive(), "the check waited for the writer's lock"
    finally:
        writer.rollback()
        writer.close()
        importing.join()
    assert len(errors) == 1 and isinstance(errors[0], DocumentError), errors
    assert errors[0].problems == [
        "claims[0].said_on: not a date: 2023-13-01",
        "claims[1]: speaker antony-blinken speaks for united-states, not for russia",
    ]
    assert log_size(seeded.url) == size


def test_an_import_refused_by_the_record_gives_up_the_lock_before_its_check(
    seeded: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import the record refuses half-way is rolled back at once: the check of the whole
    document that follows, a fifth of an import's time, holds no other writer up."""
    from claims.service import importer

    document = tmp_path / "doc.yaml"
    document.write_text(
        "format: claims/v1\n"
        "claims:\n"
        f"  - {{id: a1, {CLAIM}, said_on: 2023-03-01, text: A.}}\n"
        f"  - {{id: a2, {CLAIM}, said_on: 2023-03-01, text: B., speaker: antony-blinken}}\n"
        "events:\n"
        "  - {retract: a1, on: 2023-01-01, source: tass}\n"
    )
    size = log_size(seeded.url)
    check = importer.problems_of_sound_entries
    writers: list[threading.Thread] = []
    writer_waited: list[bool] = []

    def check_while_another_writes(*args: Any, **kwargs: Any) -> list[str]:
        def write() -> None:
            connection = begin_write(seeded.engine)
            connection.rollback()
            connection.close()

        writers.append(threading.Thread(target=write))
        writers[0].start()
        writers[0].join(GIVE_UP_AFTER)
        writer_waited.append(writers[0].is_alive())
        return check(*args, **kwargs)

    apply = importer._apply_until_refused
    refusals: list[str | None] = []

    def applied(*args: Any) -> str | None:
        refusals.append(apply(*args))
        return refusals[-1]

    monkeypatch.setattr(importer, "problems_of_sound_entries", check_while_another_writes)
    monkeypatch.setattr(importer, "_apply_until_refused", applied)
    with pytest.raises(DocumentError) as refused:
        seeded.import_file(document)
    writers[0].join()  # once the import is over, whatever it held
    assert refusals == ["claims[1]: speaker antony-blinken speaks for united-states, not for russia"]
    assert writer_waited == [False], "the check ran while the import still held the log's lock"
    assert refused.value.problems == [
        "claims[1]: speaker antony-blinken speaks for united-states, not for russia",
        "events[0]: date 2023-01-01 is before the claim was said (2023-03-01)",
    ]
    assert log_size(seeded.url) == size
