"""Every problem of a rejected claims document, once, in document order.

A document with problems of its own (its shape, or a reference that resolves nowhere) or with an
entry the record refuses is rejected whole. Before it is, each of its other entries is checked
against the record as an import would apply it, in a unit that writes nothing and takes no lock,
so that the user fixes the document in one pass rather than one problem at a time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from sqlalchemy import Engine

from claims.domain import commands as cmd
from claims.domain.errors import ClaimsError, DocumentError
from claims.domain.ids import is_slug
from claims.io.document import SECTIONS, Document, Entry, claim_id_of
from claims.service import handlers
from claims.service.import_plan import (
    KINDS,
    apply_command,
    by_purpose,
    declared_ids,
    in_apply_order,
    preload,
    references,
    reply_loops,
    tell_progress,
)
from claims.service.uow import CheckingUnit


def problems_of_sound_entries(
    engine: Engine, entries: list[Entry], troubled: set[str], progress: Callable[[int, int], None] | None
) -> list[str]:
    """The problems that need the record, of the entries not ``troubled`` (the paths of those with
    a problem of the document itself or of its references), found by applying them in a unit that
    writes nothing and takes no lock (``CheckingUnit``), so that a document is rejected with all
    its problems at once."""
    sound = [entry for entry in entries if entry.path not in troubled]
    if not sound:
        return []
    commands = by_purpose(Document(sound))
    declared = declared_ids(commands)
    with CheckingUnit(engine) as unit:
        preload(unit.records, commands, declared)
        checker = _Checker(unit, commands.assertions)
        declared_soundly = {key for entry in sound if (key := _declared_by(entry.command))}
        checker.hold_back([entry for entry in entries if entry.path in troubled], declared_soundly)
        checker.check(in_apply_order(sound, declared["claim"]), progress)
    return checker.problems


class _Checker:
    """Checks entries against the record once a document is known to be rejected (a problem of its
    own, or an entry refused by the record), in a unit that writes nothing.

    An entry with no problem of its own is applied as an import would. One that refers to an entry
    of the same document in trouble (with a problem, or held back itself) and not recorded before
    is held back, not reported: its trouble is that entry's, listed there once, and not an
    "unknown claim" of its own. Only a claim in a loop of replies is still applied and refused for
    the reply it waits for: the loop is a problem of each of its claims. (A loop none of whose
    claims is recorded is found before, as a problem of the document: ``looping_replies``. One
    through a recorded claim may still be refused, when its claims cannot follow it in the order
    they are applied in.)"""

    def __init__(self, unit: CheckingUnit, assertions: list[cmd.AssertClaim]) -> None:
        self._unit = unit
        self._assertions = assertions  # the document's, without problems of their own
        self._troubled: set[tuple[str, str]] = set()  # (kind, id) of the entries in trouble
        self.problems: list[str] = []

    def check(self, entries: list[Entry], progress: Callable[[int, int], None] | None) -> None:
        """Check ``entries`` in order, to be applied; ``progress`` as an import's."""
        for done, entry in enumerate(entries, start=1):
            tell_progress(progress, done, len(entries))
            if self._waits_for_trouble(entry):
                self._hold(entry)
                continue
            try:
                apply_command(self._unit, entry.command)
            except ClaimsError as error:  # refused by the record
                self.problems.append(f"{entry.path}: {error}")
                self._hold(entry)

    def hold_back(self, entries: list[Entry], declared_soundly: set[tuple[str, str]]) -> None:
        """Take in the entries that have problems of their own: never applied. An id that an entry
        without problems declares too (the first of two declarations) is not in trouble."""
        declared = [key for entry in entries if (key := _declared_by(entry.command)) and key not in declared_soundly]
        records = self._unit.records
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
        records = self._unit.records
        if (records.claim(ident) if kind == "claim" else records.registered(kind, ident)) is None:
            self._troubled.add(key)

    def _waits_for_trouble(self, entry: Entry) -> bool:
        if not self._troubled:
            return False
        return any(
            (kind, ident) in self._troubled and not (where == "responds_to" and self._in_loop(entry.command))
            for kind, ident, _, where in references([entry])
        )

    def _in_loop(self, command: cmd.Command) -> bool:
        """Whether the claim responds, through the document's replies, to itself."""
        assert isinstance(command, cmd.AssertClaim)
        return claim_id_of(command) in self._looped

    @functools.cached_property
    def _looped(self) -> set[str]:
        """The document's claims in a loop of replies, found once for all its entries."""
        return claims_in_loops(self._assertions)


def claims_in_loops(assertions: list[cmd.AssertClaim]) -> set[str]:
    """The claims of ``assertions`` that respond, through their replies, to themselves (``reply_loops``)."""
    return {ident for loop in reply_loops(assertions) for ident in loop}


def _declared_by(command: cmd.Command) -> tuple[str, str] | None:
    """The (kind, id) a registration or an assertion gives a record, when its id is one."""
    if isinstance(command, cmd.AssertClaim):
        kind, ident = "claim", claim_id_of(command)
    elif isinstance(command, handlers.RegistryCommand):
        kind, ident = KINDS[type(command)], command.id
    else:
        return None
    return (kind, ident) if is_slug(ident) else None


def rejected(name: str, problems: list[str]) -> DocumentError:
    """The error that rejects the document, its problems in document order."""
    return DocumentError(_summary(name, problems), sorted(problems, key=_place))


def _summary(name: str, problems: list[str]) -> str:
    return f"{name}: invalid claims document ({len(problems)} problem{'s' * (len(problems) != 1)})"


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
