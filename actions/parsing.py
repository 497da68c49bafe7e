"""Plain functions that read amounts, dates and wishes from a message.

The NLU model extracts names (recipient, place, sector...); amounts ("over
£40,000", "40k", "forty thousand"), comparisons, years and superlatives
("the largest") are read from the text here, with regular expressions, so
they need no training data and behave predictably. Amounts themselves are
found by `bot.core.money` (the one reader and writer of money); this module
adds what a caller's comparison words mean. No I/O, no state.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.awards.formatting import format_date
from bot.core.money import find_amounts, format_gbp, format_gbp_short, words_to_digits
from bot.core.money import read_amount as parse_amount
from bot.core.numbers import CARDINALS

# Re-exported for the award actions: money comes from bot.core.money, dates from here.
__all__ = [
    "AmountRange",
    "DateRange",
    "asks_for_count",
    "format_date",
    "format_gbp",
    "format_gbp_short",
    "join_names",
    "parse_amount",
    "parse_amount_range",
    "UNIT_WORDS",
    "parse_attribute",
    "parse_date_range",
    "parse_superlative",
    "words_to_digits",
]

#: Longest message we parse; hostile 10,000-character input is cut, not scanned.
MAX_TEXT = 500

#: Number words up to the tens, shared with the eligibility check's reading of years.
UNIT_WORDS: dict[str, int] = CARDINALS

_YEAR = re.compile(r"(?<![£\d,.])\b(20\d\d)\b(?![\d,]|\s?(?:k|m|pounds?|quid)\b)", re.IGNORECASE)
_MONTHS = (
    {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
    | {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>{_MONTH_NAMES})\.?\s+(?P<year>20\d\d)\b",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(rf"\b(?P<month>{_MONTH_NAMES})\.?\s+(?P<year>20\d\d)\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(?P<year>20\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b")

_STRICT_MIN = re.compile(
    r"\b(?:over|above|more\s+than|greater\s+than|bigger\s+than|larger\s+than|higher\s+than|"
    r"exceeding|in\s+excess\s+of|upwards\s+of)\s*$",
    re.IGNORECASE,
)
_INCLUSIVE_MIN = re.compile(
    r"\b(?:at\s+least|minimum\s+of|no\s+less\s+than|not\s+less\s+than|from)\s*$", re.IGNORECASE
)
_STRICT_MAX = re.compile(
    r"\b(?:under|below|less\s+than|smaller\s+than|lower\s+than|fewer\s+than)\s*$",
    re.IGNORECASE,
)
_INCLUSIVE_MAX = re.compile(
    r"\b(?:at\s+most|up\s+to|no\s+more\s+than|not\s+more\s+than|maximum\s+of|max)\s*$",
    re.IGNORECASE,
)
_APPROX = re.compile(
    r"\b(?:around|about|roughly|approximately|circa|some|nearly|almost)\s*$|~\s*$", re.IGNORECASE
)
_AFTER_INCLUSIVE_MIN = re.compile(
    r"^\s*(?:or\s+more|or\s+above|or\s+over|and\s+(?:over|above|up)|\+)", re.IGNORECASE
)
_AFTER_INCLUSIVE_MAX = re.compile(
    r"^\s*(?:or\s+less|or\s+under|or\s+below|and\s+(?:under|below))", re.IGNORECASE
)
_BETWEEN = re.compile(r"\b(?:between|from)\s*$", re.IGNORECASE)
_RANGE_JOIN = re.compile(r"^\s*(?:and|to|-|–)\s*$", re.IGNORECASE)

_SUPERLATIVES = (
    ("latest", re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest|recent)\b", re.IGNORECASE)),
    ("earliest", re.compile(r"\b(?:earliest|oldest|first\s+awards?)\b", re.IGNORECASE)),
    (
        "largest",
        re.compile(
            r"\b(?:largest|biggest|highest|greatest|most\s+money|top)\b|"
            r"\bthe\s+most\b",
            re.IGNORECASE,
        ),
    ),
    (
        "smallest",
        re.compile(r"\b(?:smallest|lowest|tiniest)\b|(?<!\bat\s)\bleast\b", re.IGNORECASE),
    ),
)

_ATTRIBUTES = (
    (
        "source",
        re.compile(
            r"\bsources?\b|\bwhere\s+(?:is|was|does|did)\s+(?:that|this|it|the\s+\w+)\s+(?:come\s+)?from\b|"
            r"\bhow\s+do\s+you\s+know\b|\bcite\b|\breference\b|\bevidence\b",
            re.IGNORECASE,
        ),
    ),
    (
        "supplier",
        re.compile(
            r"\bsuppl(?:ier|iers|ied|y)\b|\bsupported\b|\bwho\s+(?:helped|advised|delivered|provided|did)\b|"
            r"\bwhich\s+(?:firms?|compan(?:y|ies)|consultan\w*)\b|\bconsultan\w*\b|\badvis[eo]rs?\b|"
            r"\bproviders?\b|\bcontractors?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "support",
        re.compile(
            r"\bwhat\s+(?:kind\s+of\s+|type\s+of\s+|sort\s+of\s+)?(?:support|help|advice|work)\b|"
            r"\bwhat\s+(?:was|is)\s+(?:it|that|the\s+award)\s+for\b|\bwhat\s+for\b|"
            r"\bwhat\s+did\s+(?:they|it)\s+(?:get|receive|buy|pay\s+for)\b|\bsupport\s+(?:provided|given)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "amount",
        re.compile(
            r"\bhow\s+much\b|\bamount\b|\bworth\b|\bvalue\b|\bcost\b|\bsize\b", re.IGNORECASE
        ),
    ),
    (
        "date",
        re.compile(
            r"\bwhen\b|\bdate\b|\bwhat\s+year\b|\bwhich\s+year\b|\bannounced\b", re.IGNORECASE
        ),
    ),
    ("stage", re.compile(r"\bstage\b|\bhow\s+far\s+along\b|\bstatus\b", re.IGNORECASE)),
    (
        "region",
        re.compile(
            r"\b(?:which|what)\s+(?:region|area|part\s+of\s+the\s+country)\b|\bwhereabouts\b|"
            r"\bwhere\s+(?:is|are|was|were)\s+(?:it|they|that|those)\b",
            re.IGNORECASE,
        ),
    ),
)
_COUNT = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b|\bcount\b", re.IGNORECASE)


@dataclass(frozen=True)
class AmountRange:
    """Amounts to look for, inclusive, in pence (None: no bound).

    Attributes:
        min_pence: Smallest amount.
        max_pence: Largest amount.
        description: The range in words, e.g. "over £40,000".

    """

    min_pence: int | None
    max_pence: int | None
    description: str


@dataclass(frozen=True)
class DateRange:
    """Announcement dates to look for, inclusive (None: no bound).

    Attributes:
        date_from: Earliest date.
        date_to: Latest date.
        description: The range in words, e.g. "in 2012".

    """

    date_from: dt.date | None
    date_to: dt.date | None
    description: str


def _clip(text: str) -> str:
    return text[:MAX_TEXT]


def parse_amount_range(text: str) -> AmountRange | None:
    """Read an amount filter: over/under/at least/between/around/exactly.

    "over £40,000" means more than £40,000 (so from £40,000.01);
    "at least £40,000" includes £40,000. A bare amount ("the £45,000
    award") means exactly that amount.

    Args:
        text: A message.

    Returns:
        The range, or None when the message names no amount.

    """
    text = words_to_digits(text)
    matches = [(m.start, m.end, m.pence, m.explicit) for m in find_amounts(text)]
    for index, (start, end, pence, explicit) in enumerate(matches):
        before, after = text[:start], text[end:]
        if index + 1 < len(matches) and _BETWEEN.search(before):
            next_start, next_end, next_pence, _ = matches[index + 1]
            if _RANGE_JOIN.match(text[end:next_start]):
                low, high = sorted((pence, next_pence))
                return AmountRange(low, high, f"between {format_gbp(low)} and {format_gbp(high)}")
        has_comparison = any(
            p.search(before) for p in (_STRICT_MIN, _INCLUSIVE_MIN, _STRICT_MAX, _INCLUSIVE_MAX)
        ) or bool(_AFTER_INCLUSIVE_MIN.match(after) or _AFTER_INCLUSIVE_MAX.match(after))
        if not explicit and not has_comparison:
            continue
        if _STRICT_MIN.search(before):
            return AmountRange(pence + 1, None, f"over {format_gbp(pence)}")
        if _INCLUSIVE_MIN.search(before) or _AFTER_INCLUSIVE_MIN.match(after):
            return AmountRange(pence, None, f"{format_gbp(pence)} or more")
        if _STRICT_MAX.search(before):
            return AmountRange(None, pence - 1, f"under {format_gbp(pence)}")
        if _INCLUSIVE_MAX.search(before) or _AFTER_INCLUSIVE_MAX.match(after):
            return AmountRange(None, pence, f"{format_gbp(pence)} or less")
        if _APPROX.search(before):
            spread = pence // 10
            return AmountRange(pence - spread, pence + spread, f"around {format_gbp(pence)}")
        return AmountRange(pence, pence, f"of exactly {format_gbp(pence)}")
    return None


def parse_date_range(text: str) -> DateRange | None:
    """Read an announcement-date filter: a day, a month, a year, since/before a year.

    Args:
        text: e.g. "in 2012", "since 2013", "before 2013", "February 2013",
            "on 15 February 2013", "between 2012 and 2013".

    Returns:
        The range, or None when the message names no date.

    """
    text = _clip(text)
    day = _DAY_MONTH_YEAR.search(text) or _ISO_DATE.search(text)
    if day:
        month = day["month"]
        month_number = int(month) if month.isdigit() else _MONTHS[month.lower().rstrip(".")]
        try:
            value = dt.date(int(day["year"]), month_number, int(day["day"]))
        except ValueError:
            return None
        return DateRange(value, value, f"on {format_date(value, 'day')}")
    month_match = _MONTH_YEAR.search(text)
    if month_match:
        year, month_number = int(month_match["year"]), _MONTHS[month_match["month"].lower()]
        first = dt.date(year, month_number, 1)
        last = dt.date(year, month_number, calendar.monthrange(year, month_number)[1])
        return DateRange(first, last, f"in {format_date(first, 'month')}")
    years = [(m.start(), int(m.group(1))) for m in _YEAR.finditer(text)]
    if not years:
        return None
    start, year = years[0]
    before = text[:start]
    if len(years) > 1 and re.search(r"\b(?:between|from)\s*$", before, re.IGNORECASE):
        low, high = sorted((year, years[1][1]))
        return DateRange(dt.date(low, 1, 1), dt.date(high, 12, 31), f"between {low} and {high}")
    if re.search(r"\b(?:since|from|starting)\s*$", before, re.IGNORECASE):
        return DateRange(dt.date(year, 1, 1), None, f"since {year}")
    if re.search(r"\bafter\s*$", before, re.IGNORECASE):
        return DateRange(dt.date(year + 1, 1, 1), None, f"after {year}")
    if re.search(r"\bbefore\s*$", before, re.IGNORECASE):
        return DateRange(None, dt.date(year - 1, 12, 31), f"before {year}")
    if re.search(r"\b(?:until|up\s+to|by)\s*$", before, re.IGNORECASE):
        return DateRange(None, dt.date(year, 12, 31), f"up to {year}")
    return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31), f"in {year}")


def parse_superlative(text: str) -> str | None:
    """Read "the largest", "the smallest", "the latest" or "the earliest".

    Args:
        text: A message.

    Returns:
        "largest", "smallest", "latest", "earliest" or None.

    """
    text = _clip(text)
    for name, pattern in _SUPERLATIVES:
        if pattern.search(text):
            return name
    return None


def parse_attribute(text: str) -> str | None:
    """Read what a question asks about an award, when the NLU did not say.

    Args:
        text: e.g. "and who was the supplier?", "how much did they get?".

    Returns:
        One of supplier, amount, date, support, stage, region, source; or None.

    """
    text = _clip(text)
    for name, pattern in _ATTRIBUTES:
        if pattern.search(text):
            return name
    return None


def asks_for_count(text: str) -> bool:
    """Whether a message asks "how many".

    Args:
        text: A message.

    Returns:
        True for "how many", "number of", "count".

    """
    return bool(_COUNT.search(_clip(text)))


def join_names(names: Sequence[str], conjunction: str = "and") -> str:
    """Join names as in a sentence: "A", "A and B", "A, B and C".

    Args:
        names: Names.
        conjunction: "and" or "or".

    Returns:
        The joined text.

    """
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
