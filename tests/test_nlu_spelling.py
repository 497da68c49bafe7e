"""Typing slips read as the training data's words (bot/nlu/spelling.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.settings import ConfigError
from bot.nlu.spelling import SpellingNormalizer, english_words

TRAINING = [
    "am I eligible for support",
    "is our team eligible",
    "how do we apply for the programme",
    "what is a mutual",
    "where do I send the form",
    "tell me about the awards",
    "who funded the awards",
    "I want to make a complaint",
    "which consultants were brought in",
]
TABLES = [{"name": "place", "elements": ["Harlow", "Hertfordshire"]}]


def tokenized(text: str, **data: Any) -> Message:
    message = Message(data={"text": text, **data})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    return message


def trained(tmp_path: Path, config: dict[str, Any] | None = None) -> SpellingNormalizer:
    settings = {**SpellingNormalizer.get_default_config(), **(config or {})}
    storage, resource = LocalModelStorage(tmp_path), Resource("spelling")
    context = ExecutionContext(GraphSchema({}), "test")
    component = SpellingNormalizer.create(settings, storage, resource, context)
    data = TrainingData(
        training_examples=[tokenized(t, intent="x") for t in TRAINING], lookup_tables=TABLES
    )
    component.train(data)
    return SpellingNormalizer.load(settings, storage, resource, context)


def words(
    component: SpellingNormalizer, text: str, model: SpacyModel | None = None
) -> tuple[list[str], Message]:
    message = tokenized(text)
    component.process([message], model)
    return [t.text for t in message.get(TOKENS_NAMES[TEXT])], message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("am i elgiible", "am i eligible"),  # two letters swapped
        ("is our taem eligable", "is our team eligible"),  # a swap, and a wrong letter
        ("apply for the programe", "apply for the programme"),  # a letter missing
        ("what is a mutaul", "what is a mutual"),
        ("tell me about the awrads", "tell me about the awards"),
    ],
)
def test_a_slip_is_read_as_the_known_word(tmp_path: Path, text: str, expected: str) -> None:
    assert words(trained(tmp_path), text)[0] == expected.split()


@pytest.fixture(scope="module")
def spacy_model(tmp_path_factory: pytest.TempPathFactory) -> SpacyModel:
    """The pipeline's spaCy model, as Rasa's SpacyNLP provides it."""
    return SpacyNLP.create(
        {**SpacyNLP.get_default_config(), "model": "en_core_web_md"},
        LocalModelStorage(tmp_path_factory.mktemp("spacy")),
        Resource("spacy"),
        ExecutionContext(GraphSchema({}), "test"),
    ).provide()


def test_english_words_are_never_read_as_slips(tmp_path: Path, spacy_model: SpacyModel) -> None:
    component = trained(tmp_path)
    text = "is the form compliant and who bought it"
    # without the dictionary they would be one slip from "complaint" and "brought"
    assert words(component, text)[0][3] == "complaint"
    assert words(component, text, spacy_model)[0] == text.split()
    # slips are still read
    assert words(component, "am i elgiible to make a compliant", spacy_model)[0][2] == "eligible"
    assert {"compliant", "bought", "browse"} <= english_words(spacy_model)
    assert "elgiible" not in english_words(spacy_model)
    assert english_words(None) == frozenset()


def test_the_case_typed_is_kept(tmp_path: Path) -> None:
    assert words(trained(tmp_path), "Taem ELIGABLE Harlwo")[0] == ["Team", "ELIGIBLE", "Harlow"]


def test_known_words_names_digits_and_short_words_are_left(tmp_path: Path) -> None:
    component = trained(tmp_path)
    # "aply": under six letters only a swap is read; "Harlw" is not one from a word
    for text in ("where do I send the form", "awards in Harlow", "ref 12345", "how to aply"):
        assert words(component, text)[0] == text.split()


def test_a_tie_is_left_alone(tmp_path: Path) -> None:
    component = trained(tmp_path)
    assert component.known("awarda") == "awards"
    component.words = {"awards": (2, "award"), "awardx": (2, "awardx")}
    component._long = list(component.words)
    assert component.known("awarda") is None


def test_the_text_and_so_the_entities_stay_as_typed(tmp_path: Path) -> None:
    normalised, message = words(trained(tmp_path), "is our taem eligible")
    assert normalised[2] == "team"
    assert message.get("text") == "is our taem eligible"
    token = message.get(TOKENS_NAMES[TEXT])[2]
    assert (token.start, token.end) == (7, 11)


def test_untrained_it_changes_nothing(tmp_path: Path) -> None:
    component = SpellingNormalizer.load(
        SpellingNormalizer.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("none"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert words(component, "am i elgiible")[0] == ["am", "i", "elgiible"]


def test_training_data_is_not_changed(tmp_path: Path) -> None:
    component = trained(tmp_path)
    data = TrainingData(training_examples=[tokenized("am i elgiible", intent="x")])
    component.process_training_data(data)
    assert [t.text for t in data.training_examples[0].get(TOKENS_NAMES[TEXT])] == [
        "am",
        "i",
        "elgiible",
    ]


@pytest.mark.parametrize(
    "config",
    [{"swap_min_chars": 2}, {"edit_min_chars": "6"}, {"edit_min_chars": True}],
)
def test_refuses_unusable_settings(tmp_path: Path, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SpellingNormalizer(
            {**SpellingNormalizer.get_default_config(), **config},
            LocalModelStorage(tmp_path),
            Resource("x"),
        )
