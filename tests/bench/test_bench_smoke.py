"""The benchmark runner end to end at a tiny size, so that the bench code cannot rot.

No timing is asserted here (timings belong to `make bench`): only that the run finishes, prints
the one table with every figure's row, and writes it with the machine's description. SQLite runs
as if the `eventsourcing` library were absent (its baselines then read n/a), which is what `make
test` has; PostgreSQL runs with the library when it is installed, and follows the rule of every
PostgreSQL test: skipped where no server is reachable, except under CI.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import require_postgres

REPO = Path(__file__).resolve().parents[2]

FIGURES = (
    "bulk import, {name}: vs {limit}",
    "bulk import, {name}: vs the hash chain alone",
    "bulk import, {name}: vs eventsourcing bulk save",
    "bulk import, {name}: peak memory",
    "one claim per transaction (Tracker.add_claim), {name}: vs raw",
    "one claim per transaction, {name}: vs eventsourcing save per aggregate",
    "narrative party-0 --topic topic-0 --as-of",
    "narrative party-0 --topic topic-0 --known-at <import time>",
    "narrative party-0 --topic topic-0 --known-at <a later import's time>",
    "compare party-0 party-1 --topic topic-0 --as-of",
    "compare party-0 party-1 --topic topic-0 --known-at",
    "timeline --topic topic-0 --party party-0 (no --as-of",
    "timeline --topic topic-0 --party party-0 --known-at",
    "narrative of a whole party",
    "projection rebuild, {name}",
    "projection rebuild, {name}: vs the bare driver writing its rows",
    "`claims export --format jsonl`, {name}: rate",
    "`claims export --format jsonl`, {name}: peak memory",
    "`claims verify`, {name}: rate",
    "`claims verify`, {name}: peak memory",
    "`claims narrative` end to end, {name}",
    "`claims narrative` end to end, {name}: vs the imports, the driver and one connection",
    "`claims narrative` end to end, {name}: vs the same imports, the collector paused and frozen",
    "`claims add` on the big database, {name}",
    "`claims --help`",
    "`claims --version`",
)


def table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines, f"no table in:\n{text}"
    assert lines[0].startswith("| figure | ours | baseline | ratio | target | met? |")
    assert lines[1].startswith("| --- |")
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_benchmark_runs_end_to_end(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        require_postgres()
    results = tmp_path / "results"
    without_peer = backend == "sqlite" or importlib.util.find_spec("eventsourcing") is None
    environment = {
        **os.environ,
        "BENCH_EVENTS": "300",
        "BENCH_BACKENDS": backend,
        "BENCH_RESULTS": str(results),
        "BENCH_WORK": str(tmp_path / "work"),
        "BENCH_SINGLE": "3",
        "BENCH_QUERY_RUNS": "2",
        "BENCH_STARTUP_RUNS": "1",
    }
    environment.pop("CLAIMS_DATABASE_URL", None)
    if backend == "sqlite":
        environment["BENCH_NO_EVENTSOURCING"] = "1"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    rows = table_rows(run.stdout)
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    limit = {"sqlite": "raw executemany", "postgresql": "psycopg COPY"}[backend]
    figures = [row[0] for row in rows]
    for figure in FIGURES:
        wanted = figure.format(name=name, limit=limit)
        found = [f for f in figures if f.startswith(wanted)]
        assert found, f"no row for {wanted!r} in {figures}"
    assert len(rows) == len(FIGURES), figures
    for figure, ours, baseline, ratio, target, met in rows:
        assert met in {"yes", "no", "n/a", "—"}, (figure, ours, met)
        assert ours != "not measured" and not ours.startswith("error"), (figure, ours)
        assert target, figure
        if "eventsourcing" in figure:
            assert (baseline.startswith("n/a") and ratio == "n/a") == without_peer, (figure, baseline)

    # The big import's time lies inside the log: the later import's claims are not in its answer.
    answer = {
        row[0].split(",")[0]: int(row[1].split("(")[1].split(" in the answer")[0].replace(",", ""))
        for row in rows
        if "in the answer" in row[1]
    }
    assert (
        answer["narrative party-0 --topic topic-0 --known-at <import time>"]
        < answer["narrative party-0 --topic topic-0 --known-at <a later import's time>"]
    )

    written = sorted(path.name for path in results.iterdir())
    assert "latest.md" in written and len(written) == 2, written
    latest = (results / "latest.md").read_text(encoding="utf-8")
    assert table_rows(latest) == rows
    for fact in ("python:", "cpu:", "cores:", "ram:", "sqlite:", "postgresql:", "date:"):
        assert f"- {fact}" in latest, fact


@pytest.mark.parametrize(("import_click", "noted"), [(0.045, False), (0.065, False), (0.0683, True), (0.1123, True)])
def test_a_run_on_a_slow_machine_says_so_in_its_notes(
    import_click: float, noted: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up step's `import click` baseline decides; the run's other figures are left alone."""
    from bench import run as bench_run

    def medians(commands: dict[str, object], runs: int, env: dict[str, str]) -> dict[str, float]:
        return {"base": import_click, "startup.help": 0.06, "startup.version": 0.06}

    monkeypatch.setattr(bench_run, "interleaved_medians", medians)
    run = bench_run.Run(bench_run.settings_from(["--backends", "sqlite", "--work", str(tmp_path)]))
    run.declare()
    run.startup()
    if noted:
        assert len(run.notes) == 1
        assert f"`python -c 'import click'` took {import_click * 1000:.1f} ms" in run.notes[0]
        assert "43 to 56 ms" in run.notes[0]
    else:
        assert run.notes == []


def test_queries_are_timed_in_rounds_so_a_slow_spell_moves_no_median(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each round asks every question once, in turn, after one warm-up round; a spell that slows
    everything for two rounds lands on two calls of each question, and no median moves."""
    from bench import measure

    calls: list[str] = []

    def timed(action: Callable[[], float]) -> tuple[float, None]:
        return action(), None  # each question says how long it took

    def question(name: str, seconds: float) -> Callable[[], float]:
        def ask() -> float:
            calls.append(name)
            timed_round = (len(calls) - 1) // 3 - 1  # -1 is the warm-up round
            return seconds + (1.0 if timed_round in (2, 3) else 0.0)

        return ask

    monkeypatch.setattr(measure, "timed", timed)
    actions = {"a": question("a", 0.010), "b": question("b", 0.020), "c": question("c", 0.030)}
    medians = measure.interleaved_call_medians(actions, runs=7)

    assert calls == ["a", "b", "c"] * 8
    assert medians == pytest.approx({"a": 0.010, "b": 0.020, "c": 0.030})
