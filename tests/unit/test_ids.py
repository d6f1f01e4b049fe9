"""Ids are lowercase slugs, and a claim's derived id is stable, a valid slug, and within the length limit.

A derived id is what makes re-importing a document without ids idempotent, so its value for a
given party, said date and text must never change between versions: it is pinned here.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims.domain.errors import ValidationError
from claims.domain.ids import MAX_ID_LENGTH, SLUG, check_slug, derive_claim_id


@pytest.mark.parametrize("value", ["russia", "united-states", "g20", "2023", "a", "a-", "x" * MAX_ID_LENGTH])
def test_slugs_are_accepted_and_returned(value: str) -> None:
    assert check_slug(value) == value


@pytest.mark.parametrize(
    "value",
    ["Russia", "-russia", "united_states", "a b", "", "russia!", "россия", "x" * (MAX_ID_LENGTH + 1), 7],
)
def test_anything_else_is_refused_naming_what_it_is(value: object) -> None:
    with pytest.raises(ValidationError, match="party must be a lowercase slug"):
        check_slug(value, "party")


def test_no_id_at_all_is_a_missing_one() -> None:
    with pytest.raises(ValidationError, match=r"^party is required$"):
        check_slug(None, "party")


def test_a_derived_id_is_pinned_readable_and_ends_with_a_content_digest() -> None:
    text = "No talks or real meeting took place."
    derived = derive_claim_id("russia", "2023-03-02", text)
    digest = hashlib.sha256(f"russia\x1f2023-03-02\x1f{text}".encode()).hexdigest()[:10]
    assert derived == f"russia-2023-03-02-no-talks-or-real-meeting-took-{digest}"
    assert derived == "russia-2023-03-02-no-talks-or-real-meeting-took-753a5d08d9"


def test_a_derived_id_is_the_same_every_time_and_differs_with_any_input() -> None:
    base = derive_claim_id("russia", "2023-03-02", "The West derailed the meeting.")
    assert derive_claim_id("russia", "2023-03-02", "The West derailed the meeting.") == base
    others = {
        derive_claim_id("china", "2023-03-02", "The West derailed the meeting."),
        derive_claim_id("russia", "2023-03-03", "The West derailed the meeting."),
        derive_claim_id("russia", "2023-03", "The West derailed the meeting."),
        derive_claim_id("russia", "2023-03-02", "The West derailed the meeting!"),
    }
    assert base not in others and len(others) == 4


def test_partial_dates_and_datetimes_give_slug_ids() -> None:
    assert derive_claim_id("china", "2022", "China is neutral.") == "china-2022-china-is-neutral-8433297279"
    assert derive_claim_id("russia", "2023-02", "¿¡!") == "russia-2023-02-5f5a6deabd"
    derived = derive_claim_id("russia", "2023-03-02T10:00:00+02:00", "Лавров: West DERAILED   the G20!!")
    assert derived.startswith("russia-2023-03-02-west-derailed-the-g20-")
    assert SLUG.match(derived)


def test_a_long_party_id_still_gives_an_id_commands_accept() -> None:
    """Regression: a 100-character party used to derive a 134-character id that retract refused."""
    party = "p" * 100
    derived = derive_claim_id(party, "2023-03-02", "hello world")
    assert len(derived) <= MAX_ID_LENGTH
    assert check_slug(derived) == derived
    assert derived != derive_claim_id(party, "2023-03-02", "hello world!")


slugs = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,119}\Z")
said_dates = st.sampled_from(["2022", "2023-02", "2023-03-02", "2023-03-02T10:00:00+02:00", "2023-03-02T10:00Z"])


@given(party=slugs, said_on=said_dates, text=st.text(min_size=1, max_size=300))
def test_every_derived_id_is_a_valid_claim_id(party: str, said_on: str, text: str) -> None:
    derived = derive_claim_id(party, said_on, text)
    assert check_slug(derived, "claim") == derived
    assert derived == derive_claim_id(party, said_on, text)
