"""Work the runner measures in a process of its own, so that its peak memory is its own.

    python -m bench.worker import URL FILE [--profile OUT.txt]

imports a claims document through ``Tracker.import_file`` into an initialised database and prints
one JSON object: ``seconds`` (the import alone, not start-up), ``events`` and ``rss_before`` (the
resident memory in bytes once the modules are loaded and the database is open, before the
import). The runner measures the process's peak memory from outside (``bench.measure.run_child``).
With ``--profile``, the import runs under cProfile and the 40 costliest functions (cumulative and
own time) are written to OUT.txt.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _rss_now() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def profiled(action, out: Path):  # type: ignore[no-untyped-def]
    """Run ``action`` under cProfile and write its top functions to ``out``; returns its result."""
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    result = profile.runcall(action)
    text = io.StringIO()
    for order in ("cumulative", "tottime"):
        text.write(f"==== by {order} ====\n")
        pstats.Stats(profile, stream=text).strip_dirs().sort_stats(order).print_stats(40)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.getvalue(), encoding="utf-8")
    return result


def import_document(url: str, file: str, profile: str | None) -> dict[str, float | int]:
    import claims

    with claims.open_tracker(url, user="bench") as tracker:
        with tracker.engine.connect():  # the engine and the driver are loaded before the clock starts
            pass
        before = _rss_now()
        start = time.perf_counter()
        report = profiled(lambda: tracker.import_file(file), Path(profile)) if profile else tracker.import_file(file)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": report.events, "rss_before": before}


def main() -> None:
    parser = argparse.ArgumentParser(description="A measured piece of the benchmark, in its own process.")
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import")
    importing.add_argument("url")
    importing.add_argument("file")
    importing.add_argument("--profile")
    args = parser.parse_args()
    if args.command == "import":
        print(json.dumps(import_document(args.url, args.file, args.profile)))


if __name__ == "__main__":
    main()
