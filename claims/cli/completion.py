"""Shell completion (Click's own): ids of parties, speakers, sources, topics and claims from the database.

Enable it with ``eval "$(_CLAIMS_COMPLETE=bash_source claims)"`` (or ``claims completion bash``;
zsh and fish alike). An id option or argument gets its completions from its type: ``PARTY``,
``TOPIC``, ``SOURCE``, ``SPEAKER`` or ``CLAIM``. Commands written before these types existed are
given them by ``install``, by parameter name (``--party``, ``--via``, ``CLAIM``, …), so every
command completes the same way without each module repeating it.

Completion never raises and never creates a database: on any failure it offers nothing.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VARIABLE = "_CLAIMS_COMPLETE"
LIMIT = 200


class IdType(click.types.StringParamType):
    """A recorded id of one kind; behaves as text, and completes from the database."""

    name = "text"

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(ident, help=_short(about)) for ident, about in recorded_ids(ctx, self.kind, incomplete)]

    def __repr__(self) -> str:
        return f"IdType({self.kind!r})"


PARTY, SPEAKER, SOURCE, TOPIC, CLAIM = (IdType(k) for k in ("party", "speaker", "source", "topic", "claim"))

# Parameter names that hold an existing id, wherever they appear.
ID_PARAMETERS: dict[str, IdType] = {
    "party": PARTY,
    "parties": PARTY,
    "speaker": SPEAKER,
    "source": SOURCE,
    "via": SOURCE,
    "by": SOURCE,
    "topic": TOPIC,
    "claim": CLAIM,
    "responds_to": CLAIM,
}


def recorded_ids(ctx: click.Context, kind: str, prefix: str) -> list[tuple[str, str]]:
    """Ids of ``kind`` starting with ``prefix`` in the database named by ``--db`` (or its environment
    variable, or the default); [] on any error, since a completion must never fail."""
    try:
        from claims.api import open_tracker

        database = ctx.find_root().params.get("db")
        with open_tracker(database, user="completion") as opened:
            return opened.complete_ids(kind, prefix, limit=LIMIT)
    except Exception:  # a broken database, URL or driver only means nothing to offer
        return []


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def install(group: click.Group) -> None:
    """Give every plain-text parameter named as an id (see ID_PARAMETERS) its id type, throughout the tree."""
    for command in _walk(group):
        for param in command.params:
            kind = ID_PARAMETERS.get(param.name or "")
            if kind is not None and type(param.type) is click.types.StringParamType:
                param.type = kind


def _walk(command: click.Command) -> list[click.Command]:
    found = [command]
    if isinstance(command, click.Group):
        for child in command.commands.values():
            found += _walk(child)
    return found


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the script that enables tab completion of commands, options and ids in SHELL.

    Party, speaker, source, topic and claim ids are completed from the database that --db (or
    CLAIMS_DATABASE_URL) names.

    \b
    Example:
      eval "$(claims completion bash)"          # in ~/.bashrc
      eval "$(claims completion zsh)"           # in ~/.zshrc
      claims completion fish > ~/.config/fish/completions/claims.fish
    """
    root = click.get_current_context().find_root()
    script: Any = get_completion_class(shell)
    click.echo(script(root.command, {}, "claims", COMPLETE_VARIABLE).source())


def register(group: click.Group) -> None:
    group.add_command(completion)
