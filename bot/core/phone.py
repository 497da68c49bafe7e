"""UK phone numbers: the one rule for what counts as one, how to write it and say it.

Used by the callback form (action server), the web app's internal API and the
phone channel alike. Parsing is Google's ``phonenumbers`` library (``+44``,
``0044``, ``(0)``, spaces, dashes, brackets, dots); on top of it our rule
accepts only the numbers an adviser can ring back: UK (country code 44), no
extension, a mobile (07 and ten more digits) or a geographic or non-geographic
number (01, 02, 03, 08 with eight or nine more). Ofcom's drama ranges
(07700 900xxx, 020 7946 0xxx...) count, which keeps examples and tests honest
without real people's numbers.
"""

from __future__ import annotations

import re

import phonenumbers

#: Longest text read as a phone number: anything longer is not one.
MAX_LENGTH = 40
# National form, leading 0 included.
_UK_NATIONAL = re.compile(r"^0(?:7\d{9}|[1238]\d{8,9})$")
_ALLOWED = re.compile(r"^[\d\s()+.\-]+$")


def normalise_uk_phone(text: str) -> str | None:
    """Returns the number in national form ("07700 900123" -> "07700900123"), or None.

    Args:
        text: What the caller typed or said.

    Returns:
        The national digits, or None for anything that is not a UK number an
        adviser can call (letters, an extension, too few or too many digits,
        another country).
    """
    raw = text.strip()
    if not raw or len(raw) > MAX_LENGTH or not _ALLOWED.match(raw):
        return None
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 44 or number.extension:
        return None
    national = "0" + str(number.national_number)
    return national if _UK_NATIONAL.match(national) else None


def format_uk_phone(number: str) -> str:
    """Groups a national number for reading: "07700900123" -> "07700 900123".

    Args:
        number: A number in national form (see :func:`normalise_uk_phone`).

    Returns:
        The number in the usual UK groups ("020 7946 0000", "0845 539 0543").
    """
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return number
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def spoken_groups(number: str) -> list[str]:
    """The groups a voice reads a number in: "07700 900123" -> ["07700", "900", "123"].

    Args:
        number: A UK number as written (national or +44 form).

    Returns:
        The digit groups of :func:`format_uk_phone`, a six-digit group read as
        two threes, as people say them.
    """
    digits = re.sub(r"\D", "", number)
    if digits.startswith("44"):
        digits = "0" + digits[2:].removeprefix("0")
    groups = []
    for group in format_uk_phone(digits).split():
        group = re.sub(r"\D", "", group)
        groups.extend([group[:3], group[3:]] if len(group) == 6 else [group])
    return [g for g in groups if g]


def _digit_neighbour(text: str, index: int, step: int) -> bool:
    """Whether the text goes on into letters or digits at ``index`` (a number's edge)."""
    if not 0 <= index < len(text):
        return False
    char = text[index]
    if char.isalnum():
        return True
    # "0.0123456", "1,234567": a decimal point or thousands comma between digits.
    beyond = index + step
    return char in ".," and 0 <= beyond < len(text) and text[beyond].isdigit()


def phone_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds phone numbers, for masking (logs, exports).

    ``phonenumbers``' matcher finds the candidates (spaces, dashes, brackets,
    ``+44``); a candidate counts when it is a UK number by our rule
    (:func:`normalise_uk_phone`, written with its leading ``0``, ``+`` or a
    bracket, so a Unix timestamp is not one) or a valid international number
    written with ``+``/``00``. A candidate inside a longer run of letters or
    digits (a conversation id's hex, a decimal) is not a phone number.

    Args:
        text: Any text; callers cap its length (the matcher is linear in it).

    Returns:
        ``(start, end)`` offsets in order, not overlapping.
    """
    if sum(char.isdigit() for char in text) < 7:
        return []
    spans = []
    matcher = phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matcher:
        raw = match.raw_string
        if _digit_neighbour(text, match.start - 1, -1) or _digit_neighbour(text, match.end, 1):
            continue
        if raw.startswith(("+", "00")):
            if not phonenumbers.is_valid_number(match.number) and normalise_uk_phone(raw) is None:
                continue
        elif not (raw.startswith(("0", "(")) and normalise_uk_phone(raw) is not None):
            continue
        spans.append((match.start, match.end))
    return spans


#: Longest message searched for a number the caller gave in words ("it's 07700 ...").
MAX_SENTENCE = 200
_EXTENSION = re.compile(r"\b(?:ext|extn|extension|x)\b\.?", re.IGNORECASE)


def find_uk_phone(text: str) -> str | None:
    """The one UK number a caller gave, alone or in a sentence ("it's 07700 900 123").

    The number itself must pass :func:`normalise_uk_phone`; around it only words are
    allowed: a second number, an extension or any other digits make it unclear,
    and unclear is refused (an adviser must not ring the wrong number).

    Args:
        text: What the caller typed or said.

    Returns:
        The national digits, or None.
    """
    text = text.strip()
    if not text or len(text) > MAX_SENTENCE:
        return None
    exact = normalise_uk_phone(text)
    if exact is not None:
        return exact
    spans = phone_spans(text)
    if len(spans) != 1:
        return None
    start, end = spans[0]
    rest = text[:start] + " " + text[end:]
    if any(char.isdigit() for char in rest) or _EXTENSION.search(rest):
        return None
    return normalise_uk_phone(text[start:end])
