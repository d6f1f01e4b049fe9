"""JSON read strictly: what the standard library lets through but no JSON text may hold.

``json.loads`` keeps the last of a repeated key without a word, and reads ``NaN``, ``Infinity``
and ``-Infinity``, which are not JSON. Both matter wherever a file is checked by a hash: a line
whose first ``payload`` is forged and whose last is the hashed one would read one way to a person
(or a parser that keeps the first key) and verify the other way, and orjson writes ``NaN`` as
``null``, so a ``null`` replaced by ``NaN`` would hash as the original. Claims documents are read
the same way, so that a repeated field is reported rather than silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from claims.domain.errors import ValidationError

# Said alike of JSON and YAML, so that the same number is refused in the same words in either.
TOO_MANY_DIGITS = "a value cannot be read (a number of more than 4,300 digits)"


def loads(text: str | bytes, *, parse_int: Callable[[str], Any] | None = None) -> Any:
    """``json.loads`` that refuses a repeated key and the non-JSON constants; these, nesting too
    deep for the parser and a number too long for Python are ValidationError. Malformed text is
    still ``json.JSONDecodeError``, which says where.

    ``parse_int`` is ``json.loads``'s: claims documents use it to keep an integer that int() would
    respell as the text it is (``claims.io.loading``); the audit trail's integers stay integers."""
    try:
        return json.loads(text, object_pairs_hook=unique_keys, parse_constant=_refuse_constant, parse_int=parse_int)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ValidationError("nested too deeply") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise ValidationError(TOO_MANY_DIGITS) from None


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are unique (``json`` keeps the last of a repeated one silently)."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):  # a name repeated: find the first repetition to name it
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValidationError(f"not valid JSON: duplicate key {key!r}")
            seen.add(key)
    return mapping


def _refuse_constant(name: str) -> Any:
    raise ValidationError(f"not valid JSON: {name}")
