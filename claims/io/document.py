"""The claims/v1 document: from parsed data to commands, every shape problem listed by its path.

``read_document`` never stops at the first problem: like beancount's loader it returns all of them
(``claims[3].said_on: not a date: 2023-02-30``) so a user can fix a document in one pass. Checks
that need the database (do references resolve?) are the importer's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from claims.domain import commands as cmd
from claims.domain.claim import CORRECTABLE_FIELDS
from claims.domain.errors import ValidationError
from claims.domain.ids import derive_claim_id, shown

FORMAT = "claims/v1"
SECTIONS = ("parties", "speakers", "sources", "topics", "claims", "events")
_FIELDS: dict[str, tuple[str, ...]] = {
    "parties": ("id", "name", "kind"),
    "speakers": ("id", "name", "party", "role"),
    "sources": ("id", "name", "kind", "url", "published"),
    "topics": ("id", "title"),
    "claims": (
        "id",
        "party",
        "speaker",
        "topic",
        "said_on",
        "source",
        "via",
        "text",
        "quote",
        "proposition",
        "stance",
        "responds_to",
    ),
}
_LIFECYCLE: dict[str, tuple[str, ...]] = {
    "retract": ("on", "source", "reason"),
    "reaffirm": ("on", "source"),
    "correct": (*CORRECTABLE_FIELDS, "reason"),
    "verdict": ("rating", "by", "url"),
}


@dataclass(slots=True)
class Entry:
    """One command of the document with the path it came from (``claims[3]``)."""

    path: str
    command: cmd.Command


@dataclass
class Document:
    """A document's commands in the order they must be applied, and every problem found."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    troubled: set[str] = field(default_factory=set)  # the paths of the entries among ``problems``

    def claim_ids(self) -> dict[str, str]:
        """Each claim id the document asserts (explicit or derived), with its path."""
        claims = ((claim_id_of(e.command), e.path) for e in self.entries if isinstance(e.command, cmd.AssertClaim))
        return {ident: path for ident, path in claims if isinstance(ident, str)}


def claim_id_of(command: cmd.AssertClaim) -> str:
    """The claim's explicit id, or the one derived from its content (robust to invalid fields)."""
    return command.id or derive_claim_id(str(command.party), str(command.said_on), str(command.text))


def _text(value: Any) -> Any:
    """Integers become text (``said_on: 2022``, ``id: 2023``); anything else is left to be checked."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def read_document(data: Any) -> Document:
    """Turn a parsed document into commands; shape problems are collected, not raised."""
    document = Document()
    if not isinstance(data, dict):
        document.problems.append("document: must be a mapping with format: claims/v1")
        return document
    found_format = data.get("format")
    if found_format != FORMAT:
        found = "nothing" if found_format is None else shown(found_format)
        document.problems.append(f"format: must be {FORMAT}, found {found}")
    for key in data:
        if key != "format" and key not in SECTIONS:
            document.problems.append(f"{_named(key)}: unknown section (expected one of {', '.join(SECTIONS)})")
    for section, build in _BUILDERS.items():
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            document.problems.append(f"{section}: must be a list")
            continue
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            if not isinstance(item, dict):
                document.problems.append(f"{path}: must be a mapping")
                document.troubled.add(path)
                continue
            found = len(document.problems)
            _add(document, path, item, build)
            if len(document.problems) > found:
                document.troubled.add(path)
    _check_duplicates(document)
    return document


def _add(document: Document, path: str, item: dict[str, Any], build: Callable[..., cmd.Command]) -> None:
    try:
        command = build(item, path, document.problems)
    except ValidationError as error:
        document.problems.append(f"{path}: {error}")
        return
    except TypeError as error:
        document.problems.append(f"{path}: {error}")
        return
    except ValueError:  # the one a builder can raise: an integer Python will not turn into text
        document.problems.append(f"{path}: a value cannot be read (a number of more than 4,300 digits)")
        return
    found = command.problems()
    if found:
        document.problems.extend(f"{path}.{name}: {message}" for name, message in found)
    # Kept even when it has problems, so that its references are checked too: one pass shows all.
    document.entries.append(Entry(path, command))


def _fields(item: dict[str, Any], allowed: tuple[str, ...], path: str, problems: list[str]) -> dict[str, Any]:
    """The item's known fields that have a value, in ``allowed`` order (integers as text); unknown
    ones are problems."""
    known = _known(allowed)
    for key in item:
        if key not in known:
            problems.append(f"{path}.{_named(key)}: unknown field")
    # ``_text`` inlined (a million claims, a dozen fields each): parsed data holds no int subclass but bool.
    return {k: str(v) if type(v) is int else v for k in allowed if (v := item.get(k)) is not None}


def _named(key: object) -> str:
    """A key as a path names it: text as it is, anything else (``null:``, ``true:``, ``1.5:``) as
    JSON spells it, not as Python does (``None``, ``True``)."""
    return key if isinstance(key, str) else shown(key)


@functools.cache
def _known(allowed: tuple[str, ...]) -> frozenset[str]:
    """``allowed`` as a set: a document of a million claims asks for each of their keys."""
    return frozenset(allowed)


def _registry(kind: type[cmd.Command], section: str) -> Callable[..., cmd.Command]:
    # A field left out is given as None, so that the command's own check names it ("party is
    # required") rather than its constructor ("missing 1 required keyword-only argument").
    required = [f.name for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING]

    def build(item: dict[str, Any], path: str, problems: list[str]) -> cmd.Command:
        values = _fields(item, _FIELDS[section], path, problems)
        for name in required:
            values.setdefault(name, None)
        return kind(**values)

    return build


def _claim(item: dict[str, Any], path: str, problems: list[str]) -> cmd.Command:
    values = _fields(item, _FIELDS["claims"], path, problems)
    for required in ("party", "topic", "said_on", "source", "text"):
        values.setdefault(required, None)
    via = values.pop("via", [])
    if not isinstance(via, list):
        via = [via]
    values["via"] = tuple(_text(relay) for relay in via) if via else ()
    responds = values.pop("responds_to", None)
    if responds is not None:
        if not isinstance(responds, dict) or set(responds) - {"claim", "relation"}:
            raise ValidationError("responds_to: must be {claim: ID, relation: contradicts|supports}")
        values["responds_to"] = _text(responds.get("claim"))
        values["relation"] = responds.get("relation")
    return cmd.AssertClaim(**values)


def _lifecycle(item: dict[str, Any], path: str, problems: list[str]) -> cmd.Command:
    actions = [key for key in _LIFECYCLE if key in item]
    if len(actions) != 1:
        raise ValidationError(f"must have exactly one of {', '.join(_LIFECYCLE)}")
    action = actions[0]
    values = _fields(item, (action, *_LIFECYCLE[action]), path, problems)
    claim = values.pop(action, None)
    if action == "retract":
        return cmd.RetractClaim(claim=claim, on=values.get("on"), **_pick(values, "source", "reason"))  # type: ignore[arg-type]
    if action == "reaffirm":
        return cmd.ReaffirmClaim(claim=claim, on=values.get("on"), source=values.get("source"))  # type: ignore[arg-type]
    if action == "verdict":
        return cmd.RecordVerdict(claim=claim, rating=values.get("rating"), by=values.get("by"), url=values.get("url"))  # type: ignore[arg-type]
    reason = values.pop("reason", None)
    if "via" in values and not isinstance(values["via"], list):
        values["via"] = [values["via"]]
    for name in CORRECTABLE_FIELDS:  # given as null: to be removed, which the command allows of some only
        if name in item and item[name] is None:
            values[name] = None
    return cmd.CorrectClaim(claim=claim, reason=reason, changes=values)  # type: ignore[arg-type]


def _pick(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


_BUILDERS: dict[str, Callable[..., cmd.Command]] = {
    "parties": _registry(cmd.AddParty, "parties"),
    "speakers": _registry(cmd.AddSpeaker, "speakers"),
    "sources": _registry(cmd.AddSource, "sources"),
    "topics": _registry(cmd.AddTopic, "topics"),
    "claims": _claim,
    "events": _lifecycle,
}


def _check_duplicates(document: Document) -> None:
    seen: dict[tuple[str, str], str] = {}
    for entry in document.entries:
        command = entry.command
        if isinstance(command, cmd.AssertClaim):
            key = ("claims", claim_id_of(command))
        elif isinstance(command, cmd.AddParty | cmd.AddSpeaker | cmd.AddSource | cmd.AddTopic):
            key = (entry.path.split("[")[0], command.id)
        else:
            continue
        if not isinstance(key[1], str):  # not an id at all (a list, a mapping): already reported
            continue
        if key in seen:
            document.problems.append(f"{entry.path}.id: duplicate id {key[1]} (also {seen[key]})")
            document.troubled.add(entry.path)
        else:
            seen[key] = entry.path
