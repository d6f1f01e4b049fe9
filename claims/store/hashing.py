"""The hash chain of SPEC section 6, byte for byte as the published recipe computes it.

Each log line is an object whose ``hash`` is the SHA-256 (hex) of the canonical JSON of the same
object without ``hash``; ``prev_hash`` links it to the line before. Canonical JSON is exactly
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

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
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return canonical_json(obj).encode("utf-8")


def load_payload(text: str) -> Any:
    """A stored payload parsed: by orjson, and again by the standard library when orjson refuses
    the text or reads a float from it. orjson reads an integer beyond 64 bits as a float, losing
    digits, so a payload with no float in orjson's reading holds no such integer and is exactly
    what the standard library would read. (A regex that looked for a run of 19 digits first cost
    four times the parse: a sixth of a rebuild.)"""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    return json.loads(text) if _holds_float(value) else value


def _holds_float(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return kind is float
    for item in items:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and _holds_float(item)):
            return True
    return False


def stored_payload(text: str | bytes) -> orjson.Fragment:
    """A payload as the log stores it: the canonical JSON text that was hashed, kept unparsed.

    In a line given to ``canonical_bytes`` (or ``orjson.dumps``) it is written byte for byte, so the
    whole-log export and ``verify`` hash and write what is stored without parsing a payload, and a
    stored payload that is no longer exactly the canonical text that was hashed fails the check.
    """
    return orjson.Fragment(text)


def line_hash(line: dict[str, Any]) -> str:
    """SHA-256 hex of a log line's canonical JSON, its own ``hash`` left out."""
    body = line
    if "hash" in body:
        body = dict(line)
        del body["hash"]
    return hashlib.sha256(canonical_bytes(body)).hexdigest()
