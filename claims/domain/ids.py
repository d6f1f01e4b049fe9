"""Identifiers: lowercase slugs everywhere, and ids derived from content so re-imports stay idempotent."""

from __future__ import annotations

import hashlib
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
        shown = value if isinstance(value, str) and len(value) <= 60 else f"{str(value)[:60]}…"
        raise ValidationError(
            f"{what} must be a lowercase slug ([a-z0-9][a-z0-9-]*, at most {MAX_ID_LENGTH}): {shown!r}"
        )
    return value


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
