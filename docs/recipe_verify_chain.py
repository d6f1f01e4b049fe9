"""Verify a whole-log claims export: python recipe_verify_chain.py trail.jsonl (standard library only)."""

import hashlib
import json
import sys


def unique(pairs):
    """An object whose keys differ: with a key repeated, a reader and the hash could see two values."""
    if len({key for key, _ in pairs}) < len(pairs):
        raise ValueError("a repeated key")
    return dict(pairs)


prev_hash, position = "0" * 64, 0
with open(sys.argv[1], "rb") as trail:
    for text in trail:
        if not text.strip():
            continue  # a blank line holds no event
        position += 1
        try:
            line = json.loads(text.decode("utf-8"), object_pairs_hook=unique)  # not UTF-8: a ValueError
            body = {key: value for key, value in line.items() if key != "hash"}
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            ok = line["position"] == position and line["prev_hash"] == prev_hash
            ok = ok and hashlib.sha256(canonical.encode("utf-8")).hexdigest() == line["hash"]
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            sys.exit(f"broken at position {position}")
        prev_hash = line["hash"]
print(f"intact: {position} events")
