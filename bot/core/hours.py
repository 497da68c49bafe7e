"""Staffed hours of the hotline: parsing `HOTLINE_HOURS` / `HOTLINE_HOLIDAYS` and checking them.

Formats:
    HOTLINE_HOURS=always                          staffed at all hours (demos, tests)
    HOTLINE_HOURS="mon-fri 09:00-17:00"           one rule
    HOTLINE_HOURS="mon-fri 09:00-17:00; sat 10:00-13:00"   several rules, `;`-separated
    HOTLINE_HOLIDAYS=2026-12-25,2026-12-26        closed all day on these dates

Days are `mon`..`sun`, as a range (`mon-fri`) or a comma list (`mon,wed,fri`). Times are
24-hour local UK time (Europe/London), start inclusive, end exclusive; `24:00` ends at
midnight. Wall-clock times are compared in Europe/London, so the line opens at 09:00 in
both GMT and BST and the clock changes need no special case.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """The hours or holidays text is malformed; the message says where."""


@dataclass(frozen=True)
class HoursRule:
    """Open from `start` to `end` (minutes after midnight) on `weekdays` (0 = Monday)."""

    weekdays: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True)
class StaffedHours:
    """When a person can take a call.

    Attributes:
        always: Staffed at all hours (rules and holidays are ignored).
        rules: Opening rules; open when any rule matches.
        holidays: Dates (UK) on which the line is closed all day.
        text: The configured text, for messages.

    """

    always: bool = False
    rules: tuple[HoursRule, ...] = ()
    holidays: frozenset[dt.date] = frozenset()
    text: str = ""

    def is_open(self, when: dt.datetime) -> bool:
        """Whether the line is staffed at `when`.

        Args:
            when: A time-zone-aware moment (naive values are refused).

        Returns:
            True when staffed.

        Raises:
            ValueError: If `when` is naive (its zone would be a guess).

        """
        if when.tzinfo is None:
            raise ValueError("is_open needs an aware datetime")
        if self.always:
            return True
        local = when.astimezone(UK)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(
            local.weekday() in rule.weekdays and rule.start <= minute < rule.end
            for rule in self.rules
        )

    def next_opening(self, when: dt.datetime) -> dt.datetime | None:
        """The next moment (UK time) the line opens after `when`, or None if never.

        Args:
            when: A time-zone-aware moment.

        Returns:
            An aware datetime in Europe/London, `when` itself if open now.

        """
        if self.is_open(when):
            return when.astimezone(UK)
        if not self.rules:
            return None
        local = when.astimezone(UK)
        for offset in range(0, 400):  # over a year of holidays would be a configuration error
            day = local.date() + dt.timedelta(days=offset)
            if day in self.holidays:
                continue
            starts = sorted(r.start for r in self.rules if day.weekday() in r.weekdays)
            for start in starts:
                candidate = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=UK)
                if candidate > local:
                    return candidate
        return None


def _minutes(raw: str, *, allow_24: bool) -> int:
    match = _TIME.match(raw)
    if not match:
        raise HoursError(f"{raw!r} is not a time like 09:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise HoursError(f"{raw!r} is not a valid time")
    return hours * 60 + minutes


def _days(raw: str) -> frozenset[int]:
    found: set[int] = set()
    for part in raw.split(","):
        first, sep, last = part.partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            raise HoursError(f"{part!r}: days are mon, tue, wed, thu, fri, sat, sun")
        a = DAYS.index(first)
        b = DAYS.index(last) if sep else a
        if b < a:
            raise HoursError(f"{part!r}: a day range runs forwards, e.g. mon-fri")
        found.update(range(a, b + 1))
    return frozenset(found)


def parse_holidays(text: str) -> frozenset[dt.date]:
    """Parse `HOTLINE_HOLIDAYS` (comma-separated ISO dates; empty for none).

    Args:
        text: e.g. "2026-12-25,2026-12-26".

    Returns:
        The dates.

    Raises:
        HoursError: For a value that is not a YYYY-MM-DD date.

    """
    dates: set[dt.date] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            dates.add(dt.date.fromisoformat(part))
        except ValueError:
            raise HoursError(f"holiday {part!r} is not a date like 2026-12-25") from None
    return frozenset(dates)


def parse_hours(text: str, holidays: str = "") -> StaffedHours:
    """Parse `HOTLINE_HOURS` and `HOTLINE_HOLIDAYS`.

    Args:
        text: "always" or rules like "mon-fri 09:00-17:00; sat 10:00-13:00".
        holidays: Comma-separated ISO dates.

    Returns:
        The staffed hours.

    Raises:
        HoursError: With a message naming the bad part.

    """
    cleaned = " ".join(text.lower().split())
    if not cleaned:
        raise HoursError("is empty; use e.g. 'mon-fri 09:00-17:00' or 'always'")
    if cleaned == "always":
        return StaffedHours(always=True, holidays=parse_holidays(holidays), text="always")
    rules = []
    for part in (p.strip() for p in cleaned.split(";")):
        if not part:
            continue
        match = _RULE.match(part)
        if not match:
            raise HoursError(f"{part!r} is not like 'mon-fri 09:00-17:00'")
        start = _minutes(match.group("start"), allow_24=False)
        end = _minutes(match.group("end"), allow_24=True)
        if end <= start:
            raise HoursError(f"{part!r}: the closing time must be after the opening time")
        rules.append(HoursRule(_days(match.group("days")), start, end))
    if not rules:
        raise HoursError("has no rules; use e.g. 'mon-fri 09:00-17:00' or 'always'")
    return StaffedHours(rules=tuple(rules), holidays=parse_holidays(holidays), text=text.strip())
