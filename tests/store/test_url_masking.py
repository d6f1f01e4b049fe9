"""A password in a database URL is never shown: in its userinfo or in its query string.

libpq (and so psycopg) takes ``password`` as an option of the URL's query as readily as in
``user:password@``; ``claims config`` once showed the first in clear while it masked the second.
``claims.store.engine.display_url`` masks both, for ``claims config`` and for every error that
quotes a URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from claims.cli import cli
from claims.store.engine import display_url

SECRET = "s3cret-Q"


@pytest.mark.parametrize(
    "url, shown",
    [
        (f"postgresql+psycopg://ana@db/claims?password={SECRET}", "postgresql+psycopg://ana@db/claims?password=***"),
        (
            f"postgresql+psycopg://ana@db:5432/claims?sslmode=require&password={SECRET}&application_name=x",
            "postgresql+psycopg://ana@db:5432/claims?sslmode=require&password=***&application_name=x",
        ),
        (f"postgresql+psycopg://ana@db/claims?PASSWORD={SECRET}", "postgresql+psycopg://ana@db/claims?PASSWORD=***"),
        (
            f"postgresql+psycopg://ana@db/claims?sslpassword={SECRET}",
            "postgresql+psycopg://ana@db/claims?sslpassword=***",
        ),
        # The name as SQLAlchemy reads it, percent escapes decoded; a value with '#' or ';' in it.
        (
            f"postgresql+psycopg://ana@db/claims?pass%77ord={SECRET}",
            "postgresql+psycopg://ana@db/claims?pass%77ord=***",
        ),
        (f"postgresql+psycopg://ana@db/claims?password=a#{SECRET}", "postgresql+psycopg://ana@db/claims?password=***"),
        (f"postgresql+psycopg://ana@db/claims?password=a;{SECRET}", "postgresql+psycopg://ana@db/claims?password=***"),
        # Both at once; and the userinfo's as before, a '/', '?' or unescaped '@' in it included.
        (
            f"postgresql+psycopg://ana:{SECRET}@db/claims?password={SECRET}",
            "postgresql+psycopg://ana:***@db/claims?password=***",
        ),
        (f"postgresql+psycopg://ana:{SECRET}@db:5432/claims", "postgresql+psycopg://ana:***@db:5432/claims"),
        (f"postgresql+psycopg://ana:a/b?{SECRET}@db/claims", "postgresql+psycopg://ana:***@db/claims"),
        (f"postgresql+psycopg://ana:p@{SECRET}@db/claims", "postgresql+psycopg://ana:***@db/claims"),
        (
            f"postgresql+psycopg://ana:{SECRET}@host:notaport/claims",
            "postgresql+psycopg://ana:***@host:notaport/claims",
        ),
    ],
)
def test_display_url_masks_every_password(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert SECRET not in display_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/claims/claims.db",
        "sqlite:////tmp/a b/x%20y.db",
        "postgresql+psycopg://ana@db:5432/claims?sslmode=require&passfile=/home/ana/.pgpass",
        "postgresql+psycopg://postgres@127.0.0.1/claims",
    ],
)
def test_display_url_shows_a_url_without_a_password_as_given(url: str) -> None:
    assert display_url(url) == url


def _claims(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_config_masks_a_password_in_the_query(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://ana@db.example:5432/claims?sslmode=require&password={SECRET}"
    masked = "postgresql+psycopg://ana@db.example:5432/claims?sslmode=require&password=***"
    for args, env in (
        (("--db", url), None),
        ((), {"CLAIMS_DATABASE_URL": url}),
    ):
        shown = _claims(*args, "config", "--format", "json", env=env)
        assert shown.exit_code == 0, shown.stderr
        assert SECRET not in shown.output
        assert json.loads(shown.stdout)["database"]["value"] == masked
        table = _claims(*args, "config", "--format", "table", env=env)
        assert table.exit_code == 0 and SECRET not in table.output and masked in table.stdout


@pytest.mark.parametrize(
    "url, problem",
    [
        (f"postgresql+psycopg://u@host:notaport/claims?password={SECRET}", "not a database URL"),
        (f"mysql://u@host/claims?password={SECRET}", "unsupported database"),
    ],
)
def test_an_error_quoting_a_url_masks_a_password_in_its_query(url: str, problem: str) -> None:
    result = _claims("--db", url, "narrative", "x")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert SECRET not in result.output
    assert f"Error: {problem}" in result.stderr and "password=***" in result.stderr


def test_an_sqlite_url_with_a_password_in_its_query_is_refused_masked(tmp_path: Path) -> None:
    """SQLite takes no password: the option is refused as one the driver would ignore, and the
    URL quoted with it masked."""
    url = f"sqlite:///{tmp_path / 'none.db'}?password={SECRET}"
    result = _claims("--db", url, "narrative", "x")
    assert result.exit_code == 1 and SECRET not in result.output
    assert result.stderr.startswith(
        f"Error: not a usable database URL: sqlite:///{tmp_path / 'none.db'}?password=*** ("
    )
    assert len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_init_names_the_database_with_the_password_of_its_query_masked(tmp_path: Path) -> None:
    """`init` says which database it readied; the server here trusts every local connection, so a
    password given in the query is taken and ignored, as a real one would be used."""
    from tests.conftest import new_database_url

    for url in new_database_url("postgresql", tmp_path):
        given = f"{url}?password={SECRET}"
        result = _claims("--db", given, "init")
        assert result.exit_code == 0, result.stderr
        assert SECRET not in result.output
        assert f"database ready at {url}?password=*** (schema " in result.stderr
