"""Measuring helpers for the benchmark runner: clocks, child processes with their peak memory,
PostgreSQL scratch databases and the description of the machine a table was measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("CLAIMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


K = TypeVar("K")


def log(message: str) -> None:
    """Progress for whoever watches the run (standard error; the table alone goes to standard output)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took, and what it returned."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def median_seconds(action: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    """The median wall time of ``runs`` calls of ``action`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        action()
    return statistics.median(timed(action)[0] for _ in range(runs))


def interleaved_call_medians(actions: dict[K, Callable[[], Any]], runs: int) -> dict[K, float]:
    """The median wall time of each action over ``runs`` rounds, after one untimed warm-up round.

    Each round calls every action once, in turn, as ``interleaved_medians`` runs commands: a slow
    spell of the machine (another tenant, the collector's full pass) then lands on a few calls of
    every action, which their medians shrug off, rather than on every call of whichever action
    was being timed. Timed one action after another, one question of the ba7501f run read 87 ms
    where the same code took 32 to 43 ms after it, a spell of that kind as far as we can tell."""
    for action in actions.values():
        action()
    times: dict[K, list[float]] = {key: [] for key in actions}
    for _ in range(runs):
        for key, action in actions.items():
            times[key].append(timed(action)[0])
    return {key: statistics.median(values) for key, values in times.items()}


@dataclass(frozen=True)
class Child:
    """A finished child process: its wall time, its own peak resident memory, its output."""

    seconds: float
    peak_bytes: int
    returncode: int
    stdout: str
    stderr: str


# A small Python process that runs the measured command and reports the command's own wall time
# and peak memory. On Linux a child's ru_maxrss starts from the RSS of the process it was forked
# from (the kernel keeps the high-water mark across exec), so a child forked straight from this
# runner, which holds hundreds of megabytes of rows, would report at least that much. Forked from
# this launcher instead, the command's peak is its own, with a floor of the launcher's ~10 MB.
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": seconds, "peak": peak, "code": code}, out)
"""


def run_child(argv: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True) -> Child:
    """Run ``argv`` to completion and measure its wall time and its own peak resident memory.

    Output goes to files rather than pipes, so that a large output cannot block the child and
    reading it does not count against the child's clock.
    """
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="claims-bench-") as scratch:
        report = Path(scratch) / "report.json"
        out_path, err_path = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            subprocess.run(
                [sys.executable, "-c", _LAUNCHER, str(report), *argv], stdout=out, stderr=err, env=env, check=False
            )
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        if not report.exists():
            raise RuntimeError(f"could not run {' '.join(argv)}: {stderr.strip()[-2000:]}")
        measured = json.loads(report.read_text(encoding="utf-8"))
    child = Child(measured["seconds"], measured["peak"], measured["code"], stdout, stderr)
    if check and child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: {stderr.strip()[-2000:]}")
    return child


def interleaved_medians(
    commands: dict[str, Callable[[int], Sequence[str]]], runs: int, *, env: dict[str, str] | None = None
) -> dict[str, float]:
    """The median wall time of each command over ``runs`` rounds, after one untimed warm-up round.

    Each round runs every command once, in turn, so that a machine busy with other work slows the
    baseline and ours alike rather than whichever happened to run during the busy spell. A command
    is given as a function of the round (-1 for the warm-up), for commands that must differ per run.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():
        run_child(argv(-1), env=env)
    for round_ in range(runs):
        for name, argv in commands.items():
            times[name].append(run_child(argv(round_), env=env).seconds)
    return {name: statistics.median(values) for name, values in times.items()}


# -- PostgreSQL -----------------------------------------------------------------------------------


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)


def postgres_unavailable() -> str | None:
    """None when the PostgreSQL server of the tests is reachable; otherwise why not."""
    try:
        with pg_admin():
            return None
    except Exception as error:  # any failure to connect means: no server for this run
        return f"PostgreSQL not reachable at {PG_ADMIN}: {str(error).strip().splitlines()[0]}"


def pg_url(name: str, driver: str = "postgresql+psycopg") -> str:
    """The URL of database ``name`` on the admin server, for SQLAlchemy (or ``driver='postgresql'``: psycopg)."""
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1) + f"/{name}"


def pg_parts() -> dict[str, str]:
    """Host, port, user and password of the admin URL, for libraries configured by pieces."""
    from urllib.parse import urlsplit

    parts = urlsplit(PG_ADMIN)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
    }


@contextmanager
def pg_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database ``claims_bench_<pid>_<label>``, dropped afterwards; yields its name."""
    name = f"claims_bench_{os.getpid()}_{label}_{uuid.uuid4().hex[:6]}"
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version() -> str:
    try:
        with pg_admin() as admin:
            return str(admin.execute("SHOW server_version").fetchone()[0])
    except Exception:
        return "not reachable"


# -- the machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
        return revision + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _eventsourcing_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("eventsourcing")
    except metadata.PackageNotFoundError:
        return "not installed (its baselines are n/a)"


def machine() -> dict[str, str]:
    """What the figures were measured on: they only compare within one run on one machine."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "ram": _memory_total(),
        "os": f"{platform.system()} {platform.release()}",
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(),
        "eventsourcing": _eventsourcing_version(),
        "claims revision": _git_revision(),
        "load average at start": " ".join(f"{x:.2f}" for x in load) if load else "unknown",
    }
