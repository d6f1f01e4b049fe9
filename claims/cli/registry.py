"""``claims party|speaker|source|topic add``: the records claims refer to."""

from __future__ import annotations

from typing import Any

import click

from claims.cli.context import tracker
from claims.cli.output import message

PARTY_KINDS = ("state", "bloc", "organisation", "person", "other")


def _report(kind: str, outcome: Any) -> None:
    if outcome.recorded:
        message(f"recorded {kind} {outcome.id}")
    else:
        message(f"{kind} {outcome.id} is already recorded; nothing added")


@click.group()
def party() -> None:
    """Parties: states, blocs, organisations or persons whose narratives are tracked.

    \b
    Example:
      claims party add russia --name Russia --kind state
    """


@party.command("add")
@click.argument("ident", metavar="ID")
@click.option("--name", required=True, help="Display name.")
@click.option("--kind", type=click.Choice(PARTY_KINDS), default="other", show_default=True)
def party_add(ident: str, name: str, kind: str) -> None:
    """Register a party.

    \b
    Example:
      claims party add russia --name Russia --kind state
    """
    _report("party", tracker().add_party(ident, name=name, kind=kind))


@click.group()
def speaker() -> None:
    """Speakers: people or unnamed officials who speak for a party.

    \b
    Example:
      claims speaker add maria-zakharova --name "Maria Zakharova" --party russia
    """


@speaker.command("add")
@click.argument("ident", metavar="ID")
@click.option("--name", required=True, help="Display name, e.g. 'A U.S. official, anonymously'.")
@click.option("--party", required=True, help="The party the speaker speaks for.")
@click.option("--role", help="Role, e.g. 'Foreign Minister'.")
def speaker_add(ident: str, name: str, party: str, role: str | None) -> None:
    """Register a speaker.

    \b
    Example:
      claims speaker add sergey-lavrov --name "Sergey Lavrov" --party russia --role "Foreign Minister"
    """
    _report("speaker", tracker().add_speaker(ident, name=name, party=party, role=role))


@click.group()
def source() -> None:
    """Sources: where assertions appeared (agencies, newspapers, statements, posts, documents).

    \b
    Example:
      claims source add ria-novosti --name "RIA Novosti" --kind news-agency
    """


@source.command("add")
@click.argument("ident", metavar="ID")
@click.option("--name", required=True, help="Display name.")
@click.option("--kind", help="news-agency, newspaper, broadcaster, government-statement, social-post, document, …")
@click.option("--url", help="Where it can be read.")
@click.option("--published", metavar="DATE", help="Publication date (a year, month or day).")
def source_add(ident: str, name: str, kind: str | None, url: str | None, published: str | None) -> None:
    """Register a source.

    \b
    Example:
      claims source add tass --name TASS --kind news-agency --url https://tass.com
    """
    _report("source", tracker().add_source(ident, name=name, kind=kind, url=url, published=published))


@click.group()
def topic() -> None:
    """Topics: what assertions are about.

    \b
    Example:
      claims topic add blinken-lavrov-encounter --title "The Blinken-Lavrov encounter in New Delhi"
    """


@topic.command("add")
@click.argument("ident", metavar="ID")
@click.option("--title", required=True, help="Title of the topic.")
def topic_add(ident: str, title: str) -> None:
    """Register a topic.

    \b
    Example:
      claims topic add g20-joint-statement --title "G20 foreign ministers' joint statement"
    """
    _report("topic", tracker().add_topic(ident, title=title))


def register(group: click.Group) -> None:
    for command in (party, speaker, source, topic):
        group.add_command(command)
