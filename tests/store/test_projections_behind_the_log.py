"""A write is refused while the projections lack an event appended other than through claims.

Every unit of work folds what it appends in its own transaction, so the projections are never
behind a committed event that claims wrote. But a writer role holds the INSERT privilege on the
log, and a client of its own can append a well-chained line without folding it. The next write
then moved the projections' checkpoint past that event: `show` did not know its claim while
`projections status` said they were up to date, and only a rebuild found it. Now the write is
refused, in one line naming the rebuild, and nothing of it is written; after the rebuild, writes
go on and the projections hold every event.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.domain import events as ev
from claims.domain.errors import NotFoundError, StorageError
from claims.service import uow as unit_of_work
from claims.store import eventlog
from claims.store.engine import begin_write
from claims.store.eventlog import Pending

CLAIM = {"party": "russia", "topic": "g20-joint-statement", "said_on": "2023-03-02", "source": "tass"}
REFUSAL = (
    r"the projections are 2 events behind the log \(appended other than through claims\): "
    r"run `claims projections rebuild`"
)


def append_outside(tracker: Tracker, *claim_ids: str) -> None:
    """Append assertions to the log alone, hash-chained as SPEC section 6 says, as a client that
    is not claims would: no projection row, no checkpoint moved."""
    connection = begin_write(tracker.engine)
    try:
        pending = [
            Pending(ev.ClaimAsserted(claim=ident, text=f"Appended outside claims: {ident}.", **CLAIM), 0)
            for ident in claim_ids
        ]
        eventlog.append(connection, pending, "outsider")
        connection.commit()
    finally:
        connection.close()


def test_a_write_after_an_event_appended_outside_claims_is_refused_until_a_rebuild(seeded: Tracker) -> None:
    append_outside(seeded, "outside-1", "outside-2")
    before = seeded.projections_status()
    assert before["head"] - before["checkpoint"] == 2  # behind, and saying so
    with pytest.raises(StorageError, match=REFUSAL):
        seeded.add_claim(text="Refused until the rebuild.", **CLAIM)
    with pytest.raises(StorageError, match=REFUSAL):
        seeded.add_party("brazil", name="Brazil")
    assert seeded.projections_status() == before  # nothing written, and still saying so
    with pytest.raises(NotFoundError):
        seeded.show("outside-1")

    seeded.rebuild_projections()
    added = seeded.add_claim(text="Recorded after the rebuild.", **CLAIM)
    status = seeded.projections_status()
    assert status["checkpoint"] == status["head"] == before["head"] + 1
    assert [seeded.show(ident)["claim"]["id"] for ident in ("outside-1", "outside-2", added.id)] == [
        "outside-1",
        "outside-2",
        added.id,
    ]
    chain = seeded.verify()
    assert chain.intact and chain.size == status["head"]


@pytest.mark.parametrize("flush_every", [20_000, 1], ids=["at the commit", "at a batch's flush"])
def test_an_import_is_refused_the_same_way_in_one_line(
    seeded: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flush_every: int
) -> None:
    """A large import meets the refusal at its first batch, amid its entries: still the database's
    one line, not a problem of the entry it had reached."""
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", flush_every)
    append_outside(seeded, "outside-3", "outside-4")
    document = tmp_path / "doc.yaml"
    document.write_text(
        "format: claims/v1\nclaims:\n"
        "  - {id: in-doc, party: russia, topic: g20-joint-statement, said_on: 2023-03-02, source: tass, text: In it.}\n"
    )
    before = seeded.projections_status()
    result = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None}).invoke(
        cli, ["--db", seeded.url, "import", str(document)]
    )
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "run `claims projections rebuild`" in lines[0]
    assert seeded.projections_status() == before


def test_an_act_on_a_claim_never_asserted_is_named_by_the_rebuild(seeded: Tracker) -> None:
    """Every handler refuses a retraction of a claim the log does not hold; appended other than
    through claims, one cannot be folded, and the rebuild says which event in one line (it failed
    with a KeyError's traceback)."""
    connection = begin_write(seeded.engine)
    try:
        retraction = ev.ClaimRetracted(claim="never-asserted", on="2023-04-01", source="tass")
        [stored] = eventlog.append(connection, [Pending(retraction, 0)], "outsider")
        connection.commit()
    finally:
        connection.close()
    before = seeded.projections_status()
    message = rf"event {stored.position} of the log \(ClaimRetracted\) cannot be folded: no claim never-asserted"
    with pytest.raises(StorageError, match=message):
        seeded.rebuild_projections()
    assert seeded.projections_status() == before  # the rebuild rolled back whole
