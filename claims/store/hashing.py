"""The hash chain of SPEC section 6, byte for byte as the published recipe computes it.

Each log line is an object whose ``hash`` is the SHA-256 (hex) of the canonical JSON of the same
object without ``hash``; ``prev_hash`` links it to the line before. Canonical JSON is exactly
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the recipe itself needs only json
    _orjson = None

GENESIS = "0" * 64
LINE_FIELDS = (
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
)


def canonical_json(obj: Any) -> str:
    """The canonical text of a JSON value (no floats are ever hashed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(obj: Any) -> bytes:
    """``canonical_json(obj)`` in UTF-8, computed by orjson when it is installed.

    orjson with OPT_SORT_KEYS writes byte for byte what the recipe writes for payloads without
    floats (a property test holds the two together) and is several times faster. Anything orjson
    refuses (an integer beyond 64 bits, a lone surrogate) goes through the standard library, which
    then decides.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, option=_orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return canonical_json(obj).encode("utf-8")


def line_hash(line: dict[str, Any]) -> str:
    """SHA-256 hex of a log line's canonical JSON, its own ``hash`` left out."""
    body = {k: v for k, v in line.items() if k != "hash"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()
