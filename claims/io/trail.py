"""The JSONL audit trail and the CSV event table: streamed line by line, memory flat in the log size."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from claims.domain.errors import ValidationError
from claims.store.hashing import LINE_FIELDS

CSV_FIELDS = LINE_FIELDS


def write_jsonl(lines: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line, keys in the log's order; returns the number of lines."""
    count = 0
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def write_csv(lines: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One row per event; the payload as canonical JSON text in its column."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    count = 0
    for line in lines:
        row = dict(line)
        row["payload"] = json.dumps(line["payload"], sort_keys=True, ensure_ascii=False)
        writer.writerow("" if row[f] is None else row[f] for f in CSV_FIELDS)
        count += 1
    return count


def read_jsonl(stream: TextIO, name: str) -> Iterator[dict[str, Any]]:
    """Lines of an exported trail; a line that is not a JSON object is a clear error naming it."""
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            raise ValidationError(f"{name}: line {number} is not JSON") from None
        if not isinstance(line, dict):
            raise ValidationError(f"{name}: line {number} is not a JSON object")
        yield line
