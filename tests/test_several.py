"""Several questions in one message: splitting, the NLU component, the action.

The live tests send real messages through Rasa's REST channel to the whole
stack, so the pieces are read by the trained model itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk.executor import CollectingDispatcher

from actions.rasa_nlu import NluUnavailable, RasaNlu
from actions.several import ActionAnswerSeveral, piece_intent, plan_answers
from bot.nlu.segments import MAX_SEGMENTS, is_question, question_count, split_questions
from bot.nlu.several import ConfigError, SeveralQuestionsClassifier
from tests.live_stack import LiveStack
from tests.trackers import load_domain, make_tracker, rendered_response

# --- splitting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("What is a mutual and how do we apply?", ["What is a mutual", "how do we apply?"]),
        ("is it still running? whats the number", ["is it still running?", "whats the number"]),
        (
            "1) who runs the MIS 2) what's the hotline number",
            ["who runs the MIS", "what's the hotline number"],
        ),
        (
            "two questions: what does it cover, who decides",
            ["what does it cover", "who decides"],
        ),
        (
            "is it still running, and if so how do I apply?",
            ["is it still running", "how do I apply?"],
        ),
        (
            "Do you give cash? Also, what legal forms can we take.",
            ["Do you give cash?", "what legal forms can we take."],
        ),
        ("first, what is a mutual. secondly who decides", ["what is a mutual.", "who decides"]),
        (
            "tell me about the programme plus how to apply",
            ["tell me about the programme", "how to apply"],
        ),
    ],
)
def test_splits_at_new_questions(text: str, pieces: list[str]) -> None:
    assert split_questions(text) == pieces
    assert question_count(text) == 2


@pytest.mark.parametrize(
    "text",
    [
        "Can councils and NHS trusts apply?",
        "What does the programme cover - legal, financial and HR advice?",
        "hi, what is a mutual?",
        "What's the hotline number? I'd like to call.",
        "how much did Knowsley Youth Services get?",
        "we're a team at the county council",
        "",
        "   ",
        "😀😀😀",
        "<script>alert('x')</script> and <b>what</b>",
        "¿Qué es una mutua y cómo solicito?",
    ],
)
def test_one_question_or_none_is_not_split_into_several(text: str) -> None:
    assert question_count(text) <= 1


def test_pieces_are_capped_and_nothing_is_lost() -> None:
    text = " ".join(f"what is thing {n}?" for n in range(12))
    pieces = split_questions(text)
    assert len(pieces) == MAX_SEGMENTS
    assert "thing 11" in pieces[-1]


def test_very_long_message_is_split_quickly() -> None:
    import time

    text = "and what " * 20_000 + "?"
    started = time.perf_counter()
    split_questions(text)
    assert time.perf_counter() - started < 2


def test_a_question_needs_two_words() -> None:
    assert not is_question("how?")
    assert is_question("who decides")
    assert is_question("mutual legal forms?")
    assert not is_question("we are a council team")


# --- the NLU component ---------------------------------------------------------------

REPLACES = ["nlu_fallback", "ask_what_is_mutual", "ask_how_to_apply"]


def _message(text: str, intent: str, confidence: float = 0.8) -> Message:
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": "ask_legal_forms", "confidence": 0.1},
    ]
    return Message(data={TEXT: text, INTENT: ranking[0], INTENT_RANKING_KEY: ranking})


def _component(**config: Any) -> SeveralQuestionsClassifier:
    defaults = SeveralQuestionsClassifier.get_default_config()
    return SeveralQuestionsClassifier({**defaults, "replaces": REPLACES, **config})


def test_component_relabels_two_questions_and_adds_the_pieces() -> None:
    message = _message("What is a mutual and how do we apply?", "ask_what_is_mutual")
    [out] = _component().process([message])
    assert out.get(INTENT)["name"] == "ask_several"
    assert out.get(INTENT_RANKING_KEY)[1]["name"] == "ask_what_is_mutual"
    assert out.get("question_segments") == ["What is a mutual", "how do we apply?"]
    assert "question_segments" in out.as_dict(only_output_properties=True)


def test_component_rescues_a_close_call_the_fallback_classifier_gave_up_on() -> None:
    [out] = _component().process([_message("what is a mutual? who decides?", "nlu_fallback")])
    assert out.get(INTENT)["name"] == "ask_several"


def test_component_leaves_other_intents_and_single_questions_alone() -> None:
    human = _message("can I talk to a person and how do I apply?", "request_human")
    single = _message("what is a mutual?", "ask_what_is_mutual")
    out = _component().process([human, single])
    assert [m.get(INTENT)["name"] for m in out] == ["request_human", "ask_what_is_mutual"]
    assert out[1].get("question_segments") is None


def test_component_adds_pieces_when_diet_itself_says_several() -> None:
    [out] = _component().process([_message("mutual? apply?", "ask_several")])
    assert out.get("question_segments") == ["mutual?", "apply?"]


def _ranked(text: str, *ranking: tuple[str, float]) -> Message:
    entries = [{"name": n, "confidence": c} for n, c in ranking]
    return Message(data={TEXT: text, INTENT: entries[0], INTENT_RANKING_KEY: entries})


def test_one_question_diet_called_several_gets_diets_next_guess() -> None:
    message = _ranked(
        "what is a mutual, compared with a charity or a social enterprise",
        ("ask_several", 0.8),
        ("ask_what_is_mutual", 0.15),
        ("ask_legal_forms", 0.05),
    )
    [out] = _component().process([message])
    assert out.get(INTENT)["name"] == "ask_what_is_mutual"
    assert out.get(INTENT)["confidence"] == pytest.approx(0.75)
    assert [r["name"] for r in out.get(INTENT_RANKING_KEY)] == [
        "ask_what_is_mutual",
        "ask_legal_forms",
    ]
    assert out.get("question_segments") is None


def test_one_question_with_no_clear_next_guess_falls_back() -> None:
    message = _ranked(
        "tell me everything about it",
        ("ask_several", 0.7),
        ("ask_mis", 0.06),
        ("greet", 0.06),
        ("help", 0.06),
        ("deny", 0.06),
        ("stop", 0.06),
    )
    [out] = _component().process([message])
    assert out.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.3}


@pytest.mark.parametrize(
    "config",
    [
        {"intent": ""},
        {"replaces": "ask_how_to_apply"},
        {"min_questions": 1},
        {"fallback_threshold": 1.5},
        {"fallback_threshold": "high"},
    ],
)
def test_component_refuses_bad_settings(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        _component(**config)


# --- choosing what to answer -----------------------------------------------------------


def _parse(*ranking: tuple[str, float]) -> dict[str, Any]:
    entries = [{"name": n, "confidence": c} for n, c in ranking]
    return {"intent": entries[0], "intent_ranking": entries}


def test_piece_intent_skips_fallback_and_several_and_needs_confidence() -> None:
    assert piece_intent(_parse(("ask_how_to_apply", 0.9))) == "ask_how_to_apply"
    assert piece_intent(_parse(("nlu_fallback", 0.7), ("ask_mis", 0.6))) == "ask_mis"
    assert piece_intent(_parse(("ask_several", 0.9), ("ask_mis", 0.5))) == "ask_mis"
    assert piece_intent(_parse(("ask_mis", 0.2))) is None
    assert piece_intent(_parse(("greet", 0.99), ("ask_mis", 0.01))) is None
    assert piece_intent({}) is None


def test_plan_answers_keeps_order_and_drops_repeats() -> None:
    intents = ["ask_how_to_apply", None, "greet", "ask_what_is_mutual", "ask_how_to_apply"]
    assert plan_answers(intents) == ["ask_how_to_apply", "ask_what_is_mutual"]


# --- the action without Rasa's API ---------------------------------------------------


def _several_tracker(text: str, ranking: list[tuple[str, float]]) -> Any:
    tracker = make_tracker(text, "ask_several", 1.0)
    tracker.latest_message["intent_ranking"] = [
        {"name": n, "confidence": c} for n, c in [("ask_several", 1.0), *ranking]
    ]
    tracker.latest_message["question_segments"] = split_questions(text)
    return tracker


async def test_without_a_token_the_whole_message_intent_is_answered() -> None:
    dispatcher = CollectingDispatcher()
    tracker = _several_tracker(
        "what is a mutual and how do I apply",
        [("ask_what_is_mutual", 0.7), ("ask_how_to_apply", 0.2)],
    )
    action = ActionAnswerSeveral(RasaNlu("http://127.0.0.1:9", ""))
    events = await action.run(dispatcher, tracker, load_domain())
    assert [m["response"] for m in dispatcher.messages] == ["utter_what_is_mutual"]
    assert events == []


async def test_when_rasa_is_unreachable_and_nothing_is_clear_it_asks_to_rephrase() -> None:
    dispatcher = CollectingDispatcher()
    tracker = _several_tracker("blah and what blah", [("greet", 0.3)])
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    action = ActionAnswerSeveral(RasaNlu("http://127.0.0.1:9", "token"))
    await action.run(dispatcher, tracker, load_domain())
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]


async def test_unreachable_rasa_is_reported_as_unavailable() -> None:
    with pytest.raises(NluUnavailable):
        await RasaNlu("http://127.0.0.1:9", "token").parse_many(["hello"])


# --- through the running stack ----------------------------------------------------------

live = pytest.mark.model


def _say(stack: LiveStack, sender: str, text: str) -> list[str]:
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    response.raise_for_status()
    return [m.get("text", "") for m in response.json()]


def _active_loop(stack: LiveStack, sender: str) -> str | None:
    tracker = requests.get(
        # REST conversations are `rest:<sender>` (bot/channels/rest.py).
        f"{stack.rasa_url}/conversations/rest:{sender}/tracker",
        headers={"Authorization": f"Bearer {stack.rasa_token}"},
        timeout=30,
    ).json()
    return (tracker.get("active_loop") or {}).get("name")


def _response_text(name: str) -> str:
    return rendered_response(name)


@live
def test_two_questions_get_two_answers_in_order(live_stack: LiveStack) -> None:
    replies = _say(
        live_stack, uuid.uuid4().hex, "What is a public service mutual, and how do we apply?"
    )
    assert replies == [_response_text("utter_what_is_mutual"), _response_text("utter_how_to_apply")]


@live
def test_three_questions_with_typos_get_three_answers(live_stack: LiveStack) -> None:
    replies = _say(
        live_stack,
        uuid.uuid4().hex,
        "is the programe still running? whats the hotline number? who decides",
    )
    assert replies == [
        _response_text("utter_still_running"),
        _response_text("utter_hotline_number"),
        _response_text("utter_who_decides"),
    ]


@live
def test_a_question_and_am_i_eligible_answers_then_starts_the_check(
    live_stack: LiveStack,
) -> None:
    sender = uuid.uuid4().hex
    replies = _say(live_stack, sender, "who runs the mutual information service and am I eligible?")
    assert replies[0] == _response_text("utter_mis")
    assert replies[1] == _response_text("utter_eligibility_intro")
    assert len(replies) == 3  # the check's first question
    assert _active_loop(live_stack, sender) == "eligibility_form"


@live
def test_several_questions_during_the_check_are_answered_then_it_asks_again(
    live_stack: LiveStack,
) -> None:
    sender = uuid.uuid4().hex
    first = _say(live_stack, sender, "am I eligible?")
    replies = _say(live_stack, sender, "what is a public service mutual? and who decides on bids?")
    assert replies[:2] == [
        _response_text("utter_what_is_mutual"),
        _response_text("utter_who_decides"),
    ]
    assert replies[2] == first[-1]  # the same question again
    assert _active_loop(live_stack, sender) == "eligibility_form"


@pytest.mark.parametrize(
    "hostile",
    [
        " " * 8000,  # took 56 s before: every Rasa caller stalled behind it
        "\t \n" * 8000,
        ", " * 8000,
        " and" * 8000,
        "what is " * 8000,
    ],
)
def test_hostile_whitespace_and_joins_cost_linear_time(hostile: str) -> None:
    import time

    started = time.perf_counter()
    question_count("what is it," + hostile + "how do i apply")
    split_questions(hostile)
    # Generous bound: the old quadratic patterns took a minute on the first input.
    assert time.perf_counter() - started < 2.0


def test_spaces_are_squeezed_but_line_breaks_still_split() -> None:
    assert split_questions("What is a mutual     and   how do we apply?") == [
        "What is a mutual",
        "how do we apply?",
    ]
    assert split_questions("what is a mutual\n\n\n   \nhow do we apply") == [
        "what is a mutual",
        "how do we apply",
    ]
