"""The programme actions: the two-stage fallback."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.programme import ActionHandleFallback, consecutive_fallbacks
from tests.trackers import bot_event, load_domain, make_tracker, rendered_response, user_event


def test_counts_only_the_latest_run_of_fallbacks() -> None:
    events = [
        user_event("asdf", "nlu_fallback"),
        bot_event("Sorry?"),
        user_event("what is a mutual", "ask_what_is_mutual"),
        bot_event("A mutual is..."),
        user_event("qwerty", "nlu_fallback"),
        bot_event("Sorry?"),
        user_event("zxcv", "nlu_fallback"),
    ]
    assert consecutive_fallbacks(events) == 2
    assert consecutive_fallbacks(events[:5]) == 1
    assert consecutive_fallbacks([]) == 0


async def test_first_fallback_asks_to_rephrase() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("blorp", "nlu_fallback", events=[user_event("blorp", "nlu_fallback")])
    await ActionHandleFallback().run(dispatcher, tracker, load_domain())
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]


async def test_second_fallback_offers_a_person_and_the_hotline() -> None:
    dispatcher = CollectingDispatcher()
    events = [
        user_event("blorp", "nlu_fallback"),
        bot_event("?"),
        user_event("glorp", "nlu_fallback"),
    ]
    await ActionHandleFallback().run(dispatcher, make_tracker(events=events), load_domain())
    assert [m["response"] for m in dispatcher.messages] == ["utter_offer_person"]
    offer = load_domain()["responses"]["utter_offer_person"][0]
    assert "0845 5390543" in rendered_response("utter_offer_person")
    assert {"title": "Talk to a person", "payload": "/request_human"} in offer["buttons"]
