"""Rasa's CRF entity extractor, stored as the trained tagger instead of its training set.

Rasa 3.6's ``CRFEntityExtractor`` keeps the whole featurised training set in the
model (125 MB of JSON on our data: every token carries its spaCy vector) and
trains the CRF again each time the model is loaded: 27 s added to every start
of Rasa, every test that loads the model, and a 17 MB archive that takes long
to pack. This subclass stores the trained taggers themselves (sklearn-crfsuite
models pickle as their crfsuite files) and loads them as they are. Training and
prediction are Rasa's own, unchanged.

Configuration (``config.yml``): as ``CRFEntityExtractor``::

    - name: bot.nlu.crf.StoredCRFEntityExtractor
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken

from bot.nlu.storage import store, stored

logger = logging.getLogger(__name__)

TAGGERS_FILE = "crf_taggers.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class StoredCRFEntityExtractor(CRFEntityExtractor):  # type: ignore[misc]
    """``CRFEntityExtractor`` that persists its trained taggers, not its training set."""

    def persist(self, dataset: list[list[CRFToken]]) -> None:
        """Writes the trained taggers and their order (the dataset is not kept)."""
        store(
            self._model_storage,
            self._resource,
            TAGGERS_FILE,
            {"taggers": self.entity_taggers, "order": list(self.crf_order)},
        )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> StoredCRFEntityExtractor:
        """Reads the trained taggers (untrained if the model has none, as Rasa's does)."""
        found = stored(model_storage, resource, TAGGERS_FILE)
        if found is None:
            logger.warning(f"No trained {cls.__name__} in the model: it will find no entities.")
            return cls(config, model_storage, resource)
        extractor = cls(config, model_storage, resource, found["taggers"])
        extractor.crf_order = found["order"]
        return extractor
