"""The processes of the concurrent-writers test, run as ``python workers.py MODE …``.

- ``api URL WORKER COUNT OUT GO``: add COUNT claims through the Python API, one transaction each,
  retracting about one in ten of its own claims at random, and the shared claim once.
- ``cli URL WORKER COUNT OUT GO``: the same through the installed ``claims`` command: a few
  ``claims add`` and ``claims retract`` calls (each is a whole process, so they are few) and the
  rest of its claims in ``claims import -`` documents piped on standard input.
- ``tail URL OUT STOP``: follow the log by position (``WHERE position > last``) until STOP exists,
  then read once more; records every event seen and any gap or broken link it saw on the way.

Each writer waits for the file GO, so that all start together, and writes what it recorded (and
every failure, with its traceback or standard error) as JSON to OUT.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import claims
from claims.store import eventlog

SHARED_CLAIM = "shared-claim"
PARTIES = ("north", "south", "east")
TOPICS = ("summit", "pipeline")
CLAIMS_BIN = str(Path(sys.executable).parent / "claims")


def claim_fields(worker: str, number: int) -> dict[str, Any]:
    return {
        "party": PARTIES[number % len(PARTIES)],
        "topic": TOPICS[number % len(TOPICS)],
        "said_on": f"2023-0{1 + number % 9}-{1 + number % 28:02d}",
        "source": "wire",
        "text": f"Writer {worker} says thing {number}; 'quotes' and -- dashes; ünïcödé.",
    }


def wait_for(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(0.005)


def api_writer(url: str, worker: str, count: int, out: str, go: str) -> None:
    rng = random.Random(f"api-{worker}")
    result: dict[str, Any] = {"claims": [], "retracted": [], "shared": 0, "failures": []}
    tracker = claims.open_tracker(url, user=f"api-{worker}")
    with tracker.engine.connect():
        pass
    wait_for(go)
    standing: list[str] = []
    with tracker:
        for number in range(count):
            try:
                explicit = f"{worker}-c{number}" if number % 2 == 0 else None
                outcome = tracker.add_claim(id=explicit, **claim_fields(worker, number))
                assert outcome.recorded, f"claim {outcome.id} was not recorded"
                result["claims"].append(outcome.id)
                standing.append(outcome.id)
                if standing and rng.random() < 0.1:
                    victim = standing.pop(rng.randrange(len(standing)))
                    assert tracker.retract(victim, on="2023-12-01", source="wire", reason=f"{worker}").recorded
                    result["retracted"].append(victim)
                if number == count // 2:
                    assert tracker.retract(SHARED_CLAIM, on="2023-12-02", reason=f"writer {worker}").recorded
                    result["shared"] += 1
            except Exception:
                result["failures"].append(traceback.format_exc())
    Path(out).write_text(json.dumps(result))


def cli_writer(url: str, worker: str, count: int, out: str, go: str) -> None:
    rng = random.Random(f"cli-{worker}")
    result: dict[str, Any] = {"claims": [], "retracted": [], "shared": 0, "failures": [], "calls": 0}
    adds = min(count, max(2, count // 40))  # 2 calls by default, 50 under `make stress`
    chunk = max(1, count - adds if count < 200 else (count - adds) // 4)  # 1 import -, or 4

    def call(*args: str, stdin: bytes | None = None) -> str | None:
        done = subprocess.run(
            [CLAIMS_BIN, "--db", url, "--as-user", f"cli-{worker}", *args],
            input=stdin,
            capture_output=True,
            check=False,
        )
        result["calls"] += 1
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0 or "Traceback" in stderr:
            result["failures"].append(f"claims {' '.join(args)} -> exit {done.returncode}: {stderr}")
            return None
        return done.stdout.decode("utf-8").strip()

    wait_for(go)
    for number in range(adds):
        fields = claim_fields(worker, number)
        options = [f"--{name.replace('_', '-')}={value}" for name, value in fields.items()]
        claim_id = call("add", *options, f"--id={worker}-c{number}")
        if claim_id:
            result["claims"].append(claim_id)
    for start in range(adds, count, chunk):
        numbers = range(start, min(count, start + chunk))
        document = {
            "format": "claims/v1",
            "claims": [{"id": f"{worker}-c{n}", **claim_fields(worker, n)} for n in numbers],
        }
        if call("import", "-", stdin=json.dumps(document).encode()) is not None:
            result["claims"] += [f"{worker}-c{n}" for n in numbers]
    if call("retract", SHARED_CLAIM, "--on", "2023-12-02", "--reason", f"writer {worker}") is not None:
        result["shared"] += 1
    for victim in rng.sample(result["claims"], k=min(len(result["claims"]), max(1, adds // 2))):
        if call("retract", victim, "--on", "2023-12-01", "--source", "wire", "--reason", worker) is not None:
            result["retracted"].append(victim)
    Path(out).write_text(json.dumps(result))


def tail(url: str, out: str, stop: str) -> None:
    seen: list[list[Any]] = []
    problems: list[str] = []
    last, last_hash = 0, "0" * 64
    tracker = claims.open_tracker(url, user="tail")
    with tracker, tracker.engine.connect() as connection:
        while True:
            stopping = os.path.exists(stop)
            for event in eventlog.read(connection, since=last):
                if event.position != last + 1:
                    problems.append(f"after position {last} the reader saw {event.position}")
                if event.prev_hash != last_hash:
                    problems.append(f"event {event.position} does not link to the event the reader saw before it")
                seen.append([event.position, event.event_id])
                last, last_hash = event.position, event.hash
            connection.rollback()  # end the read transaction: the next poll sees what was committed since
            if stopping:
                break
            time.sleep(0.02)
    Path(out).write_text(json.dumps({"seen": seen, "problems": problems}))


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    if mode == "tail":
        tail(*arguments)
    else:
        writer = api_writer if mode == "api" else cli_writer
        url, worker, count, out, go = arguments
        writer(url, worker, int(count), out, go)
