"""The linear intent classifier, trained and run on real Rasa features (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear import FeatureBlocks, LinearIntentClassifier

EXAMPLES = {
    "greet": ["hello", "hi there", "good morning", "hiya", "hello hello", "morning all"],
    "ask_how_to_apply": [
        "how do we apply",
        "how do i apply for support",
        "application steps",
        "what are the steps to apply",
        "where do we send an application",
        "apply how",
    ],
    "ask_hotline_number": [
        "what is the hotline number",
        "phone number please",
        "number to ring",
        "how do i call you",
        "hotline no",
        "telephone number for the hotline",
    ],
}


def _storage(path: Path) -> LocalModelStorage:
    path.mkdir(parents=True, exist_ok=True)
    return LocalModelStorage(path)


def _context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


def _featurise(tmp_path: Path) -> tuple[TrainingData, WhitespaceTokenizer, list[object]]:
    storage = _storage(tmp_path / "featurizers")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    words = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("words"), _context("words")
    )
    chars = CountVectorsFeaturizer.create(
        {
            **CountVectorsFeaturizer.get_default_config(),
            "analyzer": "char_wb",
            "min_ngram": 1,
            "max_ngram": 4,
        },
        storage,
        Resource("chars"),
        _context("chars"),
    )
    data = TrainingData(
        [
            Message(data={TEXT: text, INTENT: intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )
    tokenizer.process_training_data(data)
    for featurizer in (words, chars):
        featurizer.train(data)
        featurizer.process_training_data(data)
    return data, tokenizer, [words, chars]


def _message(text: str, tokenizer: WhitespaceTokenizer, featurizers: list[object]) -> Message:
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    for featurizer in featurizers:
        featurizer.process([message])  # type: ignore[attr-defined]
    return message


def _classifier(tmp_path: Path, **config: object) -> LinearIntentClassifier:
    storage = _storage(tmp_path / "classifier")
    return LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **config},
        storage,
        Resource("linear"),
        _context("linear"),
    )


def test_learns_intents_and_ranks_them(tmp_path: Path) -> None:
    data, tokenizer, featurizers = _featurise(tmp_path)
    classifier = _classifier(tmp_path)
    classifier.train(data)
    for text, intent in [
        ("hello there", "greet"),
        ("how can we aply", "ask_how_to_apply"),
        ("whats the hotline phone number", "ask_hotline_number"),
    ]:
        [message] = classifier.process([_message(text, tokenizer, featurizers)])
        assert message.get(INTENT)["name"] == intent
        ranking = message.get(INTENT_RANKING_KEY)
        assert [r["name"] for r in ranking][0] == intent
        assert len(ranking) == 3
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_training_is_deterministic(tmp_path: Path) -> None:
    data, tokenizer, featurizers = _featurise(tmp_path)
    first, second = _classifier(tmp_path / "a"), _classifier(tmp_path / "b")
    first.train(data)
    second.train(data)
    texts = ["hi", "apply", "number", "something else entirely", ""]
    a = first.process([_message(t, tokenizer, featurizers) for t in texts])
    b = second.process([_message(t, tokenizer, featurizers) for t in texts])
    assert [m.get(INTENT_RANKING_KEY) for m in a] == [m.get(INTENT_RANKING_KEY) for m in b]


def test_survives_persist_and_load(tmp_path: Path) -> None:
    data, tokenizer, featurizers = _featurise(tmp_path)
    storage = _storage(tmp_path / "classifier")
    resource = Resource("linear")
    trained = LinearIntentClassifier.create(
        LinearIntentClassifier.get_default_config(), storage, resource, _context("linear")
    )
    trained.train(data)
    loaded = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), storage, resource, _context("linear")
    )
    message = _message("what number do i ring", tokenizer, featurizers)
    assert loaded.process([message])[0].get(INTENT) == trained.process(
        [_message("what number do i ring", tokenizer, featurizers)]
    )[0].get(INTENT)


def test_untrained_component_leaves_messages_alone(tmp_path: Path) -> None:
    storage = _storage(tmp_path / "empty")
    loaded = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), storage, Resource("none"), _context("x")
    )
    message = Message(data={TEXT: "hello"})
    assert loaded.process([message])[0].get(INTENT) is None


@pytest.mark.parametrize("config", [{"C": 0}, {"C": -1}, {"max_iter": 0}])
def test_refuses_unusable_settings(tmp_path: Path, config: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="needs C > 0"):
        _classifier(tmp_path, **config)


def test_blocks_are_weighted_to_unit_length_whatever_their_scale() -> None:
    def message(counts: list[int], vector: list[float]) -> Message:
        m = Message(data={TEXT: "x"})
        m.add_features(Features(scipy.sparse.coo_matrix([counts]), "sentence", TEXT, "counts"))
        m.add_features(Features(np.array([vector]), "sentence", TEXT, "vectors"))
        return m

    blocks = FeatureBlocks()
    rows = blocks.fit_transform(
        [message([9, 0, 3], [100.0, -50.0]), message([0, 1, 0], [0.1, 0.2])]
    )
    assert blocks.origins == ["counts", "vectors"]
    for row in rows.toarray():
        assert np.linalg.norm(row[:3]) == pytest.approx(1.0)
        assert np.linalg.norm(row[3:]) == pytest.approx(1.0)
    # A message missing a block gets zeros there, not a shifted row.
    bare = Message(data={TEXT: "y"})
    bare.add_features(Features(np.array([[1.0, 1.0]]), "sentence", TEXT, "vectors"))
    assert blocks.transform([bare]).toarray()[0][:3].tolist() == [0.0, 0.0, 0.0]
