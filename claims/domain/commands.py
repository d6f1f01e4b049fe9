"""Commands: what a user asks for, checked for shape before anything touches the log.

Each command is a dataclass named as an instruction, treated as immutable once built (not frozen:
a frozen dataclass sets each field through ``object.__setattr__``, which costs several µs a
command, and an import builds one for every entry of its document). ``problems()`` returns every
shape error as ``(field, message)`` pairs rather than stopping at the first, so that a claims
document can report all of them by path. References to other records are checked by the
handlers, which can see the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claims.domain import events as ev
from claims.domain.claim import CORRECTABLE_FIELDS, RELATIONS, REMOVABLE_FIELDS, STANCES
from claims.domain.dates import check_said_date
from claims.domain.errors import ValidationError
from claims.domain.ids import check_slug, is_slug, shown

Problem = tuple[str, str]

PARTY_KINDS = ("state", "bloc", "organisation", "person", "other")
SOURCE_KINDS = (
    "news-agency",
    "newspaper",
    "broadcaster",
    "government-statement",
    "social-post",
    "document",
    "website",
    "fact-checker",
    "other",
)
MAX_TEXT = 20_000
# Control characters other than newline and tab (C0, DEL and C1: U+009B is a terminal's CSI, as
# ESC [ is), and lone surrogates (which cannot be UTF-8).
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_NAME = 500
MAX_RECORDER = 200  # the width of the log's recorded_by column


def _collect(problems: list[Problem], name: str, check: Callable[..., object], *args: Any, **options: Any) -> None:
    """Run ``check(*args, **options)``; a ValidationError it raises becomes a problem of ``name``."""
    try:
        check(*args, **options)
    except ValidationError as error:
        problems.append((name, str(error)))


def _text(value: object, what: str, *, limit: int, required: bool = True) -> None:
    """A text field: a required one must say something (spaces, tabs and newlines alone do not)."""
    if value is None:
        if required:
            raise ValidationError(f"{what} is required")
        return
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    if len(value) > limit:
        raise ValidationError(f"{what} is longer than {limit} characters")
    # A printable text (most are) has neither: only then is the pattern needed, to find which.
    printable = value.isprintable()
    bad = None if printable else _FORBIDDEN.search(value)
    if bad:
        # Named, for a text pasted from a page mis-decoded (Windows-1252's quotes are U+0091 to
        # U+0094 read as Latin-1) is hard to fix otherwise.
        problem = "is not valid Unicode" if bad.group() >= "\ud800" else "contains control characters"
        raise ValidationError(f"{what} {problem} (U+{ord(bad.group()):04X} at character {bad.start() + 1})")
    # After the control characters, some of which str.strip() takes. A text that is not printable
    # (a newline, a zero-width space) may still say nothing: only blanks and invisible marks.
    if required and not (value.strip() if printable else any(map(_visible, value))):
        raise ValidationError(f"{what} is required")


def _visible(char: str) -> bool:
    """Whether ``char`` shows: not a blank, nor a format character (U+200B ZERO WIDTH SPACE, U+FEFF)."""
    return not char.isspace() and unicodedata.category(char) != "Cf"


def _choice(value: object, what: str, choices: tuple[str, ...], *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(f"{what} must be one of {', '.join(choices)}: {shown(value, 80)}")


def check_recorder(name: object) -> None:
    """The recorder written on every event (``--as-user``, ``CLAIMS_USER`` or the login name)."""
    _text(name, "recorder (--as-user or CLAIMS_USER)", limit=MAX_RECORDER)


def _url(value: object) -> None:
    if value is None:
        return
    _text(value, "url", limit=2000, required=False)  # blank: not an http(s) address, below
    assert isinstance(value, str)
    # The scheme in any case (RFC 3986 says it is case-insensitive: HTTPS://x was refused), and a
    # host after it (http:// alone was accepted).
    scheme, _, rest = value.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise ValidationError(f"url must be an http(s) address with a host and without spaces: {value[:80]!r}")


def _slug(found: list[Problem], name: str, value: object, what: str, *, optional: bool = False) -> None:
    """Collect the problem of a slug field, if any: a valid one costs one match and no exception."""
    if not (is_slug(value) or (optional and value is None)):
        _collect(found, name, check_slug, value, what)


class Command:
    """Base of commands: a shape check and the event the command becomes."""

    __slots__ = ()

    def problems(self) -> list[Problem]:
        raise NotImplementedError

    def check(self) -> None:
        """Raise one ValidationError carrying the first problem (for single commands on the CLI)."""
        found = self.problems()
        if found:
            name, message = found[0]
            raise ValidationError(f"{name}: {message}" if not message.startswith(name) else message)


@dataclass(slots=True, kw_only=True)
class AddParty(Command):
    id: str
    name: str
    kind: str = "other"

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "id", self.id, "party id")
        _collect(found, "name", _text, self.name, "name", limit=MAX_NAME)
        _collect(found, "kind", _choice, self.kind, "kind", PARTY_KINDS)
        return found

    def event(self) -> ev.PartyRegistered:
        return ev.PartyRegistered(party=self.id, name=self.name, kind=self.kind)


@dataclass(slots=True, kw_only=True)
class AddSpeaker(Command):
    id: str
    name: str
    party: str
    role: str | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "id", self.id, "speaker id")
        _collect(found, "name", _text, self.name, "name", limit=MAX_NAME)
        _slug(found, "party", self.party, "party")
        _collect(found, "role", _text, self.role, "role", limit=MAX_NAME, required=False)
        return found

    def event(self) -> ev.SpeakerRegistered:
        return ev.SpeakerRegistered(speaker=self.id, name=self.name, party=self.party, role=self.role)


@dataclass(slots=True, kw_only=True)
class AddSource(Command):
    """Register a source; without a kind it is of kind ``other`` (SourceRegistered version 2)."""

    id: str
    name: str
    kind: str | None = None
    url: str | None = None
    published: str | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = "other"

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "id", self.id, "source id")
        _collect(found, "name", _text, self.name, "name", limit=MAX_NAME)
        _collect(found, "kind", _choice, self.kind, "kind", SOURCE_KINDS, required=False)
        _collect(found, "url", _url, self.url)
        if self.published is not None:
            _collect(found, "published", check_said_date, self.published)
        return found

    def event(self) -> ev.SourceRegistered:
        return ev.SourceRegistered(
            source=self.id, name=self.name, kind=self.kind or "other", url=self.url, published=self.published
        )


@dataclass(slots=True, kw_only=True)
class AddTopic(Command):
    id: str
    title: str

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "id", self.id, "topic id")
        _collect(found, "title", _text, self.title, "title", limit=MAX_NAME)
        return found

    def event(self) -> ev.TopicRegistered:
        return ev.TopicRegistered(topic=self.id, title=self.title)


@dataclass(slots=True, kw_only=True)
class AssertClaim(Command):
    """Record one assertion; ``id`` None means an id derived from party, said date and text."""

    party: str
    topic: str
    said_on: str
    source: str
    text: str
    id: str | None = None
    speaker: str | None = None
    quote: str | None = None
    via: tuple[str, ...] = ()
    proposition: str | None = None
    stance: str | None = None
    responds_to: str | None = None
    relation: str | None = None

    def problems(self) -> list[Problem]:
        # An optional field left out (None) is checked no further: most claims of an import leave
        # several out, and each check is a call or two.
        found: list[Problem] = []
        if self.id is not None:
            _slug(found, "id", self.id, "claim id")
        _slug(found, "party", self.party, "party")
        _slug(found, "topic", self.topic, "topic")
        _collect(found, "said_on", check_said_date, self.said_on)
        _slug(found, "source", self.source, "source")
        _collect(found, "text", _text, self.text, "text", limit=MAX_TEXT)
        if self.speaker is not None:
            _slug(found, "speaker", self.speaker, "speaker")
        if self.quote is not None:
            _collect(found, "quote", _text, self.quote, "quote", limit=MAX_TEXT, required=False)
        for index, relay in enumerate(self.via):
            _slug(found, f"via[{index}]", relay, "via")
        if (self.proposition is None) != (self.stance is None):
            found.append(("stance", "proposition and stance go together"))
        if self.proposition is not None:
            _slug(found, "proposition", self.proposition, "proposition")
        if self.stance is not None:
            _collect(found, "stance", _choice, self.stance, "stance", STANCES)
        if (self.responds_to is None) != (self.relation is None):
            found.append(("responds_to", "responds_to needs both a claim and a relation"))
        if self.responds_to is not None:
            _slug(found, "responds_to", self.responds_to, "responds_to claim")
        if self.relation is not None:
            _collect(found, "relation", _choice, self.relation, "relation", RELATIONS)
        return found

    def event(self, claim_id: str) -> ev.ClaimAsserted:
        return ev.ClaimAsserted(
            claim=claim_id,
            party=self.party,
            topic=self.topic,
            said_on=self.said_on,
            source=self.source,
            text=self.text,
            speaker=self.speaker,
            quote=self.quote,
            via=tuple(self.via),
            proposition=self.proposition,
            stance=self.stance,
            responds_to=self.responds_to,
            relation=self.relation,
        )


@dataclass(slots=True, kw_only=True)
class RetractClaim(Command):
    claim: str
    on: str
    source: str | None = None
    reason: str | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "claim", self.claim, "claim")
        _collect(found, "on", check_said_date, self.on)
        _slug(found, "source", self.source, "source", optional=True)
        _collect(found, "reason", _text, self.reason, "reason", limit=MAX_TEXT, required=False)
        return found

    def event(self) -> ev.ClaimRetracted:
        return ev.ClaimRetracted(claim=self.claim, on=self.on, source=self.source, reason=self.reason)


@dataclass(slots=True, kw_only=True)
class ReaffirmClaim(Command):
    claim: str
    on: str
    source: str

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "claim", self.claim, "claim")
        _collect(found, "on", check_said_date, self.on)
        _slug(found, "source", self.source, "source")
        return found

    def event(self) -> ev.ClaimReaffirmed:
        return ev.ClaimReaffirmed(claim=self.claim, on=self.on, source=self.source)


@dataclass(slots=True, kw_only=True)
class CorrectClaim(Command):
    """Fix our own recording error in some of a claim's fields; the original stays in the log."""

    claim: str
    reason: str
    changes: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "claim", self.claim, "claim")
        _collect(found, "reason", _text, self.reason, "reason", limit=MAX_TEXT)
        if not self.changes:
            found.append(("changes", f"a correction changes at least one of {', '.join(CORRECTABLE_FIELDS)}"))
        for name, value in self.changes.items():
            if name not in CORRECTABLE_FIELDS:
                found.append((name, f"cannot be corrected (only {', '.join(CORRECTABLE_FIELDS)})"))
            elif value is None:  # removed: only an optional field may be
                if name == "via":
                    found.append((name, "is a list: give [] to remove the relays"))
                elif name not in REMOVABLE_FIELDS:
                    found.append((name, f"cannot be removed (only {' and '.join(REMOVABLE_FIELDS)} can)"))
            elif name == "said_on":
                _collect(found, name, check_said_date, value)
            elif name in ("speaker", "source"):
                _slug(found, name, value, name)
            elif name == "via":
                for index, relay in enumerate(value if isinstance(value, list | tuple) else [value]):
                    _slug(found, f"via[{index}]", relay, "via")
            else:
                _collect(found, name, _text, value, name, limit=MAX_TEXT, required=name == "text")
        return found

    def event(self) -> ev.ClaimCorrected:
        changes = {k: list(v) if isinstance(v, tuple) else v for k, v in self.changes.items()}
        return ev.ClaimCorrected(claim=self.claim, changes=changes, reason=self.reason)


@dataclass(slots=True, kw_only=True)
class RecordVerdict(Command):
    claim: str
    rating: str
    by: str
    url: str | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        _slug(found, "claim", self.claim, "claim")
        _collect(found, "rating", _text, self.rating, "rating", limit=MAX_NAME)
        _slug(found, "by", self.by, "by (a source id)")
        _collect(found, "url", _url, self.url)
        return found

    def event(self) -> ev.VerdictRecorded:
        return ev.VerdictRecorded(claim=self.claim, rating=self.rating, by=self.by, url=self.url)
