"""Typing slips read as the word the training data knows ("eligable" as "eligible").

Callers type fast and speech-to-text mishears: a word the training data never
had gives the word-count features nothing, and the character n-grams only part
of what the word would have given. This component learns the training data's
words (and the lookup tables' names, so a place is never "corrected") and, at
parse time, reads an unknown word as a known one that is one slip away:

- two neighbouring letters swapped ("mutaul"), from ``swap_min_chars`` letters;
- from ``edit_min_chars`` letters, also one letter missing, extra or wrong.

Among several such words the commonest in the training data wins; a tie is
left alone, as are digits, short words, words it knows and English words the
training data happens not to have ("compliant" is not a slip for "complaint",
nor "bought" for "brought"): those listed by spaCy's lemmatizer (its WordNet
index and irregular forms), read from the pipeline's spaCy model. Only the tokens'
``text`` (in the case typed) and ``lemma`` change: the message's text, and so
every entity's span and value, stay as the caller wrote them. Training messages
are never changed (their words are known by definition).

Place it after the tokenizer and before the featurizers that read tokens
(``CountVectorsFeaturizer``, the CRF).

Configuration (``config.yml``)::

    - name: bot.nlu.spelling.SpellingNormalizer
      swap_min_chars: 4   # "form" -> "from" only if "form" was never in the data
      edit_min_chars: 6
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.settings import whole_number
from bot.nlu.storage import store, stored

WORDS_FILE = "spelling_words.joblib"


def _swaps(word: str) -> list[str]:
    """Every word made by swapping two neighbouring, different letters of ``word``."""
    return [
        word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        for i in range(len(word) - 1)
        if word[i] != word[i + 1]
    ]


def _cased_like(typed: str, word: str) -> str:
    """``word`` in the case the caller typed (the CRF reads a capital as a name's sign)."""
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def english_words(model: SpacyModel | None) -> frozenset[str]:
    """The words spaCy's lemmatizer lists (WordNet's index and irregular forms), if any."""
    if model is None or "lemmatizer" not in model.model.pipe_names:
        return frozenset()
    lookups = getattr(model.model.get_pipe("lemmatizer"), "lookups", None)
    words: set[str] = set()
    for name in ("lemma_index", "lemma_exc"):
        if lookups is None or not lookups.has_table(name):
            continue
        for entries in lookups.get_table(name).values():
            words.update(str(word).lower() for word in entries)
    return frozenset(words)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True, model_from="SpacyNLP"
)
class SpellingNormalizer(GraphComponent):  # type: ignore[misc]
    """Reads an unknown word as the known word one typing slip away."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs the tokens."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: swaps from four letters, any one slip from six."""
        return {"swap_min_chars": 4, "edit_min_chars": 6}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        words: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """Checks the configuration.

        Args:
            config: The merged configuration.
            model_storage: Where the learnt words are stored.
            resource: This component's resource.
            words: Lower-cased known word -> (how often it was seen, its lemma).

        Raises:
            ConfigError: If a setting is unusable.
        """
        name = type(self).__name__
        self.swap_min_chars = whole_number(config, name, "swap_min_chars", 3, 50)
        self.edit_min_chars = whole_number(config, name, "edit_min_chars", 3, 50)
        self._model_storage = model_storage
        self._resource = resource
        self.words: dict[str, tuple[int, str]] = {}
        self._long: list[str] = []
        self._english: frozenset[str] | None = None
        self._learn(dict(words or {}))

    def _learn(self, words: dict[str, tuple[int, str]]) -> None:
        self.words = words
        # a word one letter longer or shorter than the caller's can be one slip away
        self._long = [w for w in words if len(w) >= self.edit_min_chars - 1]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpellingNormalizer:
        """An untrained component (it changes nothing)."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SpellingNormalizer:
        """The component with the words learnt at training (none if untrained)."""
        return cls(config, model_storage, resource, stored(model_storage, resource, WORDS_FILE))

    def train(self, training_data: TrainingData, model: SpacyModel | None = None) -> Resource:
        """Learns the training examples' words and the lookup tables' names.

        Args:
            training_data: The tokenized training data.
            model: The pipeline's spaCy model (Rasa passes it; used at parse time only).

        Returns:
            The resource the words are stored in.
        """
        counts: Counter[str] = Counter()
        lemmas: dict[str, Counter[str]] = {}
        for example in training_data.training_examples:
            for token in example.get(TOKENS_NAMES[TEXT]) or []:
                word = token.text.lower()
                counts[word] += 1
                lemmas.setdefault(word, Counter())[token.lemma or token.text] += 1
        for table in training_data.lookup_tables:
            for element in table.get("elements") or []:
                for word in str(element).lower().split():
                    counts.setdefault(word, 0)  # known, but never a likelier reading
        words = {
            word: (count, lemmas[word].most_common(1)[0][0] if word in lemmas else word)
            for word, count in counts.items()
        }
        store(self._model_storage, self._resource, WORDS_FILE, words)
        self._learn(words)
        return self._resource

    def known(self, word: str) -> str | None:
        """The known word an unknown ``word`` is one slip from, if exactly one is likeliest.

        Args:
            word: A lower-cased word.

        Returns:
            The known word, or None (known already, too short, nothing close, or a tie).
        """
        if word in self.words or not word.isalpha() or len(word) < self.swap_min_chars:
            return None
        if self._english and word in self._english:
            return None
        near = [w for w in _swaps(word) if w in self.words]
        if not near and len(word) >= self.edit_min_chars:
            near = [
                choice
                for choice, _, _ in process.extract(
                    word, self._long, scorer=OSA.distance, score_cutoff=1, limit=None
                )
            ]
        if not near:
            return None
        ranked = sorted(near, key=lambda w: -self.words[w][0])
        if len(ranked) > 1 and self.words[ranked[0]][0] == self.words[ranked[1]][0]:
            return None
        return ranked[0]

    def _normalise(self, message: Message) -> None:
        tokens: list[Token] = message.get(TOKENS_NAMES[TEXT]) or []
        for token in tokens:
            word = self.known(token.text.lower())
            if word is not None:
                token.text = _cased_like(token.text, word)
                token.lemma = self.words[word][1]

    def process_training_data(
        self, training_data: TrainingData, model: SpacyModel | None = None
    ) -> TrainingData:
        """Training data as it is: its words are the known ones."""
        return training_data

    def process(self, messages: list[Message], model: SpacyModel | None = None) -> list[Message]:
        """Reads each message's unknown words as the known words one slip away.

        Args:
            messages: Tokenized messages.
            model: The pipeline's spaCy model (Rasa passes it): its English words are
                never read as slips.

        Returns:
            The same messages.
        """
        if self._english is None and model is not None:
            self._english = english_words(model)
        if self.words:
            for message in messages:
                self._normalise(message)
        return messages
