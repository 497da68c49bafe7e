"""The entity scope component: register names in award questions only, one per span."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.scope import ConfigError, EntityScope

CONFIG: dict[str, Any] = {
    "scopes": [
        {
            "entities": ["recipient", "place", "region", "sector", "supplier"],
            "intents": ["ask_award", "ask_award_totals", "ask_award_source"],
        },
        {"entities": ["rating"], "intents": ["rate_service"]},
    ],
    "single": ["rating"],
}


def entity(kind: str, text: str, part: str, extractor: str = "X", nth: int = 0) -> dict[str, Any]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return {
        "entity": kind,
        "start": start,
        "end": start + len(part),
        "value": part,
        "extractor": extractor,
    }


def parse(text: str, intent: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    message = Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}],
            "entities": entities,
        }
    )
    EntityScope(CONFIG).process([message])
    return list(message.get("entities"))


def spans(entities: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["entity"], e["value"]) for e in entities]


def test_register_names_outside_award_questions_are_dropped() -> None:
    text = "we're an adult social care team in Bristol, are we eligible"
    found = parse(
        text,
        "check_eligibility",
        [entity("sector", text, "adult social care"), entity("place", text, "Bristol")],
    )
    assert found == []


def test_register_names_in_award_questions_are_kept() -> None:
    text = "how much went to adult social care in Bristol"
    found = parse(
        text,
        "ask_award",
        [entity("sector", text, "adult social care"), entity("place", text, "Bristol")],
    )
    assert spans(found) == [("sector", "adult social care"), ("place", "Bristol")]


def test_the_fallback_verdict_does_not_hide_the_award_question() -> None:
    text = "anything for Essex"
    message = Message(
        data={
            "text": text,
            "intent": {"name": "nlu_fallback", "confidence": 0.3},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.3},
                {"name": "ask_award", "confidence": 0.25},
            ],
            "entities": [entity("place", text, "Essex")],
        }
    )
    EntityScope(CONFIG).process([message])
    assert spans(message.get("entities")) == [("place", "Essex")]


def test_unscoped_types_pass_through_in_any_intent() -> None:
    text = "what was the amount"
    found = parse(text, "deny", [entity("award_attribute", text, "amount")])
    assert spans(found) == [("award_attribute", "amount")]


def test_a_leading_article_is_taken_off() -> None:
    text = "which awards were made in the North West"
    found = parse(text, "ask_award", [entity("region", text, "the North West")])
    assert spans(found) == [("region", "North West")]
    assert text[found[0]["start"] : found[0]["end"]] == "North West"


def test_the_article_alone_or_a_name_starting_with_the_letters_stays() -> None:
    text = "anything for Theale"
    found = parse(text, "ask_award", [entity("place", text, "Theale")])
    assert spans(found) == [("place", "Theale")]


def test_nested_and_repeated_names_become_one() -> None:
    text = "was there support at Blackpool Teaching Hospitals NHS Foundation Trust"
    found = parse(
        text,
        "ask_award",
        [
            entity("place", text, "Blackpool", "CRF"),
            entity("place", text, "Blackpool Teaching Hospitals NHS Foundation Trust", "Regex"),
            entity("sector", text, "NHS", "Regex"),
        ],
    )
    assert spans(found) == [("place", "Blackpool Teaching Hospitals NHS Foundation Trust")]


def test_on_the_same_span_the_first_extractor_wins() -> None:
    text = "did Knowsley get anything"
    found = parse(
        text,
        "ask_award",
        [entity("recipient", text, "Knowsley", "CRF"), entity("place", text, "Knowsley", "Re")],
    )
    assert spans(found) == [("recipient", "Knowsley")]


def test_one_rating_per_message_and_only_in_a_rating() -> None:
    text = "5 out of 5, really helpful"
    found = parse(
        text, "rate_service", [entity("rating", text, "5"), entity("rating", text, "5", nth=1)]
    )
    assert [(e["entity"], e["start"]) for e in found] == [("rating", 0)]
    text = "could I talk to one of your people"
    assert parse(text, "request_human", [entity("rating", text, "one")]) == []


def test_button_entities_without_offsets_are_kept() -> None:
    found = parse("/ask_award", "ask_award", [{"entity": "recipient", "value": "Hazlitt"}])
    assert spans(found) == [("recipient", "Hazlitt")]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"scopes": []},
        {"scopes": [{"entities": ["place"]}]},
        {"scopes": [{"entities": [], "intents": ["ask_award"]}]},
        {"scopes": [{"entities": ["place"], "intents": "ask_award"}]},
        {
            "scopes": [
                {"entities": ["place"], "intents": ["ask_award"]},
                {"entities": ["place"], "intents": ["rate_service"]},
            ]
        },
        {"scopes": [{"entities": ["place"], "intents": ["ask_award"]}], "single": "rating"},
    ],
)
def test_refuses_unusable_settings(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        EntityScope(config)


def test_thousands_of_matches_cost_n_log_n() -> None:
    """A 64 KB run of '1 2. ' gave 26,000 rating matches: n squared took 89 s."""
    import time

    text = "1 2. " * 13_000
    found = [
        {"entity": "rating", "start": i, "end": i + 1, "value": text[i]}
        for i in range(0, len(text), 5)
    ]
    # An unscoped span over the first two ratings: those two give way to it.
    nested = [{"entity": "award_attribute", "start": 0, "end": 9, "value": text[:9]}]
    started = time.perf_counter()
    kept = EntityScope(CONFIG).scoped(
        {"intent": {"name": "rate_service"}, "entities": nested + found}, text
    )
    assert time.perf_counter() - started < 1.0
    assert [(e["entity"], e["start"]) for e in kept] == [("award_attribute", 0), ("rating", 10)]
