"""A claims document's entries as an import works through them: sorted by what they do, the ids
they declare and refer to resolved against the record in bulk, put in an order they can be applied
in, and handed to their handlers. The import (``importer``) and the check that lists every problem
of a rejected document (``import_check``) both work through them so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection

from claims.domain import commands as cmd
from claims.domain.ids import SLUG
from claims.io.document import Document, Entry, claim_id_of
from claims.projections import lookups
from claims.service import handlers
from claims.service.records import Records
from claims.service.uow import Unit

# What each command records, as an import's report counts it.
KINDS: dict[type[Any], str] = {
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


class Commands(NamedTuple):
    """A document's commands by what they do, each kind in document order, sorted in one pass over
    its entries, so that each check walks only the entries it concerns (a 1M-event document:
    870k assertions, 130k lifecycle entries, a hundred registrations)."""

    assertions: list[cmd.AssertClaim]
    registrations: list[handlers.RegistryCommand]
    lifecycle: list[handlers.LifecycleCommand]
    others: list[Entry]  # the entries of every command but the assertions


def by_purpose(document: Document) -> Commands:
    """The document's commands sorted by what they do (``Commands``)."""
    commands = Commands([], [], [], [])
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


def declared_ids(commands: Commands) -> dict[str, set[str]]:
    """The ids the document itself gives each kind of record: registry entries and claims (those
    ``Document.claim_ids`` gives, without their paths)."""
    declared: dict[str, set[str]] = {kind: set() for kind in ("party", "speaker", "source", "topic")}
    for c in commands.registrations:
        if isinstance(c.id, str):
            declared[KINDS[type(c)]].add(c.id)
    declared["claim"] = {ident for c in commands.assertions if isinstance(ident := claim_id_of(c), str)}
    return declared


def unresolved_references(
    connection: Connection, document: Document, commands: Commands, declared: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """Every reference that resolves neither inside the document (``declared``) nor in the
    database, and every reply that resolves inside it but can never be recorded (``looping_replies``):
    the path of its entry, and the problem."""
    looping = looping_replies(connection, document, commands)
    wanted = wanted_ids(commands, declared)
    resolved = {kind: set(ids) for kind, ids in declared.items()}
    for kind, ids in resolved.items():
        ids |= lookups.known_ids(connection, kind, wanted[kind] - ids)
    if all(wanted[kind] <= resolved[kind] for kind in wanted):
        return looping
    # Only now, with something unresolved, is each reference named by its path.
    unresolved = [
        (path, f"{path}.{where}: unknown {kind}: {ident}")
        for kind, ident, path, where in references(document.entries)
        if ident not in resolved[kind]
    ]
    return unresolved + looping


# Why a loop of replies cannot be recorded, said after the claims in it.
_LOOP_WHY = "a claim can only respond to one recorded before it"


def looping_replies(connection: Connection, document: Document, commands: Commands) -> list[tuple[str, str]]:
    """Each claim of the document in a loop of replies none of whose claims is recorded: the path
    of its entry, and the problem, said as a loop (``claims[2].responds_to: c responds to itself``).

    The reply resolves inside the document, so it is no unknown claim, yet no claim of the loop can
    be recorded before the one it responds to. Found before anything is applied, so that an import
    is refused for it as for an unknown reference, and each claim of the loop is held back with the
    entries that wait for it. A loop through a claim recorded before is no problem: that claim is
    skipped, and the others can follow it (importing such a document again stays idempotent)."""
    loops = reply_loops(commands.assertions)
    if not loops:
        return []
    recorded = lookups.known_ids(connection, "claim", {ident for loop in loops for ident in loop})
    problems: dict[str, tuple[str, str]] = {}  # each looping claim: the claim it responds to, the problem
    for loop in (loop for loop in loops if recorded.isdisjoint(loop)):
        for at, ident in enumerate(loop):
            problems[ident] = (loop[(at + 1) % len(loop)], _in_a_loop(loop, at))
    found: list[tuple[str, str]] = []
    for entry in document.entries:
        c = entry.command
        if isinstance(c, cmd.AssertClaim) and isinstance(ident := claim_id_of(c), str) and ident in problems:
            target, problem = problems[ident]
            if c.responds_to == target:  # not a second declaration of the id, with another reply
                found.append((entry.path, f"{entry.path}.responds_to: {problem}"))
    return found


def _in_a_loop(loop: list[str], at: int) -> str:
    """What is wrong with the reply of ``loop[at]``, its loop named from it in the order of the
    replies: in full when short, else by its length (20,000 claims each naming the 20,000 would
    make 400 million words)."""
    size = len(loop)
    if size == 1:
        return f"{loop[0]} responds to itself"
    if size == 2:
        return f"{loop[at]} and {loop[1 - at]} respond to each other in a loop ({_LOOP_WHY})"
    if size > 4:
        first, second = loop[at], loop[(at + 1) % size]
        return f"{first} responds to {second} in a loop of {size} replies that leads back to {first} ({_LOOP_WHY})"
    named = [loop[(at + step) % size] for step in range(size)]
    then = [f"{ident} to {named[(step + 1) % size]}" for step, ident in enumerate(named[1:], start=1)]
    return f"{named[0]} responds to {named[1]}, {', '.join(then[:-1])} and {then[-1]}: a loop of replies ({_LOOP_WHY})"


def reply_loops(assertions: list[cmd.AssertClaim]) -> list[list[str]]:
    """The loops of replies among ``assertions``: each the claims of one loop, every claim responding
    to the next and the last to the first (the first declaration of an id is taken).

    Only a claim that responds to a claim that responds itself can be in a loop, which leaves few
    of a document's replies to walk, and those are walked once, each walk stopping at a claim
    already walked: a walk that comes back to a claim of its own has closed a loop. (Walking from
    each claim in turn took 11.5 s for a chain of 15,000 replies whose first claim had a problem.)
    A reply that is no slug, or an id that is no text, is a problem of the document's shape, left out.
    """
    replying = [c for c in assertions if c.responds_to is not None]  # few, and the cheapest pass over all
    replies = {
        ident: target
        for c in reversed(replying)  # so that the first declaration of an id is the one kept
        if isinstance(target := c.responds_to, str) and isinstance(ident := claim_id_of(c), str)
    }
    chained = {ident: target for ident, target in replies.items() if target in replies and SLUG.match(target)}
    walked: set[str] = set()
    loops: list[list[str]] = []
    for start in chained:
        walk: list[str] = []
        current: str | None = start
        while current is not None and current not in walked:
            walked.add(current)
            walk.append(current)
            current = chained.get(current)
        if current is not None and current in walk:
            loops.append(walk[walk.index(current) :])
    return loops


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


def wanted_ids(commands: Commands, kinds: Iterable[str]) -> dict[str, set[str]]:
    """The ids of each of ``kinds`` the document's entries refer to: ``references`` without the paths.
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
    for kind, ident, _, _ in references(commands.others):
        wanted[kind].add(ident)
    return wanted


def references(entries: Iterable[Entry]) -> Iterator[tuple[str, str, str, str]]:
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


def in_apply_order(entries: list[Entry], asserted_ids: set[str]) -> list[Entry]:
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
    """``in_apply_order`` for entries of which some respond to a claim asserted after them: each
    entry is placed once, after the chain of claims it waits for, which stops at an entry placed
    already or at one of its own (a loop of replies, refused by the handlers). Entries are known
    by identity, in sets: compared as values in a list, a chain of 15,000 replies written newest
    first took 10.6 s to order."""
    asserted = {claim_id_of(e.command): e for e in entries if isinstance(e.command, cmd.AssertClaim)}
    ordered: list[Entry] = []
    placed: set[int] = set()
    for entry in entries:
        chain: list[Entry] = []
        in_chain: set[int] = set()
        current: Entry | None = entry
        while current is not None and id(current) not in placed and id(current) not in in_chain:
            chain.append(current)
            in_chain.add(id(current))
            target = current.command.responds_to if isinstance(current.command, cmd.AssertClaim) else None
            current = asserted.get(target) if target else None
        for item in reversed(chain):
            placed.add(id(item))
            ordered.append(item)
    return ordered


def apply_command(uow: Unit, command: cmd.Command) -> handlers.Outcome:
    """Hand one validated document entry to its handler."""
    if isinstance(command, cmd.AssertClaim):
        return handlers.assert_claim(uow, command, checked=True, resolved=True)
    if isinstance(command, handlers.RegistryCommand):
        return handlers.register(uow, command, checked=True)
    assert isinstance(command, handlers.LifecycleCommand)
    return handlers.lifecycle(uow, command, checked=True, in_document=True)


def preload(records: Records, commands: Commands, declared: dict[str, set[str]]) -> None:
    """Load in bulk everything the handlers will ask about, so that they never query one by one."""
    lifecycle_claims = {c.claim for c in commands.lifecycle}
    for kind, idents in declared.items():
        if kind == "claim":
            records.preload_claims(idents | lifecycle_claims)
        else:
            records.preload_registry(kind, idents)
    records.preload_streams(f"claim:{c}" for c in lifecycle_claims if records.claim(c) is not None)


def tell_progress(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    """Tell ``progress`` every 500 entries, and at the last."""
    if progress and (done % 500 == 0 or done == total):
        progress(done, total)
