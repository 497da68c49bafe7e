"""An award question and a programme question in one message: both are answered (issue 12).

The action reads each piece (here with a stand-in for Rasa's parse endpoint that
returns what the model would); an award piece is answered from the seeded register
with that piece's names, in the caller's order. The live tests ask the running stack.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import requests
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.awards import ActionAwardLookup
from actions.rasa_nlu import RasaNlu
from actions.several import ActionAnswerSeveral, Piece, plan_pieces
from bot.nlu.segments import split_questions
from tests.live_stack import LiveStack
from tests.trackers import load_domain, make_tracker, rendered_response, said


class CannedNlu(RasaNlu):
    """Rasa's parse endpoint as the trained model answers, for known pieces."""

    def __init__(self, parses: dict[str, dict[str, Any]]) -> None:
        super().__init__("http://127.0.0.1:9", "token")
        object.__setattr__(self, "_parses", parses)

    async def parse_many(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        parses: dict[str, dict[str, Any]] = object.__getattribute__(self, "_parses")
        return [parses[text] for text in texts]


def parse(intent: str, **entities: str) -> dict[str, Any]:
    """One piece's parse: its intent first in the ranking, its entities."""
    return {
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
        "entities": [{"entity": k, "value": v} for k, v in entities.items()],
    }


def test_award_pieces_are_each_kept_and_programme_pieces_once() -> None:
    plan = plan_pieces(
        [
            {**parse("ask_mis"), "text": "who runs the MIS"},
            {**parse("ask_award", place="Oldham"), "text": "what did Oldham get"},
            {**parse("ask_mis"), "text": "who runs the information service"},
            {**parse("ask_award", place="Knowsley"), "text": "and Knowsley"},
        ]
    )
    assert [p.intent for p in plan] == ["ask_mis", "ask_award", "ask_award"]
    assert plan[1].parse is not None and plan[1].parse["text"] == "what did Oldham get"
    assert Piece("ask_mis") in plan


async def run_several(text: str, parses: dict[str, dict[str, Any]]) -> tuple[list[str], Any]:
    tracker = make_tracker(text, "ask_several", 1.0)
    tracker.latest_message["question_segments"] = split_questions(text)
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerSeveral(CannedNlu(parses)).run(dispatcher, tracker, load_domain())
    return [said(m) for m in dispatcher.messages], events


@pytest.mark.usefixtures("awards_actions")
async def test_a_programme_question_and_an_award_question_are_both_answered() -> None:
    text = "Who can we ring for advice, and what did Spiral Health get?"
    assert split_questions(text) == ["Who can we ring for advice", "what did Spiral Health get?"]
    replies, events = await run_several(
        text,
        {
            "Who can we ring for advice": parse("ask_hotline_number"),
            "what did Spiral Health get?": parse("ask_award", recipient="Spiral Health"),
        },
    )
    assert len(replies) == 2
    assert replies[0] == rendered_response("utter_hotline_number")
    assert "£45,000" in replies[1] and "Spiral Health CIC" in replies[1]
    remembered = [e["value"] for e in events if e.get("name") == "award_ids"]
    assert remembered and len(remembered[-1]) == 1  # "source?" next is about that award


@pytest.mark.usefixtures("awards_actions")
async def test_a_follow_up_piece_is_about_the_award_just_named() -> None:
    text = "what did Blackpool Council youth services get? who supplied it?"
    replies, _ = await run_several(
        text,
        {
            "what did Blackpool Council youth services get?": parse(
                "ask_award", recipient="Blackpool Council youth services"
            ),
            "who supplied it?": parse("ask_award", award_attribute="supplier"),
        },
    )
    assert "£10,000" in replies[0]
    assert "Social Purpose Business Partners" in replies[1]


def test_an_award_question_that_holds_another_question_goes_to_them_all() -> None:
    import asyncio

    tracker = make_tracker(
        "how long does a decision take, and which award was the largest?", "ask_award"
    )
    events = asyncio.run(ActionAwardLookup().run(CollectingDispatcher(), tracker, load_domain()))
    assert events == [FollowupAction("action_answer_several")]


# --- through the running stack ----------------------------------------------------------


def _say(stack: LiveStack, sender: str, text: str) -> list[str]:
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    response.raise_for_status()
    return [m.get("text", "") for m in response.json()]


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "programme", "award"),
    [
        (
            "what legal forms can a mutual take, and who got the smallest award?",
            "utter_legal_forms",
            "£10,000",
        ),
        ("How do we apply? Also how much did Oldham get?", "utter_how_to_apply", "£46,000"),
        # Read as an award question: the look-up hands it to the several-questions action.
        ("what did Spiral Health get, and who decides on support?", "utter_who_decides", "£45,000"),
    ],
)
def test_both_questions_are_answered_live(
    live_stack: LiveStack, text: str, programme: str, award: str
) -> None:
    replies = _say(live_stack, uuid.uuid4().hex, text)
    assert rendered_response(programme) in replies
    assert any(award in r for r in replies), replies
