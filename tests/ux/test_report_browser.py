"""The report of the G20 seed in a real browser: Debian's chromium, headless.

``make test`` installs chromium first when it is absent (``make ensure-chromium``). Under CI this
test must run, so a missing browser fails it; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from claims.api import Tracker
from tests.ux.conftest import Run
from tests.ux.pages import MEETING, PARTIES, Elements

TIMEOUT = 120


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if found:
        return found
    reason = "Debian's chromium is not installed (make ensure-chromium installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the browser test must run: {reason}")
    pytest.skip(reason)


def _browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    environment = {**os.environ, "HOME": str(profile)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=environment, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_seed_report_in_chromium(seeded_file: Tracker, run: Run, chromium: str, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = run("--db", seeded_file.url, "report", "--out", str(report))
    assert result.exit_code == 0, result.stderr
    page = report.resolve().as_uri()

    dom = _browse(chromium, tmp_path / "profile-dom", "--dump-dom", page).stdout
    elements = Elements(dom)
    # The script ran to its end without an error, and the SVG is in the DOM as written.
    assert any(tag == "html" and attrs.get("data-enhanced") == "yes" for tag, attrs in elements.found)
    assert [g["data-party"] for g in elements.having("lane", "g")] == PARTIES
    meeting = [c for c in elements.having("contradiction") if c["data-proposition"] == MEETING]
    assert len(meeting) == 1
    assert (meeting[0]["data-affirms"], meeting[0]["data-denies"]) == (
        "us-official-blinken-lavrov-spoke",
        "zakharova-no-real-meeting",
    )
    assert meeting[0]["d"].startswith("M")  # drawn: a path from one claim's mark to the other's
    assert all(m.get("tabindex") == "0" for m in elements.having("mark", "a"))  # the script made marks focusable

    screenshot = tmp_path / "report.png"
    _browse(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,1000", page)
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1400, 1000)
