"""``claims similar``: standing claims that say nearly the same thing as a text (claim matching)."""

from __future__ import annotations

import math
from typing import Any

import click

from claims.cli.completion import PARTY, TOPIC
from claims.cli.context import tracker
from claims.cli.output import format_option, render


class Score(click.FloatRange):
    """A number from 0 to 100, NaN refused: Click checks the bounds by comparing, and NaN, false
    in every comparison, would pass them (and then match nothing, as though the text had no match)."""

    def __init__(self) -> None:
        super().__init__(0, 100)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value} is not in the range 0<=x<=100.", param, ctx)
        return number


@click.command()
@click.argument("text")
@click.option("--party", type=PARTY, help="Only this party's claims.")
@click.option("--topic", type=TOPIC, help="Only claims on this topic.")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="At most N claims.")
@click.option(
    "--threshold",
    type=Score(),
    default=70.0,
    show_default=True,
    help="Lowest score shown (0-100).",
)
@format_option
def similar(text: str, party: str | None, topic: str | None, limit: int, threshold: float, fmt: str | None) -> None:
    """Standing claims that say nearly what TEXT says, best first, with a score (0-100).

    Matching is lexical (RapidFuzz): word order, case and punctuation hardly matter, but a
    paraphrase in other words may score low. Each claim's paraphrase and quote are both tried.

    \b
    Example:
      claims similar "There were no talks and no real meeting"
      claims similar "the West turned the G20 into a farce" --party russia --format json
    """
    found = tracker().similar(text, party=party, topic=topic, limit=limit, threshold=threshold)
    rows = [{**claim, "score": f"{claim['score']:.0f}"} for claim in found]
    render(
        fmt,
        rows,
        ("score", "id", "party", "said_on", "text", "quote", "source"),
        json_data=found,
        table_columns=("score", "id", "party", "said_on", "text"),
        empty=f"no standing claim scores {threshold:g} or more",
    )


def register(group: click.Group) -> None:
    group.add_command(similar)
