"""The README's verification recipe (docs/recipe_verify_chain.py), run as published on a real export.

The README includes that file verbatim, so running the file here keeps the docs and the code from
drifting apart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from claims.api import Tracker
from tests.audit.helpers import ZAKHAROVA, Run, position_of, read_lines, write_lines
from tests.conftest import REPO

RECIPE = REPO / "docs" / "recipe_verify_chain.py"


def recipe(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(RECIPE), str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_recipe_uses_the_standard_library_only() -> None:
    lines = RECIPE.read_text(encoding="utf-8").splitlines()
    assert {line.split()[1] for line in lines if line.startswith("import ")} <= {"hashlib", "json", "sys"}
    assert not [line for line in lines if line.startswith("from ")]


def test_the_recipe_accepts_a_real_export(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    result = recipe(out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"intact: {reviewed.checkpoint()['size']} events"


def test_the_recipe_names_a_changed_line(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    position = position_of(seeded, ZAKHAROVA)
    lines[position - 1]["payload"]["text"] = "A real meeting took place."
    write_lines(out, lines)
    result = recipe(out)
    assert result.returncode != 0
    assert result.stderr.strip() == f"broken at position {position}"


def test_the_recipe_names_a_dropped_line_and_garbage(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    write_lines(out, lines[:4] + lines[5:])
    assert recipe(out).stderr.strip() == "broken at position 5"
    text = out.read_text(encoding="utf-8").splitlines(keepends=True)
    text[1] = "not json\n"
    out.write_text("".join(text), encoding="utf-8")
    result = recipe(out)
    assert result.returncode != 0 and result.stderr.strip() == "broken at position 2"


def test_the_recipe_refuses_a_filtered_export(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    """A filtered export is no chain; `claims verify --file` checks it, the recipe rightly does not."""
    out = tmp_path / "russia.jsonl"
    assert run("export", "--party", "russia", "--out", str(out)).exit_code == 0
    assert recipe(out).returncode != 0


def test_the_recipe_and_verify_agree_on_blank_lines_bad_bytes_and_repeated_keys(
    seeded: Tracker, run: Run, tmp_path: Path
) -> None:
    """Blank lines hold no event for either; a byte that is not UTF-8 and a repeated key (which
    could show one value and hash another) break the line for both, and the recipe says where."""
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    exported = out.read_bytes().splitlines(keepends=True)
    size = len(exported)
    out.write_bytes(b"".join([*exported[:3], b"\n", *exported[3:], b"\n"]))
    assert recipe(out).stdout.strip() == f"intact: {size} events"
    assert run("verify", "--file", str(out)).exit_code == 0
    byte_order_mark, record_separator = b"\xef\xbb\xbf" + exported[1], b"\x1e\n"
    for line_two in (b"\xff" + exported[1], b'{"payload":{"text":"forged"},' + exported[1][1:], byte_order_mark):
        out.write_bytes(b"".join([exported[0], line_two, *exported[2:]]))
        result = recipe(out)
        assert result.returncode == 1 and result.stderr.strip() == "broken at position 2", result.stderr
        assert run("verify", "--file", str(out)).exit_code == 1
    out.write_bytes(b"".join([exported[0], record_separator, *exported[1:]]))  # blank only to str.strip
    assert recipe(out).returncode == 1 and run("verify", "--file", str(out)).exit_code == 1
