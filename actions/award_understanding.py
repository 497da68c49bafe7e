"""What an award question asks: names, amounts, dates, order and the attribute wanted.

Reads the latest message (entities, then the text itself) and the ids the last
look-up remembered. Names the NLU extracted, or names found in the message by
fuzzy matching, are resolved against the register's names in Python; nothing
here touches the database or says anything to the caller.
"""

from __future__ import annotations

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

    """

    names: dict[str, str] = field(default_factory=dict)
    query: AwardQuery = field(default_factory=AwardQuery)
    attribute: str | None = None
    description: str = ""
    counting: bool = False
    from_mentions: bool = False

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
    return Understanding(
        names=names,
        query=query,
        attribute=requested_attribute(tracker),
        description=" ".join(extra),
        counting=asks_for_count(text),
        from_mentions=from_mentions,
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
