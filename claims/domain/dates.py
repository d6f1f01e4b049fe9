"""Said dates of every precision, and the instants of the recording axis.

News often gives only a month or a year. A said date keeps the precision it was given with
(``2022``, ``2023-02``, ``2023-03-02`` or a date-time with offset) in every output, and compares by
the last day of its period: by then it had surely been said.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from claims.domain.errors import ValidationError
from claims.domain.ids import shown

# ASCII digits only (``\d`` would take ``２０２３``) and ``\Z``, not ``$`` (which lets a trailing
# newline through): a said date is stored exactly as written, so it must be exactly a date.
_YEAR = re.compile(r"^(\d{4})\Z", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{2})\Z", re.ASCII)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|z|[+-]\d{2}:\d{2})\Z", re.ASCII
)

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True, slots=True)
class SaidDate:
    """A said date as written (``text``) and the ISO date its period ends on (``end``)."""

    text: str
    end: str

    def __str__(self) -> str:
        return self.text


def parse_said_date(value: object, *, allow_future: bool = False) -> SaidDate:
    """Validate a said date of any accepted precision; raise ValidationError naming the problem."""
    return SaidDate(str(value), check_said_date(value, allow_future=allow_future))


def check_said_date(value: object, *, allow_future: bool = False) -> str:
    """``parse_said_date`` for a check that keeps only the period's end (no SaidDate is built)."""
    if value is None:
        raise ValidationError("date is required")
    end = period_end(value)
    # A period ending by the day this module was loaded is past for good: only later ones need the clock.
    if not allow_future and end > _LOADED_ON and period_start(str(value)) > today().isoformat():
        raise ValidationError(f"date is in the future: {value}")
    return end


def period_end(value: object) -> str:
    """The ISO date on which a said date's period ends (future dates allowed); ValidationError
    when ``value`` is no date. What projections and ``--as-of`` compare by."""
    if type(value) is str and (end := _period_end(value)) is not None:  # nearly always, first
        return end
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if not text or text != text.strip():
        raise ValidationError(f"not a date: {shown(value)}")
    end = _period_end(text)
    if end is None:
        raise ValidationError(f"not a date: {text}")
    return end


@functools.lru_cache(maxsize=65536)
def _period_end(text: str) -> str | None:
    """The ISO date a said date's period ends on, or None when it is not a date (cached: news dates repeat)."""
    try:
        if m := _YEAR.match(text):
            return date(int(m[1]), 12, 31).isoformat()
        if m := _MONTH.match(text):
            year, month = int(m[1]), int(m[2])
            return date(year, month, calendar.monthrange(year, month)[1]).isoformat()
        if m := _DAY.match(text):
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        if m := _DATETIME.match(text):
            datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None
    return None


@functools.lru_cache(maxsize=65536)
def said_key(text: str) -> str:
    """What orders the said dates of one period end (``period_end``), stored beside each one: a
    year, a month or a day as written (it comes before the day's times: ``2023-03`` before
    ``2023-03-31`` before ``2023-03-31T09:00Z``), and a date-time as its calendar date followed by
    its instant as the seconds since midnight UTC that began the day before the written one, and
    its fraction (``2023-03-02T10:00+05:30``: 86,400 + 36,000 - 19,800 seconds,
    ``2023-03-02T102600.000000``).

    The instant orders the times of one day as they happened: ``10:00+05:30`` before
    ``06:00Z``, ``10:00:00.5Z`` after ``10:00Z``, ``T`` and a space alike, where the text as
    written orders them otherwise. The calendar date written in it stays the period, as ``--as-of``
    counts it (SPEC section 2). Counted from the written day, with an offset of less than a day
    either way, the instant needs no date of its own, and cannot fall outside the calendar in
    year 1 or 9999. ``text`` is a said date already checked (``period_end``)."""
    m = _DATETIME.match(text)
    if not m:
        return text
    hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
    offset = 0 if m[8] in ("Z", "z") else (1 if m[8][0] == "+" else -1) * (int(m[8][1:3]) * 3600 + int(m[8][4:6]) * 60)
    seconds = 86_400 + hour * 3600 + minute * 60 + second - offset
    return f"{text[:10]}T{seconds:06d}.{(m[7] or '').ljust(6, '0')}"


def period_start(text: str) -> str:
    """The first day of the period, so that a month that has begun is not 'in the future'."""
    if _YEAR.match(text):
        return f"{text}-01-01"
    if _MONTH.match(text):
        return f"{text}-01"
    return text[:10]


def today() -> date:
    """Today, generously: the later of the local and the UTC calendar date."""
    return max(date.today(), datetime.now(UTC).date())


_LOADED_ON = today().isoformat()


def utc_now() -> str:
    """The current instant in the log's recorded_at form."""
    return format_instant(datetime.now(UTC))


def format_instant(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``: the one form recorded_at is stored, hashed and compared in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_recorded_time(value: object) -> bool:
    """Whether ``value`` is a time exactly as the log records one (``format_instant``: RFC
    3339 UTC with six digits of microseconds and ``Z``). Parsed and written again, it must come
    out the same: ``strptime`` alone would take one-digit months and non-ASCII digits."""
    if not isinstance(value, str) or len(value) != len("2026-11-27T10:00:00.123456Z"):
        return False
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return False
    return format_instant(moment) == value


def parse_known_at(value: str) -> str:
    """Turn ``--known-at`` (RFC 3339, or a bare date meaning the end of that day, UTC) into recorded_at form."""
    text = value.strip()
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"not a date: {text}") from None
        return f"{day.isoformat()}T23:59:59.999999Z"
    form = _RFC3339.match(text)
    if not form:
        raise ValidationError(f"not an RFC 3339 timestamp or date: {text}")
    if not form.group(1):
        raise ValidationError(f"timestamp needs an offset or Z: {text}")
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValidationError(f"not an RFC 3339 timestamp or date: {text}") from None
    try:
        return format_instant(moment)
    except (OverflowError, ValueError):
        raise ValidationError(f"timestamp out of range: {text}") from None


def parse_as_of(value: str) -> str:
    """Turn ``--as-of`` into the ISO date answers are computed for (a partial date counts from its end)."""
    return period_end(value)
