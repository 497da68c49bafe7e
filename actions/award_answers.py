"""Answers to award questions, as plain functions of a database session and a message.

Each function reads the register in the session it is given and returns an
`Answer`: what to say and which awards to remember for a follow-up. It sends
nothing and catches nothing; the actions (`actions.awards`) open the session,
send the replies and handle a database error in one place. Every fact comes from
the database at the time of the question; SQL sees only ids and numbers as bound
parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from sqlalchemy.ext.asyncio import AsyncSession

from actions.award_understanding import (
    FOLLOW_UP,
    MAX_REMEMBERED,
    WHOLE_REGISTER,
    Understanding,
    previous_ids,
    understand,
    widened,
)
from actions.award_wording import (
    attribute_answer,
    award_summary,
    describe,
    echo,
    figures_sentence,
    list_line,
    main_sources,
    region_phrase,
    say,
    scope,
)
from actions.parsing import format_date, format_gbp, join_names
from bot.awards.matching import NameIndex
from bot.awards.repository import (
    AwardQuery,
    AwardView,
    awards_by_ids,
    facets,
    load_name_indexes,
    programme_figures,
    register_totals,
    search_awards,
)

#: Name slots cleared after every look-up so the next question starts afresh.
ENTITY_SLOTS = ("recipient", "place", "region", "sector", "supplier", "award_attribute")
#: Awards listed in one reply (and buttons offered).
MAX_LISTED = 5


@dataclass(frozen=True)
class Reply:
    """One message to the caller: text from the award wording, or a domain response."""

    text: str | None = None
    response: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Answer:
    """What to say, and what to remember for a follow-up question.

    Attributes:
        replies: The messages, in order.
        award_ids: The awards the answer was about (remembered), or None to keep
            the remembered ones.
        forget_ids: Forget the remembered awards (when ``award_ids`` is None).

    """

    replies: list[Reply]
    award_ids: list[int] | None = None
    forget_ids: bool = False

    def events(self) -> list[EventType]:
        """Clear the name slots; remember (or forget) the awards."""
        events: list[EventType] = [SlotSet(slot, None) for slot in ENTITY_SLOTS]
        if self.award_ids is not None:
            events.append(SlotSet("award_ids", [int(i) for i in self.award_ids][:MAX_REMEMBERED]))
        elif self.forget_ids:
            events.append(SlotSet("award_ids", None))
        return events


def database_trouble() -> Answer:
    """What a caller is told when the register cannot be read: sorry, and a person."""
    return Answer([Reply(say("unavailable")), Reply(response="utter_request_human")])


def pick_buttons(awards: Sequence[AwardView]) -> list[dict[str, str]]:
    """Buttons that look up one award each by its exact recipient name."""
    buttons = []
    for award in awards[:MAX_LISTED]:
        payload = "/ask_award" + json.dumps({"recipient": award.recipient}, ensure_ascii=False)
        buttons.append({"title": award.recipient, "payload": payload})
    return buttons


def register_link(base_url: str, resolved: dict[str, list[str]], query: AwardQuery) -> str:
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
    return f"{base_url}/awards{suffix}"


# --- look-ups ----------------------------------------------------------------


async def look_up(session: AsyncSession, tracker: Tracker, base_url: str) -> Answer:
    """Answer an award question: by name, place, region, sector, supplier, amount, date.

    Args:
        session: A session on the register.
        tracker: The conversation (its latest message and the remembered awards).
        base_url: The public web app's address (links to the register page).

    Returns:
        The replies; the awards found are remembered for follow-ups.

    """
    indexes = await load_name_indexes(session)
    understanding = understand(tracker, indexes)
    previous = previous_ids(tracker)
    text = tracker.latest_message.get("text") or ""
    query = understanding.query

    if understanding.unknown:
        # "did Acme Consulting get any work?": say the name asked about is not there.
        reply = Reply(say("not_found_name", name=echo(understanding.unknown)))
        return Answer([reply, await what_is_there(session)], forget_ids=True)

    if not understanding.names and previous and not WHOLE_REGISTER.search(text):
        follow_up = bool(FOLLOW_UP.search(text)) or understanding.attribute is not None
        narrowing = understanding.has_filters and len(previous) > 1
        if follow_up or narrowing:
            # "and who was the supplier?" / "which of those is the largest?"
            query = replace(query, award_ids=tuple(previous))
            if not understanding.has_filters:
                awards = await awards_by_ids(session, previous)
                return about(awards, understanding.attribute)

    if not understanding.names and not understanding.has_filters and query.award_ids is None:
        return await register_offer(session)

    limit = 1 if query.order != "name" and not understanding.counting else None
    result = await search_awards(session, replace(query, limit=limit), indexes)
    description = describe(understanding.names, understanding.description, result.resolved)

    if result.unmatched:
        kind, name = next(iter(result.unmatched.items()))
        reply = Reply(say(f"not_found_{kind}", name=echo(widened(text, name))))
        return Answer([reply, await what_is_there(session, kind)])
    if result.total == 0:
        reply = Reply(say("none_found", scope=scope(description)))
        kind = next(iter(understanding.names), "recipient")
        return Answer([reply, await what_is_there(session, kind)])

    awards = result.awards
    if limit == 1:
        if query.award_ids is not None:
            piece = "best_of_those"
        elif result.total == 1:
            piece = "only_award"
        else:
            piece = "best_of_register"
        text = say(
            piece,
            total=result.total,
            order=query.order,
            scope=scope(description),
            summary=award_summary(awards[0]),
        )
        return Answer([Reply(text)], [awards[0].id])
    if result.total == 1 and (understanding.attribute or "recipient" in understanding.names):
        return about(awards, understanding.attribute)
    if result.total == 1:
        # Found by supplier, place or a filter: say what it was found by, then the award.
        text = say("only_award", scope=scope(description), summary=award_summary(awards[0]))
        return Answer([Reply(text)], [awards[0].id])

    ambiguous_name = len(result.resolved.get("recipient") or []) > 1
    if ambiguous_name:
        heading = say(
            "ambiguous_heading", total=result.total, name=echo(understanding.names["recipient"])
        )
    else:
        heading = say(
            "list_heading",
            total=result.total,
            scope=scope(description),
            amount=format_gbp(result.total_pence),
        )
    lines = [heading, *(list_line(a, understanding.attribute) for a in awards[:MAX_LISTED])]
    if result.total > MAX_LISTED:
        link = register_link(base_url, result.resolved, query)
        lines.append(say("more_at", count=result.total - MAX_LISTED, link=link))
    if not ambiguous_name:
        lines.append(say("pick_one"))
    reply = Reply("\n".join(lines), buttons=pick_buttons(awards))
    return Answer([reply], [award.id for award in awards])


def about(awards: Sequence[AwardView], attribute: str | None) -> Answer:
    """Answer about awards already found (a follow-up), or the one award found."""
    if not awards:
        return Answer([Reply(say("lost_track"))], forget_ids=True)
    if len(awards) == 1:
        award = awards[0]
        text = attribute_answer(award, attribute) if attribute else award_summary(award)
        return Answer([Reply(text)], [award.id])
    lines = [say("for_those", count=len(awards))]
    lines += [
        attribute_answer(a, attribute) if attribute else list_line(a, None)
        for a in awards[:MAX_LISTED]
    ]
    if len(awards) > MAX_LISTED:
        lines.append(say("more", count=len(awards) - MAX_LISTED))
    reply = Reply("\n".join(lines), buttons=pick_buttons(awards))
    return Answer([reply], [a.id for a in awards])


async def what_is_there(session: AsyncSession, kind: str = "recipient") -> Reply:
    """What the register holds of ``kind`` (after a look-up found nothing), with buttons."""
    held = await facets(session)
    if kind in ("place", "region"):
        text = say(
            "held_places",
            regions=join_names([region_phrase(r) for r in held.regions]),
            places=join_names(held.places),
        )
    elif kind == "sector":
        text = say("held_sectors", sectors=join_names(held.sectors))
    elif kind == "supplier":
        text = say("held_suppliers", suppliers=join_names(held.suppliers))
    elif held.recipients:
        smallest = await search_awards(session, AwardQuery(order="smallest", limit=1))
        largest = await search_awards(session, AwardQuery(order="largest", limit=1))
        low = format_gbp(smallest.awards[0].amount_pence) if smallest.awards else "£0"
        high = format_gbp(largest.awards[0].amount_pence) if largest.awards else "£0"
        text = say("held_awards", count=len(held.recipients), low=low, high=high)
    else:
        text = say("register_empty")
    awards = (await search_awards(session, AwardQuery(order="largest"))).awards
    return Reply(text, buttons=pick_buttons(awards))


async def register_offer(session: AsyncSession) -> Answer:
    """What the register holds and how to ask, with the largest awards as buttons."""
    result = await search_awards(session, AwardQuery(order="largest"))
    held = await facets(session)
    text = say(
        "register_offer",
        total=result.total,
        regions=join_names([region_phrase(r) for r in held.regions]),
    )
    return Answer([Reply(text, buttons=pick_buttons(result.awards))])


# --- totals and sources ------------------------------------------------------


async def totals(session: AsyncSession, tracker: Tracker) -> Answer:
    """Programme totals (sourced figures) and what the register itself holds.

    A question that names or filters ("how much went to the North West?") gets
    the register's count and sum for those awards instead.
    """
    indexes = await load_name_indexes(session)
    understanding = understand(tracker, indexes)
    if understanding.unknown:
        # "how much did Acme get in total?": the name asked about is not there.
        return Answer([Reply(say("not_found_name", name=echo(understanding.unknown)))])
    if understanding.names or not understanding.query.is_empty:
        return await filtered_totals(session, understanding, indexes)
    figures = await programme_figures(session)
    held = await register_totals(session)

    lines = []
    sentence = figures_sentence(figures)
    if sentence:
        lines.append(sentence)
    contracts = figures.get("contracts_awarded")
    register = {
        "count": held.count,
        "amount": format_gbp(held.total_pence),
        "sme_count": held.sme_count,
    }
    if contracts and contracts.as_of:
        lines.append(
            say(
                "register_totals_against",
                contracts=contracts.value,
                date=format_date(contracts.as_of),
                **register,
            )
        )
    else:
        lines.append(say("register_totals", **register))
    # Forget award ids: a "source?" now is about these figures.
    return Answer([Reply("\n".join(lines))], forget_ids=True)


async def filtered_totals(
    session: AsyncSession, understanding: Understanding, indexes: dict[str, NameIndex]
) -> Answer:
    """The register's count and sum for the awards a question names or filters."""
    query = replace(understanding.query, order="name", limit=None)
    result = await search_awards(session, query, indexes)
    if result.unmatched:
        kind, name = next(iter(result.unmatched.items()))
        return Answer([Reply(say("totals_not_found", name=echo(name), kind=kind))])
    description = describe(understanding.names, understanding.description, result.resolved)
    piece = "totals_filtered_one" if result.total == 1 else "totals_filtered"
    text = say(
        piece,
        total=result.total,
        scope=scope(description),
        amount=format_gbp(result.total_pence),
    )
    return Answer([Reply(text)], [a.id for a in result.awards])


async def sources(session: AsyncSession, tracker: Tracker, base_url: str) -> Answer:
    """Cite the source of the awards just discussed or named (else of the programme figures).

    Args:
        session: A session on the register.
        tracker: The conversation (its latest message and the remembered awards).
        base_url: The public web app's address (the register page).

    Returns:
        The citations; the awards cited stay remembered.

    """
    indexes = await load_name_indexes(session)
    understanding = understand(tracker, indexes)
    if understanding.unknown:
        # "where is the Acme award from?": there is no Acme award to cite.
        return Answer([Reply(say("not_found_name", name=echo(understanding.unknown)))])
    ids = previous_ids(tracker)
    if understanding.names:
        result = await search_awards(session, understanding.query, indexes)
        ids = [a.id for a in result.awards]
    awards = await awards_by_ids(session, ids)
    if len(awards) == 1:
        return Answer([Reply(attribute_answer(awards[0], "source"))], [awards[0].id])
    if awards:
        lines = [say("sources_heading")] + [
            say("source_line", recipient=a.recipient, source=a.source) for a in awards[:MAX_LISTED]
        ]
        return Answer([Reply("\n".join(lines))], [a.id for a in awards])
    figures = await programme_figures(session)
    held = await register_totals(session)
    cited = main_sources(f.source for f in figures.values())
    where = {"count": held.count, "link": f"{base_url}/awards"}
    if cited:
        text = say("sources_figures_and_register", sources=join_names(cited), **where)
    else:
        text = say("sources_register", **where)
    return Answer([Reply(text)])
