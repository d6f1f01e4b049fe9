"""Every export format, produced from the seed on both backends and accepted by an independent reader.

jsonl by the chain check and the published recipe, csv by the csv module, prov-json by the ``prov``
package, claimreview by rdflib's JSON-LD parser (with the context inline: nothing is fetched).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
import rdflib
from prov.model import ProvDocument

from claims.api import Tracker
from claims.domain import merkle
from claims.io.prov import NAMESPACE
from claims.store import eventlog
from claims.store.chain import check_chain
from claims.store.hashing import LINE_FIELDS, canonical_json, line_hash, stored_payload
from tests.audit.helpers import CORRECTED_TEXT, FARCE, ZAKHAROVA, Run, read_lines, runner

SCHEMA = rdflib.Namespace("https://schema.org/")


@pytest.fixture
def reviewed(shared_reviewed: Tracker) -> Tracker:
    """These tests only read, so they share one reviewed seed per backend."""
    return shared_reviewed


@pytest.fixture
def run(shared_url: str) -> Run:
    return runner(shared_url)


def export(tracker: Tracker, fmt: str, **filters: Any) -> str:
    out = io.StringIO()
    tracker.export(fmt, out, **filters)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# jsonl and csv
# --------------------------------------------------------------------------------------------------


def test_whole_jsonl_export_is_exactly_the_chain(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    result = run("export", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = read_lines(out)
    assert lines == list(reviewed.log())
    assert "format" not in lines[0] and all("inclusion" not in line for line in lines)
    report = check_chain(lines)
    assert report.intact and report.size == reviewed.checkpoint()["size"]
    verified = run("verify", "--file", str(out))
    assert verified.exit_code == 0 and f"chain intact, {report.size} events" in verified.stderr
    assert "read " not in result.stderr  # progress only on a terminal


def test_jsonl_export_to_stdout_streams_the_chain(reviewed: Tracker, run: Run) -> None:
    result = run("export")
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == list(reviewed.log())


def test_out_dash_is_standard_output_as_for_report_and_import(
    reviewed: Tracker, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("export", "--out", "-")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == list(reviewed.log())
    assert not (tmp_path / "-").exists() and "exported" not in result.stderr


def test_csv_is_one_row_per_event(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    assert run("export", "--format", "csv", "--out", str(out)).exit_code == 0
    with open(out, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    log = list(reviewed.log())
    assert len(rows) == len(log)
    for row, line in zip(rows, log, strict=True):
        assert int(row["position"]) == line["position"]
        assert row["hash"] == line["hash"] and row["prev_hash"] == line["prev_hash"]
        assert row["type"] == line["type"] and row["recorded_at"] == line["recorded_at"]
        assert row["payload"] == canonical_json(line["payload"])  # the text that was hashed
        assert row["said_at"] == (line["said_at"] or "")


def test_a_csv_row_checks_against_its_hash(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    """Its cells are the line's values as stored, the payload the very text that was hashed: the
    row, its payload taken as it stands, hashes to the row's own hash, and a payload whose text
    differs (one space) no longer does."""
    out = tmp_path / "events.csv"
    assert run("export", "--format", "csv", "--out", str(out)).exit_code == 0
    with open(out, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))

    def line_of(row: dict[str, str]) -> dict[str, Any]:
        line: dict[str, Any] = {name: row[name] for name in LINE_FIELDS}
        for name in ("position", "stream_version", "schema_version"):
            line[name] = int(row[name])
        line["said_at"] = row["said_at"] or None
        line["payload"] = stored_payload(row["payload"])  # written into the hashed text as it stands
        return line

    assert rows and all(line_hash(line_of(row)) == row["hash"] for row in rows)
    spaced = {**rows[-1], "payload": rows[-1]["payload"].replace(":", ": ", 1)}
    assert json.loads(spaced["payload"]) == json.loads(rows[-1]["payload"])
    assert line_hash(line_of(spaced)) != spaced["hash"]


def test_csv_and_jsonl_follow_the_filters(reviewed: Tracker) -> None:
    rows = list(csv.DictReader(io.StringIO(export(reviewed, "csv", party="russia"))))
    streams = {row["stream_id"] for row in rows}
    assert "party:russia" in streams and "speaker:maria-zakharova" in streams
    assert f"claim:{ZAKHAROVA}" in streams and "party:united-states" not in streams
    assert not any(s.startswith(("source:", "topic:")) for s in streams)
    assert "claim:us-official-blinken-lavrov-spoke" not in streams
    since = list(csv.DictReader(io.StringIO(export(reviewed, "csv", since=50))))
    assert [int(row["position"]) for row in since] == list(range(51, reviewed.checkpoint()["size"] + 1))


def test_export_memory_is_flat_it_writes_before_reading_on(reviewed: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first event is written after one batch is read, not after the whole log."""
    from claims.service import audit
    from claims.store import eventlog

    monkeypatch.setattr(audit, "BATCH", 5)
    read = {"rows": 0}
    pages = eventlog._pages  # every whole-log read fetches its rows through here

    def counted_pages(*args: Any, **options: Any) -> Any:
        for page in pages(*args, **options):
            read["rows"] += len(page)
            yield page

    monkeypatch.setattr(eventlog, "_pages", counted_pages)

    class Recorder(io.StringIO):
        """Rows read by each write: a CSV's first write is its header, and so is a filtered JSONL
        export's, which is written once the checkpoint of the whole log is computed."""

        def __init__(self) -> None:
            super().__init__()
            self.read_at_write: list[int] = []

        def write(self, text: str) -> int:
            self.read_at_write.append(read["rows"])
            return super().write(text)

    for fmt, filters, first_event in (("jsonl", {}, 0), ("csv", {}, 1), ("jsonl", {"since": 10}, 1)):
        read["rows"] = 0
        out = Recorder()
        reviewed.export(fmt, out, **filters)
        before = out.read_at_write[first_event - 1] if first_event else 0
        assert 0 < out.read_at_write[first_event] - before <= 5, (fmt, filters)
        assert read["rows"] - before > 40


@pytest.mark.parametrize(
    ("option", "value", "kind"), [("--party", "atlantis", "party"), ("--topic", "weather-on-mars", "topic")]
)
def test_unknown_party_or_topic_is_one_clear_error(
    reviewed: Tracker, run: Run, tmp_path: Path, option: str, value: str, kind: str
) -> None:
    for fmt in ("jsonl", "csv", "prov-json", "claimreview"):
        out = tmp_path / f"x.{fmt}"
        result = run("export", "--format", fmt, option, value, "--out", str(out))
        assert result.exit_code == 1
        assert result.stderr.strip() == f"Error: unknown {kind}: {value}"
        assert not out.exists() and not list(tmp_path.glob(".*partial"))


# --------------------------------------------------------------------------------------------------
# prov-json
# --------------------------------------------------------------------------------------------------


def _prov(content: str) -> tuple[ProvDocument, dict[str, list[dict[str, str]]]]:
    """The document as the prov package loads it, and its relations as {kind: [{role: local id}]}."""
    document = ProvDocument.deserialize(content=content, format="json")
    relations: dict[str, list[dict[str, str]]] = {}
    for record in document.get_records():
        if record.is_relation():
            name = type(record).__name__
            formal = {
                k.localpart: str(v.localpart)
                for k, v in record.formal_attributes
                if v is not None and hasattr(v, "localpart")
            }
            extra = {k.localpart: str(getattr(v, "localpart", v)) for k, v in record.extra_attributes}
            relations.setdefault(name, []).append({**formal, **extra})
    return document, relations


def test_prov_json_of_the_seed_loads_with_the_prov_package(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.prov.json"
    assert run("export", "--format", "prov-json", "--out", str(out)).exit_code == 0
    document, relations = _prov(out.read_text(encoding="utf-8"))
    assert document.get_default_namespace() is None
    assert any(ns.uri == NAMESPACE for ns in document.get_registered_namespaces())

    attributed = {(r["entity"], r["agent"]) for r in relations["ProvAttribution"]}
    assert (f"claim/{ZAKHAROVA}", "speaker/maria-zakharova") in attributed
    delegated = {(r["delegate"], r["responsible"]) for r in relations["ProvDelegation"]}
    assert ("speaker/maria-zakharova", "party/russia") in delegated
    assert ("speaker/antony-blinken", "party/united-states") in delegated

    derivations = relations["ProvDerivation"]
    quoted = {(r["generatedEntity"], r["usedEntity"]) for r in derivations if r.get("type") == "Quotation"}
    assert (f"claim/{ZAKHAROVA}", "source/ria-novosti") in quoted
    relays = [r for r in derivations if r.get("claim") == f"claim/{ZAKHAROVA}"]
    assert [(r["usedEntity"], r["generatedEntity"]) for r in relays] == [("source/ria-novosti", "source/ap-2023-03-02")]

    revisions = [r for r in derivations if r.get("type") == "Revision"]
    assert [(r["generatedEntity"], r["usedEntity"]) for r in revisions] == [
        (f"claim/{ZAKHAROVA}/v3", f"claim/{ZAKHAROVA}")
    ]
    corrected = document.get_record(f"claims:claim/{ZAKHAROVA}/v3")[0]
    assert CORRECTED_TEXT in {str(v) for v in corrected.get_attribute("prov:label")}
    assert (f"claim/{ZAKHAROVA}/v3", "speaker/maria-zakharova") in attributed

    invalidated = [r for r in relations["ProvInvalidation"]]
    assert len(invalidated) == 1 and invalidated[0]["entity"] == f"claim/{FARCE}"
    retraction = document.get_record(f"claims:{invalidated[0]['activity']}")[0]
    assert {str(v) for v in retraction.get_attribute("claims:on")} == {"2023-03-10"}

    log = list(reviewed.log())
    recordings = {
        str(a.identifier.localpart): a
        for a in document.get_records()
        if str(a.identifier or "").startswith("claims:recording/")
    }
    assert len(recordings) == len(log)
    associated = {(r["activity"], r["agent"]) for r in relations["ProvAssociation"]}
    for line in log:
        activity = recordings[f"recording/{line['position']}"]
        assert activity.get_startTime().isoformat().replace("+00:00", "Z") == line["recorded_at"]
        assert (f"recording/{line['position']}", "recorder/tester") in associated
        assert {str(v) for v in activity.get_attribute("claims:hash")} == {line["hash"]}


def test_prov_json_follows_a_party_filter(reviewed: Tracker) -> None:
    document, relations = _prov(export(reviewed, "prov-json", party="united-states"))
    attributed = {(r["entity"], r["agent"]) for r in relations["ProvAttribution"]}
    assert ("claim/us-official-blinken-lavrov-spoke", "speaker/us-official-anonymous") in attributed
    assert not any(entity == f"claim/{ZAKHAROVA}" for entity, _ in attributed)
    # the sources its claims cite are declared from the registry although not exported as events
    assert document.get_record("claims:source/ap-2023-03-02")


def test_prov_json_since_tracks_earlier_claims(reviewed: Tracker) -> None:
    corrected_at = max(line["position"] for line in reviewed.log() if line["type"] == "ClaimCorrected")
    _, relations = _prov(export(reviewed, "prov-json", since=corrected_at - 1))
    revisions = [r for r in relations["ProvDerivation"] if r.get("type") == "Revision"]
    assert [(r["generatedEntity"], r["usedEntity"]) for r in revisions] == [
        (f"claim/{ZAKHAROVA}/v3", f"claim/{ZAKHAROVA}")
    ]
    assert relations["ProvInvalidation"][0]["entity"] == f"claim/{FARCE}"


# --------------------------------------------------------------------------------------------------
# claimreview
# --------------------------------------------------------------------------------------------------


def _graph(content: str) -> rdflib.Graph:
    document = json.loads(content)
    assert document["@context"] == {"@vocab": "https://schema.org/"}  # inline: nothing to fetch
    return rdflib.Graph().parse(data=content, format="json-ld")


def _value(graph: rdflib.Graph, node: Any, *path: rdflib.URIRef) -> set[str]:
    nodes = {node}
    for step in path:
        nodes = {o for n in nodes for o in graph.objects(n, step)}
    return {str(n) for n in nodes}


def test_claimreview_has_one_review_per_verdict_as_rdf(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "reviews.jsonld"
    result = run("export", "--format", "claimreview", "--out", str(out))
    assert result.exit_code == 0 and "exported 3 reviews" in result.stderr
    graph = _graph(out.read_text(encoding="utf-8"))
    reviews = list(graph.subjects(rdflib.RDF.type, SCHEMA.ClaimReview))
    assert len(reviews) == 3
    by_rating = {next(iter(_value(graph, r, SCHEMA.reviewRating, SCHEMA.alternateName))): r for r in reviews}
    assert set(by_rating) == {"misleading", "false", "unsupported"}

    first, second = by_rating["misleading"], by_rating["false"]
    assert _value(graph, first, SCHEMA.claimReviewed) == {
        "No talks or real meeting took place between Lavrov and Blinken."
    }
    assert _value(graph, second, SCHEMA.claimReviewed) == {CORRECTED_TEXT}  # reviewed after our correction
    assert _value(graph, first, SCHEMA.author, SCHEMA.name) == {"FactCheck.org"}
    assert _value(graph, first, SCHEMA.author, SCHEMA.url) == {"https://www.factcheck.org"}
    assert _value(graph, first, SCHEMA.url) == {"https://www.factcheck.org/zakharova"}
    assert _value(graph, second, SCHEMA.author, SCHEMA.name) == {"StopFake"}
    recorded = {line["event_id"]: line["recorded_at"][:10] for line in reviewed.log()}
    for review in reviews:
        (identifier,) = _value(graph, review, SCHEMA.identifier)
        assert _value(graph, review, SCHEMA.datePublished) == {recorded[identifier]}

    claim = next(iter(graph.objects(first, SCHEMA.itemReviewed)))
    assert (claim, rdflib.RDF.type, SCHEMA.Claim) in graph
    assert _value(graph, claim, SCHEMA.author, SCHEMA.name) == {"Maria Zakharova"}
    assert _value(graph, claim, SCHEMA.author, SCHEMA.affiliation, SCHEMA.name) == {"Russia"}
    assert _value(graph, claim, SCHEMA.datePublished) == {"2023-03-02"}
    assert _value(graph, claim, SCHEMA.firstAppearance, SCHEMA.name) == {"RIA Novosti"}
    assert _value(graph, claim, SCHEMA.firstAppearance, SCHEMA.url) == {"https://ria.ru"}
    assert _value(graph, claim, SCHEMA.appearance, SCHEMA.name) == {"RIA Novosti", "AP report, 2 March 2023"}

    farce = next(iter(graph.objects(by_rating["unsupported"], SCHEMA.itemReviewed)))
    assert _value(graph, farce, SCHEMA.author, SCHEMA.name) == {"Sergey Lavrov"}
    assert _value(graph, farce, SCHEMA.appearance, SCHEMA.name) == {"TASS", "AP report, 2 March 2023"}


def test_claimreview_follows_filters(reviewed: Tracker) -> None:
    graph = _graph(export(reviewed, "claimreview", party="united-states"))
    assert not list(graph.subjects(rdflib.RDF.type, SCHEMA.ClaimReview))
    graph = _graph(export(reviewed, "claimreview", topic="blinken-lavrov-encounter"))
    assert len(list(graph.subjects(rdflib.RDF.type, SCHEMA.ClaimReview))) == 2
    last_verdict = max(line["position"] for line in reviewed.log() if line["type"] == "VerdictRecorded")
    graph = _graph(export(reviewed, "claimreview", since=last_verdict - 1))
    (review,) = graph.subjects(rdflib.RDF.type, SCHEMA.ClaimReview)
    assert _value(graph, review, SCHEMA.reviewRating, SCHEMA.alternateName) == {"unsupported"}


def test_claimreview_author_is_the_party_when_no_speaker(seeded: Tracker) -> None:
    seeded.add_claim(
        id="russia-statement-unsigned",
        party="russia",
        topic="g20-joint-statement",
        said_on="2023-03-03",
        source="tass",
        text="An unsigned statement.",
    )
    seeded.add_source("checker", name="Checker", kind="fact-checker")
    seeded.verdict("russia-statement-unsigned", rating="accurate", by="checker")
    graph = _graph(export(seeded, "claimreview"))
    (review,) = graph.subjects(rdflib.RDF.type, SCHEMA.ClaimReview)
    claim = next(iter(graph.objects(review, SCHEMA.itemReviewed)))
    author = next(iter(graph.objects(claim, SCHEMA.author)))
    assert (author, rdflib.RDF.type, SCHEMA.Organization) in graph
    assert _value(graph, author, SCHEMA.name) == {"Russia"}
    _, relations = _prov(export(seeded, "prov-json"))
    attributed = {(r["entity"], r["agent"]) for r in relations["ProvAttribution"]}
    assert ("claim/russia-statement-unsigned", "party/russia") in attributed


def test_claimreview_reads_only_reviewed_claims_and_lists_reviews_in_verdict_order(
    seeded: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the streams of claims with a verdict are read (by the stream index, some at a time),
    and the reviews still come out in the log order of their verdicts, whatever the chunking."""
    lines = list(seeded.log())
    asserted = sorted(line["stream_id"].removeprefix("claim:") for line in lines if line["type"] == "ClaimAsserted")
    assert len(asserted) >= 4
    seeded.add_source("checker", name="Checker", kind="fact-checker")
    picked = [asserted[-1], asserted[0], asserted[2], asserted[1]]  # verdicts out of id order
    for rating, claim in zip(("false", "accurate", "misleading", "unsupported"), picked, strict=True):
        seeded.verdict(claim, rating=rating, by="checker")
    verdicts = [line["event_id"] for line in seeded.log() if line["type"] == "VerdictRecorded"]

    read: list[str] = []
    by_chunks_of = eventlog.read_streams

    def read_streams(connection: Any, stream_ids: Any, until: int | None = None, chunk: int = 500) -> Any:
        for stored in by_chunks_of(connection, stream_ids, until=until, chunk=1):
            read.append(stored.stream_id)
            yield stored

    whole = export(seeded, "claimreview")
    monkeypatch.setattr(eventlog, "read_streams", read_streams)
    assert export(seeded, "claimreview") == whole
    assert [node["identifier"] for node in json.loads(whole)["@graph"]] == verdicts
    assert set(read) == {f"claim:{claim}" for claim in picked}

    # "4 reviews (N claim events read)": N counts every event read, the assertions before --since too.
    read.clear()
    first_verdict = min(line["position"] for line in seeded.log() if line["type"] == "VerdictRecorded")
    summary = seeded.export("claimreview", io.StringIO(), since=first_verdict - 1)
    assert summary.reviews == 4 and summary.events == len(read) >= 2 * 4  # each stream: assertion, verdict


def test_claimreview_reads_nothing_recorded_after_the_head_it_found_first(
    seeded: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL each query sees what is committed when it starts; a verdict recorded after the
    export found the head must not appear in it, whatever query reads it."""
    seeded.add_source("checker", name="Checker", kind="fact-checker")
    seeded.verdict(ZAKHAROVA, rating="false", by="checker")
    before = seeded.checkpoint()["size"]
    seeded.verdict(FARCE, rating="misleading", by="checker")  # as if committed once the export began
    real_head = eventlog.head
    monkeypatch.setattr(
        eventlog, "head", lambda connection: dataclasses.replace(real_head(connection), position=before)
    )
    (review,) = json.loads(export(seeded, "claimreview"))["@graph"]
    assert review["reviewRating"]["alternateName"] == "false"


def test_filtered_export_of_an_empty_log(tracker: Tracker, db_url: str, tmp_path: Path) -> None:
    run = runner(db_url)
    out = tmp_path / "empty.jsonl"
    assert run("export", "--since", "5", "--out", str(out)).exit_code == 0
    header, *lines = read_lines(out)
    assert not lines
    assert header["checkpoint"] == {"size": 0, "root": merkle.to_hex(merkle.EMPTY_ROOT), "recorded_at": None}
    verified = run("verify", "--file", str(out))
    assert verified.exit_code == 0 and "intact, 0 events" in verified.stderr


def test_export_messages_count_in_the_right_number(tracker: Tracker, tmp_path: Path) -> None:
    """One event or one review is not "1 events" nor "1 reviews"."""
    run = runner(tracker.url)
    tracker.add_party("north", name="North")
    out = tmp_path / "one.jsonl"
    assert run("export", "--out", str(out)).stderr == f"exported 1 event to {out}\n"
    assert run("verify", "--file", str(out)).stderr.startswith(f"{out}: chain intact, 1 event, head ")
    assert run("verify").stderr.startswith("the log: chain intact, 1 event, head ")
    tracker.add_source("wire", name="Wire")
    tracker.add_topic("talks", title="Talks")
    tracker.add_claim(id="k", party="north", topic="talks", said_on="2023-01-01", source="wire", text="X happened.")
    tracker.verdict("k", rating="false", by="wire")
    reviews = tmp_path / "reviews.jsonld"
    result = run("export", "--format", "claimreview", "--out", str(reviews))
    assert result.stderr == f"exported 1 review (2 claim events read) to {reviews}\n"
