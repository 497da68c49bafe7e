"""Register names and UK places found when they are mistyped ("Knowsly", "Hertfordsire").

The lookup tables (``RegexEntityExtractor``) find a name only as it is spelt,
and the CRF's ``pattern`` feature only fires on an exact match, so a slip of
the keyboard or of speech-to-text loses the name: the weakest figures of the
NLU benchmark were names in typed-with-slips messages. This component learns
the lookup tables at training time and, in award questions only (the intents
that use names, as in ``bot.nlu.scope``), compares each run of one to four
words with the names by optimal-string-alignment distance (``rapidfuzz``: a
letter missing, extra, wrong, or two swapped is one edit): one edit is allowed
per ``chars_per_edit`` letters, at least one. A close enough run becomes an
entity with the name it was close to as its value. Short names (under
``min_chars``) are left to the exact tables: "Hull" is one letter from "hall".
The cost is bounded: at most ``max_tokens`` words are read.

Place it after the CRF and the lookup tables and before ``EntityScope``, which
keeps one entity per stretch of text (an exact match over the same span wins,
being found first).

Configuration (``config.yml``)::

    - name: bot.nlu.fuzzy.FuzzyLookupExtractor
      intents: [ask_award, ask_award_totals, ask_award_source]
      min_chars: 6        # names shorter than this are matched exactly only
      chars_per_edit: 12  # 6-11 letters: 1 edit, 12-23: 2, ...
"""

from __future__ import annotations

import logging
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.scope import best_intent
from bot.nlu.settings import ConfigError, whole_number
from bot.nlu.storage import store, stored

logger = logging.getLogger(__name__)

NAMES_FILE = "fuzzy_names.joblib"
MAX_WORDS = 4


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class FuzzyLookupExtractor(GraphComponent, EntityExtractorMixin):  # type: ignore[misc]
    """Finds lookup-table names with a slip or two in them, in award questions."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs the tokens (word offsets)."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: names of six letters or more, one slip per twelve letters."""
        return {"intents": [], "min_chars": 6, "chars_per_edit": 12, "max_tokens": 400}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        names: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        """Checks the configuration.

        Args:
            config: The merged configuration.
            model_storage: Where the learnt names are stored.
            resource: This component's resource.
            names: Lower-cased name -> (entity type, name as listed).

        Raises:
            ConfigError: If a setting is unusable.
        """
        intents = config.get("intents")
        if (
            not isinstance(intents, list)
            or not intents
            or not all(isinstance(i, str) and i for i in intents)
        ):
            raise ConfigError("FuzzyLookupExtractor: 'intents' must be a list of intent names.")
        name = type(self).__name__
        self.intents = frozenset(intents)
        self.min_chars = whole_number(config, name, "min_chars", 3, 100)
        self.chars_per_edit = whole_number(config, name, "chars_per_edit", 4, 100)
        self.max_tokens = whole_number(config, name, "max_tokens", 1, 100_000)
        self._model_storage = model_storage
        self._resource = resource
        self.names: dict[str, tuple[str, str]] = dict(names or {})
        self._choices = list(self.names)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FuzzyLookupExtractor:
        """An untrained component."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FuzzyLookupExtractor:
        """The component with the names learnt at training (none if untrained)."""
        return cls(config, model_storage, resource, stored(model_storage, resource, NAMES_FILE))

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the lookup tables' names long enough to be matched loosely."""
        names: dict[str, tuple[str, str]] = {}
        for table in training_data.lookup_tables:
            kind = str(table.get("name"))
            for element in table.get("elements") or []:
                name = " ".join(str(element).split())
                if len(name) >= self.min_chars and len(name.split()) <= MAX_WORDS:
                    names.setdefault(name.lower(), (kind, name))
        self.names = names
        self._choices = list(names)
        store(self._model_storage, self._resource, NAMES_FILE, names)
        return self._resource

    def found(self, message: Message) -> list[dict[str, Any]]:
        """The loosely matched names in one message (none outside the intents).

        Args:
            message: A message with tokens and an intent ranking.

        Returns:
            New entities, at most one per run of words, best match first.
        """
        if not self._choices or best_intent(message.as_dict()) not in self.intents:
            return []
        text = message.get(TEXT) or ""
        tokens = (message.get(TOKENS_NAMES[TEXT]) or [])[: self.max_tokens]
        taken: list[tuple[int, int]] = [
            (e["start"], e["end"])
            for e in message.get(ENTITIES) or []
            if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
        ]
        candidates = []
        for first in range(len(tokens)):
            for last in range(first, min(first + MAX_WORDS, len(tokens))):
                start, end = tokens[first].start, tokens[last].end
                piece = text[start:end]
                if len(piece) < self.min_chars:
                    continue
                best = process.extractOne(
                    piece.lower(),
                    self._choices,
                    scorer=OSA.distance,
                    score_cutoff=1 + len(piece) // self.chars_per_edit,
                )
                if best is None or best[1] == 0:
                    continue  # nothing close, or exact (the lookup tables have it)
                candidates.append((int(best[1]), -(end - start), start, end, best[0]))
        entities = []
        # Fewest edits first, then the longest run, then the earliest.
        for edits, _, start, end, key in sorted(candidates):
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            kind, name = self.names[key]
            entities.append(
                {
                    "entity": kind,
                    "start": start,
                    "end": end,
                    "value": name,
                    "confidence_entity": round(1 - edits / max(end - start, 1), 3),
                    "extractor": type(self).__name__,
                }
            )
        return entities

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the loosely matched names to each message's entities."""
        for message in messages:
            extra = self.found(message)
            if extra:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *extra], add_to_output=True)
        return messages
