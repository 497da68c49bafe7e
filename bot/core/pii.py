"""Personal data in free text: found, named and masked (issue 13).

The kinds, most specific first (an earlier kind's span wins an overlap):

- ``bank``: a sort code (``12-34-56``, ``12 34 56``) with an account number (eight
  digits) close after it, or either of them after the words "sort code" or "account";
- ``card``: 13 to 19 digits, spaces or dashes between them, that pass the Luhn check;
- ``ni``: a National Insurance number (``QQ 12 34 56 C``);
- ``email``: an email address;
- ``phone``: a phone number, by the one phone rule (:func:`bot.core.phone.phone_spans`).

Bank, card and NI numbers are what a caller must not type (:data:`SENSITIVE`):
they are masked in the stored transcript and the caller is told not to send them.
Every kind is masked in logs and in the training-data export.

Every pattern is linear in its input: bounded repeats of single characters or of
groups that each consume one digit, never a repeat inside an open-ended repeat;
and nothing reads more than :data:`MAX_SCAN_CHARS` characters (the rest of a
longer text is dropped from the masked copy, not passed through unmasked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.phone import phone_spans

BANK, CARD, NI, EMAIL, PHONE = "bank", "card", "ni", "email", "phone"
#: Every kind, in the order spans are claimed.
ALL_KINDS: tuple[str, ...] = (BANK, CARD, NI, EMAIL, PHONE)
#: What a caller is told not to share, and what the stored transcript masks.
SENSITIVE: frozenset[str] = frozenset({BANK, CARD, NI})
#: The longest text read (caller messages are capped at 2,000 before this).
MAX_SCAN_CHARS = 20_000

LABELS = {
    BANK: "[bank details removed]",
    CARD: "[card number removed]",
    NI: "[NI number removed]",
    EMAIL: "[email removed]",
    PHONE: "[phone number removed]",
}

# A sort code, separators the same on both sides ("12-34-56", "12 34 56", "123456").
_SORT_CODE = r"\d{2}(?P<sep>[- ]?)\d{2}(?P=sep)\d{2}"
# Sort code then account number, up to 40 characters of words between them.
_SORT_AND_ACCOUNT = re.compile(
    r"(?<!\d)" + _SORT_CODE + r"(?!\d)[^\d]{0,40}(?<!\d)\d{8}(?!\d)",
)
_ACCOUNT_AND_SORT = re.compile(r"(?<!\d)\d{8}(?!\d)[^\d]{0,40}(?<!\d)" + _SORT_CODE + r"(?!\d)")
# Either number after the words that name it ("sort code: 12-34-56", "account no 12345678").
_NAMED_BANK = re.compile(
    r"(?:sort\s?code|account(?:\s(?:no|number))?|acc(?:ount)?\.?\s?no)\W{0,5}"
    r"(?P<number>(?<!\d)" + _SORT_CODE + r"(?!\d)|(?<!\d)\d{8}(?!\d))",
    re.IGNORECASE,
)
# 13 to 19 digits with at most one space or dash between two digits; each repeat
# consumes exactly one digit, so there is one way to match and no backtracking blow-up.
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?![ -]?\d)")
# HMRC's rules: no D, F, I, Q, U, V in the prefix, no O second; suffix A-D. QQ is
# HMRC's published example, which people copy from forms (and tests use).
_NI = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]|QQ)"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])",
    re.IGNORECASE,
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (card numbers do).

    Args:
        digits: Digits only.

    Returns:
        True when the check digit is right.
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_spans(text: str) -> Iterable[tuple[int, int]]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        # All one digit ("0000 0000 0000 0000") passes Luhn but is nobody's card.
        if luhn_ok(digits) and len(set(digits)) > 1:
            yield match.span()


def _spans(kind: str, text: str) -> Iterable[tuple[int, int]]:
    if kind == BANK:
        for pattern in (_SORT_AND_ACCOUNT, _ACCOUNT_AND_SORT):
            yield from (m.span() for m in pattern.finditer(text))
        yield from (m.span("number") for m in _NAMED_BANK.finditer(text))
    elif kind == CARD:
        yield from _card_spans(text)
    elif kind == NI:
        yield from (m.span() for m in _NI.finditer(text))
    elif kind == EMAIL:
        yield from (m.span() for m in _EMAIL.finditer(text))
    elif kind == PHONE:
        yield from phone_spans(text)


def find(text: str, kinds: Iterable[str] = ALL_KINDS) -> list[tuple[int, int, str]]:
    """The personal data in ``text``: ``(start, end, kind)``, in order, never overlapping.

    Args:
        text: Free text (only the first :data:`MAX_SCAN_CHARS` characters are read).
        kinds: Which kinds to look for; spans are claimed in :data:`ALL_KINDS` order.

    Returns:
        The spans found.
    """
    text = text[:MAX_SCAN_CHARS]
    wanted = set(kinds)
    claimed: list[tuple[int, int, str]] = []
    for kind in ALL_KINDS:
        if kind not in wanted:
            continue
        for start, end in _spans(kind, text):
            if all(end <= s or start >= e for s, e, _ in claimed):
                claimed.append((start, end, kind))
    return sorted(claimed)


def kinds_in(text: str, kinds: Iterable[str] = ALL_KINDS) -> set[str]:
    """Which kinds of personal data ``text`` holds (e.g. ``{"card"}``)."""
    return {kind for _, _, kind in find(text, kinds)}


def mask(text: str, kinds: Iterable[str] = ALL_KINDS) -> str:
    """``text`` with each piece of personal data replaced by its label.

    Args:
        text: Free text.
        kinds: Which kinds to mask (default all; transcripts mask :data:`SENSITIVE`).

    Returns:
        The masked text; beyond :data:`MAX_SCAN_CHARS` characters the rest is
        dropped (and said to be), since it was not read.
    """
    if not text:
        return text
    spans = find(text, kinds)
    head = text[:MAX_SCAN_CHARS]
    if not spans and len(text) <= MAX_SCAN_CHARS:
        return text
    pieces = []
    last = 0
    for start, end, kind in spans:
        pieces.append(head[last:start])
        pieces.append(LABELS[kind])
        last = end
    pieces.append(head[last:])
    if len(text) > MAX_SCAN_CHARS:
        pieces.append(f" [{len(text) - MAX_SCAN_CHARS} more characters not shown]")
    return "".join(pieces)


def mask_value(value: object, kinds: Iterable[str] = ALL_KINDS) -> object:
    """A JSON-like value with every string in it masked (dicts, lists, nested).

    Args:
        value: A string, number, list or dict (a tracker event, a log argument).
        kinds: Which kinds to mask.

    Returns:
        A copy with its strings masked; other values unchanged.
    """
    kinds = tuple(kinds)
    if isinstance(value, str):
        return mask(value, kinds)
    if isinstance(value, dict):
        return {key: mask_value(item, kinds) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item, kinds) for item in value]
    return value
