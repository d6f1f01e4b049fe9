"""A log cut short is told, and not hidden by the next write.

The log's triggers refuse DELETE and TRUNCATE, so only someone who can lift them (the owner, a
superuser, a hand on the SQLite file) can cut it short. The chain that is left is intact, but the
projections, folded in the transactions that appended the events lost, remember how far the log
went. Until now that went unsaid: `projections status` said "-1 behind", the next write took the
lost positions and moved the checkpoint to "up to date", and answers cited events the log no
longer held. Now `verify` reports the break, a write is refused in one line, and a rebuild, which
makes the projections end with the log again, warns that it forgets the last trace.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from claims.api import Tracker
from claims.cli import cli
from claims.domain.errors import StorageError


def cut_last(tracker: Tracker, count: int) -> int:
    """Delete the log's last ``count`` events past its triggers, as their owner could; the new head."""
    with tracker.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET session_replication_role = replica")  # no triggers fire
        else:
            connection.exec_driver_sql("DROP TRIGGER events_refuse_delete")
        head = connection.execute(text("SELECT max(position) FROM events")).scalar_one()
        connection.execute(text("DELETE FROM events WHERE position > :keep"), {"keep": head - count})
        connection.commit()
    return int(head - count)


def run(tracker: Tracker, *args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None}).invoke(
        cli, ["--db", tracker.url, *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_log_cut_short_is_reported_by_verify_and_refuses_writes_until_a_rebuild(seeded: Tracker) -> None:
    claim = next(iter(seeded.list_claims()))["id"]
    seeded.retract(claim, on="2023-04-01", source="tass")
    seeded.verdict(claim, rating="false", by="tass")
    head = cut_last(seeded, 2)
    cut = (
        f"the log ends at position {head}, but its projections have folded events up to {head + 2}: "
        "2 events were deleted"
    )

    chain = seeded.verify()
    assert not chain.intact and chain.broken_at == head + 1 and cut in str(chain.problem)
    code, _, err = run(seeded, "verify")
    assert code == 1 and err.startswith(f"Error: the log: chain broken at position {head + 1}: {cut}")
    code, out, _ = run(seeded, "projections", "status")
    assert code == 0 and f"position {head + 2} (2 ahead: events were deleted from the log's end" in out

    for write in (
        lambda: seeded.add_party("brazil", name="Brazil"),
        lambda: seeded.reaffirm(claim, on="2023-05-01", source="tass"),
    ):
        with pytest.raises(StorageError, match=f"{cut} from its end outside claims: run `claims projections rebuild`"):
            write()
    assert seeded.projections_status()["head"] == head  # nothing written

    code, _, err = run(seeded, "projections", "rebuild")
    assert code == 0
    assert f"the projections had folded events up to position {head + 2}; they now end with the log, at {head}" in err
    assert seeded.show(claim)["claim"]["status"] == "standing"  # the retraction lost is no longer cited
    assert seeded.verify().intact
    seeded.add_party("brazil", name="Brazil")
    status = seeded.projections_status()
    assert status["checkpoint"] == status["head"] == head + 1


def test_writers_committing_meanwhile_are_no_log_cut_short(seeded: Tracker) -> None:
    """verify reads the chain a page at a time and status the head beside the checkpoint: at READ
    COMMITTED (PostgreSQL), an add committed between two reads made a checkpoint past the head
    just read, which said that events were deleted (297 of 361 verifies, in a review)."""
    import threading

    import claims

    done = threading.Event()

    def write() -> None:
        with claims.open_tracker(seeded.url, user="writer") as writer:
            for n in range(400):
                if done.is_set():
                    return
                writer.add_party(f"party-{n}", name=f"Party {n}")

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for _ in range(25):
            chain = seeded.verify()
            assert chain.intact, chain.problem
            status = seeded.projections_status()
            assert status["checkpoint"] <= status["head"]
    finally:
        done.set()
        thread.join()
