"""``claims db grant-writer`` makes only roles that cannot get round their privileges writers, and
only when its grants take effect (PostgreSQL).

A role is refused when it could rewrite or drop the log whatever it is granted: it can make itself
a member of the tables' owner (CREATEROLE, or membership in a role with it), become a superuser
(membership in one), run programs as the server's own user (``pg_execute_server_program``), or
owns the schema holding the log or the database (or is a member of their owner). Each test first
sees the refusal, one clear line saying why, with nothing granted, and then proves the danger: as
that role it really deletes an event or drops the log.

PostgreSQL only warns when a GRANT grants nothing, so the command is also refused when run by a
role that does not own the tables, and when CONNECT or USAGE cannot be granted and the role lacks
them, instead of reporting a success the writer then finds out is not one.

Every database and role here is made by the test and dropped at its end; the tables belong to a
role of their own, not to a superuser, as they would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql
from sqlalchemy.engine import make_url

import claims
from claims.cli import cli
from tests.conftest import PG_ADMIN, SEED, require_postgres
from tests.reliability.support import assert_one_clear_error

RUNNER = CliRunner(env={"CLAIMS_DATABASE_URL": None, "CLAIMS_USER": None})
ADMIN_USER = make_url(PG_ADMIN).username or "postgres"
LAST_EVENT = "(SELECT max(position) FROM events)"
# What the owner of the tables can do and a writer must not: switch the triggers off and delete.
REWRITE = ("ALTER TABLE events DISABLE TRIGGER USER", f"DELETE FROM events WHERE position = {LAST_EVENT}")
ALL_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


def admin(database: str = "postgres") -> psycopg.Connection:
    """A superuser's connection to ``database``, committing each statement."""
    url = make_url(PG_ADMIN).set(database=database).render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def role_url(database: str, role: str, driver: str = "postgresql+psycopg") -> str:
    """``database`` as ``role`` (the test server trusts local connections, as the other role tests assume)."""
    url = make_url(PG_ADMIN).set(drivername=driver, database=database, username=role, password=None)
    return url.render_as_string(hide_password=False)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Log:
    """A seeded claims database whose tables belong to ``owner``, a role that is not a superuser."""

    database: str
    owner: str

    def url(self, role: str) -> str:
        return role_url(self.database, role)

    def grant_writer(self, role: str, *, run_as: str | None = None) -> Result:
        """``claims db grant-writer ROLE``, run as the owner of the tables unless told otherwise."""
        return RUNNER.invoke(cli, ["--db", self.url(run_as or self.owner), "db", "grant-writer", role])

    def run_as(self, role: str, *statements: str | sql.Composable, database: str | None = None) -> None:
        """Run ``statements`` in one session as ``role``; raises if the database refuses one."""
        with psycopg.connect(role_url(database or self.database, role, "postgresql"), autocommit=True) as session:
            for statement in statements:
                session.execute(statement)

    def events(self) -> int:
        with admin(self.database) as connection:
            row = connection.execute("SELECT count(*) FROM events").fetchone()
        assert row is not None
        return int(row[0])

    def privileged_tables(self, role: str) -> list[str]:
        """The tables on which ``role`` holds any privilege at all."""
        with admin(self.database) as connection:
            rows = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND has_table_privilege(%s, quote_ident(schemaname) || '.' || quote_ident(tablename), %s) "
                "ORDER BY tablename",
                (role, ALL_TABLE_PRIVILEGES),
            ).fetchall()
        return [row[0] for row in rows]

    def gone(self) -> bool:
        """Whether the log is gone: its database dropped, or its table."""
        with admin() as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone() is None:
                return True
        with admin(self.database) as connection:
            row = connection.execute("SELECT to_regclass('public.events') IS NULL").fetchone()
        return bool(row and row[0])


class Scratch:
    """The roles and databases one test makes; all dropped at its end, the databases first."""

    def __init__(self) -> None:
        self.roles: list[str] = []
        self.databases: list[str] = []

    def role(self, options: str = "LOGIN") -> str:
        name = f"claims_test_role_{uuid.uuid4().hex[:10]}"
        self.roles.append(name)
        with admin() as connection:
            connection.execute(f"CREATE ROLE {quoted(name)} {options}")
        return name

    def grant(self, granted: str, to: str) -> None:
        with admin() as connection:
            connection.execute(f"GRANT {quoted(granted)} TO {quoted(to)}")

    def log(self, database_owner: str | None = None) -> Log:
        """A new database (owned by ``database_owner``, else by the superuser) seeded by a new owner role."""
        name = f"claims_test_{uuid.uuid4().hex[:12]}"
        owner = self.role()
        self.databases.append(name)
        with admin() as connection:
            connection.execute(
                f"CREATE DATABASE {quoted(name)}" + (f" OWNER {quoted(database_owner)}" if database_owner else "")
            )
        with admin(name) as connection:
            connection.execute(f"GRANT CREATE ON SCHEMA public TO {quoted(owner)}")
        log = Log(name, owner)
        with claims.open_tracker(log.url(owner), user="tester") as tracker:
            tracker.init()
            tracker.import_file(SEED)
        return log

    def close(self) -> None:
        with admin() as connection:
            for name in self.databases:
                connection.execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")
            for name in reversed(self.roles):
                connection.execute(f"DROP ROLE IF EXISTS {quoted(name)}")


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    require_postgres()
    made = Scratch()
    try:
        yield made
    finally:
        made.close()


# -- roles that can make themselves the owner, a superuser or the server ----------------------------

Rewrite = tuple[str, list[str | sql.Composable]]


def with_createrole(scratch: Scratch, log: Log) -> Rewrite:
    writer = scratch.role("LOGIN CREATEROLE")
    return writer, [f"GRANT {quoted(log.owner)} TO {quoted(writer)}", f"SET ROLE {quoted(log.owner)}", *REWRITE]


def member_of_a_role_with_createrole(scratch: Scratch, log: Log) -> Rewrite:
    creator, writer = scratch.role("NOLOGIN CREATEROLE"), scratch.role()
    scratch.grant(creator, writer)
    return writer, [
        f"SET ROLE {quoted(creator)}",
        f"GRANT {quoted(log.owner)} TO {quoted(writer)}",
        "RESET ROLE",
        f"SET ROLE {quoted(log.owner)}",
        *REWRITE,
    ]


def member_of_a_superuser(scratch: Scratch, log: Log) -> Rewrite:
    superuser, writer = scratch.role("NOLOGIN SUPERUSER"), scratch.role()
    scratch.grant(superuser, writer)
    return writer, [f"SET ROLE {quoted(superuser)}", *REWRITE]


def member_of_pg_execute_server_program(scratch: Scratch, log: Log) -> Rewrite:
    """The program runs as the server's operating-system user, whom the local socket lets in as a superuser."""
    writer = scratch.role()
    scratch.grant("pg_execute_server_program", writer)
    program = f"psql -X -v ON_ERROR_STOP=1 -U {ADMIN_USER} -d {log.database}" + "".join(
        f' -c "{statement}"' for statement in REWRITE
    )
    return writer, [sql.SQL("COPY (SELECT 1) TO PROGRAM {}").format(sql.Literal(program))]


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (with_createrole, "has CREATEROLE"),
        (member_of_a_role_with_createrole, "which has CREATEROLE"),
        (member_of_a_superuser, "is a member of superuser role"),
        (member_of_pg_execute_server_program, "is a member of pg_execute_server_program"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_role_that_can_get_round_its_privileges_is_refused_and_could_have_rewritten_the_log(
    scratch: Scratch, make: Callable[[Scratch, Log], Rewrite], why: str
) -> None:
    log = scratch.log()
    writer, rewrite = make(scratch, log)
    before = log.events()

    refused = log.grant_writer(writer)
    assert_one_clear_error(refused.stderr, refused.exit_code)
    assert why in refused.stderr
    assert log.privileged_tables(writer) == []

    log.run_as(writer, *rewrite)  # the danger is real: as that role, an event is deleted
    assert log.events() == before - 1


# -- owners of the schema or the database ------------------------------------------------------------


def owner_of_the_database(scratch: Scratch) -> tuple[Log, str, Callable[[Log, str], None]]:
    """In PostgreSQL 15 a database's owner owns schema public through pg_database_owner."""
    writer = scratch.role()
    return scratch.log(database_owner=writer), writer, lambda log, role: log.run_as(role, "DROP TABLE events CASCADE")


def owner_of_the_database_not_of_its_schema(scratch: Scratch) -> tuple[Log, str, Callable[[Log, str], None]]:
    writer = scratch.role()
    log = scratch.log(database_owner=writer)
    with admin(log.database) as connection:
        connection.execute("ALTER SCHEMA public OWNER TO CURRENT_USER")
    return log, writer, lambda log, role: log.run_as(role, f"DROP DATABASE {quoted(log.database)}", database="postgres")


def owner_of_the_schema(scratch: Scratch) -> tuple[Log, str, Callable[[Log, str], None]]:
    writer = scratch.role()
    log = scratch.log()
    with admin(log.database) as connection:
        connection.execute(f"ALTER SCHEMA public OWNER TO {quoted(writer)}")
    return log, writer, lambda log, role: log.run_as(role, "DROP TABLE events CASCADE")


def member_of_the_schemas_owner(scratch: Scratch) -> tuple[Log, str, Callable[[Log, str], None]]:
    owner, writer = scratch.role("NOLOGIN"), scratch.role()
    scratch.grant(owner, writer)
    log = scratch.log()
    with admin(log.database) as connection:
        connection.execute(f"ALTER SCHEMA public OWNER TO {quoted(owner)}")
    return log, writer, lambda log, role: log.run_as(role, "DROP TABLE events CASCADE")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (owner_of_the_database, "owns this database"),
        (owner_of_the_database_not_of_its_schema, "owns this database"),
        (owner_of_the_schema, "owns schema 'public'"),
        (member_of_the_schemas_owner, "owns schema 'public'"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_an_owner_of_the_schema_or_the_database_is_refused_and_could_have_dropped_the_log(
    scratch: Scratch, make: Callable[[Scratch], tuple[Log, str, Callable[[Log, str], None]]], why: str
) -> None:
    log, writer, drop = make(scratch)

    refused = log.grant_writer(writer)
    assert_one_clear_error(refused.stderr, refused.exit_code)
    assert why in refused.stderr
    assert log.privileged_tables(writer) == []

    assert not log.gone()
    drop(log, writer)  # the danger is real: as that role, the log is dropped
    assert log.gone()


# -- who runs it -------------------------------------------------------------------------------------


def test_run_by_a_role_that_does_not_own_the_tables_it_grants_nothing_and_says_so(scratch: Scratch) -> None:
    log = scratch.log()
    runner, writer = scratch.role(), scratch.role()
    made = log.grant_writer(runner)  # as in the report: the runner is a writer itself, not the owner
    assert made.exit_code == 0, made.output

    refused = log.grant_writer(writer, run_as=runner)
    assert_one_clear_error(refused.stderr, refused.exit_code)
    assert "run it as the owner of the tables" in refused.stderr
    assert log.privileged_tables(writer) == []


def test_the_owner_of_the_tables_grants_what_it_may_and_refuses_what_it_may_not(scratch: Scratch) -> None:
    """The tables' owner owns neither the database nor its schema here: CONNECT and USAGE come from
    PUBLIC, and the writer works. Once PUBLIC may no longer connect, CONNECT is needed and the owner
    may not grant it, which is one clear error rather than a writer that cannot log in."""
    log = scratch.log()
    writer = scratch.role()
    before = log.events()
    granted = log.grant_writer(writer)
    assert granted.exit_code == 0, granted.output
    with claims.open_tracker(log.url(writer), user="app") as app:
        app.add_party("appended-party", name="Appended by a writer the owner of the tables made")
    assert log.events() == before + 1

    with admin(log.database) as connection:
        connection.execute(f"REVOKE CONNECT ON DATABASE {quoted(log.database)} FROM PUBLIC")
        connection.execute(f"GRANT CONNECT ON DATABASE {quoted(log.database)} TO {quoted(log.owner)}")
    other = scratch.role()
    refused = log.grant_writer(other)
    assert_one_clear_error(refused.stderr, refused.exit_code)
    assert "may not grant CONNECT on database" in refused.stderr
    assert log.privileged_tables(other) == []


def test_a_member_of_pg_write_all_data_is_refused_for_it_holds_what_is_revoked(scratch: Scratch) -> None:
    """PostgreSQL 14's predefined role gives UPDATE and DELETE on every table, whatever is revoked:
    only the log's triggers would still stand between such a writer and the log."""
    log = scratch.log()
    writer = scratch.role()
    scratch.grant("pg_write_all_data", writer)
    refused = log.grant_writer(writer)
    assert_one_clear_error(refused.stderr, refused.exit_code)
    assert "is a member of pg_write_all_data" in refused.stderr
    with admin(log.database) as connection:
        row = connection.execute("SELECT has_table_privilege(%s, 'events', 'DELETE')", (writer,)).fetchone()
    assert row is not None and row[0] is True  # what "append and nothing more" would have hidden


def test_another_application_s_table_in_the_schema_is_neither_granted_nor_in_the_way(scratch: Scratch) -> None:
    """claims grants on its own tables only: a table of another application in the same schema,
    owned by another role, neither stops the owner of claims' tables nor is opened to the writer."""
    log = scratch.log()
    other_app, writer = scratch.role(), scratch.role()
    with admin(log.database) as connection:
        connection.execute(f"GRANT CREATE ON SCHEMA public TO {quoted(other_app)}")
    log.run_as(other_app, "CREATE TABLE other_app_table (id int)")
    granted = log.grant_writer(writer)
    assert granted.exit_code == 0, granted.output
    assert "other_app_table" not in log.privileged_tables(writer) and "events" in log.privileged_tables(writer)
    with admin(log.database) as connection:
        connection.execute("DROP TABLE other_app_table")
