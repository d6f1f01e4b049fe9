"""Claim matching: ``claims similar`` and the warning of ``claims add`` on a near repeat."""

from __future__ import annotations

import itertools
import json

import pytest

from claims.api import Tracker
from claims.cli.similar import similar as similar_command
from claims.service import matching
from tests.ux.conftest import Run

PARAPHRASE = "Zakharova said there were no talks, and no real meeting took place"


def test_a_paraphrase_finds_zakharova_first(seeded: Tracker) -> None:
    found = seeded.similar(PARAPHRASE)
    assert found[0]["id"] == "zakharova-no-real-meeting"
    assert found[0]["score"] >= 90
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(found))


@pytest.mark.parametrize(
    "text", ["The price of eggs rose sharply in Ohio", "Russia", "the G20", "Weather in Paris was sunny"]
)
def test_unrelated_text_finds_nothing_above_the_threshold(seeded: Tracker, text: str) -> None:
    assert seeded.similar(text) == []


@pytest.mark.parametrize(("text", "threshold"), [(PARAPHRASE, 0), ("Russia", 0), (PARAPHRASE, 40)])
def test_claims_scored_a_chunk_at_a_time_rank_as_scored_at_once(
    seeded: Tracker, monkeypatch: pytest.MonkeyPatch, text: str, threshold: float
) -> None:
    """Best first, and claims of equal score in narrative order, whatever the chunks: the standing
    claims come from the database in no order, a chunk at a time, and only the best are kept."""
    at_once = seeded.similar(text, threshold=threshold, limit=50)
    narrative = [claim["id"] for claim in seeded.compare(sorted({c["party"] for c in seeded.list_claims()}))["claims"]]
    ranked = sorted(at_once, key=lambda claim: (-claim["score"], narrative.index(claim["id"])))
    assert at_once == ranked and len({c["score"] for c in at_once}) < len(at_once)  # ties to break
    for chunk in (1, 5):
        monkeypatch.setattr(matching, "CHUNK", chunk)
        assert seeded.similar(text, threshold=threshold, limit=50) == at_once
        assert seeded.similar(text, threshold=threshold, limit=3) == at_once[:3]


def test_standing_texts_fetched_a_few_at_a_time_are_those_fetched_at_once(seeded: Tracker) -> None:
    from claims.projections import queries

    with seeded.engine.connect() as connection:
        at_once = list(queries.standing_texts(connection))
        by_two = list(queries.standing_texts(connection, batch=2))
        russian = list(queries.standing_texts(connection, "russia", batch=3))
    assert len(at_once) > 10 and sorted(by_two, key=lambda c: c["order"]) == sorted(at_once, key=lambda c: c["order"])
    assert russian and sorted(c["id"] for c in russian) == sorted(c["id"] for c in seeded.narrative("russia"))


def test_party_limit_and_threshold(seeded: Tracker) -> None:
    assert seeded.similar(PARAPHRASE, party="united-states") == []
    assert [c["id"] for c in seeded.similar(PARAPHRASE, party="russia", limit=1)] == ["zakharova-no-real-meeting"]
    assert len(seeded.similar(PARAPHRASE, threshold=0, limit=50)) == 24


def test_topic_narrows_the_search(seeded: Tracker, run: Run) -> None:
    on_topic = seeded.similar(PARAPHRASE, party="russia", topic="blinken-lavrov-encounter", limit=1)
    assert [c["id"] for c in on_topic] == ["zakharova-no-real-meeting"]
    assert seeded.similar(PARAPHRASE, party="russia", topic="g20-joint-statement") == []
    result = run("--db", seeded.url, "similar", PARAPHRASE, "--topic", "weather-on-mars")
    assert result.exit_code == 1 and result.stderr == "Error: unknown topic: weather-on-mars\n"


def test_a_quote_matches_too(seeded: Tracker) -> None:
    assert seeded.similar("failed")[0]["id"] == "modi-global-governance-failed"


def test_only_standing_claims_are_matched(seeded: Tracker) -> None:
    seeded.retract("zakharova-no-real-meeting", on="2023-03-10", source="ria-novosti")
    assert "zakharova-no-real-meeting" not in {c["id"] for c in seeded.similar(PARAPHRASE)}


def test_scores_are_stable_and_bounded() -> None:
    assert matching.score("No talks took place.", "no TALKS took place") == 100
    assert matching.score("anything", None) == 0 and matching.score("", "text") == 0 and matching.score("!!", "x") == 0
    assert 0 <= matching.score("Russia", "Russia blames the West") < matching.DEFAULT_THRESHOLD


def test_the_command_default_is_the_matching_default() -> None:
    option = next(p for p in similar_command.params if p.name == "threshold")
    assert option.default == matching.DEFAULT_THRESHOLD


def test_claims_similar_prints_scores(seeded: Tracker, run: Run) -> None:
    result = run("--db", seeded.url, "similar", PARAPHRASE, "--format", "json")
    assert result.exit_code == 0
    found = json.loads(result.stdout)
    assert found[0]["id"] == "zakharova-no-real-meeting" and isinstance(found[0]["score"], float)
    table = run("--db", seeded.url, "similar", PARAPHRASE, "--format", "csv")
    assert table.stdout.splitlines()[0] == "score,id,party,said_on,text,quote,source"
    assert table.stdout.splitlines()[1].startswith(f"{found[0]['score']:.0f},zakharova-no-real-meeting,russia,")


def test_claims_similar_says_when_nothing_matches(seeded: Tracker, run: Run) -> None:
    result = run("--db", seeded.url, "similar", "The price of eggs", "--format", "table")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "no standing claim scores 70 or more\n"


def test_claims_similar_of_an_unknown_party(seeded: Tracker, run: Run) -> None:
    result = run("--db", seeded.url, "similar", "x", "--party", "atlantis")
    assert result.exit_code == 1 and result.stderr == "Error: unknown party: atlantis\n"


ADD = ["add", "--topic", "blinken-lavrov-encounter", "--said-on", "2023-03-03", "--source", "tass"]


def test_add_warns_of_a_near_repeat_but_records_it(seeded: Tracker, run: Run) -> None:
    text = "No talks and no real meeting took place between Lavrov and Blinken."
    result = run("--db", seeded.url, *ADD, "--party", "russia", "--text", text)
    assert result.exit_code == 0
    new_id = result.stdout.strip()
    assert seeded.show(new_id)["claim"]["text"] == text
    assert result.stderr.startswith(
        f"warning: {new_id} nearly repeats russia's standing claim zakharova-no-real-meeting (score "
    )
    assert result.stderr.endswith("): No talks or real meeting took place between Lavrov and Blinken.\n")


def test_add_does_not_warn_across_parties_or_topics_or_for_new_things(seeded: Tracker, run: Run) -> None:
    text = "No talks and no real meeting took place between Lavrov and Blinken."
    other_party = run("--db", seeded.url, *ADD, "--party", "china", "--text", text)
    assert other_party.exit_code == 0 and "warning" not in other_party.stderr
    elsewhere = [*ADD[:1], "--topic", "g20-joint-statement", *ADD[3:]]
    other_topic = run("--db", seeded.url, *elsewhere, "--party", "russia", "--text", text)
    assert other_topic.exit_code == 0 and "warning" not in other_topic.stderr
    fresh = run("--db", seeded.url, *ADD, "--party", "russia", "--text", "Lavrov praised the Indian hosts.")
    assert fresh.exit_code == 0 and fresh.stderr == ""


def test_add_warns_on_a_repeated_quote_even_with_quiet(seeded: Tracker, run: Run) -> None:
    args = ["-q", "--db", seeded.url, *ADD, "--party", "russia", "--text", "Zakharova spoke to RIA."]
    result = run(*args, "--quote", "No talks or real meeting took place.")
    assert result.exit_code == 0
    assert "nearly repeats russia's standing claim zakharova-no-real-meeting (score 100)" in result.stderr


def test_adding_the_same_claim_again_is_not_a_near_repeat_of_itself(seeded: Tracker, run: Run) -> None:
    args = ["--db", seeded.url, *ADD, "--party", "india", "--text", "Jaishankar hosted the ministers."]
    first, again = run(*args), run(*args)
    assert first.stdout == again.stdout
    assert again.stderr == f"claim {first.stdout.strip()} is already recorded; nothing added\n"
