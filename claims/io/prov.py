"""W3C PROV-JSON of the log: who said what, through which sources, and who recorded it when.

Built as plain dicts (the ``prov`` package is only a test dependency, used there to load what we
write). Every identifier lives in the ``claims:`` namespace (``NAMESPACE``), one kind per path:

* ``claims:party/ID`` an agent (``prov:Organization``); ``claims:speaker/ID`` an agent
  (``prov:Person``) that ``actedOnBehalfOf`` its party; ``claims:recorder/NAME`` the agent who
  recorded events;
* ``claims:source/ID`` and ``claims:topic/ID`` entities;
* ``claims:claim/ID`` a claim as first recorded, an entity ``wasAttributedTo`` its speaker (or
  its party when no speaker is known), ``wasQuotedFrom`` its source (PROV-JSON writes a quotation
  as ``wasDerivedFrom`` with ``prov:type`` ``prov:Quotation``); the relays it travelled through
  form a derivation chain, each relay ``wasDerivedFrom`` the one before it (source, via[0],
  via[1], ...: RIA Novosti -> the AP report), each derivation naming the claim in ``claims:claim``;
* ``claims:claim/ID/vN`` the claim after a correction recorded as version N of its stream, an
  entity that ``wasRevisionOf`` the previous version (``wasDerivedFrom`` with ``prov:Revision``),
  carrying the corrected fields and their own attribution and quotation;
* ``claims:recording/P`` the activity of recording the event at log position P, associated with
  its recorder, ``prov:startTime`` its ``recorded_at``, carrying the event's hash; it generates the
  claim versions and verdicts it records;
* ``claims:retraction/P`` the speaker's (or party's) act of retracting, an activity by which the
  then current claim version ``wasInvalidatedBy``; ``claims:reaffirmation/P`` likewise ``used``
  the claim; the recording of either ``wasInformedBy`` the act;
* ``claims:verdict/P`` a fact-checker's rating, an entity derived from the claim version it rates.

The builder takes export lines in log order; ``track`` only follows claim state (for events
before a ``--since``), ``add`` also writes the event. Parties, speakers, sources and topics that
the selected events refer to but do not register are looked up at the end through ``registry``.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote

from claims.domain import events as ev
from claims.domain.claim import CORRECTABLE_FIELDS

NAMESPACE = "https://claims.example/ns#"
PREFIX = "claims"
XSD = "http://www.w3.org/2001/XMLSchema#"
REGISTRY_KINDS = ("speaker", "party", "source", "topic")

Registry = Callable[[str, set[str]], dict[str, dict[str, Any]]]
"""``registry(kind, ids)``: the registered fields of those ids of a kind (missing ones left out)."""

_CLAIM_FIELDS = (
    "party",
    "topic",
    "said_on",
    "source",
    "text",
    "speaker",
    "quote",
    "via",
    "proposition",
    "stance",
    "responds_to",
    "relation",
)


_PLAIN = re.compile(r"[A-Za-z0-9._~-]*\Z")


def qname(kind: str, ident: str) -> str:
    """``claims:KIND/ID``, the ID percent-encoded so that any recorder name is a valid local name."""
    local = ident if _PLAIN.match(ident) else quote(ident, safe="-._~")
    return f"{PREFIX}:{kind}/{local}"


def _qualified(name: str) -> dict[str, str]:
    return {"$": name, "type": "prov:QUALIFIED_NAME"}


def _drop_none(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


class ProvBuilder:
    """Accumulates a PROV-JSON document from export lines, proportional to what it is given."""

    def __init__(self) -> None:
        # section -> record id -> the record's attributes already serialised (compact, and fast to write)
        self.sections: dict[str, dict[str, str]] = {"entity": {}, "agent": {}, "activity": {}}
        self.events = 0
        self._ids = itertools.count(1)
        self._claims: dict[str, dict[str, Any]] = {}
        self._versions: dict[str, str] = {}
        self._referenced: dict[str, str] = {}
        self._needed: dict[str, set[str]] = {kind: set() for kind in REGISTRY_KINDS}
        self._declared: dict[str, set[str]] = {kind: set() for kind in REGISTRY_KINDS}

    # -- input ---------------------------------------------------------------------------------

    def track(self, line: dict[str, Any], event: ev.Event | None = None) -> None:
        """Follow a claim's recorded fields through an event that is not itself exported."""
        if event is None:
            event = ev.from_stored(line["type"], line["schema_version"], line["payload"])
        if isinstance(event, ev.ClaimAsserted):
            self._claims[event.claim] = {f: getattr(event, f) for f in _CLAIM_FIELDS}
        elif isinstance(event, ev.ClaimCorrected) and event.claim in self._claims:
            state = self._claims[event.claim]
            state.update({k: v for k, v in event.changes.items() if k in CORRECTABLE_FIELDS})
            self._versions[event.claim] = qname("claim", event.claim) + f"/v{line['stream_version']}"

    def add(self, line: dict[str, Any]) -> None:
        """Write one event into the document."""
        event = ev.from_stored(line["type"], line["schema_version"], line["payload"])
        position = line["position"]
        recording = qname("recording", str(position))
        recorder = qname("recorder", line["recorded_by"])
        self.events += 1
        self._put(
            "activity",
            recording,
            {
                "prov:type": _qualified(f"{PREFIX}:{line['type']}"),
                "prov:label": f"recording of {line['type']} at position {position}",
                "prov:startTime": line["recorded_at"],
                "claims:position": position,
                "claims:event_id": line["event_id"],
                "claims:stream": line["stream_id"],
                "claims:hash": line["hash"],
                "claims:said_at": line.get("said_at"),
            },
        )
        if recorder not in self.sections["agent"]:
            self._put(
                "agent", recorder, {"prov:type": _qualified(f"{PREFIX}:Recorder"), "prov:label": line["recorded_by"]}
            )
        self._relate("wasAssociatedWith", {"prov:activity": recording, "prov:agent": recorder})
        match event:
            case ev.PartyRegistered():
                self._party(event.party, {"name": event.name, "kind": event.kind})
            case ev.SpeakerRegistered():
                self._speaker(event.speaker, {"name": event.name, "party": event.party, "role": event.role})
            case ev.SourceRegistered():
                fields = {"name": event.name, "kind": event.kind, "url": event.url, "published": event.published}
                self._source(event.source, fields)
            case ev.TopicRegistered():
                self._topic(event.topic, {"title": event.title})
            case ev.ClaimAsserted():
                self.track(line, event)
                self._claim_version(event.claim, qname("claim", event.claim), recording, line["recorded_at"])
            case ev.ClaimCorrected():
                self._correction(event, line, recording)
            case ev.ClaimRetracted() | ev.ClaimReaffirmed():
                self._act(event, position, recording)
            case ev.VerdictRecorded():
                self._verdict(event, position, recording, line["recorded_at"])

    # -- output --------------------------------------------------------------------------------

    def write(self, out: TextIO, registry: Registry) -> None:
        """Write the PROV-JSON document, one record a line, after declaring what the events referred to.

        Parties, speakers, sources and topics the events name but do not register are looked up
        through ``registry``; claims recorded before a ``--since`` are declared without detail.
        """
        for kind in REGISTRY_KINDS:  # speakers first: each one found brings in its party
            missing = self._needed[kind] - self._declared[kind]
            found = registry(kind, missing) if missing else {}
            for ident in sorted(missing):
                declare = getattr(self, f"_{kind}")
                declare(ident, found.get(ident, {}))
        for entity, claim in self._referenced.items():
            if entity not in self.sections["entity"]:
                self._put("entity", entity, {"prov:type": _qualified(f"{PREFIX}:Claim"), "claims:id": claim})
        out.write('{\n"prefix": ' + json.dumps({PREFIX: NAMESPACE, "xsd": XSD}))
        for section, records in self.sections.items():
            if not records:
                continue
            out.write(f",\n{json.dumps(section)}: {{")
            separator = "\n"
            for ident, record in records.items():
                out.write(f"{separator}{json.dumps(ident, ensure_ascii=False)}: {record}")
                separator = ",\n"
            out.write("\n}")
        out.write("\n}\n")

    def document(self, registry: Registry) -> dict[str, Any]:
        """The PROV-JSON document as a dict (for small documents; ``write`` streams large ones)."""
        buffer = io.StringIO()
        self.write(buffer, registry)
        document: dict[str, Any] = json.loads(buffer.getvalue())
        return document

    # -- pieces --------------------------------------------------------------------------------

    def _put(self, section: str, ident: str, attributes: dict[str, Any]) -> None:
        records = self.sections.setdefault(section, {})
        records[ident] = json.dumps(_drop_none(attributes), ensure_ascii=False)

    def _relate(self, relation: str, attributes: dict[str, Any]) -> None:
        self._put(relation, f"_:r{next(self._ids)}", attributes)

    def _need(self, kind: str, ident: str | None) -> None:
        if ident is not None:
            self._needed[kind].add(ident)

    def _party(self, ident: str, fields: dict[str, Any]) -> None:
        self._declared["party"].add(ident)
        self._put(
            "agent",
            qname("party", ident),
            {
                "prov:type": _qualified("prov:Organization"),
                "prov:label": fields.get("name", ident),
                "claims:id": ident,
                "claims:kind": fields.get("kind"),
            },
        )

    def _speaker(self, ident: str, fields: dict[str, Any]) -> None:
        self._declared["speaker"].add(ident)
        self._put(
            "agent",
            qname("speaker", ident),
            {
                "prov:type": _qualified("prov:Person"),
                "prov:label": fields.get("name", ident),
                "claims:id": ident,
                "claims:role": fields.get("role"),
            },
        )
        party = fields.get("party")
        if party:
            self._need("party", party)
            self._relate(
                "actedOnBehalfOf", {"prov:delegate": qname("speaker", ident), "prov:responsible": qname("party", party)}
            )

    def _source(self, ident: str, fields: dict[str, Any]) -> None:
        self._declared["source"].add(ident)
        url = fields.get("url")
        self._put(
            "entity",
            qname("source", ident),
            {
                "prov:type": _qualified(f"{PREFIX}:Source"),
                "prov:label": fields.get("name", ident),
                "claims:id": ident,
                "claims:kind": fields.get("kind"),
                "claims:url": {"$": url, "type": "xsd:anyURI"} if url else None,
                "claims:published": fields.get("published"),
            },
        )

    def _topic(self, ident: str, fields: dict[str, Any]) -> None:
        self._declared["topic"].add(ident)
        self._put(
            "entity",
            qname("topic", ident),
            {"prov:type": _qualified(f"{PREFIX}:Topic"), "prov:label": fields.get("title", ident), "claims:id": ident},
        )

    def _author(self, state: dict[str, Any]) -> str:
        if state.get("speaker"):
            self._need("speaker", state["speaker"])
            return qname("speaker", state["speaker"])
        self._need("party", state["party"])
        return qname("party", state["party"])

    def _current(self, claim: str) -> str:
        """The entity of the claim's latest version, remembered so that it is declared at the end."""
        entity = self._versions.get(claim, qname("claim", claim))
        self._referenced[entity] = claim
        return entity

    def _claim_version(
        self, claim: str, entity: str, recording: str, recorded_at: str, correction: str | None = None
    ) -> None:
        """One recorded version of a claim: the entity, its generation, attribution and quotation chain."""
        state = self._claims[claim]
        self._need("party", state["party"])
        self._need("topic", state["topic"])
        self._need("source", state["source"])
        responds = state.get("responds_to")
        self._put(
            "entity",
            entity,
            {
                "prov:type": _qualified(f"{PREFIX}:Claim"),
                "prov:label": state["text"],
                "claims:id": claim,
                "claims:quote": state.get("quote"),
                "claims:said_on": state["said_on"],
                "claims:party": _qualified(qname("party", state["party"])),
                "claims:topic": _qualified(qname("topic", state["topic"])),
                "claims:proposition": state.get("proposition"),
                "claims:stance": state.get("stance"),
                "claims:responds_to": _qualified(qname("claim", responds)) if responds else None,
                "claims:relation": state.get("relation"),
                "claims:correction": correction,
            },
        )
        self._relate("wasGeneratedBy", {"prov:entity": entity, "prov:activity": recording, "prov:time": recorded_at})
        self._relate("wasAttributedTo", {"prov:entity": entity, "prov:agent": self._author(state)})
        self._relate(
            "wasDerivedFrom",
            {
                "prov:generatedEntity": entity,
                "prov:usedEntity": qname("source", state["source"]),
                "prov:type": _qualified("prov:Quotation"),
            },
        )
        previous = state["source"]
        for step, relay in enumerate(state.get("via") or (), start=1):
            self._need("source", relay)
            self._relate(
                "wasDerivedFrom",
                {
                    "prov:generatedEntity": qname("source", relay),
                    "prov:usedEntity": qname("source", previous),
                    "claims:claim": _qualified(entity),
                    "claims:relay_step": step,
                },
            )
            previous = relay

    def _correction(self, event: ev.ClaimCorrected, line: dict[str, Any], recording: str) -> None:
        before = self._current(event.claim)
        if event.claim not in self._claims:  # the assertion was not given: nothing to revise
            return
        self.track(line, event)
        after = self._current(event.claim)
        self._claim_version(event.claim, after, recording, line["recorded_at"], correction=event.reason)
        self._relate(
            "wasDerivedFrom",
            {
                "prov:generatedEntity": after,
                "prov:usedEntity": before,
                "prov:activity": recording,
                "prov:type": _qualified("prov:Revision"),
            },
        )

    def _act(self, event: ev.ClaimRetracted | ev.ClaimReaffirmed, position: int, recording: str) -> None:
        retraction = isinstance(event, ev.ClaimRetracted)
        act = qname("retraction" if retraction else "reaffirmation", str(position))
        self._put(
            "activity",
            act,
            {
                "prov:type": _qualified(f"{PREFIX}:{'Retraction' if retraction else 'Reaffirmation'}"),
                "prov:label": f"{'retraction' if retraction else 'reaffirmation'} of {event.claim} on {event.on}",
                "claims:on": event.on,
                "claims:source": _qualified(qname("source", event.source)) if event.source else None,
                "claims:reason": getattr(event, "reason", None),
            },
        )
        self._need("source", event.source)
        claim = self._current(event.claim)
        if event.claim in self._claims:
            self._relate(
                "wasAssociatedWith", {"prov:activity": act, "prov:agent": self._author(self._claims[event.claim])}
            )
        if retraction:
            self._relate("wasInvalidatedBy", {"prov:entity": claim, "prov:activity": act, "claims:on": event.on})
        else:
            self._relate("used", {"prov:activity": act, "prov:entity": claim, "claims:on": event.on})
        self._relate("wasInformedBy", {"prov:informed": recording, "prov:informant": act})

    def _verdict(self, event: ev.VerdictRecorded, position: int, recording: str, recorded_at: str) -> None:
        verdict = qname("verdict", str(position))
        self._need("source", event.by)
        self._put(
            "entity",
            verdict,
            {
                "prov:type": _qualified(f"{PREFIX}:Verdict"),
                "prov:label": f"{event.rating} ({event.by} on {event.claim})",
                "claims:rating": event.rating,
                "claims:by": _qualified(qname("source", event.by)),
                "claims:url": {"$": event.url, "type": "xsd:anyURI"} if event.url else None,
            },
        )
        self._relate("wasGeneratedBy", {"prov:entity": verdict, "prov:activity": recording, "prov:time": recorded_at})
        self._relate("wasDerivedFrom", {"prov:generatedEntity": verdict, "prov:usedEntity": self._current(event.claim)})
