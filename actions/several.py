"""Answering a message that asks several questions at once.

The NLU component ``bot.nlu.several`` labels such messages ``ask_several`` and
adds the pieces of the message to the parse data. This action reads each piece
with the running model (Rasa's ``/model/parse``) and answers every programme
question it finds, in the caller's order, each once; an award question among
them is answered from the register with that piece's names (the award actions'
own answer), so "how do we apply, and what did Knowsley get?" gets both. If the
caller also asked whether they are eligible, the eligibility check starts after
the answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.awards import (
    ActionAwardLookup,
    ActionAwardSource,
    ActionAwardTotals,
    RegisterAction,
    send,
)
from actions.eligibility import VERDICT_SLOT, current_rules, prefill, said_back
from actions.endpoint import ConfiguredAction
from actions.programme import FALLBACK_INTENT, programme_answers
from actions.rasa_nlu import NluUnavailable, RasaNlu
from bot.config import Settings
from bot.nlu.segments import SEGMENTS_KEY, split_questions

log = logging.getLogger(__name__)

SEVERAL_INTENT = "ask_several"
ELIGIBILITY_INTENT = "check_eligibility"
#: Award questions a piece may also be, answered from the register.
AWARD_INTENTS = frozenset({"ask_award", "ask_award_totals", "ask_award_source"})


def answerable() -> frozenset[str]:
    """The intents a piece may be answered as: the programme questions and the check."""
    return frozenset({*programme_answers(), ELIGIBILITY_INTENT})


# A piece's intent counts from this confidence; the FallbackClassifier's own
# threshold is 0.3, and a short piece read out of context deserves a little more.
PIECE_CONFIDENCE = 0.4


def piece_intent(
    parse: Mapping[str, Any],
    minimum: float = PIECE_CONFIDENCE,
    also: frozenset[str] = frozenset(),
) -> str | None:
    """The answerable intent of one parsed piece, or ``None``.

    Takes the best-ranked intent that is neither the fallback nor
    ``ask_several`` itself (a piece can still look like several questions).
    ``also`` are further intents the caller can answer (the award questions).
    """
    ranking = parse.get("intent_ranking") or [parse.get("intent") or {}]
    for entry in ranking:
        name = entry.get("name")
        if name in (FALLBACK_INTENT, SEVERAL_INTENT):
            continue
        confident = float(entry.get("confidence") or 0.0) >= minimum
        return name if confident and (name in answerable() or name in also) else None
    return None


@dataclass(frozen=True)
class Piece:
    """One question to answer: its intent and, for an award question, its parse."""

    intent: str
    parse: Mapping[str, Any] | None = None


def plan_pieces(parses: Iterable[Mapping[str, Any]]) -> list[Piece]:
    """What to answer, in the caller's order: programme questions once, each award question.

    Two award questions are two look-ups ("what did Knowsley get and what did
    Oldham get?"); a programme question asked twice is answered once.
    """
    plan: list[Piece] = []
    for parse in parses:
        intent = piece_intent(parse, also=AWARD_INTENTS)
        if intent in AWARD_INTENTS:
            plan.append(Piece(intent, parse))
        elif intent and all(p.intent != intent for p in plan):
            plan.append(Piece(intent))
    return plan


async def pieces_to_answer(latest: Mapping[str, Any], nlu: RasaNlu) -> list[Piece]:
    """The questions a several-question message asks, award questions included.

    Each piece is read with the running model; if Rasa's API cannot be used or
    no piece is clear, the whole message is one question (its best intent).

    Args:
        latest: The latest message's parse data (``tracker.latest_message``).
        nlu: Rasa's parse endpoint.
    """
    pieces = latest.get(SEGMENTS_KEY) or split_questions(str(latest.get("text") or ""))
    pieces = [p for p in pieces if isinstance(p, str) and p.strip()]
    plan: list[Piece] = []
    if pieces:
        try:
            parses = await nlu.parse_many(pieces)
            read = zip(pieces, parses, strict=False)
            plan = plan_pieces({**parse, "text": piece} for piece, parse in read)
        except NluUnavailable as error:
            log.warning("could not read the pieces of a message separately: %s", error)
    if plan:
        return plan
    whole = {"intent_ranking": latest.get("intent_ranking") or []}
    intent = piece_intent(whole, also=AWARD_INTENTS)
    if intent in AWARD_INTENTS:
        return [Piece(intent, latest)]
    return [Piece(intent)] if intent else []


def piece_tracker(tracker: Tracker, parse: Mapping[str, Any], award_ids: Any) -> Tracker:
    """The conversation as if ``parse`` (one piece) were the latest message.

    The awards remembered so far go with it, so "and who supplied it?" after an
    award question in the same message is a follow-up to that award.
    """
    return Tracker(
        tracker.sender_id,
        {**tracker.slots, "award_ids": award_ids},
        dict(parse),
        tracker.events,
        tracker.is_paused(),
        None,
        tracker.active_loop,
        tracker.latest_action_name,
    )


def plan_answers(intents: Iterable[str | None]) -> list[str]:
    """The intents to answer: answerable ones, each once, in the caller's order."""
    seen: list[str] = []
    for intent in intents:
        if intent and intent in answerable() and intent not in seen:
            seen.append(intent)
    return seen


def whole_message_intent(latest: Mapping[str, Any]) -> str | None:
    """What Rasa's ranking for the whole message says, if it names an answerable intent."""
    return piece_intent({"intent_ranking": latest.get("intent_ranking") or []})


async def answerable_intents(latest: Mapping[str, Any], nlu: RasaNlu) -> list[str]:
    """The programme questions a several-question message asks, in order, each once.

    Each piece is read with the running model; if Rasa's API cannot be used or
    no piece is clear, the whole message's best answerable intent is used.

    Args:
        latest: The latest message's parse data (``tracker.latest_message``).
        nlu: Rasa's parse endpoint.
    """
    pieces = latest.get(SEGMENTS_KEY) or split_questions(str(latest.get("text") or ""))
    pieces = [p for p in pieces if isinstance(p, str) and p.strip()]
    intents: list[str] = []
    if pieces:
        try:
            parses = await nlu.parse_many(pieces)
            intents = plan_answers(piece_intent(parse) for parse in parses)
        except NluUnavailable as error:
            log.warning("could not read the pieces of a message separately: %s", error)
    return intents or plan_answers([whole_message_intent(latest)])


class ActionAnswerSeveral(ConfiguredAction):
    """Answers each programme question in a message that asks several."""

    def __init__(self, nlu: RasaNlu | None = None, settings: Settings | None = None) -> None:
        """Uses ``nlu`` to read the pieces (default: Rasa's API from the settings).

        Args:
            nlu: Rasa's parse endpoint.
            settings: The application settings (default: read at registration).

        """
        super().__init__(settings)
        self._nlu = nlu or RasaNlu.from_settings(self.settings)
        # The award actions answer award pieces (their engines are made when first used).
        self._awards: dict[str, RegisterAction] = {
            "ask_award": ActionAwardLookup(self.settings),
            "ask_award_totals": ActionAwardTotals(self.settings),
            "ask_award_source": ActionAwardSource(self.settings),
        }

    def name(self) -> str:
        """Returns the action's name."""
        return "action_answer_several"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answers every question found; starts the eligibility check if one asked for it."""
        plan = await pieces_to_answer(tracker.latest_message or {}, self._nlu)
        if not plan:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        events: list[EventType] = []
        award_ids = tracker.get_slot("award_ids")
        for piece in plan:
            if piece.intent in AWARD_INTENTS and piece.parse is not None:
                action = self._awards[piece.intent]
                answer = await action.answer_for(piece_tracker(tracker, piece.parse, award_ids))
                send(dispatcher, answer)
                answer_events = answer.events()
                events += answer_events
                for event in answer_events:
                    if event.get("name") == "award_ids":
                        award_ids = event.get("value")
            elif piece.intent != ELIGIBILITY_INTENT:
                dispatcher.utter_message(response=programme_answers()[piece.intent])
        if all(piece.intent != ELIGIBILITY_INTENT for piece in plan):
            return events
        # The check itself, started as a lone "am I eligible?" starts it.
        dispatcher.utter_message(response="utter_eligibility_intro")
        rules = await current_rules()
        # What the message already says is kept and said back, as for a lone opener.
        known = prefill(rules, str((tracker.latest_message or {}).get("text") or ""))
        if known:
            dispatcher.utter_message(
                response="utter_eligibility_understood", understood=said_back(rules, known)
            )
        resets: list[EventType] = [
            SlotSet(slot, known.get(slot)) for slot in [*rules.slots, VERDICT_SLOT]
        ]
        return [*events, *resets, FollowupAction("eligibility_form")]
