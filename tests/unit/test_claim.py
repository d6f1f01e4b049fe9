"""When a claim stands in the world: the pure folds of ``claims.domain.claim``.

``standing_periods`` turns the party's acts on its own claim (retractions, reaffirmations) into
half-open ``[from, to)`` date intervals; ``stands_on`` reads them for ``--as-of``. Covered: no act,
a retraction, a reaffirmation after a retraction, acts dated before the claim was said, acts on
the same day (log order breaks the tie), acts given out of order, and redundant acts.
``apply_correction`` replaces only the corrected fields, recomputing the end of the said period.
"""

from __future__ import annotations

import pytest

from claims.domain.claim import Act, ClaimFields, apply_correction, standing_periods, stands_on
from claims.domain.dates import period_end, said_key

SAID = "2023-03-02"


def retracted(on: str, position: int) -> Act:
    return Act("retracted", period_end(on), said_key(on), position)


def reaffirmed(on: str, position: int) -> Act:
    return Act("reaffirmed", period_end(on), said_key(on), position)


def test_a_claim_without_acts_stands_from_its_said_date_on() -> None:
    periods = standing_periods(SAID, [])
    assert periods == [(SAID, None)]
    assert not stands_on(periods, "2023-03-01")
    assert stands_on(periods, SAID)
    assert stands_on(periods, "2030-01-01")
    assert stands_on(periods, None)


def test_a_retraction_ends_the_period_on_its_date() -> None:
    periods = standing_periods(SAID, [retracted("2023-03-10", 5)])
    assert periods == [(SAID, "2023-03-10")]
    assert stands_on(periods, "2023-03-09")
    assert not stands_on(periods, "2023-03-10")  # retracted on or before the day: not standing
    assert not stands_on(periods, None)  # every recorded retraction counts without --as-of


def test_a_reaffirmation_after_a_retraction_makes_the_claim_stand_again_from_its_date() -> None:
    periods = standing_periods(SAID, [retracted("2023-03-10", 5), reaffirmed("2023-03-15", 6)])
    assert periods == [(SAID, "2023-03-10"), ("2023-03-15", None)]
    assert stands_on(periods, "2023-03-05")
    assert not stands_on(periods, "2023-03-12")
    assert stands_on(periods, "2023-03-15")
    assert stands_on(periods, None)


def test_acts_apply_in_date_order_whatever_order_they_were_recorded_in() -> None:
    # The reaffirmation was recorded first (position 5) but happened after the retraction.
    periods = standing_periods(SAID, [reaffirmed("2023-03-15", 5), retracted("2023-03-10", 6)])
    assert periods == [(SAID, "2023-03-10"), ("2023-03-15", None)]


def test_a_reaffirmation_of_a_standing_claim_changes_nothing() -> None:
    assert standing_periods(SAID, [reaffirmed("2023-03-05", 5)]) == [(SAID, None)]


def test_a_second_retraction_changes_nothing() -> None:
    assert standing_periods(SAID, [retracted("2023-03-10", 5), retracted("2023-03-20", 6)]) == [(SAID, "2023-03-10")]


def test_a_retraction_on_the_said_day_leaves_no_standing_period() -> None:
    periods = standing_periods(SAID, [retracted(SAID, 5)])
    assert periods == []
    assert not stands_on(periods, SAID)
    assert not stands_on(periods, None)


def test_an_act_dated_before_the_said_date_takes_effect_on_the_said_date() -> None:
    assert standing_periods(SAID, [retracted("2023-02-01", 5)]) == []
    periods = standing_periods(SAID, [retracted("2023-02-01", 5), reaffirmed("2023-02-15", 6)])
    assert periods == [(SAID, None)]
    assert not stands_on(periods, "2023-02-20")


@pytest.mark.parametrize(
    ("acts", "expected"),
    [
        # Same day: the log order decides. Retracted then reaffirmed: standing again from that day.
        ([retracted("2023-03-10", 5), reaffirmed("2023-03-10", 6)], [(SAID, "2023-03-10"), ("2023-03-10", None)]),
        # Reaffirmed (while standing, no effect) then retracted: retracted from that day.
        ([reaffirmed("2023-03-10", 5), retracted("2023-03-10", 6)], [(SAID, "2023-03-10")]),
        # The positions, not the list order, break the tie.
        ([reaffirmed("2023-03-10", 6), retracted("2023-03-10", 5)], [(SAID, "2023-03-10"), ("2023-03-10", None)]),
    ],
)
def test_acts_on_the_same_day_apply_in_log_order(acts: list[Act], expected: list[tuple[str, str | None]]) -> None:
    periods = standing_periods(SAID, acts)
    assert periods == expected


def test_a_partial_said_date_counts_from_the_end_of_its_period() -> None:
    # Said "in February 2023": it surely stands from 28 February; a retraction in mid-February
    # (which cannot precede the saying) takes effect then, leaving nothing standing.
    assert standing_periods("2023-02-28", [retracted("2023-02-15", 5)]) == []
    periods = standing_periods("2023-02-28", [retracted("2023-03-10", 5)])
    assert periods == [("2023-02-28", "2023-03-10")]
    assert not stands_on(periods, "2023-02-27")


def fields(**overrides: object) -> ClaimFields:
    values: dict[str, object] = {
        "claim": "c",
        "party": "russia",
        "topic": "t",
        "said_on": "2023-03-02",
        "said_end": "2023-03-02",
        "source": "tass",
        "text": "original",
        "speaker": None,
        "quote": None,
        "via": ("ap",),
        "proposition": None,
        "stance": None,
        "responds_to": None,
        "relation": None,
    }
    values.update(overrides)
    return ClaimFields(**values)  # type: ignore[arg-type]


def test_a_correction_replaces_only_the_corrected_fields() -> None:
    current = fields()
    corrected = apply_correction(current, {"text": "fixed", "via": ["ap", "ria"], "party": "china"})
    assert corrected.text == "fixed"
    assert corrected.via == ("ap", "ria")
    assert corrected.party == "russia"  # not a correctable field
    assert corrected.source == current.source and corrected.said_on == current.said_on
    assert current.text == "original"  # the original is untouched


def test_a_corrected_said_date_moves_the_end_of_the_said_period() -> None:
    corrected = apply_correction(fields(), {"said_on": "2024-02"})
    assert corrected.said_on == "2024-02"
    assert corrected.said_end == "2024-02-29"


def test_acts_of_one_day_apply_in_the_order_of_their_times_whatever_the_log_s() -> None:
    """A reaffirmation at 09:00 recorded after a retraction at 18:00 the same day does not undo it
    (log order alone decided, and the claim stood); a bare date comes before the day's times."""
    late_retraction = [retracted("2023-03-10T18:00:00Z", 5), reaffirmed("2023-03-10T09:00:00Z", 6)]
    assert standing_periods(SAID, late_retraction) == [(SAID, "2023-03-10")]
    late_reaffirmation = [reaffirmed("2023-03-10T18:00:00Z", 5), retracted("2023-03-10T09:00:00Z", 6)]
    assert standing_periods(SAID, late_reaffirmation) == [(SAID, "2023-03-10"), ("2023-03-10", None)]
    bare_then_time = [reaffirmed("2023-03-10T18:00:00Z", 5), retracted("2023-03-10", 6)]
    assert standing_periods(SAID, bare_then_time) == [(SAID, "2023-03-10"), ("2023-03-10", None)]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("2023-03-10T10:00+05:30", "2023-03-10T06:00Z"),  # 04:30 UTC, though its text sorts after
        ("2023-03-10T09:00:00Z", "2023-03-10T09:00:00.5Z"),  # a fraction after the whole second
        ("2023-03-10 09:00Z", "2023-03-10T08:00-02:00"),  # a space for the T; 10:00 UTC
        ("2023-03-10T23:30+01:00", "2023-03-10T22:45Z"),  # the same day as written, 22:30 UTC
    ],
)
def test_times_of_one_day_apply_in_the_order_of_their_instants_not_of_their_text(earlier: str, later: str) -> None:
    """The last act of the day decides, whatever the offset each was written with and whatever the
    order they were recorded in; both count from the day written in them."""
    for first, second in ((5, 6), (6, 5)):
        retraction_last = [reaffirmed(earlier, first), retracted(later, second)]
        assert standing_periods(SAID, retraction_last) == [(SAID, "2023-03-10")]
        reaffirmation_last = [retracted(earlier, first), reaffirmed(later, second)]
        assert standing_periods(SAID, reaffirmation_last) == [(SAID, "2023-03-10"), ("2023-03-10", None)]
