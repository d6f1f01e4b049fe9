"""Database roles on PostgreSQL: an application role that can append to the log and nothing more.

``grant_writer`` gives an existing role what ``claims`` needs to record and read, and no way to
rewrite history through privileges: on the ``events`` table only SELECT and INSERT (UPDATE,
DELETE, TRUNCATE, REFERENCES and TRIGGER are revoked, should they have been granted before); on
every other table of the schema, the projections, SELECT, INSERT, UPDATE and DELETE, because
projections are folded and rebuilt from the log; SELECT on ``alembic_version``; CONNECT on the
database and USAGE on the schema. Writers take a transaction-scoped advisory lock, which needs no
grant. The append-only triggers hold for every role; these privileges are the second wall.

The owner of the tables and superusers bypass privileges, so they are refused as "writers": the
promise would be false for them. Run it again after ``claims db upgrade`` adds a table.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from claims.domain.errors import StorageError, ValidationError

LOG_TABLE = "events"
READ_ONLY_TABLES = ("alembic_version",)
LOG_PRIVILEGES_REVOKED = "UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


def grant_writer(engine: Engine, role: str) -> list[str]:
    """Grant ``role`` what an application writer needs; returns the statements run, in order."""
    if engine.dialect.name != "postgresql":
        raise ValidationError("roles exist only on PostgreSQL: an SQLite database is protected by file permissions")
    with engine.begin() as connection:
        _check_role(connection, role)
        statements = writer_statements(connection, role)
        for statement in statements:
            connection.execute(text(statement))
    return statements


def writer_statements(connection: Connection, role: str) -> list[str]:
    """The GRANT and REVOKE statements that make ``role`` a writer of this database."""
    preparer = connection.dialect.identifier_preparer
    who = preparer.quote_identifier(role)
    database = preparer.quote_identifier(connection.execute(text("SELECT current_database()")).scalar_one())
    schema = preparer.quote_identifier(connection.execute(text("SELECT current_schema()")).scalar_one())
    tables = set(inspect(connection).get_table_names())
    if LOG_TABLE not in tables:
        raise StorageError("no claims database here: run `claims init` first")
    projections = sorted(tables - {LOG_TABLE, *READ_ONLY_TABLES})
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"REVOKE {LOG_PRIVILEGES_REVOKED} ON {schema}.{LOG_TABLE} FROM {who}",
        f"GRANT SELECT, INSERT ON {schema}.{LOG_TABLE} TO {who}",
    ]
    statements += [f"GRANT SELECT ON {schema}.{name} TO {who}" for name in READ_ONLY_TABLES if name in tables]
    statements += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{preparer.quote_identifier(name)} TO {who}"
        for name in projections
    ]
    return statements


def _check_role(connection: Connection, role: str) -> None:
    superuser = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if superuser is None:
        raise ValidationError(f"no such role: {role!r} (create it first, e.g. CREATE ROLE … LOGIN)")
    if superuser.rolsuper:
        raise ValidationError(f"role {role!r} is a superuser: it can rewrite anything, so it cannot be a mere writer")
    owns = connection.execute(
        text(
            "SELECT pg_has_role(:role, tableowner, 'MEMBER') FROM pg_tables "
            "WHERE tablename = :table AND schemaname = current_schema()"
        ),
        {"role": role, "table": LOG_TABLE},
    ).scalar()
    if owns:
        raise ValidationError(
            f"role {role!r} owns the event log (or is a member of its owner): an owner can alter it; use another role"
        )
