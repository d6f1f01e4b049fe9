"""Database roles on PostgreSQL: an application role that can append to the log and nothing more.

``grant_writer`` gives an existing role what ``claims`` needs to record and read, and no way to
rewrite history through privileges: on the ``events`` table only SELECT and INSERT (UPDATE,
DELETE, TRUNCATE, REFERENCES and TRIGGER are revoked, should they have been granted before); on
every other table of the schema, the projections, SELECT, INSERT, UPDATE and DELETE, because
projections are folded and rebuilt from the log; SELECT on ``alembic_version``; CONNECT on the
database and USAGE on the schema. Writers take a transaction-scoped advisory lock, which needs no
grant. The append-only triggers hold for every role; these privileges are the second wall.

Privileges are no wall for a role that can get round them, so such a role is refused, with the
reason, rather than called a writer:

- a superuser, or a member of one (it can ``SET ROLE`` to it);
- a role with CREATEROLE, or a member of one: in PostgreSQL 15 it can ``GRANT`` itself
  membership in any role that is not a superuser, the owner of the tables included;
- a member of ``pg_execute_server_program``: ``COPY … TO PROGRAM`` runs commands as the
  server's operating-system user, which owns the data files and, by default, logs in as a
  superuser through the local socket;
- a member of ``pg_write_all_data`` (PostgreSQL 14 and later): it may UPDATE and DELETE every
  table whatever is revoked from it, and only the log's triggers would still stop it;
- the owner of the log, of the schema holding it (a schema's owner can drop any table in it) or
  of the database (its owner can drop it, and in PostgreSQL 15 owns schema ``public`` through
  ``pg_database_owner``), or a member of any of these owners.

BYPASSRLS (the tables have no row security), CREATEDB (a role can drop only its own databases)
and REPLICATION (it streams a copy of the cluster but writes nothing to it) give no way to change
or drop the log, so they are not refused.

A GRANT or REVOKE by a role that may not make it is not an error in PostgreSQL, only a WARNING
that nothing was granted, so the command checks who runs it before granting anything: the tables'
owner (or a member of it) or a superuser. CONNECT and USAGE are granted where the runner may
grant them; where it may not (the database and its schema often belong to another role than the
tables) they are left out if the role already holds them, through PUBLIC by default, and
otherwise refused too. Run it again after ``claims db upgrade`` adds a table.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, inspect, text

from claims.domain.errors import StorageError, ValidationError

LOG_TABLE = "events"
READ_ONLY_TABLES = ("alembic_version",)
LOG_PRIVILEGES_REVOKED = "UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
# Predefined roles whose members get round the privileges granted here: those of the first run
# programs as the server's operating-system user (COPY … PROGRAM); those of the second (PostgreSQL
# 14 and later) hold UPDATE and DELETE on every table, whatever is revoked from them.
BEYOND_PRIVILEGES = {
    "pg_execute_server_program": "it can run programs as the database server's own user, past every permission",
    "pg_write_all_data": "it may UPDATE and DELETE any table, the log included, whatever is revoked from it",
}


def grant_writer(engine: Engine, role: str, tables: Iterable[str]) -> list[str]:
    """Grant ``role`` what an application writer needs on claims' ``tables`` (the log's, the
    projections' and Alembic's: never another application's tables in the same schema); returns the
    statements run, in order.

    Every check runs before the first GRANT, in the same transaction, so a refusal grants nothing.
    """
    ours = sorted({*tables, *READ_ONLY_TABLES})
    if engine.dialect.name != "postgresql":
        raise ValidationError("roles exist only on PostgreSQL: an SQLite database is protected by file permissions")
    with engine.begin() as connection:
        _check_role(connection, role)
        _check_runner(connection, ours)
        statements = writer_statements(connection, role, ours)
        for statement in statements:
            connection.execute(text(statement))
    return statements


def writer_statements(connection: Connection, role: str, ours: Iterable[str]) -> list[str]:
    """The GRANT and REVOKE statements that make ``role`` a writer of claims' tables (``ours``) here.

    CONNECT on the database and USAGE on the schema are left out when the connected role may not
    grant them and ``role`` holds them already: PostgreSQL would only warn that nothing was granted.
    """
    preparer = connection.dialect.identifier_preparer
    who = preparer.quote_identifier(role)
    database_name = connection.execute(text("SELECT current_database()")).scalar_one()
    schema_name = connection.execute(text("SELECT current_schema()")).scalar_one()
    database = preparer.quote_identifier(database_name)
    schema = preparer.quote_identifier(schema_name)
    tables = set(inspect(connection).get_table_names()) & set(ours)
    if LOG_TABLE not in tables:
        raise StorageError("no claims database here: run `claims init` first")
    projections = sorted(tables - {LOG_TABLE, *READ_ONLY_TABLES})
    statements: list[str] = []
    if _needs_grant(connection, role, "database", database_name, "CONNECT"):
        statements.append(f"GRANT CONNECT ON DATABASE {database} TO {who}")
    if _needs_grant(connection, role, "schema", schema_name, "USAGE"):
        statements.append(f"GRANT USAGE ON SCHEMA {schema} TO {who}")
    statements += [
        f"REVOKE {LOG_PRIVILEGES_REVOKED} ON {schema}.{LOG_TABLE} FROM {who}",
        f"GRANT SELECT, INSERT ON {schema}.{LOG_TABLE} TO {who}",
    ]
    statements += [f"GRANT SELECT ON {schema}.{name} TO {who}" for name in READ_ONLY_TABLES if name in tables]
    statements += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{preparer.quote_identifier(name)} TO {who}"
        for name in projections
    ]
    return statements


def _needs_grant(connection: Connection, role: str, kind: str, name: str, privilege: str) -> bool:
    """Whether to GRANT ``privilege`` on the database or schema ``name``; refuses one that cannot be.

    The connected role may grant it when it owns the object (or is a member of its owner), is a
    superuser or holds the privilege WITH GRANT OPTION. If it may not and ``role`` lacks the
    privilege, the writer could not work, so this is an error instead of a success that is not.
    """
    function = f"has_{kind}_privilege"
    row = connection.execute(
        text(
            f"SELECT {function}(current_user, :name, :grantable) AS grantable, "
            f"{function}(:role, :name, :privilege) AS held, current_user AS runner"
        ),
        {"name": name, "role": role, "privilege": privilege, "grantable": f"{privilege} WITH GRANT OPTION"},
    ).one()
    if row.grantable:
        return True
    if row.held:
        return False
    raise ValidationError(
        f"role {row.runner!r} may not grant {privilege} on {kind} {name!r}, which role {role!r} lacks: "
        f"run it as the owner of the {kind} or a superuser, or grant {privilege} to {role!r} first"
    )


def _check_runner(connection: Connection, ours: list[str]) -> None:
    """Refuse to run as a role that may not grant on every one of claims' tables (``ours``).

    PostgreSQL lets anyone issue GRANT and REVOKE and only warns when nothing was granted, so
    without this check a role that does not own the tables reports success while the writer gets
    "permission denied". Grants and revokes take effect as the owner's only when made by the owner,
    a member of it that inherits its privileges, or a superuser.
    """
    row = connection.execute(
        text(
            "SELECT current_user AS runner, min(tablename) AS first, count(*) AS tables FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(:ours) "
            "AND NOT pg_has_role(current_user, tableowner, 'USAGE')"
        ),
        {"ours": ours},
    ).one()
    if row.tables:
        more = f" and {row.tables - 1} more" if row.tables > 1 else ""
        raise ValidationError(
            f"role {row.runner!r} does not own table {row.first!r}{more} (nor has its owner's privileges), so its "
            "grants would grant nothing: run it as the owner of the tables or a superuser"
        )


def _check_role(connection: Connection, role: str) -> None:
    """Refuse a role that could rewrite or drop the log whatever it is granted (see the module docstring)."""
    found = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if found is None:
        raise ValidationError(f"no such role: {role!r} (create it first, e.g. CREATE ROLE … LOGIN)")
    if found.rolsuper:
        raise ValidationError(f"role {role!r} is a superuser: it can rewrite anything, so it cannot be a mere writer")
    # Role attributes are not inherited, but a member can SET ROLE to the role that has them.
    powerful = connection.execute(
        text(
            "SELECT rolname, rolsuper FROM pg_roles WHERE (rolsuper OR rolcreaterole) "
            "AND pg_has_role(:role, oid, 'MEMBER') ORDER BY rolsuper DESC, rolname <> :role, rolname LIMIT 1"
        ),
        {"role": role},
    ).first()
    if powerful is not None and powerful.rolsuper:
        raise ValidationError(
            f"role {role!r} is a member of superuser role {powerful.rolname!r}: it can SET ROLE to it and rewrite "
            "anything, so it cannot be a mere writer"
        )
    if powerful is not None:
        holder = "has" if powerful.rolname == role else f"is a member of role {powerful.rolname!r}, which has"
        raise ValidationError(
            f"role {role!r} {holder} CREATEROLE: it can grant itself membership in the owner of the log and "
            "rewrite it, so it cannot be a mere writer; use a role without CREATEROLE"
        )
    beyond = connection.execute(
        text(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(:predefined) AND pg_has_role(:role, oid, 'MEMBER') "
            "ORDER BY rolname LIMIT 1"
        ),
        {"role": role, "predefined": sorted(BEYOND_PRIVILEGES)},  # by oid: pg_write_all_data is new in 14
    ).scalar()
    if beyond is not None:
        raise ValidationError(
            f"role {role!r} is a member of {beyond}: {BEYOND_PRIVILEGES[beyond]}, so it cannot be a mere writer"
        )
    owners = connection.execute(
        text(
            "SELECT t.schemaname, "
            "pg_has_role(:role, t.tableowner, 'MEMBER') AS table_owner, "
            "pg_has_role(:role, n.nspowner, 'MEMBER') AS schema_owner, "
            "(SELECT pg_has_role(:role, d.datdba, 'MEMBER') FROM pg_database d "
            " WHERE d.datname = current_database()) AS database_owner "
            "FROM pg_tables t JOIN pg_namespace n ON n.nspname = t.schemaname "
            "WHERE t.tablename = :table AND t.schemaname = current_schema()"
        ),
        {"role": role, "table": LOG_TABLE},
    ).first()
    if owners is None:
        return  # no log here: writer_statements says so
    if owners.table_owner:
        raise ValidationError(
            f"role {role!r} owns the event log (or is a member of its owner): an owner can alter it; use another role"
        )
    if owners.database_owner:
        raise ValidationError(
            f"role {role!r} owns this database (or is a member of its owner): it can drop the database, log and all, "
            "so it cannot be a mere writer; use another role"
        )
    if owners.schema_owner:
        raise ValidationError(
            f"role {role!r} owns schema {owners.schemaname!r} holding the log (or is a member of its owner): "
            "a schema's owner can drop the log, so it cannot be a mere writer; use another role"
        )
