"""UK phone numbers: reading what callers type into a number an adviser can dial."""

from __future__ import annotations

import re

# UK numbers: 10 digits after the leading 0 for mobiles (07...), geographic
# (01.., 02..), non-geographic (03.., 08..); 9-digit 01 numbers exist too.
_UK_NATIONAL = re.compile(r"^0(?:7\d{9}|[1238]\d{8,9})$")


def normalise_uk_phone(text: str) -> str | None:
    """Returns the number in national form ("07700 900123" -> "07700900123"), or None.

    Accepts spaces, dashes, brackets and dots, and the international forms
    +44 / 0044 (with or without the "(0)"). Anything else (letters, too few or
    too many digits, a number outside the UK) gives None.
    """
    raw = text.strip()
    if not raw or len(raw) > 40 or re.search(r"[^\d\s()+.\-]", raw):
        return None
    compact = re.sub(r"[\s().\-]", "", raw)
    if compact.startswith("+44"):
        compact = "0" + compact[3:].removeprefix("0")
    elif compact.startswith("0044"):
        compact = "0" + compact[4:].removeprefix("0")
    if "+" in compact:
        return None
    return compact if _UK_NATIONAL.match(compact) else None


def format_uk_phone(number: str) -> str:
    """Groups a national number for reading back: "07700900123" -> "07700 900123"."""
    if number.startswith("02"):
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return f"{number[:5]} {number[5:]}"
