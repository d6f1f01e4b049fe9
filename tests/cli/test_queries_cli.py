"""The read commands of the command line on the G20 seed, in every format, on SQLite and PostgreSQL.

Read-only checks share one seeded database per backend; checks that write (a correction, a
retraction) get a database of their own. The issue's "done when" checks are here: the
contradiction on the Blinken-Lavrov encounter, ``--as-of`` the day before against the day of
the meeting, ``--known-at`` before and after a correction, ``--as-of`` around a retraction.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import claims
from claims import api
from claims.cli import cli
from claims.domain.errors import NotFoundError, ValidationError
from claims.projections import queries
from tests.conftest import BACKENDS, SEED, new_database_url

# Click 8.2+ keeps standard error apart from standard output: result.stdout and result.stderr.
RUNNER = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1", "CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None})

FORMATS = ("table", "json", "csv", "markdown")
CLAIM_KEYS = {"id", "party", "speaker", "topic", "said_on", "text", "quote", "source", "via", "proposition", "stance"}
CLAIM_KEYS |= {"status"}
LOG_KEYS = {
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
}
SEED_CLAIMS = 24
MEETING = "blinken-lavrov-held-real-meeting"
US_CLAIM = "us-official-blinken-lavrov-spoke"
ZAKHAROVA = "zakharova-no-real-meeting"
SOURCE = "tass"

READS: dict[str, list[str]] = {
    "narrative": ["narrative", "russia"],
    "compare": ["compare", "russia", "united-states"],
    "timeline": ["timeline"],
    "changes": ["changes", "russia", "--from", "2023-03-01", "--to", "2023-03-02"],
    "list": ["list"],
    "show": ["show", ZAKHAROVA],
    "log": ["log"],
}


def invoke(url: str, *args: str) -> Result:
    return RUNNER.invoke(cli, ["--db", url, *args])


def ok(url: str, *args: str) -> Result:
    result = invoke(url, *args)
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{args} raised {result.exception!r}"
    assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"
    return result


def as_json(url: str, *args: str) -> Any:
    return json.loads(ok(url, *args, "--format", "json").stdout)


def refused(url: str, *args: str) -> str:
    """The command fails for the user's mistake: non-zero exit, one line on stderr, no traceback."""
    result = invoke(url, *args)
    assert isinstance(result.exception, SystemExit), f"{args} crashed with {result.exception!r}"
    assert result.exit_code != 0, f"{args} succeeded: {result.stdout}"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{args}: expected one error line, got {result.stderr!r}"
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One G20-seeded database per backend, shared by the read-only tests of this module."""
    database = new_database_url(str(request.param), tmp_path_factory.mktemp("seeded"))
    url = next(database)
    try:
        with claims.open_tracker(url, user="tester") as tracker:
            tracker.init()
            tracker.import_file(SEED)
        yield url
    finally:
        database.close()


@pytest.fixture
def fresh_url(db_url: str) -> str:
    """A G20-seeded database of this test's own (for tests that write)."""
    ok(db_url, "init")
    ok(db_url, "import", str(SEED))
    return db_url


# ---------------------------------------------------------------------------------------------
# Every read command in every format
# ---------------------------------------------------------------------------------------------


def _check_claim(item: dict[str, Any]) -> None:
    missing = CLAIM_KEYS - set(item)
    assert not missing, f"claim lacks {missing}: {item}"
    assert item["status"] in ("standing", "retracted")
    assert isinstance(item["via"], list)


def check_json(command: str, data: Any) -> int:
    """Check the JSON shape SPEC section 4 gives the command; returns how many rows it has."""
    if command in ("narrative", "list"):
        assert isinstance(data, list)
        for item in data:
            _check_claim(item)
        if command == "narrative":
            assert {c["party"] for c in data} == {"russia"}
            assert {c["status"] for c in data} == {"standing"}
            assert ZAKHAROVA in [c["id"] for c in data]
        else:
            assert len(data) == SEED_CLAIMS
        return len(data)
    if command == "compare":
        assert set(data) >= {"parties", "claims", "contradictions"}
        assert data["parties"] == ["russia", "united-states"]
        for item in data["claims"]:
            _check_claim(item)
        assert {c["party"] for c in data["claims"]} == {"russia", "united-states"}
        for item in data["contradictions"]:
            assert set(item) >= {"proposition", "affirms", "denies"}
        return len(data["claims"])
    if command == "timeline":
        assert isinstance(data, list) and len(data) == SEED_CLAIMS  # the seed has no lifecycle events
        for entry in data:
            assert set(entry) >= {"said_on", "kind", "party", "claim"}
            assert entry["kind"] == "asserted"
        return len(data)
    if command == "changes":
        assert set(data) >= {"gained", "lost", "corrected"}
        gained = [c["id"] for c in data["gained"]]
        assert ZAKHAROVA in gained and "russia-blames-west-for-nord-stream" not in gained
        assert data["lost"] == [] and data["corrected"] == []
        for item in data["gained"]:
            _check_claim(item)
        return len(data["gained"]) + len(data["lost"]) + len(data["corrected"])
    if command == "show":
        assert set(data) >= {"claim", "history"}
        _check_claim(data["claim"])
        assert data["claim"]["id"] == ZAKHAROVA
        assert [e["type"] for e in data["history"]] == ["ClaimAsserted"]
        for event in data["history"]:
            assert set(event) == LOG_KEYS
        return len(data["history"])
    assert command == "log"
    assert isinstance(data, list)
    assert [e["position"] for e in data] == list(range(1, len(data) + 1))
    for event in data:
        assert set(event) == LOG_KEYS
    assert sum(e["type"] == "ClaimAsserted" for e in data) == SEED_CLAIMS
    return len(data)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", sorted(READS))
def test_every_read_command_in_every_format(seeded_url: str, command: str, fmt: str) -> None:
    args = READS[command]
    count = check_json(command, as_json(seeded_url, *args))
    assert count > 0
    result = ok(seeded_url, *args, "--format", fmt)
    out = result.stdout
    assert out.strip(), f"{command} --format {fmt} printed nothing"
    if fmt == "json":
        check_json(command, json.loads(out))
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        header, body = rows[0], rows[1:]
        assert header and all(header), f"csv header: {header}"
        assert len(set(header)) == len(header)
        assert all(len(row) == len(header) for row in body)
        assert len(body) == count, f"{command}: {len(body)} csv rows for {count} items"
    elif fmt == "markdown":
        if command == "show":  # the claim's fields, then its history: a table each
            fields, out = out.strip().split("\n\n")
            assert fields.splitlines()[2] == f"| id | {ZAKHAROVA} |"
        lines = out.strip().splitlines()
        assert lines[0].startswith("|") and lines[0].endswith("|")
        assert lines[1].startswith("|---")
        assert lines[1].count("|") == lines[0].count("|")
        assert len(lines) - 2 == count, f"{command}: {len(lines) - 2} markdown rows for {count} items"
        assert all(line.startswith("|") and line.endswith("|") for line in lines)
    else:
        assert not out.lstrip().startswith(("[", "{")), "table output looks like JSON"
        lines = out.splitlines()
        if command == "compare":
            assert lines[0].startswith("== russia")
            header = lines[1]
        elif command == "show":
            assert lines[0].split() == ["id:", ZAKHAROVA]
            header = next(line for line in lines if line.startswith("POSITION"))
        else:
            header = lines[0]
        words = header.split()
        assert len(words) >= 3 and all(word == word.upper() for word in words), f"no header row: {header!r}"
        assert "|" not in out.splitlines()[0]


@pytest.mark.parametrize("command", sorted(READS))
def test_read_commands_print_json_when_piped(seeded_url: str, command: str) -> None:
    # CliRunner's standard output is not a terminal: the default format is JSON.
    check_json(command, json.loads(ok(seeded_url, *READS[command]).stdout))


def test_table_and_csv_name_every_claim(seeded_url: str) -> None:
    ids = [c["id"] for c in as_json(seeded_url, "list")]
    table = ok(seeded_url, "list", "--format", "table").stdout
    listed = list(csv.DictReader(io.StringIO(ok(seeded_url, "list", "--format", "csv").stdout)))
    assert [row["id"] for row in listed] == ids
    for claim_id in ids:
        assert claim_id in table


def test_log_since_and_limit(seeded_url: str) -> None:
    events = as_json(seeded_url, "log", "--since", "10", "--limit", "5")
    assert [e["position"] for e in events] == [11, 12, 13, 14, 15]
    everything = as_json(seeded_url, "log")
    assert events == everything[10:15]


@pytest.mark.parametrize(("since", "limit"), [(0, None), (3, None), (0, 7), (5, 9), (48, 10), (52, None)])
def test_the_log_read_page_by_page_is_the_log_read_at_once(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch, since: int, limit: int | None
) -> None:
    monkeypatch.setattr(api, "LOG_PAGE", 4)
    at_once = [event.line() for event in seeded.events(since=since)][:limit]
    assert list(seeded.log(since=since, limit=limit)) == at_once
    assert len(at_once) == min(52 - since, limit or 52)


def test_a_reader_pausing_inside_the_log_holds_no_transaction(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claims log | less``: while the reader looks at a page, a writer commits, and SQLite can
    still checkpoint its write-ahead log, PostgreSQL sees no session idle in a transaction."""
    monkeypatch.setattr(api, "LOG_PAGE", 4)
    lines = seeded.log()
    assert next(lines)["position"] == 1
    seeded.add_party("late-party", name="Late")
    _assert_no_reader_holds_a_transaction(seeded)
    rest = list(lines)
    assert [line["position"] for line in rest] == list(range(2, 53))  # the log as it was when asked


def _assert_no_reader_holds_a_transaction(tracker: claims.Tracker) -> None:
    """SQLite can checkpoint its whole write-ahead log, and PostgreSQL has no session of this
    database idle inside a transaction."""
    if tracker.url.startswith("sqlite"):
        with closing(sqlite3.connect(tracker.url.removeprefix("sqlite:///"))) as other:
            busy, log, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0 and log != -1  # (-1: not in WAL mode, where this would prove nothing)
    else:
        with tracker.engine.connect() as other:
            idle = other.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%%'"
            ).scalar()
        assert idle == 0


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"party": "russia"},
        {"topic": "g20-joint-statement"},
        {"status": "retracted"},
        {"topic": "blinken-lavrov-encounter", "status": "standing"},
        {"status": "standing", "as_of": "2023-03-01"},
        {"party": "united-states", "as_of": "2023-03-02"},
        {"known_at": "imported"},
        {"party": "russia", "known_at": "imported", "status": "standing"},
    ],
)
@pytest.mark.parametrize("group_claims", [1, 3, 10_000])
def test_claims_read_a_group_of_topics_at_a_time_are_the_claims_read_at_once(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch, filters: dict[str, str], group_claims: int
) -> None:
    """Whatever the groups (a topic each, a few claims each, all at once), and with a topic that
    has no claims, a retraction, and a claim recorded after the time asked about."""
    from claims.projections import queries

    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", group_claims)
    imported = next(seeded.log())["recorded_at"]  # the seed is one transaction: every line's time
    seeded.add_topic("a-topic-of-no-claims", title="Nothing yet")
    seeded.retract(ZAKHAROVA, on="2023-03-05")
    seeded.add_claim(party="russia", topic="g20-joint-statement", said_on="2023-03-04", source=SOURCE, text="Later.")
    asked = {**filters, "known_at": imported} if "known_at" in filters else filters
    with seeded.engine.connect() as connection:
        times = seeded.times(connection, asked.get("as_of"), asked.get("known_at"))
        at_once = queries.list_claims(
            connection, times, party=asked.get("party"), topic=asked.get("topic"), status=asked.get("status")
        )
    assert at_once and list(seeded.claims(**asked)) == at_once == seeded.list_claims(**asked)


def test_topics_are_grouped_in_order_up_to_a_size(seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.projections import queries

    seeded.add_topic("a-topic-of-no-claims", title="Nothing yet")
    with seeded.engine.connect() as connection:
        sizes = Counter(claim["topic"] for claim in seeded.list_claims())
        topics = sorted([*sizes, "a-topic-of-no-claims"])
        assert queries.topic_groups(connection) == [topics]  # the seed's 24 claims: one read
        for most in (1, 4, 9):
            monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", most)
            groups = queries.topic_groups(connection)
            assert [topic for group in groups for topic in group] == topics
            assert all(len(group) == 1 or sum(sizes[t] for t in group) <= most for group in groups)
            assert all(sum(sizes[t] for t in [*a, b[0]]) > most for a, b in itertools.pairwise(groups))
        monkeypatch.setattr(queries, "LIST_GROUP_TOPICS", 2)
        assert all(len(group) <= 2 for group in queries.topic_groups(connection))
        assert [len(group) for group in queries.topic_groups(connection, ["united-states"])][-1] <= 2


@pytest.mark.parametrize(("status", "as_of"), [("standing", None), ("retracted", None), ("retracted", "2023-03-06")])
def test_the_status_filter_of_a_group_is_a_probe_per_claim_on_postgresql(
    tmp_path: Path, status: str, as_of: str | None
) -> None:
    """PostgreSQL made the standing test of ``claims list --status`` a join that hashed every
    standing period of the log, once for each group of topics read: at 1M events ``list --status
    retracted`` took 12.7 s, and 8.7 s with the test left a subquery, probed for each claim of the
    group. In the plan of a group's read, the periods are read only by subqueries."""
    from sqlalchemy import text

    for url in new_database_url("postgresql", tmp_path):
        with claims.open_tracker(url, user="tester") as tracker:
            tracker.init()
            tracker.import_file(SEED)
            tracker.retract(ZAKHAROVA, on="2023-03-05")
            with tracker.engine.connect() as connection:
                times = tracker.times(connection, as_of, None)
                group = queries.topic_groups(connection)[0]
                query = queries._ordered(queries._listed(times, topics=group, status=status), connection)
                compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
                plan = [row[0].strip() for row in connection.execute(text(f"EXPLAIN {compiled}"))]
                subplans = [line for line in plan if line.startswith("SubPlan")]
                periods_read = [line for line in plan if " on claim_periods" in line]
                assert len(subplans) == len(periods_read) == 1, "\n".join(plan)  # the filter, once
                listed = queries.list_claims(connection, times, topics=group, status=status)
                everyone = queries.list_claims(connection, times, topics=group)
                assert listed == [c for c in everyone if c["status"] == status] != []


def test_a_reader_pausing_inside_the_list_holds_no_transaction(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claims list | less``: the claims are read a group of topics at a time (here a topic
    each), each group in a transaction of its own, and all as the log stood when they were asked
    for: a claim recorded meanwhile, retracted or corrected, on a topic not yet read, shows none of it."""
    from claims.projections import queries

    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", 1)
    listed = seeded.list_claims()
    reading = seeded.claims()
    assert next(reading) == listed[0]
    later = [claim for claim in listed if claim["topic"] == listed[-1]["topic"]]
    assert later[0]["topic"] != listed[0]["topic"]
    seeded.add_claim(party="russia", topic=later[0]["topic"], said_on="2023-03-03", source=SOURCE, text="Said later.")
    seeded.retract(later[0]["id"], on="2023-03-05")
    seeded.correct(later[-1]["id"], reason="A typo.", text="Corrected later.")
    _assert_no_reader_holds_a_transaction(seeded)
    assert [listed[0], *reading] == listed
    assert len(seeded.list_claims()) == len(listed) + 1


@pytest.fixture
def narrative_groups(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[list[str]]]:
    """Watch ``queries.narrative`` from when called: the groups of topics it is then asked for, in
    order (an empty list for a read of every topic)."""

    def watch() -> list[list[str]]:
        asked: list[list[str]] = []
        narrative = queries.narrative

        def watched(*args: Any, topics: list[str] | None = None) -> list[dict[str, Any]]:
            asked.append(list(topics or []))
            return narrative(*args, topics=topics)

        monkeypatch.setattr(queries, "narrative", watched)
        return asked

    return watch


@pytest.mark.parametrize(
    "filters",
    [{}, {"topic": "blinken-lavrov-encounter"}, {"as_of": "2023-03-02"}, {"known_at": "imported"}],
)
@pytest.mark.parametrize("group_claims", [1, 3, 10_000])
def test_a_comparison_read_a_group_of_topics_at_a_time_is_the_comparison_read_at_once(
    seeded: claims.Tracker,
    monkeypatch: pytest.MonkeyPatch,
    narrative_groups: Callable[[], list[list[str]]],
    filters: dict[str, str],
    group_claims: int,
) -> None:
    """``claims compare --format json`` prints its claims a group of topics at a time, and names
    the contradictions among them after: the same answer as ``compare``, read at once, whatever
    the groups (a topic each, a few claims each, all at once)."""
    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", group_claims)
    imported = next(seeded.log())["recorded_at"]
    seeded.add_topic("a-topic-of-no-claims", title="Nothing yet")
    seeded.retract("zakharova-blinken-initiated-fleeting-encounter", on="2023-03-05")
    seeded.add_claim(  # a side of the meeting's contradiction in another topic, so in another group
        party="china",
        topic="g20-joint-statement",
        said_on="2023-03-04",
        source=SOURCE,
        text="Later, and denying the meeting.",
        proposition=MEETING,
        stance="denies",
    )
    asked = {**filters, "known_at": imported} if "known_at" in filters else filters
    parties = ["russia", "united-states", "china"]
    reads = narrative_groups()
    comparison = seeded.comparison(parties, **asked)
    read = {"parties": comparison.parties, "claims": list(comparison.claims)}
    read["contradictions"] = comparison.contradictions()
    assert read["claims"] and read["contradictions"]
    if group_claims == 1 and "topic" not in filters:
        assert len(reads) > 2 and all(len(topics) == 1 for topics in reads)
    assert read == seeded.compare(parties, **asked)


def test_a_comparison_names_no_contradiction_before_its_claims_are_taken(seeded: claims.Tracker) -> None:
    comparison = seeded.comparison(["russia", "united-states"])
    with pytest.raises(RuntimeError, match="once all its claims have been taken"):
        comparison.contradictions()
    next(comparison.claims)
    with pytest.raises(RuntimeError):
        comparison.contradictions()


def test_a_reader_pausing_inside_a_comparison_holds_no_transaction(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``claims list``: each group in a transaction of its own, all as the log stood when the
    comparison was asked for."""
    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", 1)
    parties = ["russia", "united-states"]
    whole = seeded.compare(parties)
    comparison = seeded.comparison(parties)
    reading = comparison.claims
    first = next(reading)
    last_topic = whole["claims"][-1]["topic"]
    assert first["topic"] != last_topic
    seeded.add_claim(
        party="russia",
        topic=last_topic,
        said_on="2023-03-03",
        source=SOURCE,
        text="Said later, against the meeting.",
        proposition=MEETING,
        stance="denies",
    )
    seeded.retract(US_CLAIM, on="2023-03-05")
    _assert_no_reader_holds_a_transaction(seeded)
    assert [first, *reading] == whole["claims"]
    assert comparison.contradictions() == whole["contradictions"] != []
    assert seeded.compare(parties) != whole


def test_compare_json_is_written_as_read_and_is_the_text_of_the_answer(
    seeded: claims.Tracker, monkeypatch: pytest.MonkeyPatch, narrative_groups: Callable[[], list[list[str]]]
) -> None:
    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", 2)
    parties = ["russia", "united-states", "china"]
    groups_read = narrative_groups()
    printed = ok(seeded.url, "compare", *parties, "--format", "json").stdout
    assert len(groups_read) > 2 and all(groups_read)
    assert printed == json.dumps(seeded.compare(parties), indent=2, ensure_ascii=False) + "\n"


def test_claims_are_refused_when_asked_not_when_read(seeded: claims.Tracker) -> None:
    with pytest.raises(NotFoundError, match="unknown party: atlantis"):
        seeded.claims(party="atlantis")
    with pytest.raises(ValidationError):
        seeded.claims(as_of="not a date")


def test_timeline_entries_are_read_when_asked_and_shaped_as_taken(seeded: claims.Tracker) -> None:
    """``claims timeline`` writes the entries as they are taken: they are the timeline as it stood
    when asked (a retraction and a claim recorded meanwhile show in neither), no transaction is
    held while the reader pauses, and a bad argument is refused at once."""
    asked = seeded.timeline()
    entries = seeded.timeline_entries()
    first = next(entries)
    seeded.retract(ZAKHAROVA, on="2023-03-05")
    seeded.add_claim(party="russia", topic="g20-joint-statement", said_on="2023-03-04", source=SOURCE, text="Later.")
    _assert_no_reader_holds_a_transaction(seeded)
    assert [first, *entries] == asked
    assert list(asked[0]) == ["said_on", "kind", "party", "claim", "topic", "source", "position"]
    assert len(seeded.timeline()) == len(asked) + 2
    with pytest.raises(NotFoundError, match="unknown topic: atlantis"):
        seeded.timeline_entries(topic="atlantis")
    with pytest.raises(ValidationError):
        seeded.timeline_entries(known_at="not a time")


def test_timeline_rows_fetched_a_few_at_a_time_are_those_fetched_at_once(seeded: claims.Tracker) -> None:
    """The rows come ``batch`` at a time (on PostgreSQL from a server-side cursor), and the same
    rows in the same order whatever the batch."""
    from sqlalchemy import event

    from claims.projections import queries

    fetched: list[tuple[Any, bool]] = []

    def seen(_connection: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        fetched.append((context.execution_options.get("yield_per"), bool(getattr(cursor, "name", None))))

    seeded.retract(ZAKHAROVA, on="2023-03-05")
    event.listen(seeded.engine, "before_cursor_execute", seen)
    try:
        with seeded.engine.connect() as connection:
            for times in (queries.Times(), queries.Times(as_of="2023-03-04", known_at=52)):
                at_once = queries.timeline_rows(connection, times)
                assert len(at_once) > 10
                fetched.clear()
                assert queries.timeline_rows(connection, times, batch=3) == at_once
                assert fetched == [(3, seeded.url.startswith("postgresql"))]
                assert queries.timeline_rows(connection, times, party="russia", batch=2) == [
                    row for row in at_once if row[2] == "russia"
                ]
    finally:
        event.remove(seeded.engine, "before_cursor_execute", seen)


# ---------------------------------------------------------------------------------------------
# The "done when"
# ---------------------------------------------------------------------------------------------


# The answers the Python API builds whole, as claim views, and a group of topics at a time (each
# group is built whole): built with the cyclic collector paused.
ANSWERS_HELD_WHOLE: dict[str, Callable[[claims.Tracker], Any]] = {
    "narrative": lambda t: t.narrative("russia"),
    "compare": lambda t: t.compare(["russia", "united-states"]),
    "changes": lambda t: t.changes("russia", since="2023-01-01", until="2023-12-31"),
    "report_data": lambda t: t.report_data(),
    "claims, by groups": lambda t: list(t.claims()),
    "comparison, by groups": lambda t: list(t.comparison(["russia", "united-states"]).claims),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS_HELD_WHOLE))
def test_answers_held_whole_are_built_with_the_collector_paused(
    seeded: claims.Tracker, answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each full collection walks every claim view built so far: at 1M events, a whole party's
    narrative took 5 to 25% less with the collector paused, and a comparison of two 4 to 32%."""
    running: list[bool] = []
    view = queries.claim_view

    def watched(*args: Any) -> dict[str, Any]:
        running.append(gc.isenabled())
        return view(*args)

    monkeypatch.setattr(queries, "claim_view", watched)
    assert ANSWERS_HELD_WHOLE[answer](seeded)
    assert running and not any(running)
    assert gc.isenabled()


def test_the_collector_runs_again_after_an_answer_is_refused(seeded: claims.Tracker) -> None:
    with pytest.raises(NotFoundError, match="unknown party: atlantis"):
        seeded.compare(["russia", "atlantis"])
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_finds_it_paused_after_an_answer(seeded: claims.Tracker) -> None:
    gc.disable()
    try:
        assert seeded.narrative("russia")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_compare_russia_united_states_shows_the_blinken_lavrov_contradiction(seeded_url: str) -> None:
    result = as_json(seeded_url, "compare", "russia", "united-states")
    by_proposition = {c["proposition"]: c for c in result["contradictions"]}
    assert MEETING in by_proposition
    meeting = by_proposition[MEETING]
    assert meeting["affirms"] == [US_CLAIM]
    assert meeting["denies"] == [ZAKHAROVA]
    claims_by_id = {c["id"]: c for c in result["claims"]}
    assert claims_by_id[US_CLAIM]["party"] == "united-states" and claims_by_id[US_CLAIM]["stance"] == "affirms"
    assert claims_by_id[ZAKHAROVA]["party"] == "russia" and claims_by_id[ZAKHAROVA]["stance"] == "denies"
    # Russia alone affirms west-derailed-g20-meeting: no one denies it among these two parties.
    assert "west-derailed-g20-meeting" not in by_proposition

    table = ok(seeded_url, "compare", "russia", "united-states", "--format", "table").stdout
    marked = [line for line in table.splitlines() if "✗" in line]
    assert any(MEETING in line for line in marked), table
    assert any(ZAKHAROVA in line for line in marked), "Zakharova's row is not marked"
    assert any(US_CLAIM in line for line in marked), "the U.S. official's row is not marked"
    assert not any("west-derailed-g20-meeting" in line for line in marked)


def test_compare_with_g20_is_not_marked_for_a_party_contradicting_itself(seeded_url: str) -> None:
    result = as_json(seeded_url, "compare", "russia", "g20")
    props = {c["proposition"] for c in result["contradictions"]}
    assert {"west-derailed-g20-meeting", "russia-must-withdraw-from-ukraine"} <= props


def test_narrative_the_day_before_the_meeting_differs_from_the_day_of_it(seeded_url: str) -> None:
    before = [c["id"] for c in as_json(seeded_url, "narrative", "russia", "--as-of", "2023-03-01")]
    on_the_day = [c["id"] for c in as_json(seeded_url, "narrative", "russia", "--as-of", "2023-03-02")]
    assert before != on_the_day
    assert before == ["russia-blames-west-for-nord-stream"]  # said in 2022
    assert ZAKHAROVA in on_the_day and "lavrov-west-turned-g20-into-farce" in on_the_day
    assert set(before) < set(on_the_day)
    table_before = ok(seeded_url, "narrative", "russia", "--as-of", "2023-03-01", "--format", "table").stdout
    assert ZAKHAROVA not in table_before and "russia-blames-west-for-nord-stream" in table_before


def test_partial_said_dates_count_from_the_end_of_their_period(seeded_url: str) -> None:
    # china-position-paper-calls-for-dialogue was said "2023-02": it stands from 28 February.
    feb_27 = [c["id"] for c in as_json(seeded_url, "narrative", "china", "--as-of", "2023-02-27")]
    feb_28 = [c["id"] for c in as_json(seeded_url, "narrative", "china", "--as-of", "2023-02-28")]
    assert "china-position-paper-calls-for-dialogue" not in feb_27
    assert "china-position-paper-calls-for-dialogue" in feb_28
    said = {c["id"]: c["said_on"] for c in as_json(seeded_url, "list", "--party", "china")}
    assert said["china-position-paper-calls-for-dialogue"] == "2023-02"  # precision kept
    assert said["china-frames-itself-neutral"] == "2022"


def test_a_claim_not_yet_said_is_not_reported_retracted(seeded_url: str) -> None:
    # Nothing in the seed is ever retracted, so no answer may call a seed claim 'retracted'.
    early = as_json(seeded_url, "list", "--as-of", "2023-01-01")
    assert [c["id"] for c in early if c["status"] == "retracted"] == []
    assert as_json(seeded_url, "list", "--as-of", "2023-01-01", "--status", "retracted") == []
    assert as_json(seeded_url, "show", ZAKHAROVA, "--as-of", "2023-01-01")["claim"]["status"] != "retracted"


def _just_before(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(microseconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text_of(claims_list: list[dict[str, Any]], claim_id: str) -> str:
    return next(c["text"] for c in claims_list if c["id"] == claim_id)


def test_known_at_before_a_correction_shows_the_text_we_had_then(fresh_url: str) -> None:
    old = _text_of(as_json(fresh_url, "narrative", "russia"), ZAKHAROVA)
    new = "No talks and no real meeting took place between Lavrov and Blinken, Zakharova said."
    ok(fresh_url, "correct", ZAKHAROVA, "--text", new, "--reason", "our paraphrase was too loose")
    log = as_json(fresh_url, "log")
    correction = log[-1]
    assert correction["type"] == "ClaimCorrected"
    before = log[-2]["recorded_at"]
    assert before < correction["recorded_at"]

    for known_at in (before, _just_before(correction["recorded_at"])):
        then = as_json(fresh_url, "narrative", "russia", "--known-at", known_at)
        assert _text_of(then, ZAKHAROVA) == old
        # The as-of answer known-at before the correction shows the uncorrected text too.
        then = as_json(fresh_url, "narrative", "russia", "--as-of", "2023-03-02", "--known-at", known_at)
        assert _text_of(then, ZAKHAROVA) == old
        table = ok(fresh_url, "narrative", "russia", "--known-at", known_at, "--format", "csv").stdout
        assert old in table and new not in table
        shown = as_json(fresh_url, "show", ZAKHAROVA, "--known-at", known_at)
        assert shown["claim"]["text"] == old
        assert [e["type"] for e in shown["history"]] == ["ClaimAsserted"]

    for known_at in (None, correction["recorded_at"]):
        extra = [] if known_at is None else ["--known-at", known_at]
        now = as_json(fresh_url, "narrative", "russia", *extra)
        assert _text_of(now, ZAKHAROVA) == new
        # A correction fixes our error everywhere, as-of answers included.
        now = as_json(fresh_url, "narrative", "russia", "--as-of", "2023-03-02", *extra)
        assert _text_of(now, ZAKHAROVA) == new
        compared = as_json(fresh_url, "compare", "russia", "united-states", *extra)
        assert _text_of(compared["claims"], ZAKHAROVA) == new
        table = ok(fresh_url, "narrative", "russia", *extra, "--format", "csv").stdout
        assert new in table and old not in table
    shown = as_json(fresh_url, "show", ZAKHAROVA)
    assert shown["claim"]["text"] == new
    assert [e["type"] for e in shown["history"]] == ["ClaimAsserted", "ClaimCorrected"]

    today = correction["recorded_at"][:10]
    changed = as_json(fresh_url, "changes", "russia", "--from", "2023-03-01", "--to", today)
    assert [c["id"] for c in changed["corrected"]] == [ZAKHAROVA]


def test_retraction_counts_from_its_date_and_a_later_reaffirmation_restores(fresh_url: str) -> None:
    ok(fresh_url, "retract", ZAKHAROVA, "--on", "2023-03-10", "--source", "ria-novosti", "--reason", "walked back")

    def standing(as_of: str | None) -> list[str]:
        extra = [] if as_of is None else ["--as-of", as_of]
        return [c["id"] for c in as_json(fresh_url, "narrative", "russia", *extra)]

    assert ZAKHAROVA in standing("2023-03-09")
    assert ZAKHAROVA not in standing("2023-03-10")
    assert ZAKHAROVA not in standing(None)
    assert ZAKHAROVA not in ok(fresh_url, "narrative", "russia", "--format", "table").stdout
    before = as_json(fresh_url, "compare", "russia", "united-states", "--as-of", "2023-03-09")
    after = as_json(fresh_url, "compare", "russia", "united-states", "--as-of", "2023-03-10")
    assert MEETING in {c["proposition"] for c in before["contradictions"]}
    assert MEETING not in {c["proposition"] for c in after["contradictions"]}
    statuses = {c["id"]: c["status"] for c in as_json(fresh_url, "list", "--as-of", "2023-03-10")}
    assert statuses[ZAKHAROVA] == "retracted"
    retracted = as_json(fresh_url, "list", "--status", "retracted")
    assert [c["id"] for c in retracted] == [ZAKHAROVA]
    timeline = as_json(fresh_url, "timeline", "--party", "russia")
    assert {"said_on": "2023-03-10", "kind": "retracted", "party": "russia", "claim": ZAKHAROVA}.items() <= next(
        e for e in timeline if e["kind"] == "retracted"
    ).items()
    assert timeline[-1]["kind"] == "retracted"  # the latest act in said time
    lost = as_json(fresh_url, "changes", "russia", "--from", "2023-03-02", "--to", "2023-03-10")
    assert [c["id"] for c in lost["lost"]] == [ZAKHAROVA]

    ok(fresh_url, "reaffirm", ZAKHAROVA, "--on", "2023-03-15", "--source", "ria-novosti")
    assert ZAKHAROVA not in standing("2023-03-14")
    assert ZAKHAROVA in standing("2023-03-15")
    assert ZAKHAROVA in standing(None)
    kinds = [e["kind"] for e in as_json(fresh_url, "timeline", "--topic", "blinken-lavrov-encounter")]
    assert kinds[-2:] == ["retracted", "reaffirmed"]
    history = as_json(fresh_url, "show", ZAKHAROVA)["history"]
    assert [e["type"] for e in history] == ["ClaimAsserted", "ClaimRetracted", "ClaimReaffirmed"]
    assert all(e["recorded_at"] and e["said_at"] for e in history)


def test_a_party_on_both_sides_is_a_self_contradiction_not_a_contradiction(fresh_url: str) -> None:
    admits = "lavrov-admits-talks"
    ok(
        fresh_url,
        "add",
        "--party",
        "russia",
        "--topic",
        "blinken-lavrov-encounter",
        "--said-on",
        "2023-03-03",
        "--source",
        "tass",
        "--text",
        "Lavrov and Blinken did talk in New Delhi.",
        "--proposition",
        MEETING,
        "--stance",
        "affirms",
        "--id",
        admits,
    )
    narrative = {c["id"]: c for c in as_json(fresh_url, "narrative", "russia")}
    assert narrative[admits]["self_contradiction"] and narrative[ZAKHAROVA]["self_contradiction"]
    assert not narrative["lavrov-west-turned-g20-into-farce"]["self_contradiction"]
    for columns in ("250", "100"):  # a narrow terminal cuts the stance cell, not its flag
        args = ["--db", fresh_url, "narrative", "russia", "--format", "table"]
        table = RUNNER.invoke(cli, args, env={"COLUMNS": columns})
        flagged = [line for line in table.stdout.splitlines() if re.search(r"  ! (affirms|denies)", line)]
        assert len(flagged) == 2 and any(admits in line for line in flagged), table.stdout
    day_before = as_json(fresh_url, "narrative", "russia", "--as-of", "2023-03-02")
    assert not any(c.get("self_contradiction") for c in day_before)

    alone = as_json(fresh_url, "compare", "russia", "china")
    assert MEETING not in {c["proposition"] for c in alone["contradictions"]}
    both = {c["proposition"]: c for c in as_json(fresh_url, "compare", "russia", "united-states")["contradictions"]}
    assert both[MEETING]["affirms"] == [US_CLAIM, admits]
    assert both[MEETING]["denies"] == [ZAKHAROVA]


def test_show_table_gives_every_event_with_both_times(fresh_url: str) -> None:
    ok(fresh_url, "retract", ZAKHAROVA, "--on", "2023-03-10", "--source", "ria-novosti")
    out = ok(fresh_url, "show", ZAKHAROVA, "--format", "table").stdout
    header = next(line for line in out.splitlines() if line.startswith("POSITION"))
    assert "SAID_AT" in header and "RECORDED_AT" in header
    rows = out.splitlines()[out.splitlines().index(header) + 1 :]
    assert [row.split()[1] for row in rows] == ["ClaimAsserted", "ClaimRetracted"]
    assert "2023-03-10" in rows[1]
    assert any(line.split() == ["status:", "retracted"] for line in out.splitlines())


# ---------------------------------------------------------------------------------------------
# Mistakes: one clear line, non-zero exit, no traceback
# ---------------------------------------------------------------------------------------------

MISTAKES = [
    (["narrative", "nobody"], "nobody"),
    (["narrative", "russia", "--topic", "no-such-topic"], "no-such-topic"),
    (["compare", "russia", "nobody"], "nobody"),
    (["compare", "russia", "united-states", "--topic", "no-such-topic"], "no-such-topic"),
    (["timeline", "--party", "nobody"], "nobody"),
    (["timeline", "--topic", "no-such-topic"], "no-such-topic"),
    (["list", "--party", "nobody"], "nobody"),
    (["list", "--topic", "no-such-topic"], "no-such-topic"),
    (["changes", "nobody", "--from", "2023-03-01", "--to", "2023-03-02"], "nobody"),
    (["show", "no-such-claim"], "no-such-claim"),
    (["narrative", "russia", "--as-of", "2023-02-30"], "2023-02-30"),
    (["narrative", "russia", "--as-of", "last tuesday"], "last tuesday"),
    (["compare", "russia", "united-states", "--as-of", "2023-13"], "2023-13"),
    (["list", "--as-of", "03/02/2023"], "03/02/2023"),
    (["narrative", "russia", "--known-at", "yesterday"], "yesterday"),
    (["narrative", "russia", "--known-at", "2023-03-02T25:00:00Z"], "2023-03-02T25:00:00Z"),
    (["timeline", "--known-at", "2023-02-30"], "2023-02-30"),
    (["changes", "russia", "--from", "2023-03-05", "--to", "2023-03-01"], "2023-03-05"),
    (["changes", "russia", "--from", "2023-03", "--to", "2023-02"], "2023-03"),
    (["changes", "russia", "--from", "not-a-date", "--to", "2023-03-01"], "not-a-date"),
]


@pytest.mark.parametrize(("args", "named"), MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_mistakes_are_one_clear_line_and_a_non_zero_exit(seeded_url: str, args: list[str], named: str) -> None:
    line = refused(seeded_url, *args)
    assert named in line, f"the error does not name {named!r}: {line}"


@pytest.mark.parametrize("parties", [["russia"], ["russia", "russia"]])
def test_compare_needs_two_parties(seeded_url: str, parties: list[str]) -> None:
    result = invoke(seeded_url, "compare", *parties)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and result.stdout == ""
    assert "at least two different parties" in result.stderr


def test_the_contradictions_under_compare_s_table_are_a_line_per_claim(fresh_url: str) -> None:
    args = ["--party", "united-states", "--topic", "blinken-lavrov-encounter", "--said-on", "2023-03-03"]
    args += ["--source", "tass", "--proposition", MEETING, "--stance", "affirms", "--id", "two-lines"]
    ok(fresh_url, "add", *args, "--text", "They met.\nThey talked.")
    table = ok(fresh_url, "compare", "russia", "united-states", "--format", "table").stdout
    footer = table[table.index("== contradictions") :]
    assert any(line.endswith("two-lines: They met. They talked.") for line in footer.splitlines()), footer


def test_a_party_named_twice_is_compared_once(seeded_url: str) -> None:
    once = as_json(seeded_url, "compare", "russia", "united-states")
    assert as_json(seeded_url, "compare", "russia", "united-states", "russia") == once
    table = ok(seeded_url, "compare", "russia", "united-states", "russia", "--format", "table").stdout
    assert table.count("== russia") == 1


def test_known_at_before_anything_was_recorded_is_an_empty_answer(seeded_url: str) -> None:
    assert as_json(seeded_url, "narrative", "russia", "--known-at", "2001-01-01") == []
    assert as_json(seeded_url, "timeline", "--known-at", "2001-01-01T00:00:00Z") == []
    assert as_json(seeded_url, "list", "--known-at", "2001-01-01") == []
    line = refused(seeded_url, "show", ZAKHAROVA, "--known-at", "2001-01-01")
    assert ZAKHAROVA in line


def test_reads_on_a_missing_database_are_one_line(tmp_path: Path) -> None:
    line = refused(str(tmp_path / "nothing-here.db"), "narrative", "russia")
    assert "claims init" in line


def test_timeline_as_of_keeps_only_what_had_been_said_by_then(seeded_url: str) -> None:
    everything = as_json(seeded_url, "timeline")
    before = as_json(seeded_url, "timeline", "--as-of", "2023-02-28")
    assert before and len(before) < len(everything)
    assert {e["said_on"] for e in before} == {"2022", "2022-07", "2023-02"}  # a month counts from its end
    assert all(e in everything for e in before)
    assert "2023-03" not in {e["said_on"] for e in as_json(seeded_url, "timeline", "--as-of", "2023-03-02")}
    assert as_json(seeded_url, "timeline", "--as-of", "2023-03-31") == everything


def test_timeline_puts_the_assertions_of_a_topic_in_the_order_list_does(seeded_url: str) -> None:
    """A month counts from its last day: ``2023-03`` after ``2023-03-02`` (the China topic of the seed)."""
    for topic in sorted({claim["topic"] for claim in as_json(seeded_url, "list")}):
        timeline = as_json(seeded_url, "timeline", "--topic", topic)
        asserted = [entry["claim"] for entry in timeline if entry["kind"] == "asserted"]
        assert asserted == [claim["id"] for claim in as_json(seeded_url, "list", "--topic", topic)], topic
    china = as_json(seeded_url, "timeline", "--topic", "china-arms-for-russia")
    assert [entry["said_on"] for entry in china] == ["2023-02", "2023-03-02", "2023-03"]


def register_north_talks_wire(tracker: claims.Tracker) -> None:
    """The party, topic and source the hand-made histories below record their claims with."""
    tracker.add_party("north", name="North")
    tracker.add_topic("talks", title="Talks")
    tracker.add_source("wire", name="Wire")


def test_timeline_orders_by_the_end_of_the_said_period_then_the_date_as_said_then_the_log(
    tracker: claims.Tracker,
) -> None:
    """Assertions and acts alike, recorded out of said order: by the last day of the said period
    (a year, a month, a day, the calendar date of a date-time), then the said date as written (a
    time by its instant, below), then the log position, an act no earlier than its own assertion;
    with ``--as-of`` the same order, of what had surely been said or done by then."""
    register_north_talks_wire(tracker)
    said = {
        "year": "2023",
        "evening": "2023-03-31T21:00:00+02:00",
        "last-day": "2023-03-31",
        "month": "2023-03",
        "mid": "2023-03-15",
        "day": "2023-03-02",
        "april": "2023-04-01",
    }
    for ident, said_on in said.items():
        tracker.add_claim(id=ident, party="north", topic="talks", said_on=said_on, source="wire", text=ident)
    tracker.retract("day", on="2023-03", source="wire")
    tracker.reaffirm("year", on="2023-03-31", source="wire")

    def order(**times: str) -> list[tuple[str, str, str]]:
        return [(e["said_on"], e["kind"], e["claim"]) for e in tracker.timeline(topic="talks", **times)]

    assert order() == [
        ("2023-03-02", "asserted", "day"),
        ("2023-03-15", "asserted", "mid"),
        ("2023-03", "asserted", "month"),
        ("2023-03", "retracted", "day"),  # said as the month was, recorded after it
        ("2023-03-31", "asserted", "last-day"),
        ("2023-03-31T21:00:00+02:00", "asserted", "evening"),
        ("2023-04-01", "asserted", "april"),
        ("2023", "asserted", "year"),
        ("2023-03-31", "reaffirmed", "year"),  # dated inside the year it was said in: after the assertion
    ]
    assert tracker.timeline(party="north") == tracker.timeline(topic="talks") == tracker.timeline()
    assert order(as_of="2023-03-30") == order()[:2]
    # the year's claim not yet surely said by then: neither it nor its reaffirmation dated inside it
    assert order(as_of="2023-04-01") == order()[:-2]


def test_timeline_never_puts_an_act_before_its_own_claim_s_assertion(tracker: claims.Tracker) -> None:
    """An act may be dated before its claim as written, not in the world: a bare date on the day of
    a said date-time, a day inside a said month, a time at another offset, a said date corrected
    to after it. It is listed after the assertion, with its own date."""
    register_north_talks_wire(tracker)
    said = {"tokyo": "2023-06-10T08:00:00+09:00", "month": "2023-05", "moved": "2023-07-01", "other": "2023-06-10"}
    for ident, said_on in said.items():
        tracker.add_claim(id=ident, party="north", topic="talks", said_on=said_on, source="wire", text=ident)
    tracker.retract("tokyo", on="2023-06-10T01:00:00+00:00", source="wire")
    tracker.reaffirm("tokyo", on="2023-06-10", source="wire")  # a bare date, before the day's times
    tracker.retract("month", on="2023-05-10", source="wire")
    tracker.retract("moved", on="2023-07-05", source="wire")
    before_correction = list(tracker.log())[-1]["recorded_at"]
    tracker.correct("moved", said_on="2023-07-20", reason="the interview was aired later")

    def order(**times: Any) -> list[tuple[str, str, str]]:
        return [(e["said_on"], e["kind"], e["claim"]) for e in tracker.timeline(topic="talks", **times)]

    assert order() == [
        ("2023-05", "asserted", "month"),
        ("2023-05-10", "retracted", "month"),
        ("2023-06-10", "asserted", "other"),
        ("2023-06-10T08:00:00+09:00", "asserted", "tokyo"),
        ("2023-06-10", "reaffirmed", "tokyo"),  # dated before it: right after it, in date order
        ("2023-06-10T01:00:00+00:00", "retracted", "tokyo"),  # 01:00 UTC, after 23:00 UTC the day before
        ("2023-07-20", "asserted", "moved"),
        ("2023-07-05", "retracted", "moved"),
    ]
    assert order(known_at=before_correction)[-2:] == [
        ("2023-07-01", "asserted", "moved"),
        ("2023-07-05", "retracted", "moved"),
    ]
    assert order(as_of="2023-06-10") == order()[:-2]
    # The last act listed is the one that decides, as the claim's status says.
    assert tracker.show("tokyo")["claim"]["status"] == "retracted"
    assert tracker.show("month")["claim"]["status"] == "retracted"


def test_timeline_as_of_lists_no_act_of_a_claim_not_yet_said(tracker: claims.Tracker) -> None:
    """Said in March 2023 (so surely by the 31st), retracted on the 10th: as of the 15th the claim
    is not yet said, and neither its assertion nor its retraction is listed; by the 31st both are,
    the retraction after the assertion, as the claim's status counts it."""
    register_north_talks_wire(tracker)
    tracker.add_claim(id="m1", party="north", topic="talks", said_on="2023-03", source="wire", text="m1")
    tracker.retract("m1", on="2023-03-10", source="wire")
    assert tracker.timeline(as_of="2023-03-15") == []
    assert tracker.show("m1", as_of="2023-03-15")["claim"]["status"] == "unsaid"
    assert [(e["kind"], e["said_on"]) for e in tracker.timeline(as_of="2023-03-31")] == [
        ("asserted", "2023-03"),
        ("retracted", "2023-03-10"),
    ]
    assert tracker.show("m1", as_of="2023-03-31")["claim"]["status"] == "retracted"


def test_the_times_of_one_day_come_in_the_order_they_happened_whatever_their_offsets(
    tracker: claims.Tracker,
) -> None:
    """Said on one day in Moscow, Washington and New Delhi, recorded in another order: the times
    are ordered by their instants in every answer (10:00 in Delhi before 06:00 UTC; a space for
    the T and a fraction of a second as well), and so are a claim's acts of one day, whatever the
    order they were recorded in: the claim's status is that of the last act in time."""
    register_north_talks_wire(tracker)
    said = {  # recorded in this order
        "washington": "2023-03-02T08:00:00-05:00",  # 13:00 UTC
        "moscow": "2023-03-02 10:00+03:00",  # 07:00 UTC
        "utc-later": "2023-03-02T06:00:00.5Z",
        "delhi": "2023-03-02T10:00:00+05:30",  # 04:30 UTC
        "utc": "2023-03-02T06:00:00Z",
        "bare": "2023-03-02",
    }
    for ident, said_on in said.items():
        tracker.add_claim(id=ident, party="north", topic="talks", said_on=said_on, source="wire", text=ident)
    in_time = ["bare", "delhi", "utc", "utc-later", "moscow", "washington"]
    assert [c["id"] for c in tracker.narrative("north")] == in_time
    assert [c["id"] for c in tracker.list_claims(party="north")] == in_time
    assert [c["id"] for c in tracker.compare(["north"])["claims"]] == in_time
    assert [e["claim"] for e in tracker.timeline(topic="talks")] == in_time

    # Retracted at 18:00 Moscow time (15:00 UTC), reaffirmed at 12:00 in Washington (17:00 UTC),
    # recorded the other way round: it stands; and the other way about, it does not.
    tracker.reaffirm("delhi", on="2023-03-05T12:00-05:00", source="wire")
    tracker.retract("delhi", on="2023-03-05T18:00+03:00", source="wire")
    tracker.retract("moscow", on="2023-03-05T12:00-05:00", source="wire")
    tracker.reaffirm("moscow", on="2023-03-05T18:00+03:00", source="wire")
    assert tracker.show("delhi")["claim"]["status"] == "standing"
    assert tracker.show("moscow")["claim"]["status"] == "retracted"
    assert [c["id"] for c in tracker.narrative("north", as_of="2023-03-05")] == [
        "bare",
        "delhi",
        "utc",
        "utc-later",
        "washington",
    ]
    acts = [(e["kind"], e["claim"]) for e in tracker.timeline(topic="talks") if e["kind"] != "asserted"]
    at_15_utc = [("retracted", "delhi"), ("reaffirmed", "moscow")]
    at_17_utc = [("reaffirmed", "delhi"), ("retracted", "moscow")]
    assert acts == at_15_utc + at_17_utc


def test_changes_known_at_answers_as_the_database_knew_it(seeded_url: str) -> None:
    now = as_json(seeded_url, "changes", "china", "--from", "2023-01-01", "--to", "2023-03-31")
    assert {c["id"] for c in now["gained"]} >= {"china-refuses-withdrawal-demand"}
    then = as_json(
        seeded_url, "changes", "china", "--from", "2023-01-01", "--to", "2023-03-31", "--known-at", "2020-01-01"
    )
    assert then["gained"] == [] and then["lost"] == [] and then["corrected"] == []


def test_changes_known_at_gives_a_corrected_claim_s_status_as_the_database_knew_it(tracker: claims.Tracker) -> None:
    """A correction listed by ``changes --known-at`` has its status at that time: a retraction
    recorded after it does not count (it was read as of now)."""
    register_north_talks_wire(tracker)
    tracker.add_claim(id="x", party="north", topic="talks", said_on="2023-03-01", source="wire", text="X said.")
    tracker.correct("x", text="X, corrected.", reason="our typo")
    known = list(tracker.log())[-1]["recorded_at"]
    tracker.retract("x", on="2023-03-10", source="wire")
    today = datetime.now(tz=UTC).date()
    span = {"since": (today - timedelta(days=1)).isoformat(), "until": today.isoformat()}
    [then] = tracker.changes("north", **span, known_at=known)["corrected"]
    assert (then["id"], then["text"], then["status"]) == ("x", "X, corrected.", "standing")
    [now] = tracker.changes("north", **span)["corrected"]
    assert now["status"] == "retracted"
