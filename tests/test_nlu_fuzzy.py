"""Names with slips in them, found in award questions only (bot/nlu/fuzzy.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.fuzzy import ConfigError, FuzzyLookupExtractor

CONFIG = {"intents": ["ask_award"], "min_chars": 6, "chars_per_edit": 12, "max_tokens": 400}
TABLES = [
    {"name": "place", "elements": ["Knowsley", "Hertfordshire", "Hull", "Oldham"]},
    {"name": "recipient", "elements": ["Three Borough Mutual", "Spiral Health CIC"]},
]


def trained(tmp_path: Path, config: dict[str, Any] | None = None) -> FuzzyLookupExtractor:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("fuzzy")
    component = FuzzyLookupExtractor.create(
        {**FuzzyLookupExtractor.get_default_config(), **(config or CONFIG)},
        storage,
        resource,
        ExecutionContext(GraphSchema({}), "test"),
    )
    component.train(TrainingData(lookup_tables=TABLES))
    return FuzzyLookupExtractor.load(
        {**FuzzyLookupExtractor.get_default_config(), **(config or CONFIG)},
        storage,
        resource,
        ExecutionContext(GraphSchema({}), "test"),
    )


def found(component: FuzzyLookupExtractor, text: str, intent: str = "ask_award") -> list[Any]:
    message = Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}],
        }
    )
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    component.process([message])
    return [
        (e["entity"], text[e["start"] : e["end"]], e["value"])
        for e in message.get("entities") or []
    ]


def test_one_slip_or_a_swap_is_found_with_the_listed_name(tmp_path: Path) -> None:
    component = trained(tmp_path)
    assert found(component, "anything for Knowsly") == [("place", "Knowsly", "Knowsley")]
    assert found(component, "awards in Knoswley pls") == [("place", "Knoswley", "Knowsley")]
    assert found(component, "what did three borugh mutal get") == [
        ("recipient", "three borugh mutal", "Three Borough Mutual")
    ]


def test_exact_names_are_left_to_the_lookup_tables(tmp_path: Path) -> None:
    assert found(trained(tmp_path), "anything for Knowsley") == []


def test_short_names_and_distant_words_are_not_matched(tmp_path: Path) -> None:
    component = trained(tmp_path)
    assert found(component, "anything in hall") == []  # "Hull" is too short to guess at
    assert found(component, "anything for Knowledge") == []  # three edits from Knowsley
    assert found(component, "awards in Oldman") == []  # two letters wrong in six
    assert found(component, "awards in Olldham") == [("place", "Olldham", "Oldham")]


def test_only_in_the_configured_intents(tmp_path: Path) -> None:
    assert found(trained(tmp_path), "we are near Knowsly", intent="check_eligibility") == []


def test_a_span_another_extractor_took_is_left_alone(tmp_path: Path) -> None:
    component = trained(tmp_path)
    text = "anything for Knowsly"
    message = Message(
        data={
            "text": text,
            "intent": {"name": "ask_award"},
            "intent_ranking": [{"name": "ask_award", "confidence": 1.0}],
            "entities": [{"entity": "recipient", "start": 13, "end": 20, "value": "x"}],
        }
    )
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    component.process([message])
    assert len(message.get("entities")) == 1


def test_untrained_it_finds_nothing(tmp_path: Path) -> None:
    component = FuzzyLookupExtractor.load(
        {**FuzzyLookupExtractor.get_default_config(), **CONFIG},
        LocalModelStorage(tmp_path),
        Resource("none"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert found(component, "anything for Knowsly") == []


@pytest.mark.parametrize(
    "config",
    [
        {"intents": []},
        {"intents": "ask_award"},
        {"intents": ["ask_award"], "min_chars": 1},
        {"intents": ["ask_award"], "chars_per_edit": True},
        {"intents": ["ask_award"], "max_tokens": 0},
    ],
)
def test_refuses_unusable_settings(tmp_path: Path, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        FuzzyLookupExtractor(
            {**FuzzyLookupExtractor.get_default_config(), **config},
            LocalModelStorage(tmp_path),
            Resource("x"),
        )
