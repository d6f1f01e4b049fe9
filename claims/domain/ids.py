"""Identifiers: lowercase slugs everywhere, and ids derived from content so re-imports stay idempotent."""

from __future__ import annotations

import hashlib
import json
import re

from claims.domain.errors import ValidationError

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, and "abc\n" is no slug.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
MAX_ID_LENGTH = 120


def is_slug(value: object) -> bool:
    """Whether ``value`` is a lowercase slug of at most MAX_ID_LENGTH characters."""
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH and SLUG.match(value) is not None


def check_slug(value: object, what: str = "id") -> str:
    """Return ``value`` when it is a lowercase slug, else raise ValidationError."""
    if value is None:
        raise ValidationError(f"{what} is required")
    if not is_slug(value):
        raise ValidationError(
            f"{what} must be a lowercase slug ([a-z0-9][a-z0-9-]*, at most {MAX_ID_LENGTH}): {shown(value)}"
        )
    return value


def shown(value: object, limit: int = 60) -> str:
    """``value`` as an error message quotes it, cut with an ellipsis only when longer than ``limit``.

    Text is quoted as Python writes it (``'Russia'``), so that a space or an escape in it is seen.
    Anything else comes from a parsed document (YAML or JSON), and is shown as JSON spells it:
    ``true``, ``["a"]``, ``null``, the way the user would write it; Python's spellings (``True``,
    ``['a']``, ``None``) would be a language the document is not in. A value JSON cannot spell (one
    given through the Python API: a tuple key, a self-containing list) falls back to ``repr``.
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(f"{value[:limit]}…")
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except RecursionError:
            text = f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= limit else f"{text[:limit]}…"


def derive_claim_id(party: str, said_on: str, text: str) -> str:
    """A stable id from the party, said date and text: the same claim imported twice gets the same id.

    A lone surrogate (no valid claim has one; the shape checks refuse it) is hashed as it stands
    rather than raised on, so that a document holding one is reported with its problems, not
    stopped by a traceback while its ids are derived."""
    digest = hashlib.sha256(f"{party}\x1f{said_on}\x1f{text}".encode("utf-8", "surrogatepass")).hexdigest()[:10]
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-").split("-")
    gist = "-".join(w for w in words[:6] if w)[:48].strip("-")
    day = re.sub(r"[^0-9]+", "-", said_on[:10]).strip("-")
    # The readable prefix is cut so that the id stays within MAX_ID_LENGTH (a long party id would
    # otherwise give a claim id no command accepts); the digest keeps it unique.
    prefix = "-".join(part for part in (party, day, gist) if part)
    prefix = prefix[: MAX_ID_LENGTH - len(digest) - 1].rstrip("-")
    return f"{prefix}-{digest}" if prefix else digest
