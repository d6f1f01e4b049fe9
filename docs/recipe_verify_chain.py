"""Verify a whole-log claims export: python recipe_verify_chain.py trail.jsonl (standard library only)."""

import hashlib
import json
import sys

prev_hash, position = "0" * 64, 0
with open(sys.argv[1], encoding="utf-8") as trail:
    for position, text in enumerate(trail, start=1):
        try:
            line = json.loads(text)
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
