"""Importing a claims document: validate it whole against itself and the database, then apply it
in one transaction. A document with any problem is rejected whole; one already imported adds nothing.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from claims.domain import commands as cmd
from claims.domain.errors import ClaimsError, DocumentError
from claims.domain.ids import SLUG, is_slug
from claims.io.document import SECTIONS, Document, Entry, claim_id_of
from claims.projections import lookups
from claims.service import handlers
from claims.service.collector import collector_paused
from claims.service.uow import UnitOfWork


@dataclass
class ImportReport:
    """What an import recorded and what it skipped as already recorded, by kind."""

    recorded: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    events: int = 0

    @property
    def nothing_new(self) -> bool:
        return self.events == 0


# The most entries a document with problems of its own may hold for the rest of it still to be
# checked against the record. That check applies the document in a transaction never committed:
# it waits for the log's write lock as an import does, and takes about as long (at 57k events,
# 3.8 s against 1.9 s to reject without it). A larger document is rejected with the problems of
# its own alone, and says so.
CHECK_WHOLE_LIMIT = 20_000

_KINDS: dict[type[Any], str] = {
    cmd.AddParty: "party",
    cmd.AddSpeaker: "speaker",
    cmd.AddSource: "source",
    cmd.AddTopic: "topic",
    cmd.AssertClaim: "claim",
    cmd.RetractClaim: "retraction",
    cmd.ReaffirmClaim: "reaffirmation",
    cmd.CorrectClaim: "correction",
    cmd.RecordVerdict: "verdict",
}


def import_document(
    engine: Engine,
    document: Document,
    *,
    recorded_by: str,
    name: str = "document",
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check a read document against itself and the database and apply it in one transaction;
    raises DocumentError listing every problem. The document is not changed, so that a retried
    transaction starts from the same document.

    ``progress(done, total)`` is called as entries are applied, for a terminal's progress line.
    """
    with collector_paused():
        return _import(engine, document, recorded_by=recorded_by, name=name, progress=progress)


def _import(
    engine: Engine,
    document: Document,
    *,
    recorded_by: str,
    name: str,
    progress: Callable[[int, int], None] | None,
) -> ImportReport:
    commands = _by_purpose(document)
    declared = _declared(commands)
    with engine.connect() as connection:
        unresolved = _unresolved(connection, document, commands, declared)
    problems = [*document.problems, *(problem for _, problem in unresolved)]
    if problems:
        troubled = document.troubled | {path for path, _ in unresolved}
        if len(document.entries) > CHECK_WHOLE_LIMIT:
            raise _rejected(name, problems, "; those that need the record are checked once these are fixed")
        problems += _problems_of_sound_entries(engine, document.entries, troubled, recorded_by, progress)
        raise _rejected(name, problems)
    report = ImportReport()
    with UnitOfWork(engine, recorded_by) as uow:
        _preload(uow, commands, declared)
        entries = _in_apply_order(document.entries, declared["claim"])
        refused = _apply_until_refused(uow, entries, report, progress)
        if refused is not None:
            # Checks that need the record (a registry entry declared again with other fields, a
            # speaker of another party, an act dated before the claim) go on past the first
            # refusal; the unit of work is never committed, so nothing is written.
            index, problem = refused
            checker = _Checker(uow, commands.assertions)
            checker.refused(entries[index], problem)
            checker.check(entries, index + 1, progress)
            raise _rejected(name, checker.problems)
        report.events = uow.count
        uow.commit()
    return report


def _apply_until_refused(
    uow: UnitOfWork, entries: list[Entry], report: ImportReport, progress: Callable[[int, int], None] | None
) -> tuple[int, str] | None:
    """Apply the entries in order, each counted in ``report``, until one is refused: then its
    index and its problem."""
    for done, entry in enumerate(entries, start=1):
        _progress(progress, done, len(entries))
        try:
            outcome = _apply(uow, entry.command)
        except ClaimsError as error:
            return done - 1, f"{entry.path}: {error}"
        (report.recorded if outcome.recorded else report.skipped)[_KINDS[type(entry.command)]] += 1
    return None


def _progress(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    """Tell ``progress`` every 500 entries, and at the last."""
    if progress and (done % 500 == 0 or done == total):
        progress(done, total)


def _rejected(name: str, problems: list[str], more: str = "") -> DocumentError:
    """The error that rejects the document, its problems in document order."""
    return DocumentError(_summary(name, problems, more), sorted(problems, key=_place))


def _summary(name: str, problems: list[str], more: str = "") -> str:
    return f"{name}: invalid claims document ({len(problems)} problem{'s' * (len(problems) != 1)}{more})"


def _in_apply_order(entries: list[Entry], asserted_ids: set[str]) -> list[Entry]:
    """The document's entries with each claim after the claim it responds to, when that one is
    asserted in the same document (``asserted_ids``; a reference may point anywhere inside it).
    Entries already in that order, as most documents are, are returned as they are."""
    seen: set[str] = set()
    for entry in entries:
        c = entry.command
        if isinstance(c, cmd.AssertClaim):
            if c.responds_to in asserted_ids and c.responds_to not in seen:
                return _reordered(entries)
            seen.add(claim_id_of(c))
    return entries


def _reordered(entries: list[Entry]) -> list[Entry]:
    """``_in_apply_order`` for entries of which some respond to a claim asserted after them."""
    asserted = {claim_id_of(e.command): e for e in entries if isinstance(e.command, cmd.AssertClaim)}
    ordered: list[Entry] = []
    placed: set[int] = set()
    for entry in entries:
        chain: list[Entry] = []
        current: Entry | None = entry
        while current is not None and id(current) not in placed and current not in chain:
            chain.append(current)
            target = current.command.responds_to if isinstance(current.command, cmd.AssertClaim) else None
            current = asserted.get(target) if target else None
        for item in reversed(chain):
            placed.add(id(item))
            ordered.append(item)
    return ordered


def _apply(uow: UnitOfWork, command: cmd.Command) -> handlers.Outcome:
    """Hand one validated document entry to its handler."""
    if isinstance(command, cmd.AssertClaim):
        return handlers.assert_claim(uow, command, checked=True, resolved=True)
    if isinstance(command, handlers.RegistryCommand):
        return handlers.register(uow, command, checked=True)
    assert isinstance(command, handlers.LifecycleCommand)
    return handlers.lifecycle(uow, command, checked=True)


# Lifecycle entries that change a claim after its assertion (a verdict is only recorded beside it).
_CHANGING_COMMANDS = cmd.RetractClaim | cmd.ReaffirmClaim | cmd.CorrectClaim


def _preload(uow: UnitOfWork, commands: _Commands, declared: dict[str, set[str]]) -> None:
    """Load in bulk everything the handlers will ask about, so that they never query one by one."""
    records = uow.records
    lifecycle_claims = {c.claim for c in commands.lifecycle}
    for kind, idents in declared.items():
        if kind == "claim":
            records.preload_claims(idents | lifecycle_claims)
        else:
            records.preload_registry(kind, idents)
    records.preload_streams(f"claim:{c}" for c in lifecycle_claims if records.claim(c) is not None)
    uow.will_change(c.claim for c in commands.lifecycle if isinstance(c, _CHANGING_COMMANDS))


class _Commands(NamedTuple):
    """A document's commands by what they do, each kind in document order, sorted in one pass over
    its entries, so that each check below walks only the entries it concerns (a 1M-event document:
    870k assertions, 130k lifecycle entries, a hundred registrations)."""

    assertions: list[cmd.AssertClaim]
    registrations: list[handlers.RegistryCommand]
    lifecycle: list[handlers.LifecycleCommand]
    others: list[Entry]  # the entries of every command but the assertions


def _by_purpose(document: Document) -> _Commands:
    """The document's commands sorted by what they do (``_Commands``)."""
    commands = _Commands([], [], [], [])
    for entry in document.entries:
        c = entry.command
        if isinstance(c, cmd.AssertClaim):  # most entries: first
            commands.assertions.append(c)
            continue
        commands.others.append(entry)
        if isinstance(c, handlers.RegistryCommand):
            commands.registrations.append(c)
        elif isinstance(c, handlers.LifecycleCommand):
            commands.lifecycle.append(c)
    return commands


def _declared(commands: _Commands) -> dict[str, set[str]]:
    """The ids the document itself gives each kind of record: registry entries and claims (those
    ``Document.claim_ids`` gives, without their paths)."""
    declared: dict[str, set[str]] = {kind: set() for kind in ("party", "speaker", "source", "topic")}
    for c in commands.registrations:
        if isinstance(c.id, str):
            declared[_KINDS[type(c)]].add(c.id)
    declared["claim"] = {ident for c in commands.assertions if isinstance(ident := claim_id_of(c), str)}
    return declared


def _unresolved(
    connection: Connection, document: Document, commands: _Commands, declared: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """Every reference that resolves neither inside the document (``declared``) nor in the
    database: the path of its entry, and the problem."""
    wanted = _wanted(commands, declared)
    resolved = {kind: set(ids) for kind, ids in declared.items()}
    for kind, ids in resolved.items():
        ids |= lookups.known_ids(connection, kind, wanted[kind] - ids)
    if all(wanted[kind] <= resolved[kind] for kind in wanted):
        return []
    # Only now, with something unresolved, is each reference named by its path.
    return [
        (path, f"{path}.{where}: unknown {kind}: {ident}")
        for kind, ident, path, where in _references(document.entries)
        if ident not in resolved[kind]
    ]


# The fields of an assertion that refer to other records, with the kind each refers to, in the
# order problems name them (``via`` is a list of sources).
_ASSERTION_REFERENCES = (
    ("party", "party"),
    ("topic", "topic"),
    ("source", "source"),
    ("source", "via"),
    ("speaker", "speaker"),
    ("claim", "responds_to"),
)


def _wanted(commands: _Commands, kinds: Iterable[str]) -> dict[str, set[str]]:
    """The ids of each of ``kinds`` the document's entries refer to: ``_references`` without the paths.
    Assertions, most entries, are read a field at a time into sets (a third of the time at 100k
    claims), and a reference that is not a slug is left out as there."""
    wanted: dict[str, set[str]] = {kind: set() for kind in kinds}
    assertions = commands.assertions
    for kind, name in _ASSERTION_REFERENCES:
        if name == "via":
            values = {relay for c in assertions for relay in c.via if isinstance(relay, str)}
        else:
            values = {value for c in assertions if isinstance(value := getattr(c, name), str)}
        wanted[kind].update(ident for ident in values if SLUG.match(ident))
    for kind, ident, _, _ in _references(commands.others):
        wanted[kind].add(ident)
    return wanted


def _references(entries: Iterable[Entry]) -> Iterator[tuple[str, str, str, str]]:
    """(kind, id, entry path, field) of every reference the entries make.

    A reference that is not a slug (a list, a mapping, text with a lone surrogate) is already a
    problem of the document's shape, and is not looked up.
    """
    for entry in entries:
        c = entry.command
        found: list[tuple[str, Any, str]]
        if isinstance(c, cmd.AssertClaim):  # most entries: first
            found = []
            for kind, name in _ASSERTION_REFERENCES:
                if name == "via":
                    found += [(kind, relay, f"via[{i}]") for i, relay in enumerate(c.via)]
                elif value := getattr(c, name):
                    found.append((kind, value, name))
        elif isinstance(c, cmd.AddSpeaker):
            found = [("party", c.party, "party")]
        elif isinstance(c, handlers.LifecycleCommand):
            found = [("claim", c.claim, "claim")]
            if isinstance(c, cmd.RetractClaim | cmd.ReaffirmClaim) and c.source:
                found.append(("source", c.source, "source"))
            if isinstance(c, cmd.RecordVerdict):
                found.append(("source", c.by, "by"))
            if isinstance(c, cmd.CorrectClaim):
                found += [(name, c.changes[name], name) for name in ("speaker", "source") if name in c.changes]
                found += [("source", r, f"via[{i}]") for i, r in enumerate(c.changes.get("via") or [])]
        else:
            continue
        for kind, ident, where in found:
            if isinstance(ident, str) and SLUG.match(ident):
                yield kind, ident, entry.path, where


# -- a document with problems: every one of them, once ---------------------------------------------


def _problems_of_sound_entries(
    engine: Engine,
    entries: list[Entry],
    troubled: set[str],
    recorded_by: str,
    progress: Callable[[int, int], None] | None,
) -> list[str]:
    """The problems that need the record, of the entries not ``troubled`` (the paths of those with
    a problem of the document itself or of its references), found by applying them in a unit of
    work that is never committed, so that a document is rejected with all its problems at once.
    It waits for the log's write lock as an import does, and takes about as long as one: hence
    CHECK_WHOLE_LIMIT."""
    sound = [entry for entry in entries if entry.path not in troubled]
    if not sound:
        return []
    commands = _by_purpose(Document(sound))
    declared = _declared(commands)
    with UnitOfWork(engine, recorded_by) as uow:
        _preload(uow, commands, declared)
        checker = _Checker(uow, commands.assertions)
        declared_soundly = {key for entry in sound if (key := _declared_by(entry.command))}
        checker.hold_back([entry for entry in entries if entry.path in troubled], declared_soundly)
        checker.check(_in_apply_order(sound, declared["claim"]), 0, progress)
    return checker.problems


class _Checker:
    """Checks entries against the record once a document is known to be rejected (a problem of its
    own, or an entry refused by the record), in a unit of work that is never committed.

    An entry with no problem of its own is applied as an import would. One that refers to an entry
    of the same document in trouble (with a problem, or held back itself) and not recorded before
    is held back, not reported: its trouble is that entry's, listed there once, and not an
    "unknown claim" of its own. Only a claim in a loop of replies is still applied and refused for
    the reply it waits for: the loop is a problem of each of its claims."""

    def __init__(self, uow: UnitOfWork, assertions: list[cmd.AssertClaim]) -> None:
        self._uow = uow
        self._assertions = assertions  # the document's, without problems of their own
        self._troubled: set[tuple[str, str]] = set()  # (kind, id) of the entries in trouble
        self.problems: list[str] = []

    def check(self, entries: list[Entry], start: int, progress: Callable[[int, int], None] | None) -> None:
        """Check ``entries[start:]`` in order, to be applied; ``progress`` as an import's."""
        for done, entry in enumerate(islice(entries, start, None), start=start + 1):
            _progress(progress, done, len(entries))
            if self._waits_for_trouble(entry):
                self._hold(entry)
                continue
            try:
                _apply(self._uow, entry.command)
            except ClaimsError as error:
                self.refused(entry, f"{entry.path}: {error}")

    def refused(self, entry: Entry, problem: str) -> None:
        """Take in the refusal of an entry by the record."""
        self.problems.append(problem)
        self._hold(entry)

    def hold_back(self, entries: list[Entry], declared_soundly: set[tuple[str, str]]) -> None:
        """Take in the entries that have problems of their own: never applied. An id that an entry
        without problems declares too (the first of two declarations) is not in trouble."""
        declared = [key for entry in entries if (key := _declared_by(entry.command)) and key not in declared_soundly]
        records = self._uow.records
        for kind in {kind for kind, _ in declared}:
            idents = {ident for k, ident in declared if k == kind}
            if kind == "claim":
                records.preload_claims(idents)
            else:
                records.preload_registry(kind, idents)
        for key in declared:
            self._hold_id(key)

    def _hold(self, entry: Entry) -> None:
        key = _declared_by(entry.command)
        if key is not None:
            self._hold_id(key)

    def _hold_id(self, key: tuple[str, str]) -> None:
        """An id in trouble, unless recorded already: a reference to it is then to the record."""
        kind, ident = key
        records = self._uow.records
        if (records.claim(ident) if kind == "claim" else records.registered(kind, ident)) is None:
            self._troubled.add(key)

    def _waits_for_trouble(self, entry: Entry) -> bool:
        if not self._troubled:
            return False
        return any(
            (kind, ident) in self._troubled and not (where == "responds_to" and self._in_loop(entry.command))
            for kind, ident, _, where in _references([entry])
        )

    def _in_loop(self, command: cmd.Command) -> bool:
        """Whether the claim responds, through the document's replies, to itself."""
        assert isinstance(command, cmd.AssertClaim)
        start = claim_id_of(command)
        seen: set[str] = set()
        current = self._replies.get(start)
        while current is not None and current not in seen:
            if current == start:
                return True
            seen.add(current)
            current = self._replies.get(current)
        return False

    @functools.cached_property
    def _replies(self) -> dict[str, str]:
        """The claim each of the document's claims responds to."""
        return {claim_id_of(c): c.responds_to for c in self._assertions if c.responds_to is not None}


def _declared_by(command: cmd.Command) -> tuple[str, str] | None:
    """The (kind, id) a registration or an assertion gives a record, when its id is one."""
    if isinstance(command, cmd.AssertClaim):
        kind, ident = "claim", claim_id_of(command)
    elif isinstance(command, handlers.RegistryCommand):
        kind, ident = _KINDS[type(command)], command.id
    else:
        return None
    return (kind, ident) if is_slug(ident) else None


# A problem's entry (``claims[3]`` of ``claims[3].said_on: not a date``) and its place in the document.
_ENTRY_PATH = re.compile(r"([a-z]+)\[(\d{1,12})\](?=[.:])")
_SECTIONS = {section: rank for rank, section in enumerate(SECTIONS, start=1)}


def _place(problem: str) -> tuple[int, int]:
    """Where a problem lies in the document: the problems of the document as a whole first (its
    format, an unknown section), then those of each section (``claims: must be a list``) and
    each of its entries, in order."""
    found = _ENTRY_PATH.match(problem)
    if found and found[1] in _SECTIONS:
        return _SECTIONS[found[1]], int(found[2])
    return _SECTIONS.get(problem.partition(":")[0], 0), -1


__all__ = ["ImportReport", "claim_id_of", "import_document"]
