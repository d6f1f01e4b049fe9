"""Write docs/commands.md, the command reference, from the commands' own ``--help``.

Run it with ``make docs`` after changing a command; ``tests/ux/test_help.py`` fails while the file
differs from what this script generates, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

WIDTH = 100  # help is wrapped at a fixed width, whatever the terminal, so the output is stable
TARGET = Path(__file__).resolve().parent / "commands.md"


def walk(command: click.Command, name: str = "claims", parent: click.Context | None = None) -> Iterator[click.Context]:
    """A context for every command in the tree, parents before their subcommands, by name."""
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    context = click.Context(command, info_name=name, parent=parent, **settings)
    yield context
    if isinstance(command, click.Group):
        for child_name in sorted(command.commands):
            yield from walk(command.commands[child_name], child_name, context)


def anchor(path: str) -> str:
    return path.replace(" ", "-")


def render(root: click.Command) -> str:
    """The whole Markdown reference."""
    contexts = list(walk(root))
    lines = [
        "# Command reference",
        "",
        "Generated from each command's `--help` by `docs/command_reference.py` (run `make docs`); do not edit by hand.",
        "",
        "Tab completion of commands, options and the ids in your database (parties, speakers, sources,",
        "topics, claims) comes with Click; enable it in your shell's start-up file:",
        "",
        "```sh",
        'eval "$(_CLAIMS_COMPLETE=bash_source claims)"   # ~/.bashrc (or: eval "$(claims completion bash)")',
        'eval "$(_CLAIMS_COMPLETE=zsh_source claims)"    # ~/.zshrc',
        "_CLAIMS_COMPLETE=fish_source claims > ~/.config/fish/completions/claims.fish",
        "```",
        "",
    ]
    for context in contexts:
        path = context.command_path
        summary = context.command.get_short_help_str(limit=80)
        lines.append(f"- [`{path}`](#{anchor(path)}): {summary}")
    for context in contexts:
        lines += ["", f"## {context.command_path}", "", "```text", context.command.get_help(context), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    from claims.cli import cli

    TARGET.write_text(render(cli), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
