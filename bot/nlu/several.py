"""An NLU component that marks messages asking several questions at once.

The intent classifier gives one intent per message, so "What is a mutual and how do we apply?"
would be answered only in part (or, torn between two intents, not at all: the
FallbackClassifier turns a close call into ``nlu_fallback``). This component
runs after the classifiers. When a message holds two or more questions
(:func:`bot.nlu.segments.question_count`) and its intent is one of the
configured question intents, it relabels the message ``ask_several``. The classifier is
trained on such messages too, and sometimes gives ``ask_several`` to a long
single question; when the message cannot be cut into two pieces at all, the
component hands it the next intent in the classifier's ranking instead (its confidence
renormalised without ``ask_several``; ``nlu_fallback`` below
``fallback_threshold``, as the FallbackClassifier would). Whenever the final
intent is ``ask_several`` it adds the pieces as ``question_segments`` to the
parse data, so that ``action_answer_several`` can answer each piece in turn.

Configuration (``config.yml``)::

    - name: bot.nlu.several.SeveralQuestionsClassifier
      intent: ask_several
      replaces: [nlu_fallback, ask_how_to_apply, ...]
      fallback_threshold: 0.3   # the FallbackClassifier's threshold
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.segments import SEGMENTS_KEY, is_question, question_count, split_questions
from bot.nlu.settings import ConfigError

FALLBACK_INTENT = "nlu_fallback"


def asked(pieces: list[str]) -> list[str]:
    """The pieces from the first question on: what the caller tells first is context.

    "We're a group of librarians at a council and keen to go for it, what do we need
    to do to apply" is one question with a statement in front, not two questions.
    """
    first = next(
        (i for i, p in enumerate(pieces) if is_question(p) or p.rstrip().endswith("?")),
        len(pieces),
    )
    return pieces[first:]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SeveralQuestionsClassifier(GraphComponent, IntentClassifier):  # type: ignore[misc]
    """Relabels messages that ask two or more questions as one intent."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs an intent classifier before it."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The intent to give such messages and the intents it may replace."""
        return {
            "intent": "ask_several",
            "replaces": [FALLBACK_INTENT],
            "min_questions": 2,
            "fallback_threshold": 0.3,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        """Checks the settings.

        Raises:
            ConfigError: If the intent is empty, ``replaces`` is not a list of
                names, or ``min_questions`` is below 2.
        """
        intent = config.get("intent")
        replaces = config.get("replaces")
        minimum = config.get("min_questions")
        if not isinstance(intent, str) or not intent.strip():
            raise ConfigError("SeveralQuestionsClassifier: `intent` must be an intent name")
        if not isinstance(replaces, list) or not all(isinstance(i, str) for i in replaces):
            raise ConfigError("SeveralQuestionsClassifier: `replaces` must be a list of intents")
        if not isinstance(minimum, int) or minimum < 2:
            raise ConfigError("SeveralQuestionsClassifier: `min_questions` must be 2 or more")
        threshold = config.get("fallback_threshold")
        if not isinstance(threshold, (int, float)) or not 0 <= threshold < 1:
            raise ConfigError(
                "SeveralQuestionsClassifier: `fallback_threshold` must be a number from 0 to 1"
            )
        self.intent = intent.strip()
        self.replaces = frozenset(replaces)
        self.min_questions = minimum
        self.fallback_threshold = float(threshold)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SeveralQuestionsClassifier:
        """Creates the component from its settings."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Relabels each message that asks several questions; adds its pieces."""
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if name not in self.replaces and name != self.intent:
            return  # most messages: nothing to split
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) != self.intent
        ]
        pieces = split_questions(text)
        if name in self.replaces and question_count(text, pieces) >= self.min_questions:
            self._set_intent(message, self.intent, 1.0, ranking)
            name = self.intent
        if name != self.intent:
            return
        if len(asked(pieces)) >= 2:
            message.set(SEGMENTS_KEY, pieces, add_to_output=True)
            return
        # The classifier said "several" of a message that holds one question (perhaps with
        # context in front: "we're librarians at a council, how do we apply"): take its
        # next guess, as sure as it is among the other intents.
        several = next(
            (
                float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) == self.intent
            ),
            0.0,
        )
        others = [r for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT]
        if not others:
            self._set_intent(message, FALLBACK_INTENT, self.fallback_threshold, ranking)
            return
        best = others[0]
        rest = 1.0 - several
        confidence = float(best.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        confidence = min(1.0, confidence / rest) if rest > 0 else confidence
        if confidence < self.fallback_threshold:
            self._set_intent(message, FALLBACK_INTENT, self.fallback_threshold, ranking)
        else:
            self._set_intent(message, best[INTENT_NAME_KEY], confidence, ranking)

    @staticmethod
    def _set_intent(
        message: Message, name: str, confidence: float, ranking: list[dict[str, Any]]
    ) -> None:
        """Puts ``name`` first in the message's intent and ranking."""
        new = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        rest = [r for r in ranking if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, new, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [new, *rest], add_to_output=True)
