"""The JSONL audit trail and the CSV event table: streamed line by line, memory flat in the log size.

Two kinds of JSONL trail
------------------------

A **whole-log export** (``claims export`` with no ``--party``, ``--topic`` or ``--since``) is
exactly the hash chain of SPEC section 6 and nothing else: one event per line, positions 1..n, each
line's ``hash`` the SHA-256 of its canonical JSON without ``hash``, each ``prev_hash`` the previous
line's ``hash``. The short recipe (``docs/recipe_verify_chain.py``) checks it, and so does
``claims verify --file``. With ``--checkpoint C`` the verifier also rebuilds the Merkle root of the
file's first ``C.size`` lines and requires ``C.root``, and ``C.recorded_at`` to be the recorded time
of line ``C.size``: a file cut short or re-hashed, or a checkpoint whose time was changed, is caught.

A **filtered export** leaves out events, so it cannot be a chain. It is made checkable instead by
inclusion proofs against one checkpoint of the whole log, written into the file:

* the FIRST line is a header, not an event::

    {"format": "claims-trail/v1", "filtered": {"party": P, "topic": T, "since": S},
     "checkpoint": {"size": n, "root": HEX, "recorded_at": TS}}

  ``filtered`` holds only the filters given; ``checkpoint`` is what ``claims checkpoint`` printed
  for the log at export time (the whole log, not the selection);
* every following line is an event line with ALL its original fields and hashes unchanged, plus
  ``"inclusion": {"leaf_index": position - 1, "tree_size": n, "audit_path": [HEX, ...]}``, an
  RFC 6962 audit path from the event's leaf to the header's root.

``claims verify --file`` tells the kinds apart by the first line (a header has ``format``). For a
filtered file it checks, line by line: the line's ``hash`` is the SHA-256 of its canonical JSON
without ``hash`` AND without ``inclusion`` (the same recipe as the chain: the proof is not part of
the event); ``leaf_index`` is ``position - 1`` and ``tree_size`` the header's size; positions
strictly increase; ``merkle.verify_inclusion`` accepts the audit path for the leaf
``SHA-256(0x00 || raw hash bytes)`` against the header root; for a party or topic selection, the
line can belong to it (``_outside_selection``); and no event of its stream is missing before it
(``_missing_before``: a selection holds whole streams, or their tails after ``since``, and a
stream's versions run 1, 2, 3 without a gap). The first failing line is reported by its
position. Nothing commits to the header's ``recorded_at`` (the root covers the events, not the
checkpoint's time), so it is checked against what the lines prove of theirs: it must be a time in
the log's form (null only for size 0), at or after every line's, and the very time of the last
event it covers when the file holds that line. A ``--since``-only export is also complete by
construction (positions ``S+1..n`` with nothing missing, each ``prev_hash`` linking to the line
before), and that is checked too; a party or topic selection cannot prove that nothing was left
out without the log itself, beyond the gaps in a stream: the last events of a stream, or a stream
whole, only the log can show missing.

With ``--checkpoint C`` a filtered file's header checkpoint must be ``C`` (same size, root and
recorded_at): the proofs then tie every line to a root the reader already trusts. A reader holding
an older checkpoint gets from the log owner a consistency proof (``claims prove --consistency OLD
--checkpoint HEADER``) and checks it with ``merkle.verify_consistency``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from claims.domain import merkle
from claims.domain.errors import ValidationError
from claims.io import strict_json
from claims.io.progress import Progress, counted
from claims.store.chain import check_chain
from claims.store.hashing import LINE_FIELDS, line_hash

CSV_FIELDS = LINE_FIELDS
TRAIL_FORMAT = "claims-trail/v1"
"""The ``format`` of a filtered export's header line."""


def write_jsonl(lines: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One compact JSON object per line, keys in the log's order; returns the number of lines.

    A payload read as stored (``hashing.stored_payload``) is written byte for byte.
    """
    count = 0
    for line in lines:
        out.write(jsonl_text(line))
        count += 1
    return count


def jsonl_text(line: dict[str, Any]) -> str:
    """One line of a JSONL export, newline included (orjson; the standard library for what orjson
    refuses, such as an integer beyond 64 bits)."""
    try:
        return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode("utf-8")
    except TypeError:
        return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_csv(rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """One row per event: the log's rows as stored (``eventlog.read_rows``), each line's values in
    ``CSV_FIELDS`` order, the payload as the canonical JSON text that was hashed, so that a row
    can be checked against its ``hash`` as a line of the JSONL export can. Returns the number of
    rows. (Parsing each payload and writing it again, as this did before, took a quarter of a
    1M-event export's time, and gave a text that differed from the hashed one by its spaces.)"""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    count = 0
    for row in rows:
        writer.writerow(row)  # None is written as an empty cell
        count += 1
    return count


# What a blank line may hold: ASCII whitespace, as ``bytes.strip`` in the recipe takes it (``str.strip``
# would also take Unicode's, such as U+001E, which the recipe reads as a line that is not JSON).
_BLANK = " \t\n\r\x0b\x0c"
MAX_LINE_CHARS = 64 * 1024 * 1024  # far above any event line; bounds what a hostile file can make us hold


def read_jsonl(stream: TextIO, name: str) -> Iterator[dict[str, Any]]:
    """Lines of an exported trail; a line that is not a JSON object, or not strictly JSON
    (``claims.io.strict_json``), is a clear error naming it.

    Lines are read with a length bound, so an endless or newline-free file (``/dev/zero``) is an
    error rather than memory exhausted.
    """
    number = 0
    while text := _next_line(stream, name):
        number += 1
        if len(text) > MAX_LINE_CHARS:
            raise ValidationError(f"{name}: line {number} is longer than {MAX_LINE_CHARS // 2**20} MiB")
        if not text.strip(_BLANK):
            continue
        try:
            line = strict_json.loads(text)
        except json.JSONDecodeError:
            raise ValidationError(f"{name}: line {number} is not JSON") from None
        except ValidationError as error:  # a repeated key, NaN, deep nesting: see claims.io.strict_json
            raise ValidationError(f"{name}: line {number}: {error}") from None
        if not isinstance(line, dict):
            raise ValidationError(f"{name}: line {number} is not a JSON object")
        yield line


def _next_line(stream: TextIO, name: str) -> str:
    """The next line of ``stream`` (at most one character past MAX_LINE_CHARS), or "" at its end.

    Bytes that are not UTF-8 are an error naming the file, as every error of ``verify --file``
    does. No line number is given: the text is decoded a block at a time, ahead of the line
    being read, so the line the bad byte is on is not known here.
    """
    try:
        return stream.readline(MAX_LINE_CHARS + 1)
    except UnicodeDecodeError as error:
        raise ValidationError(
            f"{name}: not UTF-8 text (byte {error.object[error.start : error.start + 1]!r})"
        ) from None


def trail_header(filtered: dict[str, Any], checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The first line of a filtered export."""
    return {"format": TRAIL_FORMAT, "filtered": filtered, "checkpoint": checkpoint}


def is_header(line: dict[str, Any]) -> bool:
    """Whether a trail's first line is a filtered export's header rather than an event."""
    return "format" in line and "position" not in line


def event_hash(line: dict[str, Any]) -> str:
    """The hash a trail line must carry: the chain recipe over the line without ``inclusion``."""
    return line_hash({k: v for k, v in line.items() if k != "inclusion"})


# --------------------------------------------------------------------------------------------------
# Verifying an export file (no database needed)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrailReport:
    """What ``verify_trail`` found.

    ``kind`` is ``chain`` (a whole-log export) or ``filtered``; ``size`` the event lines checked
    before any failure; ``broken_at`` the position of the first bad line (None when the lines are
    fine) and ``problem`` what is wrong (also set, with ``broken_at`` None, when only the given
    checkpoint does not match). ``checkpoint`` is the header's for a filtered file.
    """

    kind: str
    size: int
    head_hash: str | None = None
    checkpoint: dict[str, Any] | None = None
    filtered: dict[str, Any] | None = None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def describe_checkpoint(checkpoint: dict[str, Any], name: str | None = None) -> str:
    """``checkpoint NAME (size N, root 1a2b3c4d5e6f…)``: how every error names a checkpoint."""
    label = f"checkpoint {name}" if name else "checkpoint"
    return f"{label} (size {checkpoint['size']}, root {str(checkpoint['root'])[:16]}…)"


def recorded_at_mismatch(size: int, actual: str | None, checkpoint: dict[str, Any]) -> str:
    """Why a checkpoint's ``recorded_at`` is not that of the last event it covers (event ``size``,
    recorded at ``actual``), as the errors of ``verify`` and ``prove`` say it."""
    return f"its event {size} was recorded at {actual}, not at {checkpoint['recorded_at']} as the checkpoint says"


def verify_trail(
    stream: TextIO,
    name: str,
    checkpoint: dict[str, Any] | None = None,
    checkpoint_name: str | None = None,
    progress: Progress | None = None,
) -> TrailReport:
    """Verify an exported JSONL trail of either kind, and optionally that it matches ``checkpoint``;
    ``progress`` is told how many of its events have been read (a filtered file's header is none)."""
    if checkpoint is not None:  # roots are compared as written: in lowercase
        checkpoint = merkle.with_lowercase_root(checkpoint)
    lines = read_jsonl(stream, name)
    first = next(lines, None)
    if first is not None and is_header(first):  # its events counted, not the header
        return _verify_filtered(first, counted(lines, progress), checkpoint, checkpoint_name)
    rest: Iterable[dict[str, Any]] = lines if first is None else _chain_first(first, lines)
    return _verify_chain(counted(rest, progress), checkpoint, checkpoint_name)


def _chain_first(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _verify_chain(
    lines: Iterable[dict[str, Any]], checkpoint: dict[str, Any] | None, checkpoint_name: str | None
) -> TrailReport:
    """check_chain over the file; with a checkpoint, the root of its first ``size`` lines too."""
    wanted = checkpoint["size"] if checkpoint else 0
    accumulator = merkle.MerkleAccumulator()
    covered_last: list[Any] = []  # the recorded_at of line ``wanted``, the last the checkpoint covers

    def feeding(source: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for line in source:
            if accumulator.size < wanted:
                with suppress(ValueError):  # a malformed hash never passes check_chain, which names the position
                    accumulator.append(merkle.event_leaf_hash(str(line.get("hash"))))
                if line.get("position") == wanted:
                    covered_last.append(line.get("recorded_at"))
            yield line

    report = check_chain(feeding(lines))
    if not report.intact:
        return TrailReport(
            "chain", report.size, report.head_hash, broken_at=report.broken_at, problem=report.problem or "broken"
        )
    problem = None
    if checkpoint is not None:
        named = describe_checkpoint(checkpoint, checkpoint_name)
        if report.size < wanted:
            problem = f"does not extend {named}: the file holds only {report.size} events (truncated)"
        elif merkle.to_hex(accumulator.root()) != checkpoint["root"]:
            problem = (
                f"does not extend {named}: its first {wanted} events hash to root "
                f"{merkle.to_hex(accumulator.root())[:16]}… (history was rewritten)"
            )
        elif (
            wanted
            and checkpoint.get("recorded_at") is not None  # one that states no time is held to its root alone
            and (last := covered_last[-1] if covered_last else None) != checkpoint.get("recorded_at")
        ):
            problem = f"does not extend {named}: {recorded_at_mismatch(wanted, last, checkpoint)}"
    return TrailReport("chain", report.size, report.head_hash, problem=problem)


def _header_problem(header: dict[str, Any]) -> str | None:
    if header.get("format") != TRAIL_FORMAT:
        return f"unknown trail format {header.get('format')!r} (expected {TRAIL_FORMAT})"
    if not isinstance(header.get("filtered"), dict):
        return "the header has no 'filtered' object"
    checkpoint = header.get("checkpoint")
    problem = merkle.checkpoint_problem(checkpoint)
    if problem is not None:
        return f"the header's checkpoint is not one: {problem}"
    assert isinstance(checkpoint, dict)
    if checkpoint["size"] and checkpoint.get("recorded_at") is None:  # an export always writes it
        return f"the header's checkpoint covers {checkpoint['size']} events but has no recorded_at"
    filtered = header["filtered"]
    unknown = set(filtered) - {"party", "topic", "since"}
    if unknown or not filtered:
        return f"the header's 'filtered' names {sorted(unknown) or 'nothing'} (expected party, topic, since)"
    if any(not isinstance(filtered.get(key, "x"), str) or not filtered.get(key, "x") for key in ("party", "topic")):
        return "the header's party or topic is not an id"
    since = filtered.get("since", 1)
    if not isinstance(since, int) or isinstance(since, bool) or since < 1:
        return "the header's 'since' is not a position"  # an export --since 0 is the whole log, no header
    return None


def _line_problem(line: dict[str, Any], expected_index: int, size: int, root: bytes) -> str | None:
    """Why one line of a filtered file fails, or None; ``expected_index`` is position - 1."""
    try:
        stated = event_hash(line)
    except (TypeError, ValueError):
        return "the line cannot be hashed"
    if stated != line.get("hash"):
        return "hash does not match the line's content"
    proof = line.get("inclusion")
    if not isinstance(proof, dict):
        return "the line has no inclusion proof"
    if proof.get("leaf_index") != expected_index:
        return f"inclusion leaf_index {proof.get('leaf_index')!r} is not position - 1 ({expected_index})"
    if proof.get("tree_size") != size:
        return f"inclusion tree_size {proof.get('tree_size')!r} is not the header checkpoint's size {size}"
    path = proof.get("audit_path")
    try:
        hashes = [merkle.from_hex(h) for h in path] if isinstance(path, list) else None
    except (TypeError, ValueError):
        hashes = None
    if hashes is None:
        return "the inclusion audit_path is not a list of hex hashes"
    if not merkle.verify_inclusion(merkle.event_leaf_hash(stated), expected_index, size, hashes, root):
        return f"the inclusion proof does not lead to the header checkpoint's root (size {size})"
    return None


def _outside_selection(line: dict[str, Any], filtered: dict[str, Any], selected: set[str]) -> str | None:
    """Why a line cannot belong to the party or topic selection its header states, or None.

    The export's own rules (``claims.service.audit``), as far as lines alone can check them: an
    assertion is of the party and topic; a claim's later events follow its assertion in the file
    (unless ``since`` may have left the assertion out); a party's, speaker's or topic's registration
    is of the party or topic selected; nothing else is selected. That the file holds every event of
    the selection only the log can tell. The fields looked at (an assertion's party and topic, a
    speaker's party) are those of every schema version so far. ``selected`` learns each assertion.
    """
    party, topic = filtered.get("party"), filtered.get("topic")
    if party is None and topic is None:
        return None
    kind, _, ident = str(line.get("stream_id")).partition(":")
    payload = line.get("payload")
    fields = payload if isinstance(payload, dict) else {}
    if kind == "claim":
        if line.get("type") == "ClaimAsserted":
            if party not in (None, fields.get("party")) or topic not in (None, fields.get("topic")):
                return "the claim asserted is not of the selection the header states"
            selected.add(ident)
        elif ident not in selected and filtered.get("since", 0) == 0:
            return f"an event of claim {ident}, whose assertion the file does not hold"
        return None
    belongs = {
        "party": party is not None and ident == party,
        "speaker": party is not None and fields.get("party") == party,
        "topic": topic is not None and ident == topic,
    }.get(kind, False)
    return None if belongs else f"{line.get('stream_id')} is not of the selection the header states"


def _missing_before(line: dict[str, Any], versions: dict[str, int], whole_streams: bool) -> str | None:
    """Why an event of the line's stream is missing before it, or None; ``versions`` learns the line's.

    A selection holds every event of each stream it selects (a party's or topic's claims and
    registrations) or, with ``since``, every one after it, and a stream's versions are gapless
    (SPEC section 6): so a version skipped, a retraction or a correction taken out of the file, is
    seen from the lines alone. A line's stream and version are covered by its hash."""
    stream, version = str(line.get("stream_id")), line.get("stream_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return None  # no line of the log has such a version: its hash has failed already
    last = versions.get(stream)
    expected = last + 1 if last is not None else 1 if whole_streams else version
    versions[stream] = version
    if version == expected:
        return None
    if last is None:
        return f"the file holds {stream} from its version {version}: versions 1 to {version - 1} are missing"
    return f"{stream} version {expected} is missing: the file holds its version {version} after {last}"


def _verify_filtered(
    header: dict[str, Any],
    lines: Iterator[dict[str, Any]],
    checkpoint: dict[str, Any] | None,
    checkpoint_name: str | None,
) -> TrailReport:
    problem = _header_problem(header)
    if problem:
        return TrailReport("filtered", 0, problem=f"bad header: {problem}")
    filtered, ours = header["filtered"], merkle.with_lowercase_root(header["checkpoint"])
    size, root = ours["size"], merkle.from_hex(ours["root"])
    since = filtered.get("since", 0)
    complete = set(filtered) == {"since"}  # a --since export holds every event after ``since``
    previous, prev_hash, count = since, None, 0
    selected: set[str] = set()  # the claims whose assertions the file holds
    versions: dict[str, int] = {}  # each stream's last version in the file
    whole_streams = "since" not in filtered  # else a stream may begin before the selection

    def broken(position: Any, why: str) -> TrailReport:
        return TrailReport("filtered", count, checkpoint=ours, filtered=filtered, broken_at=position, problem=why)

    for line in lines:
        position = line.get("position")
        if not isinstance(position, int) or isinstance(position, bool):
            return broken(previous + 1, f"a line after position {previous} has no position")
        if position <= previous:
            return broken(position, f"position {position} does not come after {previous}")
        if position > size:
            return broken(position, f"position {position} is beyond the header checkpoint's size {size}")
        if complete and position != previous + 1:
            return broken(previous + 1, f"position {previous + 1} is missing from a --since export")
        if complete and prev_hash is not None and line.get("prev_hash") != prev_hash:
            return broken(position, "prev_hash does not match the previous line's hash")
        why = (
            _line_problem(line, position - 1, size, root)
            or _outside_selection(line, filtered, selected)
            or (None if complete else _missing_before(line, versions, whole_streams))  # complete: no gap
        )
        if why:
            return broken(position, why)
        late = _recorded_after(line, position, ours)
        if late:
            return TrailReport("filtered", count, checkpoint=ours, filtered=filtered, problem=f"bad header: {late}")
        previous, prev_hash, count = position, line["hash"], count + 1
    if complete and previous < size:
        return broken(previous + 1, f"the file ends at position {previous}; the checkpoint covers {size}")
    if checkpoint is not None and (checkpoint["size"] != size or checkpoint["root"] != ours["root"]):
        named = describe_checkpoint(checkpoint, checkpoint_name)
        hint = ""
        if checkpoint["size"] < size:
            hint = f"; ask for `claims prove --consistency {checkpoint['size']}` against the file's checkpoint"
        return TrailReport(
            "filtered",
            count,
            checkpoint=ours,
            filtered=filtered,
            problem=f"the file's {describe_checkpoint(ours)} is not {named}{hint}",
        )
    if checkpoint is not None and checkpoint.get("recorded_at") not in (None, ours.get("recorded_at")):
        named = describe_checkpoint(checkpoint, checkpoint_name)
        return TrailReport(
            "filtered",
            count,
            checkpoint=ours,
            filtered=filtered,
            problem=(
                f"the file's {describe_checkpoint(ours)} is not {named}: its recorded_at is "
                f"{ours.get('recorded_at')}, not {checkpoint.get('recorded_at')}"
            ),
        )
    return TrailReport("filtered", count, prev_hash, checkpoint=ours, filtered=filtered)


def _recorded_after(line: dict[str, Any], position: int, checkpoint: dict[str, Any]) -> str | None:
    """Why the header's checkpoint cannot be the one its line at ``position`` is under, by their
    recorded times, or None.

    Nothing commits to a header's ``recorded_at`` (the root commits to the events only), but the
    lines do to theirs (their hashes, proven under the root): recorded times never decrease with
    the position, so the checkpoint's, the time of its last event, is at or after every line's,
    and is that line's own when the file holds the last event. Both are in the log's one form
    (``dates.is_recorded_time``), which orders as text does.
    """
    stated, own = checkpoint.get("recorded_at"), line.get("recorded_at")
    if not isinstance(stated, str) or not isinstance(own, str):
        return None  # a header without one was refused already; a line's is covered by its hash
    size = checkpoint["size"]
    if position == size and own != stated:
        return f"its checkpoint's recorded_at is {stated}, but event {size}, the last it covers, was recorded at {own}"
    if own > stated:
        return f"its checkpoint's recorded_at is {stated}, before event {position} it covers (recorded at {own})"
    return None


def filtered_line(line: dict[str, Any], leaf_index: int, tree_size: int, audit_path: list[str]) -> dict[str, Any]:
    """An event line of a filtered export: the line unchanged plus its inclusion proof."""
    return {**line, "inclusion": {"leaf_index": leaf_index, "tree_size": tree_size, "audit_path": audit_path}}
