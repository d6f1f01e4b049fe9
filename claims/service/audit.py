"""Checkpoints and proofs over the log (SPEC section 6): an RFC 6962 Merkle tree of event hashes.

A checkpoint ``{"size", "root", "recorded_at"}`` commits to the first ``size`` events; the same log
always gives the same checkpoint. Inclusion proofs show one event is under a checkpoint;
consistency proofs show a later checkpoint extends an earlier one, so truncation and a rewritten,
re-hashed history are caught by anyone holding an old checkpoint.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from claims.domain import merkle
from claims.domain.errors import IntegrityError, ValidationError
from claims.store import eventlog
from claims.store.schema import events


def leaf_hashes(connection: Connection, size: int | None = None) -> list[bytes]:
    """The Merkle leaf hashes of the first ``size`` events (all when None), in log order."""
    query = select(events.c.hash).order_by(events.c.position)
    if size is not None:
        query = query.limit(size)
    return [merkle.event_leaf_hash(h) for h in connection.execute(query).scalars()]


def checkpoint(connection: Connection, size: int | None = None) -> dict[str, Any]:
    """The checkpoint of the first ``size`` events (default: the whole log)."""
    head = eventlog.head(connection)
    size = head.position if size is None else size
    if not 0 <= size <= head.position:
        raise ValidationError(f"the log has {head.position} events; no checkpoint of size {size}")
    accumulator = merkle.MerkleAccumulator()
    recorded_at = ""
    query = select(events.c.hash, events.c.recorded_at).order_by(events.c.position).limit(size)
    for row in connection.execute(query):
        accumulator.append(merkle.event_leaf_hash(row.hash))
        recorded_at = row.recorded_at
    return {"size": size, "root": merkle.to_hex(accumulator.root()), "recorded_at": recorded_at or None}


def check_checkpoint(given: Any) -> dict[str, Any]:
    """A checkpoint read from a file, checked for shape."""
    if (
        not isinstance(given, dict)
        or not isinstance(given.get("size"), int)
        or isinstance(given.get("size"), bool)
        or given["size"] < 0
        or not isinstance(given.get("root"), str)
        or len(given["root"]) != 64
    ):
        raise ValidationError('not a checkpoint: expected {"size": N, "root": HEX, "recorded_at": TS}')
    return given


def _tree(connection: Connection, against: dict[str, Any] | None) -> tuple[list[bytes], bytes]:
    """Leaves and root of the tree a proof is made in: the checkpoint's, or the whole log's."""
    size = against["size"] if against else None
    if size is not None and size > eventlog.head(connection).position:
        raise IntegrityError(f"the log is shorter than the checkpoint (size {size}): it was truncated")
    leaves = leaf_hashes(connection, size)
    root = merkle.root(leaves)
    if against and merkle.to_hex(root) != against["root"]:
        raise IntegrityError(f"the log does not extend the checkpoint (size {size}): its root differs")
    return leaves, root


def inclusion(connection: Connection, position: int, against: dict[str, Any] | None = None) -> dict[str, Any]:
    """An inclusion proof of the event at ``position`` in the whole log or a checkpoint's tree."""
    leaves, root = _tree(connection, against)
    if not 1 <= position <= len(leaves):
        raise ValidationError(f"position {position} is not in a tree of {len(leaves)} events")
    proof = merkle.inclusion_proof(leaves, position - 1)
    return {
        "position": position,
        "leaf_index": position - 1,
        "tree_size": len(leaves),
        "leaf_hash": merkle.to_hex(leaves[position - 1]),
        "audit_path": [merkle.to_hex(h) for h in proof],
        "root": merkle.to_hex(root),
    }


def consistency(connection: Connection, old_size: int, against: dict[str, Any] | None = None) -> dict[str, Any]:
    """A consistency proof from the first ``old_size`` events to the whole log (or the checkpoint)."""
    leaves, root = _tree(connection, against)
    if not 1 <= old_size <= len(leaves):
        raise ValidationError(f"old size must be between 1 and {len(leaves)}: {old_size}")
    return {
        "old_size": old_size,
        "new_size": len(leaves),
        "old_root": merkle.to_hex(merkle.root(leaves[:old_size])),
        "new_root": merkle.to_hex(root),
        "proof": [merkle.to_hex(h) for h in merkle.consistency_proof(leaves, old_size)],
    }


def extends(connection: Connection, given: dict[str, Any]) -> None:
    """Raise IntegrityError unless today's log still extends the checkpoint ``given``."""
    head = eventlog.head(connection).position
    size = given["size"]
    if size > head:
        raise IntegrityError(f"checkpoint of size {size} not extended: the log has only {head} events (truncated)")
    ours = checkpoint(connection, size)
    if ours["root"] != given["root"]:
        raise IntegrityError(
            f"checkpoint of size {size} not extended: the first {size} events no longer hash to its root "
            "(history was rewritten)"
        )
