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
