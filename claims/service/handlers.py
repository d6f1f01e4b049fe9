"""Handlers: check a command against what is recorded, then append the events it becomes.

Each handler takes an open unit of work and a command, raises a ClaimsError for anything the user
must fix, and returns an Outcome that says whether something was recorded or why it was skipped
(re-recording the same thing is never an error: imports stay idempotent). Handlers read only
through ``uow.records``, which sees the database and what the unit has already accepted.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from claims.domain import commands as cmd
from claims.domain.claim import CORRECTABLE_FIELDS, ClaimFields
from claims.domain.dates import parse_said_date, period_start
from claims.domain.errors import ConflictError, NotFoundError, ValidationError
from claims.domain.ids import derive_claim_id
from claims.service.records import Records, Stream
from claims.service.uow import Unit

RegistryCommand = cmd.AddParty | cmd.AddSpeaker | cmd.AddSource | cmd.AddTopic
LifecycleCommand = cmd.RetractClaim | cmd.ReaffirmClaim | cmd.CorrectClaim | cmd.RecordVerdict


class Outcome(NamedTuple):
    """What a handler did: ``recorded`` False means it was already recorded and was skipped.
    (A named tuple: an import makes one per entry, and a frozen dataclass costs twice as much.)"""

    id: str
    recorded: bool


REGISTRY_KINDS: dict[type[Any], tuple[str, tuple[str, ...]]] = {
    cmd.AddParty: ("party", ("name", "kind")),
    cmd.AddSpeaker: ("speaker", ("name", "party", "role")),
    cmd.AddSource: ("source", ("name", "kind", "url", "published")),
    cmd.AddTopic: ("topic", ("title",)),
}


def register(uow: Unit, command: RegistryCommand, *, checked: bool = False) -> Outcome:
    """Record a party, speaker, source or topic; the same one again is skipped, a different one refused.

    ``checked`` says the command's shape was already validated (an imported document is, whole).
    """
    if not checked:
        command.check()
    kind, compared = REGISTRY_KINDS[type(command)]
    if isinstance(command, cmd.AddSpeaker):
        require(uow.records, "party", command.party)
    existing = uow.records.registered(kind, command.id)
    if existing is not None:
        differences = [
            f"{name} {existing.get(name)!r} != {getattr(command, name)!r}"
            for name in compared
            if existing.get(name) != getattr(command, name)
        ]
        if differences:
            raise ConflictError(f"{kind} {command.id} is already recorded with other fields: {'; '.join(differences)}")
        return Outcome(command.id, recorded=False)
    uow.append(command.event(), expected_version=0)
    return Outcome(command.id, recorded=True)


def require(records: Records, kind: str, ident: str | None) -> None:
    """Raise NotFoundError unless ``ident`` (when given) is a recorded ``kind``."""
    if ident is None:
        return
    found = records.claim(ident) if kind == "claim" else records.registered(kind, ident)
    if found is None:
        raise NotFoundError(f"unknown {kind}: {ident}")


def assert_claim(
    uow: Unit,
    command: cmd.AssertClaim,
    *,
    existing_id_is_error: bool = False,
    checked: bool = False,
    resolved: bool = False,
) -> Outcome:
    """Record an assertion. An id already recorded is skipped, or refused when ``existing_id_is_error``.

    ``resolved`` says every registry entry the command refers to is known to exist: an import
    resolves its document's references in bulk, against the document and the log, before it
    applies anything, and nothing recorded is ever removed. The claim it responds to is looked up
    all the same (in what the unit holds already): one asserted later in the same document, the
    claim itself or a loop of replies, resolves in bulk but is not recorded yet. So is the
    speaker's party, which the bulk step does not check.
    """
    if not checked:
        command.check()
    claim_id = command.id or derive_claim_id(command.party, command.said_on, command.text)
    records = uow.records
    if not resolved:  # first: a reference that resolves nowhere is refused, the claim recorded or not
        for kind, ident in (("party", command.party), ("topic", command.topic), ("source", command.source)):
            require(records, kind, ident)
        for relay in command.via:
            require(records, "source", relay)
    if records.claim(claim_id) is not None:
        if existing_id_is_error:
            raise ConflictError(f"claim {claim_id} is already recorded")
        return Outcome(claim_id, recorded=False)
    if command.responds_to == claim_id:  # not yet recorded, so it would be "unknown"
        raise ValidationError(f"claim {claim_id} cannot respond to itself")
    require(records, "claim", command.responds_to)
    _check_speaker(records, command.speaker, command.party)
    uow.append(command.event(claim_id), expected_version=0)
    return Outcome(claim_id, recorded=True)


def _check_speaker(records: Records, speaker_id: str | None, party: str) -> None:
    """A claim's speaker must be recorded and speak for the claim's party."""
    if speaker_id is None:
        return
    speaker = records.registered("speaker", speaker_id)
    if speaker is None:
        raise NotFoundError(f"unknown speaker: {speaker_id}")
    if speaker["party"] != party:
        raise ValidationError(f"speaker {speaker_id} speaks for {speaker['party']}, not for {party}")


def lifecycle(uow: Unit, command: LifecycleCommand, *, checked: bool = False, in_document: bool = False) -> Outcome:
    """Record a retraction, reaffirmation, correction or verdict on a recorded claim.

    What is recorded already is skipped (``_recorded_already``), so that re-importing a document,
    or running a command again, adds nothing; ``in_document``: the command is an entry of a
    document being imported, matched in order against the stream's events (``Stream.match``).
    """
    if not checked:
        command.check()
    current = uow.records.claim(command.claim)
    if current is None:
        raise NotFoundError(f"unknown claim: {command.claim}")
    event = command.event()
    payload = event.payload()
    stream = uow.records.stream(event.stream_id)
    if _recorded_already(stream, command, event.TYPE, payload, current, in_document=in_document):
        return Outcome(command.claim, recorded=False)
    recorded_by_document = in_document and isinstance(command, cmd.CorrectClaim | cmd.RecordVerdict)
    if isinstance(command, cmd.RetractClaim | cmd.ReaffirmClaim):
        require(uow.records, "source", command.source)
        if parse_said_date(command.on).end < period_start(current.said_on):
            raise ValidationError(f"date {command.on} is before the claim was said ({current.said_on})")
    elif isinstance(command, cmd.RecordVerdict):
        require(uow.records, "source", command.by)
    else:
        _check_correction(uow, command, current)
    uow.append(event, expected_version=stream.version, payload=payload)
    if recorded_by_document:
        stream.recorded_by_document()
    return Outcome(command.claim, recorded=True)


def _recorded_already(
    stream: Stream,
    command: LifecycleCommand,
    type_name: str,
    payload: dict[str, Any],
    current: ClaimFields,
    *,
    in_document: bool,
) -> bool:
    """Whether a lifecycle command is recorded already, and so skipped.

    A retraction or reaffirmation of the same content as one recorded changes nothing (the dates
    decide). A correction or a verdict does, by its place: the latest correction of a field, the
    reviewer's latest verdict, stand. So one of the same content as one recorded is skipped only
    while it still stands (the claim has those values; the reviewer's latest verdict is it): a
    correction back to an earlier text, a reviewer returning to an earlier rating, is recorded.
    A document's entry is skipped too when it matches, in order, an event of the stream after
    those its earlier entries matched (``Stream.match``): a re-import of [A, B, A] adds nothing,
    where the rule above would add B again."""
    if isinstance(command, cmd.RetractClaim | cmd.ReaffirmClaim):
        return stream.holds(type_name, payload)
    if in_document and stream.match(type_name, payload):
        return True
    if isinstance(command, cmd.CorrectClaim):
        return _has_values(current, command.changes) and stream.holds(type_name, payload)
    return stream.last(type_name, by=command.by) == payload


def _has_values(current: ClaimFields, changes: dict[str, Any]) -> bool:
    """Whether the claim has every value ``changes`` gives (a correction would change nothing)."""
    recorded = {name: getattr(current, name) for name in CORRECTABLE_FIELDS}
    recorded["via"] = list(current.via)
    return all(recorded[k] == (list(v) if isinstance(v, tuple) else v) for k, v in changes.items())


def _check_correction(uow: Unit, command: cmd.CorrectClaim, current: ClaimFields) -> None:
    # A said date corrected to after a recorded retraction or reaffirmation is accepted: the act
    # then counts from the said date (claims.domain.claim.standing_periods), and refusing would
    # leave no way to fix a wrong said date, since acts themselves cannot be corrected.
    if "source" in command.changes:
        require(uow.records, "source", command.changes["source"])
    for relay in command.changes.get("via") or []:
        require(uow.records, "source", relay)
    if "speaker" in command.changes:
        _check_speaker(uow.records, command.changes["speaker"], current.party)
    if _has_values(current, command.changes):
        raise ValidationError(f"nothing to correct: claim {command.claim} already has these values")
