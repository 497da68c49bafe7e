"""Turns chat text into short text a phone voice reads well.

No links (a caller cannot click them), amounts read naturally ("£93,000" ->
"93 thousand pounds"), phone numbers read digit by digit in their usual groups
("0845 5390543" -> "0 8 4 5, 5 3 9, 0 5 4 3"), and no Markdown or emoji.
"""

from __future__ import annotations

import re

from bot.core.money import spoken_amounts
from bot.core.phone import spoken_groups

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()]+[^\s<>().,;:!?'\"]", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|`)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+\.)\s+", re.MULTILINE)
_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0000fe0f\U0001f1e6-\U0001f1ff]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# UK numbers as written in our content: national (0...) or +44, with or without spaces.
_PHONE = re.compile(r"(?<![\d£.,])(?:\+44\s?\(?0?\)?\s?|0)\d(?:[\s-]?\d){8,9}(?![\d,])")


def _grouped(number: str) -> str:
    # "3 1 0" style digit reading; commas give the voice a short pause between groups.
    return " ".join(number)


def speak_phone_number(raw: str) -> str:
    """Reads a UK number digit by digit in its usual groups.

    Args:
        raw: The number as written, e.g. "0845 5390543" or "+44 20 7946 0000".

    Returns:
        e.g. "0 8 4 5, 5 3 9, 0 5 4 3".
    """
    return ", ".join(_grouped(g) for g in spoken_groups(raw))


def _without_links(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    if not _URL.search(text):
        return text
    # A sentence that only points somewhere is no use on the phone; drop it,
    # unless that would leave nothing to say.
    kept = [s for s in _SENTENCE.split(text) if not _URL.search(s)]
    if kept:
        return " ".join(kept)
    return _URL.sub("the website", text)


def to_speech(text: str) -> str:
    """Chat text as the phone voice should say it.

    Args:
        text: A bot message as written for chat.

    Returns:
        The same message without links, Markdown or emoji, with amounts and
        phone numbers written the way they should be read.
    """
    text = _without_links(text)
    text = _BULLET.sub("", text)
    text = _MD_MARKS.sub("", text)
    text = _EMOJI.sub("", text)
    text = _PHONE.sub(lambda m: speak_phone_number(m.group(0)), text)
    text = spoken_amounts(text)  # "£93,000" -> "93 thousand pounds" (bot.core.money)
    return re.sub(r"[ \t]+", " ", re.sub(r"\s*\n+\s*", " ", text)).strip()
