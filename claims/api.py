"""The public Python API: open a tracker by URL and do what the command line does.

    import claims
    tracker = claims.open_tracker("claims.db", user="ana")
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.narrative("russia", as_of="2023-03-02")

The command line is a thin shell over this class; notebooks and scripts use it directly.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Connection, Engine, inspect

from claims.domain.dates import parse_as_of, parse_known_at
from claims.domain.errors import ClaimsError, NotFoundError, StorageError, ValidationError
from claims.projections import lookups, queries
from claims.projections.queries import Times
from claims.service import retry
from claims.service.collector import collector_paused
from claims.store import eventlog
from claims.store.engine import display_url, open_engine, resolve_url, sqlite_file
from claims.store.eventlog import StoredEvent
from claims.store.schema import SCHEMA_REVISIONS

if TYPE_CHECKING:
    from claims.io.trail import TrailReport
    from claims.service.audit import ExportSummary
    from claims.service.handlers import Outcome
    from claims.service.importer import ImportReport
    from claims.service.records import Registered
    from claims.service.uow import UnitOfWork
    from claims.store.chain import ChainReport

# The write path (commands, handlers, the unit of work, the projector), the document loader
# (YAML), the importer and the audit trail (Merkle proofs, exporters) are imported inside the
# methods that use them: a query such as ``claims narrative`` then pays only for SQLAlchemy and
# the read path at start-up (the commands' and events' dataclasses alone cost ~20 ms to build).

USER_ENVIRONMENT = "CLAIMS_USER"
# A million events make about 300 MB of JSON; a larger log is imported as several documents.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
# Events ``Tracker.log`` reads in each of its transactions.
LOG_PAGE = 5000


def default_user() -> str:
    """``CLAIMS_USER`` or the login name: the recorder written on every event."""
    try:
        return os.environ.get(USER_ENVIRONMENT) or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def verify_export(
    path: str,
    checkpoint: dict[str, Any] | None = None,
    checkpoint_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrailReport:
    """Verify an exported JSONL trail (whole chain or filtered with proofs); needs no database.

    With ``checkpoint``, it also checks that the file matches that checkpoint. ``progress`` is told
    how many events have been read, every thousand and at the end.
    """
    from claims.io.trail import verify_trail

    with open(path, encoding="utf-8") as stream:
        return verify_trail(stream, path, checkpoint, checkpoint_name, progress)


def parse_checkpoint(given: Any) -> dict[str, Any]:
    """A checkpoint read from a file, checked for shape (ValidationError otherwise)."""
    from claims.service.audit import check_checkpoint

    return check_checkpoint(given)


def _read_file(file: Path) -> bytes:
    """The file's bytes, one byte past MAX_DOCUMENT_BYTES at most (so that the limit is noticed)."""
    from claims.io.limited import read_at_most  # not on the query path

    try:
        with file.open("rb") as stream:
            return read_at_most(stream, MAX_DOCUMENT_BYTES)
    except OSError as error:
        raise ValidationError(f"{file}: cannot read: {error.strerror or error}") from None


def _decoded(data: bytes, name: str) -> str:
    """A document's bytes as text: UTF-8 (a byte order mark allowed), within MAX_DOCUMENT_BYTES."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"{name}: larger than {MAX_DOCUMENT_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"{name}: not UTF-8 text (byte {error.start})") from None


def open_tracker(url: str | None = None, *, user: str | None = None) -> Tracker:
    """Open the tracker at ``url`` (default: ``CLAIMS_DATABASE_URL`` or ``./claims.db``)."""
    return Tracker(resolve_url(url), user=user or default_user())


class Tracker:
    """One claims database: write operations append events; read operations query projections."""

    def __init__(self, url: str, *, user: str) -> None:
        self.url = url
        self.user = user
        self._engine: Engine | None = None
        self._creating = False  # only migrating up may create an SQLite file (``open_engine``)
        self._schema_seen = False
        self._revision_seen = False
        # Registry entries known to be committed, for the units after (``Records``): made by the
        # first write, dropped when the schema may have changed or the engine is let go.
        self._registered: Registered | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.url, may_create=lambda: self._creating)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._registered = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------------

    def init(self) -> str | None:
        """Create or upgrade the schema to the newest migration; returns the revision reached."""
        return self.upgrade("head")

    def upgrade(self, revision: str = "head") -> str | None:
        """Run the migrations up to ``revision``; returns the revision the database is at."""
        from claims.store import migrations

        self._creating = True
        try:
            migrations.upgrade(self.engine, revision)
        finally:
            self._creating = False
        self._registered = None
        return migrations.current(self.engine)

    def downgrade(self, revision: str) -> str | None:
        """Run the migrations down to ``revision`` (``base`` drops every table, the log included)."""
        from claims.store import migrations

        migrations.downgrade(self.engine, revision)
        self._schema_seen = False
        self._revision_seen = False
        self._registered = None
        return migrations.current(self.engine)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """The revision the database is at (None: no schema) and the newest one shipped."""
        from claims.store import migrations

        return migrations.current(self.engine), migrations.head(self.engine)

    def schema_history(self) -> list[tuple[str, str | None, str]]:
        """Every shipped revision, newest first: (revision, down revision, message)."""
        from claims.store import migrations

        return migrations.history(self.engine)

    def grant_writer(self, role: str) -> list[str]:
        """Let a PostgreSQL role append to and read the log, and nothing more; returns the statements run."""
        from claims.projections import tables  # the projections' tables, on the log's metadata
        from claims.store import roles

        return roles.grant_writer(self.engine, role, tables.metadata.tables)

    def _require_schema(self, connection: Connection, *, any_revision: bool = False) -> None:
        """Refuse to work on a database without the log, or on the schema of an earlier version of
        claims, which would fail on the first column it lacks; unless only what every revision
        holds is read (``any_revision``: the log, whose table has not changed since the first,
        the registries, the claims' ids and the projections' row counts). Checked once per
        tracker: a later failure (the schema dropped underneath) still surfaces as a database
        error, just a less friendly one. A revision this code does not know (a later claims's) is
        let through."""
        if not self._schema_seen:
            if not inspect(connection).has_table("events"):
                raise StorageError(f"no claims database at {self.display_url()}: run `claims init` first")
            self._schema_seen = True
        if any_revision or self._revision_seen:
            return
        if inspect(connection).has_table("alembic_version"):
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            if revision in SCHEMA_REVISIONS[:-1]:
                raise StorageError(
                    f"the claims database at {self.display_url()} has schema {revision}, and this version "
                    f"of claims needs {SCHEMA_REVISIONS[-1]}: run `claims db upgrade`"
                )
        self._revision_seen = True

    def database_file(self) -> Path | None:
        """The SQLite file of this tracker's database, as its URL names it; None on PostgreSQL (or
        for an in-memory SQLite)."""
        return sqlite_file(self.url)

    def display_url(self) -> str:
        """The URL with every password hidden, the userinfo's and the query's (``engine.display_url``)."""
        return display_url(self.url)

    # -- writes --------------------------------------------------------------------------------

    def _write(self, action: Callable[[UnitOfWork], Outcome]) -> Outcome:
        """Run ``action`` in one unit of work and commit it; a write the database refused only
        because another writer was in the way (busy, locked, deadlock) is run again from the start
        (``claims.service.retry``)."""
        from claims.domain.commands import check_recorder
        from claims.service.records import Registered
        from claims.service.uow import UnitOfWork

        check_recorder(self.user)
        if self._registered is None:
            self._registered = Registered()
        registered = self._registered

        def attempt() -> Outcome:
            if not self._revision_seen:
                with self.engine.connect() as connection:
                    self._require_schema(connection)
            with UnitOfWork(self.engine, self.user, registered=registered) as uow:
                outcome = action(uow)
                uow.commit()
            return outcome

        return retry.run(self.engine, attempt)

    def add_party(self, id: str, *, name: str, kind: str = "other") -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        return self._write(lambda uow: handlers.register(uow, cmd.AddParty(id=id, name=name, kind=kind)))

    def add_speaker(self, id: str, *, name: str, party: str, role: str | None = None) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        command = cmd.AddSpeaker(id=id, name=name, party=party, role=role)
        return self._write(lambda uow: handlers.register(uow, command))

    def add_source(
        self,
        id: str,
        *,
        name: str,
        kind: str | None = None,
        url: str | None = None,
        published: str | None = None,
    ) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        command = cmd.AddSource(id=id, name=name, kind=kind, url=url, published=published)
        return self._write(lambda uow: handlers.register(uow, command))

    def add_topic(self, id: str, *, title: str) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        return self._write(lambda uow: handlers.register(uow, cmd.AddTopic(id=id, title=title)))

    def add_claim(self, **fields: Any) -> Outcome:
        """Assert a claim (fields as ``claims add`` takes them); an explicit id already taken is refused,
        the same claim again without an id is skipped."""
        from claims.domain import commands as cmd
        from claims.service import handlers

        if "via" in fields:
            fields["via"] = tuple(fields["via"] or ())
        command = cmd.AssertClaim(**fields)
        explicit = command.id is not None
        return self._write(lambda uow: handlers.assert_claim(uow, command, existing_id_is_error=explicit))

    def retract(self, claim: str, *, on: str, source: str | None = None, reason: str | None = None) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        command = cmd.RetractClaim(claim=claim, on=on, source=source, reason=reason)
        return self._write(lambda uow: handlers.lifecycle(uow, command))

    def reaffirm(self, claim: str, *, on: str, source: str) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        command = cmd.ReaffirmClaim(claim=claim, on=on, source=source)
        return self._write(lambda uow: handlers.lifecycle(uow, command))

    def correct(self, claim: str, *, reason: str, **changes: Any) -> Outcome:
        """Fix our recording error in any of text, quote, said_on, speaker, source, via. A field
        given as None is left as it is; an empty quote or speaker ("") removes it, as ``via=[]``
        removes the relays (a claim wrongly put in a speaker's mouth, a quote that was not said)."""
        from claims.domain import commands as cmd
        from claims.domain.claim import REMOVABLE_FIELDS
        from claims.service import handlers

        given = {
            k: list(v) if k == "via" else None if k in REMOVABLE_FIELDS and v == "" else v
            for k, v in changes.items()
            if v is not None
        }
        command = cmd.CorrectClaim(claim=claim, reason=reason, changes=given)
        return self._write(lambda uow: handlers.lifecycle(uow, command))

    def verdict(self, claim: str, *, rating: str, by: str, url: str | None = None) -> Outcome:
        from claims.domain import commands as cmd
        from claims.service import handlers

        command = cmd.RecordVerdict(claim=claim, rating=rating, by=by, url=url)
        return self._write(lambda uow: handlers.lifecycle(uow, command))

    # An import holds the document in one form at a time: the bytes, the text, the parsed mapping
    # and the commands are each let go as soon as the next is built (each is a temporary of the
    # next one's call), and only the commands are kept for the transaction and its retries. Text
    # or bytes a caller passes in stay the caller's.

    def import_text(
        self, text: str, *, name: str = "document", progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Import one claims document given as YAML or JSON text (in one transaction, retried like
        every write when the database was only busy)."""
        from claims.io.loading import load_text

        return self._import(lambda: load_text(text, name=name), name=name, progress=progress)

    def import_bytes(
        self, data: bytes, *, name: str = "document", progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Import one claims document given as UTF-8 bytes (a byte order mark is allowed) of at most
        MAX_DOCUMENT_BYTES."""
        from claims.io.loading import load_text

        return self._import(lambda: load_text(_decoded(data, name), name=name), name=name, progress=progress)

    def import_file(self, path: str | Path, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """Import one claims document from a file (read no further than the size limit, so that a
        device or a pipe that never ends is refused rather than read into memory)."""
        from claims.io.loading import load_text

        file = Path(path)
        name = str(file)

        def load() -> Any:
            return load_text(_decoded(_read_file(file), name), name=name)

        return self._import(load, name=name, progress=progress)

    def _import(
        self, load: Callable[[], Any], *, name: str, progress: Callable[[int, int], None] | None
    ) -> ImportReport:
        """Check the recorder, read the document ``load`` parses into commands, then apply them in
        one transaction."""
        from claims.domain.commands import check_recorder
        from claims.io.document import read_document
        from claims.service.importer import import_document

        check_recorder(self.user)
        with collector_paused():  # parsing builds as many objects as importing
            document = read_document(load())
        with self.engine.connect() as connection:
            self._require_schema(connection)
        return retry.run(
            self.engine,
            lambda: import_document(self.engine, document, recorded_by=self.user, name=name, progress=progress),
        )

    # -- reads ---------------------------------------------------------------------------------

    def _read(self, *, any_revision: bool = False) -> Connection:
        connection = self.engine.connect()
        try:
            self._require_schema(connection, any_revision=any_revision)
        except ClaimsError:
            connection.close()
            raise
        return connection

    def times(self, connection: Connection, as_of: str | None, known_at: str | None) -> Times:
        """Turn user-given ``--as-of`` and ``--known-at`` into the two times of a query."""
        position = None
        if known_at is not None:
            position = eventlog.position_at(connection, parse_known_at(known_at))
        return Times(as_of=parse_as_of(as_of) if as_of is not None else None, known_at=position)

    def _pinned(self, connection: Connection, times: Times) -> Times:
        """``times`` with a known-at, the log's head when none was asked: reads made one after
        another (a group of topics each) then give the answer one read would, whatever is
        recorded meanwhile."""
        if times.known_at is not None:
            return times
        return Times(as_of=times.as_of, known_at=eventlog.head(connection).position)

    def _require(self, connection: Connection, kind: str, *idents: str | None) -> None:
        """Refuse the first of ``idents`` (None: not asked about) not recorded as ``kind``; one query
        for all of them."""
        wanted = [ident for ident in idents if ident is not None]
        if not wanted:
            return
        known = lookups.known_ids(connection, kind, wanted)
        unknown = next((ident for ident in wanted if ident not in known), None)
        if unknown is not None:
            raise NotFoundError(f"unknown {kind}: {unknown}")

    def narrative(
        self, party: str, *, topic: str | None = None, as_of: str | None = None, known_at: str | None = None
    ) -> list[dict[str, Any]]:
        """The party's standing claims by topic, in said order, at both times."""
        with collector_paused():
            with self._read() as connection:
                self._require(connection, "party", party)
                self._require(connection, "topic", topic)
                times = self.times(connection, as_of, known_at)
                claims = queries.narrative(connection, [party], times, topic)
            torn = queries.self_contradictions(claims).get(party, set())
            for item in claims:
                item["self_contradiction"] = item["proposition"] in torn
        return claims

    def compare(
        self,
        parties: list[str],
        *,
        topic: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> dict[str, Any]:
        """Competing narratives of ``parties`` side by side, with their contradictions."""
        with collector_paused(), self._read() as connection:
            self._require(connection, "party", *parties)
            self._require(connection, "topic", topic)
            return queries.compare(connection, parties, self.times(connection, as_of, known_at), topic)

    def comparison(
        self,
        parties: list[str],
        *,
        topic: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> queries.Comparison:
        """``compare``, for a caller that writes the claims as they come and the contradictions
        after them (``claims compare --format json``): the claims are read a group of topics at a
        time, as ``claims`` reads them, so what is held is a group's claims (at 1M events, two
        whole parties took 483 MB held whole). The arguments are checked before this returns."""
        with self._read() as connection:
            self._require(connection, "party", *parties)
            self._require(connection, "topic", topic)
            times = self._pinned(connection, self.times(connection, as_of, known_at))
            groups = self._groups(connection, topic, parties)
        pages = self._read_in_groups(groups, lambda c, group: queries.narrative(c, parties, times, topics=group))
        return queries.Comparison(parties, pages)

    def timeline(
        self,
        *,
        topic: str | None = None,
        party: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every assertion, reaffirmation and retraction in said-time order, at both times (a list of
        ``timeline_entries``, which a caller that writes them as they come should take instead)."""
        return list(self.timeline_entries(topic=topic, party=party, as_of=as_of, known_at=known_at))

    def timeline_entries(
        self,
        *,
        topic: str | None = None,
        party: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``timeline``, read whole in one transaction when called and held as plain rows; each
        entry is made as the caller takes it (``claims timeline`` at 1M events: 334 MB, where
        holding every entry took 805)."""
        with self._read() as connection:
            self._require(connection, "party", party)
            self._require(connection, "topic", topic)
            times = self.times(connection, as_of, known_at)
            rows = queries.timeline_rows(connection, times, topic=topic, party=party)
        return map(queries.timeline_entry, rows)

    def changes(self, party: str, *, since: str, until: str, known_at: str | None = None) -> dict[str, Any]:
        """What ``party``'s narrative gained and lost between two said dates, and which of its
        claims we corrected in our record between those dates (recorded time); with ``known_at``,
        as the database knew it then."""
        start, end = parse_as_of(since), parse_as_of(until)
        if start > end:
            raise ValidationError(f"--from {since} is after --to {until}")
        with collector_paused():
            with self._read() as connection:
                self._require(connection, "party", party)
                known = self.times(connection, None, known_at).known_at
                before = {c["id"]: c for c in queries.narrative(connection, [party], Times(start, known))}
                after = {c["id"]: c for c in queries.narrative(connection, [party], Times(end, known))}
                first = eventlog.position_at(connection, parse_known_at(start))
                last = eventlog.position_at(connection, parse_known_at(end))
                if known is not None:
                    first, last = min(first, known), min(last, known)
                corrected = queries.corrections_between(connection, party, first, last, known)
            return {
                "party": party,
                "from": since,
                "to": until,
                "gained": [claim for key, claim in after.items() if key not in before],
                # Standing as of --from, said by then, and not standing as of --to: retracted in between.
                "lost": [{**claim, "status": "retracted"} for key, claim in before.items() if key not in after],
                "corrected": corrected,
            }

    def list_claims(
        self,
        *,
        party: str | None = None,
        topic: str | None = None,
        status: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every claim recorded (of ``party``, on ``topic``, with ``status``) with its status at
        both times, by topic in said order."""
        return list(self.claims(party=party, topic=topic, status=status, as_of=as_of, known_at=known_at))

    def claims(
        self,
        *,
        party: str | None = None,
        topic: str | None = None,
        status: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``list_claims``, read as it is used: a group of topics at a time (``queries.topic_groups``:
        about ten thousand claims), each group in a short transaction of its own, so that what is
        held is one group's claims and a slow reader (``claims list | less``) keeps no transaction
        open. All are read as of one position of the log (``known_at``, or its head when asked),
        so the answer is the one a single read would give, whatever is recorded meanwhile. The
        arguments are checked before this returns."""
        with self._read() as connection:
            self._require(connection, "party", party)
            self._require(connection, "topic", topic)
            times = self._pinned(connection, self.times(connection, as_of, known_at))
            groups = self._groups(connection, topic, None if party is None else [party])

        def read(connection: Connection, group: list[str]) -> list[dict[str, Any]]:
            return queries.list_claims(connection, times, party=party, topics=group, status=status)

        return chain.from_iterable(self._read_in_groups(groups, read))

    def _groups(self, connection: Connection, topic: str | None, parties: list[str] | None) -> list[list[str]]:
        """The groups of topics a long answer is read in: the one topic asked about, or else every
        topic in groups of about LIST_GROUP_CLAIMS claims of ``parties`` (``queries.topic_groups``)."""
        return [[topic]] if topic is not None else queries.topic_groups(connection, parties)

    def _read_in_groups(
        self, groups: list[list[str]], read: Callable[[Connection, list[str]], list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """``read`` of one group of topics after another, each in a short transaction of its own,
        made when the page before has been taken (``claims``, ``comparison``)."""
        for group in groups:
            with collector_paused(), self._read() as connection:
                page = read(connection, group)
            yield page

    def show(self, claim: str, *, as_of: str | None = None, known_at: str | None = None) -> dict[str, Any]:
        """The claim as it stands at both times, its verdicts, and every event of its history."""
        with self._read() as connection:
            times = self.times(connection, as_of, known_at)
            view = queries.claim(connection, claim, times)
            if view is None:
                raise NotFoundError(f"unknown claim: {claim}")
            view["verdicts"] = queries.claim_verdicts(connection, claim, times.known_at)
            history = [
                e.line()
                for e in eventlog.read_stream(connection, f"claim:{claim}")
                if times.known_at is None or e.position <= times.known_at
            ]
        return {"claim": view, "history": history}

    def log(self, *, since: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The raw event log as export lines, from position ``since`` (exclusive).

        Read a page at a time, each page in a short transaction of its own and none past the head
        the first one found. The caller may take its time over each line (``claims log | less``),
        and a transaction held open meanwhile would keep SQLite from checkpointing its write-ahead
        log and PostgreSQL's vacuum from its work. Writers append in position order with no gaps,
        so the pages make the same log as one read would."""
        with self._read(any_revision=True) as connection:
            head = eventlog.head(connection).position
        position, left = since, limit
        while position < head and (left is None or left > 0):
            size = LOG_PAGE if left is None else min(LOG_PAGE, left)
            with self._read(any_revision=True) as connection:
                rows = eventlog.read_rows(connection, since=position, limit=size, until=head)
                events = [eventlog.from_row(row) for row in rows]
            if not events:
                return
            for event in events:
                yield event.line()
            position = events[-1].position
            if left is not None:
                left -= len(events)

    def events(self, *, since: int = 0) -> Iterator[StoredEvent]:
        with self._read(any_revision=True) as connection:
            yield from eventlog.read(connection, since=since)

    def verify(self, progress: Callable[[int], None] | None = None) -> ChainReport:
        """Check the database's hash chain from position 1 to the head; ``progress`` is told how
        many events have been read, every thousand and at the end.

        A log cut short keeps an intact chain, but its projections, folded in the transactions that
        appended the events lost, remember how far it went: their checkpoint past the head is
        reported as the break (a checkpoint kept outside the database proves more: ``verify_checkpoint``)."""
        from claims.io.progress import counted
        from claims.projections import projector
        from claims.store.chain import ChainReport, check_chain

        with self._read(any_revision=True) as connection:
            # Read first: the projections commit with their events, so a checkpoint read before the
            # chain cannot pass it, even at READ COMMITTED with writers committing meanwhile.
            projected = projector.checkpoint(connection)
            report = check_chain(counted(eventlog.read_lines(connection), progress))
        if report.intact and projected > report.size:  # the projections remember events the log lost
            return ChainReport(
                report.size,
                report.head_hash,
                broken_at=report.size + 1,
                problem=projector.the_log_cut_short(projected, report.size),
            )
        return report

    # -- projections ---------------------------------------------------------------------------

    def projections_status(self) -> dict[str, Any]:
        from claims.projections import projector

        with self._read(any_revision=True) as connection:
            head, projected = projector.head_and_checkpoint(connection)
            return {
                "head": head.position,
                "checkpoint": projected,
                "tables": dict(projector.projection_counts(connection)),
                "folded_in_written_order": projector.claims_folded_in_written_order(connection),
            }

    def claims_folded_in_written_order(self) -> int:
        """Claims whose status the projections may give in the order their acts of one day were
        written rather than happened: folded before migration 0006, and not rebuilt since
        (``projector.claims_folded_in_written_order``). ``claims projections rebuild`` folds them again."""
        from claims.projections import projector

        with self._read() as connection:
            return projector.claims_folded_in_written_order(connection)

    def projections_checkpoint(self) -> int:
        """The log position the projections have folded up to (``projections_status`` without
        counting every projection row)."""
        from claims.projections import projector

        with self._read() as connection:
            return projector.checkpoint(connection)

    def rebuild_projections(self, progress: Callable[[int], None] | None = None) -> int:
        """Empty the projections and fold the whole log into them again; returns the events folded.
        A database without the schema is refused as every other command refuses it (``_require_schema``),
        not with the first projection table the rebuild happens to empty."""
        from claims.projections import projector
        from claims.service.uow import UnitOfWork

        with self.engine.connect() as connection:
            self._require_schema(connection)

        def attempt() -> int:
            with UnitOfWork(self.engine, self.user) as uow, collector_paused():
                uow.expect_large()
                count = projector.rebuild(uow.connection, progress)
                uow.commit()
            return count

        return retry.run(self.engine, attempt)

    # -- audit trail ---------------------------------------------------------------------------

    def checkpoint(self, size: int | None = None) -> dict[str, Any]:
        """The Merkle checkpoint ``{"size", "root", "recorded_at"}`` of the log (or its first ``size`` events)."""
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            return audit.checkpoint(connection, size)

    def prove_inclusion(
        self, position: int, against: dict[str, Any] | None = None, *, name: str | None = None
    ) -> dict[str, Any]:
        """An inclusion proof of the event at ``position`` (in the checkpoint ``against`` when given)."""
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            return audit.inclusion(connection, position, against, name)

    def prove_claim(
        self, claim: str, against: dict[str, Any] | None = None, *, name: str | None = None
    ) -> dict[str, Any]:
        """An inclusion proof of the claim's assertion event."""
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            stream = eventlog.read_stream(connection, f"claim:{claim}")
            if not stream:
                raise NotFoundError(f"unknown claim: {claim}")
            return audit.inclusion(connection, stream[0].position, against, name)

    def prove_consistency(
        self, old_size: int, against: dict[str, Any] | None = None, *, name: str | None = None
    ) -> dict[str, Any]:
        """An RFC 6962 consistency proof from the first ``old_size`` events to the log (or ``against``)."""
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            return audit.consistency(connection, old_size, against, name)

    def verify_checkpoint(self, given: dict[str, Any], *, name: str | None = None) -> None:
        """Raise IntegrityError, naming the checkpoint and its size, unless the log still extends ``given``."""
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            audit.extends(connection, audit.check_checkpoint(given), name)

    def export(
        self,
        fmt: str,
        out: TextIO,
        *,
        party: str | None = None,
        topic: str | None = None,
        since: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> ExportSummary:
        """Write an export (jsonl, csv, prov-json or claimreview) of the log or a selection of it to ``out``.

        An unknown party or topic is a NotFoundError raised before anything is written. ``progress``
        is called with the number of events read so far.
        """
        from claims.service import audit

        with self._read(any_revision=True) as connection:
            selection = audit.Selection(party=party, topic=topic, since=since)
            return audit.export(connection, fmt, out, selection, progress)

    # -- report ----------------------------------------------------------------------------------
    # Read helpers for the command line's comforts: the narrative report, shell completion and
    # claim matching (claims.service.reporting and claims.service.matching). They only read.

    def report_data(
        self,
        *,
        topic: str | None = None,
        parties: list[str] | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
        max_claims: int | None = None,
    ) -> dict[str, Any]:
        """What the narrative report draws (``claims.io.report``): lanes, claims with their history,
        contradictions, registries, the filters, and the checkpoint of the log the report was made of.
        With ``max_claims``, a report of more claims is a ValidationError, raised before their history
        is read (``reporting.report_data``)."""
        from claims.service import audit, reporting

        with collector_paused(), self._read() as connection:
            self._require(connection, "party", *(parties or ()))
            self._require(connection, "topic", topic)
            times = self.times(connection, as_of, known_at)
            data = reporting.report_data(connection, times, topic=topic, parties=parties, max_claims=max_claims)
            size = times.known_at if times.known_at is not None else eventlog.head(connection).position
            data["log"] = audit.checkpoint(connection, size)
        data["filters"] = {"topic": topic, "parties": parties or [], "as_of": as_of, "known_at": known_at}
        return data

    def complete_ids(self, kind: str, prefix: str = "", *, limit: int = 100) -> list[tuple[str, str]]:
        """Recorded ids of ``kind`` (party, speaker, source, topic or claim) starting with ``prefix``,
        each with its name: what shell completion offers. A missing SQLite file is not created."""
        from claims.service import reporting

        if (file := self.database_file()) is not None and not file.exists():
            return []
        with self._read(any_revision=True) as connection:
            return reporting.ids_with_prefix(connection, kind, prefix, limit)

    def similar(
        self,
        text: str,
        *,
        party: str | None = None,
        topic: str | None = None,
        limit: int = 10,
        threshold: float | None = None,
        exclude: tuple[str, ...] = (),
    ) -> list[dict[str, Any]]:
        """Standing claims (of ``party`` and ``topic`` when given) that say nearly what ``text`` says,
        best first, each with its ``score`` from 0 to 100 (at least ``threshold``, by default
        ``matching.DEFAULT_THRESHOLD``); claims in ``exclude`` are left out."""
        from claims.service import matching

        cutoff = matching.DEFAULT_THRESHOLD if threshold is None else threshold
        with self._read() as connection:
            self._require(connection, "party", party)
            self._require(connection, "topic", topic)
            standing = queries.standing_texts(connection, party, topic)
            candidates = (c for c in standing if c["id"] not in exclude)
            found = matching.similar(text, candidates, limit=limit, threshold=cutoff)
            views = [queries.claim(connection, match["id"], Times()) for match in found]
        return [{**view, "score": match["score"]} for view, match in zip(views, found, strict=True) if view]
