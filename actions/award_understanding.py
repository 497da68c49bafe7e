"""What an award question asks: names, amounts, dates, order and the attribute wanted.

Reads the latest message (entities, then the text itself) and the ids the last
look-up remembered. Names the NLU extracted, or names found in the message by
fuzzy matching, are resolved against the register's names in Python; nothing
here touches the database or says anything to the caller.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field

from rasa_sdk import Tracker

from actions.award_wording import clean
from actions.parsing import (
    asks_for_count,
    parse_amount_range,
    parse_attribute,
    parse_date_range,
    parse_superlative,
)
from bot.awards.matching import NameIndex, find_mentions
from bot.awards.repository import AwardQuery
from bot.core.vocabulary import AWARD_ATTRIBUTES

NAME_KINDS_BY_PRIORITY = ("recipient", "supplier", "place", "sector", "region")
#: Award ids remembered for follow-up questions.
MAX_REMEMBERED = 50
#: "and who was the supplier?", "which of those...": a question about the last awards.
FOLLOW_UP = re.compile(r"^\s*(?:and|so|what\s+about|which\s+of\s+(?:them|those))\b", re.I)
#: "overall", "in the register": a question about every award, not the last ones.
WHOLE_REGISTER = re.compile(r"\b(?:overall|in\s+the\s+register|of\s+all|any\s+award)\b", re.I)


def _word_set(text: str) -> frozenset[str]:
    """The words of a block of text, as a set."""
    return frozenset(text.split())


#: Words that start or fill a question but never name an organisation: a capitalised
#: run made only of these ("What", "Has the Programme") is not a name the caller gave.
_COMMON_WORDS = _word_set(
    """
    a about after all also an and any anybody anyone anything are as at award awarded
    awards be been before bid bids by can cabinet could council councils did do does done
    each england for from get gets give given got government had has have hello hey hi
    how i if in into involved is it its list listed me mutual mutuals my no of office ok
    on one or our over please programme register scheme show so spin-out spin-outs support
    supported supplier suppliers tell thanks that the their them there these they this
    those to uk under us was we were what when where which who why will with work worked
    would yes you your largest smallest biggest most least total many much money amount
    announced source sources information service services hotline adviser advisers sme smes
    """
) | {m.lower() for m in (*calendar.month_name, *calendar.month_abbr) if m}
#: Words that may stand before or after a name but are never the end of one.
_EDGE_WORDS = _word_set(
    """
    a about an and any are as at award awards be by can could did do does for from get got
    had has have hello hey hi how i if in is it me my of ok on or please show so tell thanks
    that the this to was we were what when where which who why with yes you
    """
)
#: A name the caller wrote in quotes (not the apostrophes of "what's" and "Acme's").
_QUOTED = re.compile(r"(?<![\w'’])[\"“‘']([^\"”’']{2,60})[\"”’'](?!\w)")
#: A run of capitalised words, joined by "&", "and", "of" or "the" ("Bates Wells & Braithwaite").
_CAPITALISED_RUN = re.compile(
    r"(?<![\w-])(?:[A-Z][\w'&.-]*|\d\w*)(?:\s+(?:(?:&|and|of|the|for)\s+)?(?:[A-Z][\w'&.-]*|\d\w*))*"
)
#: Where a lower-case name stands in an award question: "did acme consulting get...",
#: "has acme worked...", "is acme in the register", "the award to acme", "about acme".
_NAME_SLOT = re.compile(
    r"\b(?:(?:did|has|have|had|was|were|is)\s+(?P<subject>[a-z][\w&' -]{1,60}?)\s+"
    r"(?:get|got|win|won|receive|received|been|done|do|did|work|worked|help|helped|advise|"
    r"advised|supply|supplied|deliver|delivered|involved|part|take|took|in\s+the\s+register|"
    r"listed|on\s+the\s+register|awarded|given|paid|funded|hired|used|contracted)\b"
    r"|\b(?:award|awards|money|funding|grant)\s+(?:to|for)\s+"
    r"(?P<object>[a-z][\w&' -]{1,60}?)\s*(?:[?.!,]|$)"
    r"|\babout\s+(?P<about>[a-z][\w&' -]{1,60}?)\s*(?:[?.!,]|$))"
)


def _word(token: str) -> str:
    """One word as compared with the common words ("What's" -> "what")."""
    return re.sub(r"(?:'s|’s)$", "", token.strip("'’.,?!:;\"“”").lower())


def _common(token: str) -> bool:
    """Whether one word is a common word, a number or an amount ("What's", "2013", "1m")."""
    word = _word(token)
    return not word or word in _COMMON_WORDS or word[0] in "£$" or word[0].isdigit()


def _trim(words: str) -> str:
    """A candidate name without function words at either end ("the Acme Trust's" -> "Acme Trust").

    Only function words go ("Mutual Ventures" keeps "Mutual"); a candidate made
    only of common words is then no name at all.
    """
    tokens = words.split()
    while tokens and _word(tokens[0]) in _EDGE_WORDS:
        tokens.pop(0)
    while tokens and (_word(tokens[-1]) in _EDGE_WORDS or _word(tokens[-1]).isdigit()):
        tokens.pop()
    if all(_common(t) for t in tokens):
        return ""
    return re.sub(r"(?:'s|’s|')$", "", " ".join(tokens).rstrip(".,?!:;"))


def named_in_text(text: str) -> list[str]:
    """The names a message seems to give, whether or not the register holds them.

    Read from the words themselves, not the NLU: a name in quotes, a run of
    capitalised words, or the words where a name stands in an award question
    ("did acme consulting get any work?"). Common words alone are never a name,
    so "What is the largest award?" names nothing.

    Args:
        text: The caller's message.

    Returns:
        The candidate names, the likeliest first.

    """
    text = text[:500]
    groups = (
        [m.group(1) for m in _QUOTED.finditer(text)],
        [m.group(0) for m in _CAPITALISED_RUN.finditer(text)],
        [next(g for g in m.groups() if g) for m in _NAME_SLOT.finditer(text) if any(m.groups())],
    )
    names: list[str] = []
    # Quotes first, then capitals, then the words where a name stands; longest first in each.
    for group in groups:
        for candidate in sorted(group, key=len, reverse=True):
            trimmed = _trim(clean(candidate))
            if trimmed and trimmed not in names:
                names.append(trimmed)
    return names


def widened(text: str, value: str) -> str:
    """The caller's whole name around an entity that is only part of it.

    "what did Riverside Housing get" may come with the entity "housing"; the
    reply should say "Riverside Housing", the name the caller asked about.
    """
    lowered = value.lower()
    for candidate in named_in_text(text):
        if lowered in candidate.lower() and len(candidate) > len(value):
            return candidate
    return value


_ATTRIBUTE_WORDS = {
    "suppliers": "supplier",
    "supplied": "supplier",
    "money": "amount",
    "value": "amount",
    "how much": "amount",
    "when": "date",
    "announced": "date",
    "sources": "source",
}


def extracted_names(tracker: Tracker) -> dict[str, str]:
    """Return the name entities of the latest message.

    Slots are not consulted: they also fill from entities in other intents (an
    eligibility answer such as "we run adult social care" sets `sector`), and a
    stale filter would silently narrow a later look-up. Button payloads such as
    `/ask_award{"recipient": ...}` arrive as entities of the latest message.

    Args:
        tracker: The conversation.

    Returns:
        {kind: text}, first value of each kind.

    """
    names: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities") or []:
        kind = entity.get("entity")
        value = entity.get("value")
        if kind in NAME_KINDS_BY_PRIORITY and value not in (None, "") and kind not in names:
            cleaned = clean(value)
            if cleaned:
                names[kind] = cleaned
    return names


def requested_attribute(tracker: Tracker) -> str | None:
    """Return what the question asks about (supplier, amount, date...), if anything.

    Args:
        tracker: The conversation.

    Returns:
        One of `AWARD_ATTRIBUTES`, or None.

    """
    values = [
        e.get("value")
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "award_attribute"
    ]
    slot = tracker.get_slot("award_attribute")
    if slot:
        values.append(slot)
    for value in values:
        text = clean(value).lower()
        if text in AWARD_ATTRIBUTES:
            return text
        mapped = _ATTRIBUTE_WORDS.get(text) or parse_attribute(text)
        if mapped:
            return mapped
    return parse_attribute(tracker.latest_message.get("text") or "")


def _resolve_kinds(names: dict[str, str], indexes: dict[str, NameIndex]) -> dict[str, str]:
    """Move a name the NLU gave the wrong kind to the kind where it is found.

    "did Mutual Ventures win anything?" may come tagged as a recipient; if no
    recipient matches but a supplier does exactly, look it up as a supplier.
    """
    fixed = dict(names)
    for kind, text in names.items():
        if indexes[kind].match(text):
            continue
        for other in NAME_KINDS_BY_PRIORITY:
            if other != kind and other not in fixed and indexes[other].match(text, fuzzy=False):
                del fixed[kind]
                fixed[other] = text
                break
    return fixed


@dataclass
class Understanding:
    """What a message asks for.

    Attributes:
        names: {kind: text} of names to look up.
        query: The register query (without award_ids).
        attribute: What is asked about, if anything.
        description: The filters in words ("in the North West over £40,000").
        counting: Whether the user asked "how many".
        from_mentions: Whether names came from fuzzy matching of the text.
        unknown: A name the message gives that is none of the register's (when no
            register name was found), so the reply can say it was not found.

    """

    names: dict[str, str] = field(default_factory=dict)
    query: AwardQuery = field(default_factory=AwardQuery)
    attribute: str | None = None
    description: str = ""
    counting: bool = False
    from_mentions: bool = False
    unknown: str | None = None

    @property
    def has_filters(self) -> bool:
        """Whether anything narrows the search."""
        return not self.query.is_empty or self.query.order != "name"


def understand(tracker: Tracker, indexes: dict[str, NameIndex]) -> Understanding:
    """Read names, amounts, dates, order and attribute from the latest message.

    Args:
        tracker: The conversation.
        indexes: Register names (to fix mis-typed entities and find mentions).

    Returns:
        What the message asks for.

    """
    text = tracker.latest_message.get("text") or ""
    names = extracted_names(tracker)
    from_mentions = False
    if not names and not text.startswith("/"):
        mentions = find_mentions(text, [indexes[k] for k in NAME_KINDS_BY_PRIORITY])
        for mention in mentions:
            names.setdefault(mention.kind, mention.canonical)
        from_mentions = bool(mentions)
    names = _resolve_kinds(names, indexes)
    amounts = parse_amount_range(text)
    dates = parse_date_range(text)
    order = parse_superlative(text) or "name"
    query = AwardQuery(
        recipient=names.get("recipient"),
        place=names.get("place"),
        region=names.get("region"),
        sector=names.get("sector"),
        supplier=names.get("supplier"),
        min_pence=amounts.min_pence if amounts else None,
        max_pence=amounts.max_pence if amounts else None,
        date_from=dates.date_from if dates else None,
        date_to=dates.date_to if dates else None,
        order=order,
    )
    extra = [d.description for d in (amounts, dates) if d]
    # No register name: a name the caller gave all the same is one the register lacks.
    unknown = None
    if not names and not text.startswith("/"):
        unknown = next(iter(named_in_text(text)), None)
    attribute = requested_attribute(tracker)
    if attribute == "supplier" and "supplier" in names:
        # "who did Mouchel advise?": the supplier is known, the awards are asked for.
        attribute = None
    return Understanding(
        names=names,
        query=query,
        attribute=attribute,
        description=" ".join(extra),
        counting=asks_for_count(text),
        from_mentions=from_mentions,
        unknown=unknown,
    )


def previous_ids(tracker: Tracker) -> list[int]:
    """The award ids the last look-up remembered (for follow-ups), checked one by one."""
    value = tracker.get_slot("award_ids") or []
    if not isinstance(value, list):
        return []
    ids = []
    for item in value[:MAX_REMEMBERED]:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            continue
    return ids
