"""Said dates keep their precision and count from the end of their period; instants are RFC 3339 UTC.

Pure tests of ``claims.domain.dates``: partial dates (year, month, day), the last day of a
period (leap years included), date-times with offsets compared by the calendar date written in
them, the key that orders the said dates of one day by their instants, dates after today refused
at input, and ``--known-at`` / ``--as-of`` parsing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from claims.domain.dates import (
    format_instant,
    parse_as_of,
    parse_known_at,
    parse_said_date,
    period_end,
    period_start,
    said_key,
    utc_now,
)
from claims.domain.errors import ValidationError

RFC3339_MICRO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def latest_today() -> date:
    """Today in whichever of local time and UTC is ahead: a date after it is surely in the future."""
    return max(date.today(), datetime.now(UTC).date())


def earliest_today() -> date:
    return min(date.today(), datetime.now(UTC).date())


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("2022", "2022-12-31"),
        ("2023-01", "2023-01-31"),
        ("2023-02", "2023-02-28"),
        ("2024-02", "2024-02-29"),  # leap year
        ("2000-02", "2000-02-29"),  # divisible by 400: leap
        ("1900-02", "1900-02-28"),  # divisible by 100 only: not leap
        ("2023-04", "2023-04-30"),
        ("2023-12", "2023-12-31"),
        ("2023-03-02", "2023-03-02"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_a_partial_date_keeps_its_text_and_ends_on_the_last_day_of_its_period(text: str, end: str) -> None:
    said = parse_said_date(text)
    assert said.text == text
    assert str(said) == text
    assert said.end == end


@pytest.mark.parametrize(
    ("text", "end"),
    [
        # The calendar date written in the value counts, not the UTC date it converts to.
        ("2023-03-02T23:30:00-05:00", "2023-03-02"),
        ("2023-03-02T00:30:00+14:00", "2023-03-02"),
        ("2023-03-02T10:00Z", "2023-03-02"),
        ("2023-03-02T10:00:00.123456+02:00", "2023-03-02"),
        ("2023-03-02 10:00:00Z", "2023-03-02"),
    ],
)
def test_a_datetime_with_an_offset_counts_by_its_written_calendar_date(text: str, end: str) -> None:
    said = parse_said_date(text)
    assert said.text == text
    assert said.end == end


def test_a_year_given_as_an_integer_is_read_as_that_year() -> None:
    assert parse_said_date(2022).end == "2022-12-31"


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-30",
        "2023-02-29",  # 2023 is no leap year
        "1900-02-29",
        "2023-13",
        "2023-00",
        "2023-04-31",
        "2023-3-2",
        "02/03/2023",
        "2023-03-02T10:00:00",  # a date-time needs an offset
        "2023-03-02T24:00:00Z",
        "2023-03-02T10:61:00Z",
        "March 2023",
        "",
        "   ",
        True,
        2023.0,
        ["2023"],
    ],
)
def test_what_is_not_a_date_is_refused_with_its_text(value: object) -> None:
    with pytest.raises(ValidationError, match="not a date"):
        parse_said_date(value)


def test_no_date_at_all_is_a_missing_one() -> None:
    with pytest.raises(ValidationError, match=r"^date is required$"):
        parse_said_date(None)


def test_the_error_names_the_impossible_date() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_said_date("2023-02-30")
    assert str(caught.value) == "not a date: 2023-02-30"


def test_dates_after_today_are_refused_at_input() -> None:
    soon = latest_today() + timedelta(days=2)
    for text in (soon.isoformat(), f"{soon.isoformat()}T00:00:00Z", str(soon.year + 1), "2999-01"):
        with pytest.raises(ValidationError, match="in the future"):
            parse_said_date(text)


def test_next_month_is_refused_but_the_month_and_year_under_way_are_accepted() -> None:
    today = latest_today()
    following = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    with pytest.raises(ValidationError, match="in the future"):
        parse_said_date(following.strftime("%Y-%m"))
    # A period that has begun can have been spoken in, though it ends later.
    this_month = earliest_today().strftime("%Y-%m")
    assert parse_said_date(this_month).text == this_month
    assert parse_said_date(str(earliest_today().year)).end == f"{earliest_today().year}-12-31"


def test_yesterday_is_accepted_and_the_future_is_accepted_only_when_asked() -> None:
    yesterday = (earliest_today() - timedelta(days=1)).isoformat()
    assert parse_said_date(yesterday).end == yesterday
    assert parse_said_date("2999-06-01", allow_future=True).end == "2999-06-01"


def test_period_start_is_the_first_day_of_the_period() -> None:
    assert period_start("2022") == "2022-01-01"
    assert period_start("2023-02") == "2023-02-01"
    assert period_start("2023-03-02") == "2023-03-02"
    assert period_start("2023-03-02T10:00:00+02:00") == "2023-03-02"


@pytest.mark.parametrize(
    ("given", "instant"),
    [
        ("2023-03-02", "2023-03-02T23:59:59.999999Z"),  # a bare date means the end of that day, UTC
        ("2024-02-29", "2024-02-29T23:59:59.999999Z"),
        ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.000000Z"),
        ("2026-11-27T10:00:00z", "2026-11-27T10:00:00.000000Z"),
        ("2026-11-27T10:00:00.5Z", "2026-11-27T10:00:00.500000Z"),
        ("2026-11-27T12:00:00+02:00", "2026-11-27T10:00:00.000000Z"),
        ("2026-11-27T01:30:00+05:30", "2026-11-26T20:00:00.000000Z"),  # crosses the date line back
        ("2026-11-27T22:00:00-05:00", "2026-11-28T03:00:00.000000Z"),  # and forward
        ("  2023-03-02  ", "2023-03-02T23:59:59.999999Z"),
    ],
)
def test_known_at_is_turned_into_the_recorded_at_form(given: str, instant: str) -> None:
    assert parse_known_at(given) == instant
    assert RFC3339_MICRO_Z.match(instant)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("2023-02-30", "not a date"),
        ("2026-11-27T10:00:00", "needs an offset"),
        ("yesterday", "not an RFC 3339 timestamp or date"),
        ("", "not an RFC 3339 timestamp or date"),
    ],
)
def test_bad_known_at_values_are_refused(given: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_known_at(given)


def test_known_at_strings_compare_in_time_order() -> None:
    """recorded_at is compared as text, so the fixed-width form must sort like the instants."""
    instants = [
        parse_known_at("2026-11-27T09:59:59.999999Z"),
        parse_known_at("2026-11-27T12:00:00+02:00"),
        parse_known_at("2026-11-27T10:00:00.000001Z"),
        parse_known_at("2026-11-27"),
    ]
    assert instants == sorted(instants)


def test_as_of_counts_a_partial_date_from_its_end_and_accepts_the_future() -> None:
    assert parse_as_of("2023-02") == "2023-02-28"
    assert parse_as_of("2024") == "2024-12-31"
    assert parse_as_of("2023-03-02T23:30:00-05:00") == "2023-03-02"
    assert parse_as_of("2999-01-01") == "2999-01-01"
    with pytest.raises(ValidationError):
        parse_as_of("2023-02-30")


def test_instants_are_rfc3339_utc_with_microseconds_and_z() -> None:
    moment = datetime(2026, 11, 27, 12, 0, 0, 123, tzinfo=timezone(timedelta(hours=2)))
    assert format_instant(moment) == "2026-11-27T10:00:00.000123Z"
    now = utc_now()
    assert RFC3339_MICRO_Z.match(now)
    parsed = datetime.strptime(now, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(parsed - datetime.now(UTC)) < timedelta(days=1)


def test_the_said_key_of_a_date_without_a_time_is_the_date_as_written() -> None:
    for text in ("2022", "2023-02", "2023-03-02"):
        assert said_key(text) == text


@pytest.mark.parametrize(
    "in_time_order",
    [
        # one period end, whatever precision, offset, separator or fraction each was written with
        [
            "2023-03",
            "2023-03-31",
            "2023-03-31T02:00+14:00",  # 12:00 UTC on the 30th
            "2023-03-31T10:00+05:30",  # 04:30 UTC
            "2023-03-31 05:00Z",
            "2023-03-31T06:00:00Z",
            "2023-03-31t06:00:00.5z",
            "2023-03-31T06:00:00.500001Z",
            "2023-03-31T01:00-08:00",  # 09:00 UTC
            "2023-03-31T23:00-05:00",  # 04:00 UTC on 1 April
        ],
        ["2022", "2022-12", "2022-12-31", "2022-12-31T00:00Z"],
        ["0001-01-01", "0001-01-01T00:30+01:00", "0001-01-01T00:10Z"],  # 23:30 UTC before year 1 began
    ],
)
def test_said_keys_of_one_period_end_sort_as_the_dates_happened(in_time_order: list[str]) -> None:
    assert len({period_end(text) for text in in_time_order}) == 1
    assert sorted(in_time_order, key=said_key) == in_time_order
    assert all(len(said_key(text)) <= 40 for text in in_time_order)  # the columns' width


def test_the_same_instant_written_two_ways_has_one_key() -> None:
    assert said_key("2023-03-02T10:00Z") == said_key("2023-03-02 10:00:00.000Z") == said_key("2023-03-02T10:00+00:00")
    # 10:00 UTC is 122,400 seconds after the start of the day before the written one
    assert said_key("2023-03-02T12:00+02:00") == said_key("2023-03-02T10:00Z") == "2023-03-02T122400.000000"
    assert said_key("2023-03-02T23:59:59.999999-23:59") == "2023-03-02T259139.999999"  # the latest key of a day
