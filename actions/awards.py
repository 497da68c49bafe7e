"""Custom actions that answer questions about awards from the register database.

Every fact in a reply (names, amounts, suppliers, dates, sources, programme
totals) is read from the database at the time of the question; the only fixed
text is the wording around it. Names the NLU extracted (or, failing that,
names found in the message by fuzzy matching) are resolved to register names
in Python; SQL sees only ids and numbers as bound parameters.

Each action opens its own short session. The engine is created on first use
(never at import) and once per event loop: the action server has one loop,
while tests start a new loop per test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import sessionmaker

from actions.parsing import (
    asks_for_count,
    format_date,
    format_gbp,
    format_gbp_short,
    join_names,
    parse_amount_range,
    parse_attribute,
    parse_date_range,
    parse_superlative,
)
from bot.awards.matching import NameIndex, find_mentions
from bot.awards.repository import (
    AwardQuery,
    AwardView,
    FigureView,
    awards_by_ids,
    facets,
    load_name_indexes,
    programme_figures,
    register_totals,
    search_awards,
)
from bot.config import Settings
from bot.core.vocabulary import AWARD_ATTRIBUTES
from bot.db.session import create_engine, create_sessionmaker

logger = logging.getLogger(__name__)

#: Name slots cleared after every look-up so the next question starts afresh.
ENTITY_SLOTS = ("recipient", "place", "region", "sector", "supplier", "award_attribute")
NAME_KINDS_BY_PRIORITY = ("recipient", "supplier", "place", "sector", "region")
#: Awards listed in one reply (and buttons offered).
MAX_LISTED = 5
#: Award ids remembered for follow-up questions.
MAX_REMEMBERED = 50
#: Longest piece of user text echoed back in a reply.
MAX_ECHO = 60
CAVEAT = "The register lists the published awards we know of, so it may not be complete."
_FOLLOW_UP = re.compile(r"^\s*(?:and|so|what\s+about|which\s+of\s+(?:them|those))\b", re.I)
_WHOLE_REGISTER = re.compile(r"\b(?:overall|in\s+the\s+register|of\s+all|any\s+award)\b", re.I)
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


class _Database:
    """Engine and session factory, created lazily, once per event loop."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._engine: AsyncEngine | None = None
        self._factory: sessionmaker | None = None

    def configure(self, settings: Settings | None) -> None:
        """Use these settings instead of the environment (tests); forget the engine.

        Args:
            settings: Settings, or None to read the environment again.

        """
        self._settings = settings
        self._engine = self._factory = self._loop = self._lock = None

    async def factory(self) -> sessionmaker:
        """Return the session factory for the running loop, creating it once."""
        loop = asyncio.get_running_loop()
        if self._factory is not None and self._loop is loop:
            return self._factory
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
            self._engine = self._factory = None
        async with self._lock:
            if self._factory is None:
                self._engine = create_engine(self._settings or Settings.from_env())
                self._factory = create_sessionmaker(self._engine)
        return self._factory

    @property
    def settings(self) -> Settings:
        """The settings in use."""
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    async def dispose(self) -> None:
        """Close the engine's connections (end of tests, shutdown)."""
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._factory = None


DATABASE = _Database()


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """Open a short session on the register (read-only use).

    Yields:
        A session, closed on exit.

    """
    factory = await DATABASE.factory()
    async with factory() as session:
        yield session


# --- reading the message ---------------------------------------------------


def _clean(value: Any) -> str:
    # Entity values are user text: keep them short and printable.
    text = " ".join(str(value).split())
    return "".join(ch for ch in text if ch.isprintable())[:200]


def _echo(text: str) -> str:
    text = _clean(text)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1].rstrip() + "…"


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
            cleaned = _clean(value)
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
        text = _clean(value).lower()
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


# --- wording ---------------------------------------------------------------


def region_phrase(region: str) -> str:
    """Return "the North West", but "London", "Wales", "Yorkshire and the Humber"."""
    no_article = ("London", "Wales", "Scotland", "Northern Ireland", "Yorkshire and the Humber")
    return region if region in no_article else f"the {region}"


def describe(understanding: Understanding, resolved: dict[str, list[str]]) -> str:
    """Describe the filters in words, using register names where resolved.

    Args:
        understanding: What the message asked.
        resolved: {kind: register names matched}.

    Returns:
        e.g. "in the North West over £40,000" (may be empty).

    """

    def name(kind: str) -> str:
        found = resolved.get(kind) or []
        return found[0] if len(found) == 1 else _echo(understanding.names[kind])

    parts = []
    if "recipient" in understanding.names:
        parts.append(f"for {name('recipient')}")
    if "place" in understanding.names:
        parts.append(f"in {name('place')}")
    if "region" in understanding.names:
        found = resolved.get("region") or []
        parts.append(f"in {region_phrase(found[0])}" if len(found) == 1 else f"in {name('region')}")
    if "sector" in understanding.names:
        parts.append(f"in {name('sector')}")
    if "supplier" in understanding.names:
        parts.append(f"with {name('supplier')} as a supplier")
    if understanding.description:
        parts.append(understanding.description)
    return " ".join(parts)


def announced_phrase(award: AwardView) -> str:
    """Return when an award was announced: "on 15 February 2013" or "in 2012"."""
    when = format_date(award.announced_on, award.announced_precision)
    return f"on {when}" if award.announced_precision == "day" else f"in {when}"


def suppliers_phrase(award: AwardView) -> str:
    """Return the suppliers with what is known about SMEs."""
    names = [f"{s.name} (an SME)" if s.sme == "yes" else s.name for s in award.suppliers]
    text = join_names(names)
    if award.sme_supplier == "yes" and not any(s.sme == "yes" for s in award.suppliers):
        text += "; the bid included an SME"
    return text


def award_summary(award: AwardView) -> str:
    """Everything the register holds about one award, in a few sentences."""
    support = f", for {award.support}" if award.support else ""
    return (
        f"{award.recipient} ({award.public_body}, {region_phrase(award.region)}): "
        f"{format_gbp(award.amount_pence)} of professional support, announced "
        f"{announced_phrase(award)}{support}. Supplier{'s' if len(award.suppliers) > 1 else ''}: "
        f"{suppliers_phrase(award)}. Service area: {award.sector}; stage: {award.stage}."
    )


def attribute_answer(award: AwardView, attribute: str) -> str:
    """Answer one question about one award.

    Args:
        award: The award.
        attribute: One of `AWARD_ATTRIBUTES`.

    Returns:
        A sentence.

    """
    name = award.recipient
    if attribute == "supplier":
        plural = "suppliers were" if len(award.suppliers) > 1 else "supplier was"
        return f"For {name}, the {plural} {suppliers_phrase(award)}."
    if attribute == "amount":
        return (
            f"{name} was awarded {format_gbp(award.amount_pence)} of professional support "
            f"(announced {announced_phrase(award)})."
        )
    if attribute == "date":
        return f"The award to {name} was announced {announced_phrase(award)}."
    if attribute == "support":
        if award.support:
            return f"{name} received {award.support} (supplier: {suppliers_phrase(award)})."
        return (
            f"The published details don't say what support {name} received; "
            f"the supplier was {suppliers_phrase(award)}."
        )
    if attribute == "stage":
        return f"{name} was at the {award.stage} stage when the award was made."
    if attribute == "region":
        return f"{name} is in {region_phrase(award.region)} ({award.public_body})."
    if attribute == "source":
        return f"Source for {name}: {award.source}."
    return award_summary(award)


def list_line(award: AwardView, attribute: str | None) -> str:
    """One line of a list of awards."""
    detail = ""
    if attribute == "supplier":
        detail = f", supplier: {suppliers_phrase(award)}"
    elif attribute == "date":
        detail = f", announced {announced_phrase(award)}"
    elif attribute == "support" and award.support:
        detail = f", for {award.support}"
    elif attribute == "stage":
        detail = f", stage: {award.stage}"
    elif attribute == "region":
        detail = f", {award.region}"
    elif attribute == "source":
        detail = f" (source: {award.source})"
    return f"- {award.recipient} ({award.place}): {format_gbp(award.amount_pence)}{detail}"


def pick_buttons(awards: Sequence[AwardView]) -> list[dict[str, str]]:
    """Buttons that look up one award each by its exact recipient name."""
    buttons = []
    for award in awards[:MAX_LISTED]:
        payload = "/ask_award" + json.dumps({"recipient": award.recipient}, ensure_ascii=False)
        buttons.append({"title": award.recipient, "payload": payload})
    return buttons


def register_link(settings: Settings, resolved: dict[str, list[str]], query: AwardQuery) -> str:
    """Return a link to the public register page with the same filters, where it can."""
    params: dict[str, str] = {}
    for kind in ("sector", "region", "supplier"):
        if len(resolved.get(kind) or []) == 1:
            params[kind] = resolved[kind][0]
    if query.min_pence is not None:
        params["min_amount"] = str(query.min_pence // 100)
    if query.max_pence is not None:
        params["max_amount"] = str(-(-query.max_pence // 100))
    suffix = f"?{urlencode(params)}" if params else ""
    return f"{settings.public_base_url}/awards{suffix}"


def _clear_slots(award_ids: Sequence[int] | None = None, keep_ids: bool = True) -> list[EventType]:
    events: list[EventType] = [SlotSet(slot, None) for slot in ENTITY_SLOTS]
    if award_ids is not None:
        events.append(SlotSet("award_ids", [int(i) for i in award_ids][:MAX_REMEMBERED]))
    elif not keep_ids:
        events.append(SlotSet("award_ids", None))
    return events


def _previous_ids(tracker: Tracker) -> list[int]:
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


def _database_trouble(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(
        text="Sorry, I can't reach the awards register just now, so I can't look that up."
    )
    dispatcher.utter_message(response="utter_request_human")
    return _clear_slots()


# --- actions ---------------------------------------------------------------


class ActionAwardLookup(Action):
    """Answer award questions: by name, place, region, sector, supplier, amount, date."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Look up awards and reply; remember the awards found for follow-ups."""
        try:
            async with session_scope() as session:
                return await self._answer(session, dispatcher, tracker)
        except SQLAlchemyError:
            logger.exception("awards look-up failed")
            return _database_trouble(dispatcher)

    async def _answer(
        self, session: AsyncSession, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        indexes = await load_name_indexes(session)
        understanding = understand(tracker, indexes)
        previous = _previous_ids(tracker)
        text = tracker.latest_message.get("text") or ""
        query = understanding.query

        if not understanding.names and previous and not _WHOLE_REGISTER.search(text):
            follow_up = bool(_FOLLOW_UP.search(text)) or understanding.attribute is not None
            narrowing = understanding.has_filters and len(previous) > 1
            if follow_up or narrowing:
                # "and who was the supplier?" / "which of those is the largest?"
                query = replace(query, award_ids=tuple(previous))
                if not understanding.has_filters:
                    awards = await awards_by_ids(session, previous)
                    return self._reply_about(dispatcher, awards, understanding.attribute)

        if not understanding.names and not understanding.has_filters and query.award_ids is None:
            return await self._offer_register(dispatcher, session)

        limit = 1 if query.order != "name" and not understanding.counting else None
        result = await search_awards(session, replace(query, limit=limit), indexes)
        description = describe(understanding, result.resolved)

        if result.unmatched:
            return await self._no_such_name(dispatcher, session, result.unmatched)
        if result.total == 0:
            scope = f" {description}" if description else ""
            dispatcher.utter_message(
                text=f"There is no published award in the register{scope}. {CAVEAT}"
            )
            kind = next(iter(understanding.names), "recipient")
            return _clear_slots() + await self._offer_what_is_there(dispatcher, session, kind)

        awards = result.awards
        if limit == 1:
            award = awards[0]
            scope = f" {description}" if description else ""
            if query.award_ids is not None:
                intro = f"Of those {result.total} awards, the {query.order}{scope} is:"
            elif result.total == 1:
                intro = f"The only published award in the register{scope} is:"
            else:
                intro = (
                    f"The {query.order} of the {result.total} published awards in the "
                    f"register{scope} is:"
                )
            dispatcher.utter_message(text=f"{intro} {award_summary(award)}")
            return _clear_slots([award.id])
        if result.total == 1:
            return self._reply_about(dispatcher, awards, understanding.attribute)

        ids = [award.id for award in awards]
        ambiguous_name = len(result.resolved.get("recipient") or []) > 1
        scope = f" {description}" if description else ""
        if ambiguous_name:
            heading = (
                f"{result.total} awards match "
                f"“{_echo(understanding.names['recipient'])}”. Which one do you mean?"
            )
        else:
            heading = (
                f"There are {result.total} published awards in the register{scope}, "
                f"totalling {format_gbp(result.total_pence)}:"
            )
        lines = [heading, *(list_line(a, understanding.attribute) for a in awards[:MAX_LISTED])]
        if result.total > MAX_LISTED:
            link = register_link(DATABASE.settings, result.resolved, query)
            lines.append(f"…and {result.total - MAX_LISTED} more: see {link}")
        if not ambiguous_name:
            lines.append(f"Pick one for details. {CAVEAT}")
        dispatcher.utter_message(text="\n".join(lines), buttons=pick_buttons(awards))
        return _clear_slots(ids)

    @staticmethod
    def _reply_about(
        dispatcher: CollectingDispatcher, awards: Sequence[AwardView], attribute: str | None
    ) -> list[EventType]:
        if not awards:
            dispatcher.utter_message(
                text="I've lost track of which award we were talking about. Which one do you mean?"
            )
            return _clear_slots(keep_ids=False)
        if len(awards) == 1:
            award = awards[0]
            text = attribute_answer(award, attribute) if attribute else award_summary(award)
            dispatcher.utter_message(text=text)
        else:
            lines = [f"For those {len(awards)} awards:"]
            lines += [
                attribute_answer(a, attribute) if attribute else list_line(a, None)
                for a in awards[:MAX_LISTED]
            ]
            if len(awards) > MAX_LISTED:
                lines.append(f"…and {len(awards) - MAX_LISTED} more.")
            dispatcher.utter_message(text="\n".join(lines), buttons=pick_buttons(awards))
        return _clear_slots([a.id for a in awards])

    async def _no_such_name(
        self,
        dispatcher: CollectingDispatcher,
        session: AsyncSession,
        unmatched: dict[str, str],
    ) -> list[EventType]:
        kind, text = next(iter(unmatched.items()))
        label = {
            "recipient": "an award to",
            "place": "an award in",
            "region": "an award in",
            "sector": "an award in the service area",
            "supplier": "an award with the supplier",
        }[kind]
        dispatcher.utter_message(
            text=f"I couldn't find {label} “{_echo(text)}” in the register. {CAVEAT}"
        )
        return _clear_slots() + await self._offer_what_is_there(dispatcher, session, kind)

    @staticmethod
    async def _offer_what_is_there(
        dispatcher: CollectingDispatcher, session: AsyncSession, kind: str = "recipient"
    ) -> list[EventType]:
        held = await facets(session)
        if kind in ("place", "region"):
            text = (
                f"It has awards in {join_names([region_phrase(r) for r in held.regions])}, "
                f"from public bodies in {join_names(held.places)}."
            )
        elif kind == "sector":
            text = f"It has awards in these service areas: {join_names(held.sectors)}."
        elif kind == "supplier":
            text = f"The suppliers in it are {join_names(held.suppliers)}."
        else:
            result = await search_awards(session, AwardQuery(order="smallest", limit=1))
            low = format_gbp(result.awards[0].amount_pence) if result.awards else "£0"
            high = await search_awards(session, AwardQuery(order="largest", limit=1))
            top = format_gbp(high.awards[0].amount_pence) if high.awards else "£0"
            text = (
                f"It has {len(held.recipients)} awards, from {low} to {top}, including:"
                if held.recipients
                else "The register is empty at the moment."
            )
        awards = (await search_awards(session, AwardQuery(order="largest"))).awards
        dispatcher.utter_message(text=text, buttons=pick_buttons(awards))
        return []

    async def _offer_register(
        self, dispatcher: CollectingDispatcher, session: AsyncSession
    ) -> list[EventType]:
        result = await search_awards(session, AwardQuery(order="largest"))
        held = await facets(session)
        dispatcher.utter_message(
            text=(
                f"The register has {result.total} published awards, in "
                f"{join_names([region_phrase(r) for r in held.regions])}. You can ask by "
                "organisation, place, region, service area, supplier, amount or date, for "
                "example “awards in youth services” or “awards over £40,000”. "
                "The largest are:"
            ),
            buttons=pick_buttons(result.awards),
        )
        return _clear_slots()


def figures_sentence(figures: dict[str, FigureView]) -> str | None:
    """Return the programme's own totals in one sentence, with date and source.

    Args:
        figures: Sourced figures by name.

    Returns:
        The sentence, or None when no figures are stored.

    """
    contracts = figures.get("contracts_awarded")
    smes = figures.get("contracts_to_smes")
    procured = figures.get("support_procured")
    mutuals = figures.get("mutuals_supported")
    anchor = contracts or procured or mutuals
    if anchor is None:
        return None
    parts = []
    if contracts:
        part = f"{contracts.value} contracts had been awarded"
        if smes:
            part += f" ({smes.value} of them to small and medium-sized enterprises, SMEs)"
        parts.append(part)
    if procured:
        about = "about " if procured.approximate else ""
        part = (
            f"{about}{format_gbp_short(procured.value)} of professional support had been procured"
        )
        if mutuals:
            part += f" for {mutuals.value} {mutuals.label.replace(' supported', '')}"
        parts.append(part)
    when = f"by {format_date(anchor.as_of)}" if anchor.as_of else "so far"
    sources = main_sources(f.source for f in (contracts, smes, procured, mutuals) if f)
    return f"Programme figures ({when}): {join_names(parts)} (source: {'; '.join(sources)})."


def main_sources(sources: Iterable[str]) -> list[str]:
    """Distinct sources, dropping refinements of another ("X, note 1" when "X" is there).

    Args:
        sources: Source citations.

    Returns:
        Sorted distinct citations.

    """
    unique = sorted(set(sources), key=len)
    kept: list[str] = []
    for source in unique:
        if not any(source.startswith(shorter) for shorter in kept):
            kept.append(source)
    return sorted(kept)


class ActionAwardTotals(Action):
    """Programme totals (sourced figures) and what the register itself holds."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_totals"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reply with the sourced programme totals and the register's count and sum."""
        try:
            async with session_scope() as session:
                indexes = await load_name_indexes(session)
                understanding = understand(tracker, indexes)
                if understanding.names or not understanding.query.is_empty:
                    return await self._filtered(session, dispatcher, understanding, indexes)
                figures = await programme_figures(session)
                totals = await register_totals(session)
        except SQLAlchemyError:
            logger.exception("awards totals failed")
            return _database_trouble(dispatcher)

        messages = []
        sentence = figures_sentence(figures)
        if sentence:
            messages.append(sentence)
        contracts = figures.get("contracts_awarded")
        incomplete = (
            f" It is incomplete ({contracts.value} contracts had been awarded by "
            f"{format_date(contracts.as_of)}), so use the programme figures for totals."
            if contracts and contracts.as_of
            else " It is incomplete, so use the programme figures for totals."
        )
        messages.append(
            f"Our register: it lists the published awards we know of: {totals.count} awards "
            f"totalling {format_gbp(totals.total_pence)}, {totals.sme_count} of them with an SME "
            f"supplier.{incomplete}"
        )
        dispatcher.utter_message(text="\n".join(messages))
        # Forget award ids: a "source?" now is about these figures.
        return _clear_slots(keep_ids=False)

    @staticmethod
    async def _filtered(
        session: AsyncSession,
        dispatcher: CollectingDispatcher,
        understanding: Understanding,
        indexes: dict[str, NameIndex],
    ) -> list[EventType]:
        query = replace(understanding.query, order="name", limit=None)
        result = await search_awards(session, query, indexes)
        if result.unmatched:
            kind, text = next(iter(result.unmatched.items()))
            dispatcher.utter_message(
                text=f"I couldn't find “{_echo(text)}” ({kind}) in the register. {CAVEAT}"
            )
            return _clear_slots()
        description = describe(understanding, result.resolved)
        scope = f" {description}" if description else ""
        noun = "award" if result.total == 1 else "awards"
        dispatcher.utter_message(
            text=(
                f"The register lists {result.total} published {noun}{scope}, totalling "
                f"{format_gbp(result.total_pence)}. {CAVEAT}"
            )
        )
        return _clear_slots([a.id for a in result.awards])


class ActionAwardSource(Action):
    """Cite the source of the awards just discussed (or of the programme figures)."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_source"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reply with the source of each award in `award_ids` (or named in the message)."""
        try:
            async with session_scope() as session:
                indexes = await load_name_indexes(session)
                understanding = understand(tracker, indexes)
                ids = _previous_ids(tracker)
                if understanding.names:
                    result = await search_awards(session, understanding.query, indexes)
                    ids = [a.id for a in result.awards]
                awards = await awards_by_ids(session, ids)
                figures = await programme_figures(session) if not awards else {}
                totals = await register_totals(session) if not awards else None
        except SQLAlchemyError:
            logger.exception("awards source failed")
            return _database_trouble(dispatcher)

        if len(awards) == 1:
            dispatcher.utter_message(text=f"Source for {awards[0].recipient}: {awards[0].source}.")
        elif awards:
            lines = ["Sources:"] + [f"- {a.recipient}: {a.source}" for a in awards[:MAX_LISTED]]
            dispatcher.utter_message(text="\n".join(lines))
        else:
            sources = main_sources(f.source for f in figures.values())
            count = totals.count if totals else 0
            text = f"The programme figures come from the {join_names(sources)}. " if sources else ""
            text += (
                f"Each of the {count} awards in the register has its own source; ask about an "
                f"award and then “source?”, or see {DATABASE.settings.public_base_url}/awards."
            )
            dispatcher.utter_message(text=text)
        return _clear_slots([a.id for a in awards] if awards else None)
