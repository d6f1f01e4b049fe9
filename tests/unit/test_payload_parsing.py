"""A stored payload reads back exactly as the standard library reads it, whatever it holds.

``load_payload`` parses with orjson for speed, and must never return what the standard library
would not: orjson reads an integer beyond 64 bits as a float, and refuses NaN, infinities and lone
surrogates. The standard library is the oracle here, compared with the type of every value (1, 1.0
and True are equal in Python, and a lost digit must not hide behind that).
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from claims.store.hashing import canonical_json, load_payload

BEYOND_64_BITS = [2**63, 2**64 - 1, 2**64, 2**70, -(2**63), -(2**63) - 1, 10**19, 10**30, -(10**25)]
numbers = st.one_of(
    st.integers(),
    st.sampled_from(BEYOND_64_BITS),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
)
strings = st.one_of(st.text(max_size=30), st.sampled_from(["\ud800", "a\udfffb", "1234567890123456789012"]))
payloads = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, strings),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)


def typed(value: Any) -> Any:
    """The value with the type of every part spelled out, NaN made comparable."""
    if isinstance(value, dict):
        return ("dict", {key: typed(item) for key, item in value.items()})
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


@given(payload=payloads)
def test_a_payload_reads_back_as_the_standard_library_reads_it(payload: Any) -> None:
    for text in (json.dumps(payload), json.dumps(payload, ensure_ascii=False), canonical_json(payload)):
        assert typed(load_payload(text)) == typed(json.loads(text))


def test_integers_beyond_64_bits_keep_every_digit_wherever_they_are() -> None:
    for number in BEYOND_64_BITS:
        for payload in (number, [1, number], {"a": {"b": [number]}}, {"a": "x", "n": number}):
            text = canonical_json(payload)
            assert typed(load_payload(text)) == typed(payload), text


def test_a_float_is_read_as_a_float_and_a_digit_run_inside_text_stays_text() -> None:
    assert typed(load_payload('{"x":1.5,"y":[2]}')) == typed({"x": 1.5, "y": [2]})
    assert typed(load_payload('{"id":"12345678901234567890123","n":7}')) == typed(
        {"id": "12345678901234567890123", "n": 7}
    )
