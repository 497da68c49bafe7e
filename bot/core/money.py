"""Money in pounds and pence: read, written and spoken, once for every process.

Amounts are whole pence (`int`), never floats. Two readers, each as strict as
its callers need:

- `parse_pounds` is strict, for values a person typed into a field (the
  register's CSV, the awards filters): ASCII digits only, an optional "£",
  commas only as thousands separators, at most two decimals; no exponents
  ("1e3"), words, signs, NaN or infinity. It raises `AmountError` with the
  problem's kind, and each caller words it for its own readers.
- `find_amounts` / `read_amount` are lenient, for what callers say: "£40,000",
  "40k", "£1.5m", "forty thousand pounds" (after `words_to_digits`).

Writers: `format_gbp` ("£93,000"), `format_gbp_short` ("£1.7m"), `format_pounds`
(plain "55852.50", which `parse_pounds` reads back), and `spoken_amounts` for the
phone voice ("£93,000" -> "93 thousand pounds").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from bot.core.numbers import CARDINALS

#: Far above any award, and within a 64-bit BIGINT: larger figures are not amounts.
MAX_PENCE: Final = 10**14
#: Longest text the lenient reader scans; hostile 10,000-character input is cut.
MAX_TEXT: Final = 500
#: More digits than this in one number is not an amount (and keeps `int()` cheap).
_MAX_DIGITS: Final = 30

AmountProblem = Literal["empty", "not_a_number", "precision", "too_small", "too_large"]


class AmountError(ValueError):
    """A typed amount could not be read.

    Attributes:
        problem: What is wrong: "empty", "not_a_number", "precision" (more than
            two decimals), "too_small" (negative, or below the caller's minimum)
            or "too_large".

    """

    def __init__(self, problem: AmountProblem) -> None:
        super().__init__(problem)
        self.problem: AmountProblem = problem


# [0-9], not \d: \d also matches "١" and other Unicode digits, which int() reads.
_STRICT = re.compile(
    r"(?P<minus>-)?\s*£?\s*(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?"
)


def parse_pounds(raw: str, *, min_pence: int = 0, max_pence: int = MAX_PENCE) -> int:
    """Read an amount of pounds typed into a field, exactly, into pence.

    Args:
        raw: e.g. "93000", "93,000", "£93,000", "55852.5" (surrounding spaces ignored).
        min_pence: Smallest amount accepted (1 refuses zero).
        max_pence: Largest amount accepted.

    Returns:
        Pence.

    Raises:
        AmountError: With its `problem` when the text is not such an amount.

    """
    text = raw.strip()
    if not text:
        raise AmountError("empty")
    match = _STRICT.fullmatch(text)
    if match is None:
        raise AmountError("not_a_number")
    whole = match["whole"].replace(",", "").lstrip("0")
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise AmountError("precision")
    if match["minus"]:
        raise AmountError("too_small")
    # More pound digits than the limit has pence digits: too large, without int() on them.
    if len(whole) > len(str(max_pence)):
        raise AmountError("too_large")
    pence = int(whole or 0) * 100 + int(frac.ljust(2, "0"))
    if pence > max_pence:
        raise AmountError("too_large")
    if pence < min_pence:
        raise AmountError("too_small")
    return pence


def format_gbp(pence: int) -> str:
    """Format pence the British way: "£93,000", "£55,852", "£1,234.50".

    Args:
        pence: Amount in pence.

    Returns:
        Pounds with thousands separators; pence shown only when not whole.

    """
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}" + (f".{rest:02d}" if rest else "")


def format_gbp_short(pence: int) -> str:
    """Format large amounts as people say them: "£1m", "£1.7m", "£10m".

    Args:
        pence: Amount in pence.

    Returns:
        Millions with at most one decimal (when exact), else `format_gbp`.

    """
    if abs(pence) >= 100_000_000 and pence % 10_000_000 == 0:
        whole, tenth = divmod(pence // 10_000_000, 10)
        return f"£{whole}m" if tenth == 0 else f"£{whole}.{tenth}m"
    return format_gbp(pence)


def format_pounds(pence: int) -> str:
    """Format pence as plain pounds, the form `parse_pounds` reads: "93000", "55852.50".

    Used for the CSV's amount_gbp column and for filter values in links.

    Args:
        pence: Amount in pence.

    Returns:
        Pounds without symbol or separators; two decimals only when not whole.

    """
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(int(pence)), 100)
    return f"{sign}{pounds}" if rest == 0 else f"{sign}{pounds}.{rest:02d}"


# The lenient reader: number words, then amounts with their currency and scale words.
_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000, "million": 1_000_000}
_NUMBER_WORD = "|".join(sorted([*CARDINALS, *_SCALES], key=len, reverse=True))
_WORD_RUN = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:\s+|-)(?:and\s+)?(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)
_MULTIPLIERS = {
    "k": 1000,
    "thousand": 1000,
    "grand": 1000,
    "m": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "bn": 10**9,
    "billion": 10**9,
}
_AMOUNT = re.compile(
    r"(?P<cur>£\s?|\bgbp\s?)?"
    r"(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?"
    r"(?:\s?(?P<mult>k|thousand|grand|mn|m|million|bn|billion)\b)?"
    r"(?:\s?(?P<pounds>pounds?|quid|gbp)\b)?",
    re.IGNORECASE,
)


def words_to_digits(text: str) -> str:
    """Replace written-out amounts with digits ("forty thousand" -> "40000").

    Only runs that contain a scale word (hundred, thousand, grand, million)
    are replaced, so "which one" or "a mutual" are left alone.

    Args:
        text: A message (only its first `MAX_TEXT` characters are read).

    Returns:
        The message, cut to `MAX_TEXT`, with number-word runs replaced.

    """

    def convert(match: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(0).lower()) if w and w != "and"]
        if not any(w in _SCALES for w in words):
            return match.group(0)
        total, current = 0, 0
        for word in words:
            if word in CARDINALS:
                current += CARDINALS[word]
            elif word == "hundred":
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALES[word]
                current = 0
        return str(total + current)

    return _WORD_RUN.sub(convert, text[:MAX_TEXT])


@dataclass(frozen=True)
class AmountMatch:
    """An amount found in text.

    Attributes:
        start: Where it starts in the text.
        end: Where it ends.
        pence: Its value.
        explicit: Written with £, GBP, a scale (k, m, thousand...) or "pounds",
            rather than a bare number that may be a count.

    """

    start: int
    end: int
    pence: int
    explicit: bool


def _pence(whole: str, frac: str, multiplier: int) -> int:
    # Exact integer arithmetic, never float: "1.5m" -> 150,000,000 pence.
    if multiplier == 1:
        return int(whole) * 100 + int(frac[:2].ljust(2, "0"))
    scale = 10 ** len(frac)
    return (int(whole) * scale + int(frac or 0)) * multiplier * 100 // scale


def find_amounts(text: str) -> list[AmountMatch]:
    """Find the amounts in text, leniently: "£40,000", "40k", "£1.5m", "40000 pounds".

    Bare years (2000-2099 without £ or a scale) are not amounts, nor numbers
    of more than 30 digits or above `MAX_PENCE`. Number words are not read
    here; pass the text through `words_to_digits` first.

    Args:
        text: A message.

    Returns:
        The amounts in order.

    """
    found = []
    for match in _AMOUNT.finditer(text):
        whole, frac = match["num"].replace(",", ""), match["frac"] or ""
        if len(whole) + len(frac) > _MAX_DIGITS:
            continue
        explicit = bool(match["cur"] or match["mult"] or match["pounds"])
        if not explicit and not frac and len(whole) == 4 and 2000 <= int(whole) <= 2099:
            continue  # a year, not an amount
        pence = _pence(whole, frac, _MULTIPLIERS.get((match["mult"] or "").lower(), 1))
        if pence <= MAX_PENCE:
            found.append(AmountMatch(match.start(), match.end(), pence, explicit))
    return found


def read_amount(text: str) -> int | None:
    """Return the first explicit amount in what a caller said, in pence.

    Args:
        text: e.g. "awards over £40,000", "40k", "forty thousand pounds".

    Returns:
        Pence, or None when the text has no amount written with £, k, m or pounds.

    """
    for found in find_amounts(words_to_digits(text)):
        if found.explicit:
            return found.pence
    return None


def _spoken(match: re.Match[str]) -> str:
    whole_text, frac = match["num"].replace(",", ""), match["frac"] or ""
    if not (match["cur"] or "").startswith("£") or len(whole_text) + len(frac) > _MAX_DIGITS:
        return match.group(0)  # only £ amounts are rewritten; the rest reads as written
    whole, decimals = int(whole_text), f".{frac}" if frac else ""
    unit = (match["mult"] or "").lower()
    if unit in ("m", "mn", "million"):
        return f"{whole}{decimals} million pounds"
    if unit in ("bn", "billion"):
        return f"{whole}{decimals} billion pounds"
    if unit in ("k", "thousand", "grand"):
        return f"{whole}{decimals} thousand pounds"
    pence = f" and {int(frac[:2].ljust(2, '0'))} pence" if frac and int(frac) else ""
    if whole >= 1_000_000 and whole % 100_000 == 0:
        return f"{whole / 1_000_000:g} million pounds{pence}"
    if whole >= 1000:
        thousands, rest = divmod(whole, 1000)
        if thousands >= 1000:
            return f"{whole:,} pounds{pence}"
        spoken = f"{thousands} thousand" + (f" {rest}" if rest else "")
        return f"{spoken} pounds{pence}"
    return f"{whole} pound{'s' if whole != 1 else ''}{pence}"


def spoken_amounts(text: str) -> str:
    """Write the £ amounts in text as a phone voice should read them.

    Args:
        text: e.g. "It received £93,000." or "£1.7m from January 2018".

    Returns:
        e.g. "It received 93 thousand pounds." or "1.7 million pounds from January 2018".

    """
    return _AMOUNT.sub(_spoken, text)
