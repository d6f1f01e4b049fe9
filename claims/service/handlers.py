"""Handlers: check a command against what is recorded, then append the events it becomes.

Each handler takes an open unit of work and a command, raises a ClaimsError for anything the user
must fix, and returns an Outcome that says whether something was recorded or why it was skipped
(re-recording the same thing is never an error: imports stay idempotent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from claims.domain import commands as cmd
from claims.domain.claim import CORRECTABLE_FIELDS
from claims.domain.dates import parse_said_date, period_start
from claims.domain.errors import ConflictError, NotFoundError, ValidationError
from claims.domain.ids import derive_claim_id
from claims.projections import lookups
from claims.service.uow import UnitOfWork
from claims.store import eventlog

RegistryCommand = cmd.AddParty | cmd.AddSpeaker | cmd.AddSource | cmd.AddTopic
LifecycleCommand = cmd.RetractClaim | cmd.ReaffirmClaim | cmd.CorrectClaim | cmd.RecordVerdict


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler did: ``recorded`` False means it was already recorded and was skipped."""

    id: str
    recorded: bool
    position: int | None = None


_REGISTRY: dict[type[Any], tuple[str, tuple[str, ...]]] = {
    cmd.AddParty: ("party", ("name", "kind")),
    cmd.AddSpeaker: ("speaker", ("name", "party", "role")),
    cmd.AddSource: ("source", ("name", "kind", "url", "published")),
    cmd.AddTopic: ("topic", ("title",)),
}


def register(uow: UnitOfWork, command: RegistryCommand) -> Outcome:
    """Record a party, speaker, source or topic; the same one again is skipped, a different one refused."""
    command.check()
    kind, compared = _REGISTRY[type(command)]
    if isinstance(command, cmd.AddSpeaker):
        require(uow, "party", command.party)
    existing = lookups.registered(uow.connection, kind, command.id)
    if existing is not None:
        differences = [
            f"{name} {getattr(existing, name)!r} != {getattr(command, name)!r}"
            for name in compared
            if getattr(existing, name) != getattr(command, name)
        ]
        if differences:
            raise ConflictError(f"{kind} {command.id} is already recorded with other fields: {'; '.join(differences)}")
        return Outcome(command.id, recorded=False)
    stored = uow.append(command.event(), expected_version=0)
    return Outcome(command.id, recorded=True, position=stored.position)


def require(uow: UnitOfWork, kind: str, ident: str | None) -> None:
    """Raise NotFoundError unless ``ident`` (when given) is a recorded ``kind``."""
    if ident is None:
        return
    if kind == "claim":
        found = lookups.current_claim(uow.connection, ident) is not None
    else:
        found = lookups.registered(uow.connection, kind, ident) is not None
    if not found:
        raise NotFoundError(f"unknown {kind}: {ident}")


def assert_claim(uow: UnitOfWork, command: cmd.AssertClaim, *, existing_id_is_error: bool = False) -> Outcome:
    """Record an assertion. An id already recorded is skipped, or refused when ``existing_id_is_error``."""
    command.check()
    claim_id = command.id or derive_claim_id(command.party, command.said_on, command.text)
    if lookups.current_claim(uow.connection, claim_id) is not None:
        if existing_id_is_error:
            raise ConflictError(f"claim {claim_id} is already recorded")
        return Outcome(claim_id, recorded=False)
    check_claim_references(uow, command)
    stored = uow.append(command.event(claim_id), expected_version=0)
    return Outcome(claim_id, recorded=True, position=stored.position)


def check_claim_references(uow: UnitOfWork, command: cmd.AssertClaim) -> None:
    for kind, ident in (("party", command.party), ("topic", command.topic), ("source", command.source)):
        require(uow, kind, ident)
    for relay in command.via:
        require(uow, "source", relay)
    require(uow, "claim", command.responds_to)
    _check_speaker(uow, command.speaker, command.party)


def _check_speaker(uow: UnitOfWork, speaker_id: str | None, party: str) -> None:
    """A claim's speaker must be recorded and speak for the claim's party."""
    if speaker_id is None:
        return
    speaker = lookups.registered(uow.connection, "speaker", speaker_id)
    if speaker is None:
        raise NotFoundError(f"unknown speaker: {speaker_id}")
    if speaker.party != party:
        raise ValidationError(f"speaker {speaker_id} speaks for {speaker.party}, not for {party}")


def lifecycle(uow: UnitOfWork, command: LifecycleCommand) -> Outcome:
    """Record a retraction, reaffirmation, correction or verdict on a recorded claim.

    The same entry twice (same content) is skipped, so re-importing a document adds nothing.
    """
    command.check()
    current = lookups.current_claim(uow.connection, command.claim)
    if current is None:
        raise NotFoundError(f"unknown claim: {command.claim}")
    if isinstance(command, cmd.RetractClaim | cmd.ReaffirmClaim):
        require(uow, "source", command.source)
        _check_act_date(command.on, current.said_on)
    elif isinstance(command, cmd.RecordVerdict):
        require(uow, "source", command.by)
    else:
        _check_correction(uow, command, current)
    event = command.event()
    stream = eventlog.read_stream(uow.connection, event.stream_id)
    if any(e.type == event.TYPE and e.payload == event.payload() for e in stream):
        return Outcome(command.claim, recorded=False)
    stored = uow.append(event, expected_version=len(stream))
    return Outcome(command.claim, recorded=True, position=stored.position)


def _check_act_date(on: str, said_on: str) -> None:
    if parse_said_date(on).end < period_start(said_on):
        raise ValidationError(f"date {on} is before the claim was said ({said_on})")


def _check_correction(uow: UnitOfWork, command: cmd.CorrectClaim, current: Any) -> None:
    if "source" in command.changes:
        require(uow, "source", command.changes["source"])
    for relay in command.changes.get("via", []) or []:
        require(uow, "source", relay)
    if "speaker" in command.changes:
        _check_speaker(uow, command.changes["speaker"], current.party)
    recorded = {name: getattr(current, name) for name in CORRECTABLE_FIELDS}
    recorded["via"] = json.loads(recorded["via"])
    if all(recorded[k] == (list(v) if isinstance(v, tuple) else v) for k, v in command.changes.items()):
        raise ValidationError(f"nothing to correct: claim {command.claim} already has these values")
