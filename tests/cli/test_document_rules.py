"""Rules of claims/v1 imports that need the database: forward references inside a document, every
record-dependent problem listed at once, and the shapes `changes` and CSV give those claims."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from tests.store.support import statements_run

RUNNER = CliRunner()

LOOP_WHY = "(a claim can only respond to one recorded before it)"


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(cli, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def seeded(db_url: str, seed_path: Path) -> str:
    assert run(db_url, "init")[0] == 0
    assert run(db_url, "import", str(seed_path))[0] == 0
    return db_url


def test_a_claim_may_respond_to_a_claim_asserted_later_in_the_same_document(
    db_url: str, seed_path: Path, tmp_path: Path
) -> None:
    db = seeded(db_url, seed_path)
    document = tmp_path / "forward.yaml"
    document.write_text(
        "format: claims/v1\nclaims:\n"
        "  - {id: r1, party: russia, topic: g20-joint-statement, said_on: 2023-03-03, source: tass,"
        " text: A answers B., responds_to: {claim: r2, relation: contradicts}}\n"
        "  - {id: r2, party: united-states, topic: g20-joint-statement, said_on: 2023-03-02, source: tass,"
        " text: B.}\n"
    )
    code, _, err = run(db, "import", str(document))
    assert code == 0, err
    shown = json.loads(run(db, "show", "r1", "--format", "json")[1])
    assert shown["claim"]["responds_to"] == {"claim": "r2", "relation": "contradicts"}


def test_a_claim_responding_to_itself_or_in_a_loop_is_refused_and_nothing_is_written(
    db_url: str, seed_path: Path, tmp_path: Path
) -> None:
    """Each reference resolves inside the document, but no claim of them can be recorded before
    the one it responds to."""
    db = seeded(db_url, seed_path)
    size = json.loads(run(db, "checkpoint")[1])["size"]
    claim = "party: russia, topic: g20-joint-statement, said_on: 2023-03-03, source: tass"
    document = tmp_path / "loops.yaml"
    document.write_text(
        "format: claims/v1\nclaims:\n"
        f"  - {{id: a, {claim}, text: A., responds_to: {{claim: a, relation: supports}}}}\n"
        f"  - {{id: b, {claim}, text: B., responds_to: {{claim: c, relation: contradicts}}}}\n"
        f"  - {{id: c, {claim}, text: C., responds_to: {{claim: b, relation: contradicts}}}}\n"
    )
    code, _, err = run(db, "import", str(document))
    lines = [line.strip() for line in err.strip().splitlines()]
    assert code == 1 and "(3 problems)" in lines[0]
    refused = [
        "claims[0].responds_to: a responds to itself",
        f"claims[1].responds_to: b and c respond to each other in a loop {LOOP_WHY}",
        f"claims[2].responds_to: c and b respond to each other in a loop {LOOP_WHY}",
    ]
    assert sorted(lines[1:]) == refused
    assert json.loads(run(db, "checkpoint")[1])["size"] == size


def test_every_problem_that_needs_the_record_is_listed_and_nothing_is_written(
    db_url: str, seed_path: Path, tmp_path: Path
) -> None:
    db = seeded(db_url, seed_path)
    size = json.loads(run(db, "checkpoint")[1])["size"]
    document = tmp_path / "conflicts.yaml"
    document.write_text(
        "format: claims/v1\n"
        "parties: [{id: russia, name: Russian Federation, kind: state}]\n"
        "claims:\n"
        "  - {id: r3, party: russia, speaker: antony-blinken, topic: g20-joint-statement,"
        " said_on: 2023-03-03, source: tass, text: C.}\n"
        "  - {id: r4, party: russia, topic: g20-joint-statement, said_on: 2023-03-03, source: tass, text: D.}\n"
        "events:\n  - {retract: zakharova-no-real-meeting, on: 2023-02-01, source: tass}\n"
    )
    code, _, err = run(db, "import", str(document))
    lines = err.strip().splitlines()
    assert code == 1 and "(3 problems)" in lines[0]
    assert lines[1].strip().startswith("parties[0]: party russia is already recorded with other fields")
    assert lines[2].strip() == "claims[0]: speaker antony-blinken speaks for united-states, not for russia"
    assert lines[3].strip().startswith("events[0]: date 2023-02-01 is before the claim was said")
    assert json.loads(run(db, "checkpoint")[1])["size"] == size  # r4 was valid, yet nothing was written


def test_changes_reports_a_lost_claim_as_retracted(db_url: str, seed_path: Path) -> None:
    db = seeded(db_url, seed_path)
    assert run(db, "retract", "zakharova-no-real-meeting", "--on", "2023-03-05", "--source", "tass")[0] == 0
    code, out, err = run(db, "changes", "russia", "--from", "2023-03-04", "--to", "2023-03-06", "--format", "json")
    assert code == 0, err
    lost = json.loads(out)["lost"]
    assert [(c["id"], c["status"]) for c in lost] == [("zakharova-no-real-meeting", "retracted")]


def test_narrative_csv_gives_each_field_its_own_column(db_url: str, seed_path: Path) -> None:
    db = seeded(db_url, seed_path)
    rows = list(csv.DictReader(io.StringIO(run(db, "narrative", "russia", "--format", "csv")[1])))
    row = next(r for r in rows if r["id"] == "zakharova-no-real-meeting")
    assert row["party"] == "russia" and row["stance"] == "denies"
    assert row["proposition"] == "blinken-lavrov-held-real-meeting"
    assert row["source"] == "ria-novosti" and row["via"] == "ap-2023-03-02"
    assert row["status"] == "standing" and row["quote"] == "No talks or real meeting took place."


def test_a_first_import_looks_no_claim_up_and_a_later_one_finds_the_recorded_claims(
    tracker: Tracker, tmp_path: Path
) -> None:
    """Into a database with no claims, a document's claims are known to be new without a lookup
    each; once claims are recorded, an import sees them (a retraction of one is recorded, a repeat
    of one is skipped)."""
    statements = statements_run(tracker)

    def lookups() -> list[str]:
        return [s for s in statements if "FROM claim_versions WHERE" in s]

    registry = (
        "parties: [{id: russia, name: Russia}]\ntopics: [{id: g20, title: G20}]\n"
        "sources: [{id: tass, name: TASS, kind: news-agency}]\n"
    )
    first = tmp_path / "first.yaml"
    first.write_text(
        "format: claims/v1\n" + registry + "claims:\n"
        "  - {id: c1, party: russia, topic: g20, said_on: 2023-03-02, source: tass, text: One.}\n"
        "  - {id: c2, party: russia, topic: g20, said_on: 2023-03-02, source: tass, text: Two.}\n"
        "events:\n  - {retract: c1, on: 2023-03-03, source: tass}\n"
    )
    assert tracker.import_file(first).events == 6
    assert lookups() == []
    second = tmp_path / "second.yaml"
    second.write_text(
        "format: claims/v1\nclaims:\n"
        "  - {id: c2, party: russia, topic: g20, said_on: 2023-03-02, source: tass, text: Two.}\n"
        "  - {id: c3, party: russia, topic: g20, said_on: 2023-03-04, source: tass, text: Three.}\n"
        "events:\n  - {retract: c2, on: 2023-03-05, source: tass}\n"
    )
    report = tracker.import_file(second)
    assert lookups(), "the claims already recorded were not looked up"
    assert (report.recorded["claim"], report.skipped["claim"], report.recorded["retraction"]) == (1, 1, 1)
    assert [c["id"] for c in tracker.narrative("russia")] == ["c3"]
