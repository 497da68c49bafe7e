"""Keeps register entities where they mean something, once each, without "the".

Two extractors find the awards register's names: the CRF, from context, and
the lookup tables (``RegexEntityExtractor``), wherever a name appears. The
lookup tables cannot tell "adult social care" in "how much went to adult social
care?" (a filter on an award look-up) from the same words in "we're an adult
social care team, are we eligible?" (a description of the caller), and the two
extractors often find the same name twice, or nested names ("Blackpool" inside
"Blackpool Teaching Hospitals NHS Foundation Trust"). This component, placed
after the extractors and before ``EntitySynonymMapper``:

1. drops each scoped entity type unless the classifier's best intent
   (``nlu_fallback`` aside) is one of its scope's intents: only award
   questions use register names, only a rating message gives a rating;
2. takes a leading article off a span ("the North West" -> "North West"), as
   the training data annotates it;
3. keeps one entity per stretch of text: of overlapping entities the longest,
   and of two on the same span the one found first in the pipeline (the CRF's,
   which reads the context);
4. keeps only the first entity of each ``single`` type: one message gives one
   rating ("5 out of 5" is a 5, not two).

Configuration (``config.yml``)::

    - name: bot.nlu.scope.EntityScope
      scopes:
        - entities: [recipient, place, region, sector, supplier]
          intents: [ask_award, ask_award_totals, ask_award_source]
        - entities: [rating]
          intents: [rate_service]
      single: [rating]
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.settings import ConfigError

FALLBACK_INTENT = "nlu_fallback"
_ARTICLE = re.compile(r"the\s+", re.IGNORECASE)


def best_intent(parse: dict[str, Any]) -> str | None:
    """The classifier's best intent, ignoring a fallback verdict.

    Args:
        parse: The message's data so far (``intent`` and ``intent_ranking``).

    Returns:
        The intent name, or None if there is none.
    """
    for ranked in parse.get(INTENT_RANKING_KEY) or []:
        name = ranked.get(INTENT_NAME_KEY)
        if name and name != FALLBACK_INTENT:
            return str(name)
    name = (parse.get(INTENT) or {}).get(INTENT_NAME_KEY)
    return None if name in (None, FALLBACK_INTENT) else str(name)


def without_article(entity: dict[str, Any], text: str) -> dict[str, Any]:
    """The entity with a leading "the " taken off its span and value.

    Args:
        entity: One entity (``start``, ``end``, ``value``).
        text: The message text the offsets index.

    Returns:
        The same entity, or a copy with the shorter span.
    """
    start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
    if not isinstance(start, int) or not isinstance(end, int):
        return entity
    found = _ARTICLE.match(text, start, end)
    if found is None or found.end() >= end:
        return entity
    fixed = dict(entity)
    fixed[ENTITY_ATTRIBUTE_START] = found.end()
    value = entity.get(ENTITY_ATTRIBUTE_VALUE)
    if isinstance(value, str) and value == text[start:end]:
        fixed[ENTITY_ATTRIBUTE_VALUE] = text[found.end() : end]
    return fixed


def one_per_span(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keeps, of entities whose spans overlap, the longest (the first on a tie).

    Entities without offsets (a button's payload) are all kept. The kept spans
    are held sorted, so each candidate is checked against its two neighbours
    only: a message with thousands of matches (a long run of digits, each a
    possible rating) costs n log n, not n squared.

    Args:
        entities: In pipeline order.

    Returns:
        The kept entities, in their original order.
    """
    placed = [
        (i, e)
        for i, e in enumerate(entities)
        if isinstance(e.get(ENTITY_ATTRIBUTE_START), int)
        and isinstance(e.get(ENTITY_ATTRIBUTE_END), int)
    ]
    placed.sort(key=lambda item: (item[1]["start"] - item[1]["end"], item[0]))
    starts: list[int] = []  # kept spans, sorted by start (they never overlap)
    ends: list[int] = []
    keep: set[int] = set()
    for index, entity in placed:
        start, end = entity["start"], entity["end"]
        at = bisect.bisect_left(starts, start)
        if at < len(starts) and starts[at] < end:
            continue  # the next kept span begins inside this one
        if at > 0 and ends[at - 1] > start:
            continue  # the previous kept span runs into this one
        starts.insert(at, start)
        ends.insert(at, end)
        keep.add(index)
    return [
        e
        for i, e in enumerate(entities)
        if i in keep or not isinstance(e.get(ENTITY_ATTRIBUTE_START), int)
    ]


def _names(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(n, str) and n for n in value):
        raise ConfigError(f"EntityScope: {where} must be a non-empty list of names.")
    return frozenset(value)


def first_of_each(entities: list[dict[str, Any]], kinds: frozenset[str]) -> list[dict[str, Any]]:
    """Keeps only the leftmost entity of each type in ``kinds``.

    Args:
        entities: The message's entities.
        kinds: Types a message gives at most once.

    Returns:
        The entities, in their original order, without the later ones of those types.
    """
    first: dict[str, int] = {}
    for index, entity in enumerate(entities):
        kind = entity.get(ENTITY_ATTRIBUTE_TYPE)
        if kind not in kinds:
            continue
        start = entity.get(ENTITY_ATTRIBUTE_START)
        best = first.get(kind)
        best_start = entities[best].get(ENTITY_ATTRIBUTE_START) if best is not None else None
        if best is None or (
            isinstance(start, int) and isinstance(best_start, int) and start < best_start
        ):
            first[kind] = index
    keep = set(first.values())
    return [
        e for i, e in enumerate(entities) if e.get(ENTITY_ATTRIBUTE_TYPE) not in kinds or i in keep
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityScope(GraphComponent, EntityExtractorMixin):  # type: ignore[misc]
    """Keeps entities in the intents that use them, once per stretch of text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No scopes by default: they must be named."""
        return {"scopes": [], "single": []}

    def __init__(self, config: dict[str, Any]) -> None:
        """Checks the configuration.

        Raises:
            ConfigError: If a scope does not name its entities and intents, or an
                entity is in two scopes.
        """
        scopes = config.get("scopes")
        if not isinstance(scopes, list) or not scopes:
            raise ConfigError("EntityScope: 'scopes' must be a non-empty list.")
        self.scopes: dict[str, frozenset[str]] = {}
        for number, scope in enumerate(scopes, 1):
            if not isinstance(scope, dict):
                raise ConfigError(f"EntityScope: scope {number} must have entities and intents.")
            intents = _names(scope.get("intents"), f"scope {number}'s 'intents'")
            for entity in _names(scope.get("entities"), f"scope {number}'s 'entities'"):
                if entity in self.scopes:
                    raise ConfigError(f"EntityScope: {entity!r} is in two scopes.")
                self.scopes[entity] = intents
        single = config.get("single") or []
        self.single = _names(single, "'single'") if single else frozenset()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityScope:
        """Builds the component from its configuration."""
        return cls(config)

    def scoped(self, parse: dict[str, Any], text: str) -> list[dict[str, Any]]:
        """The message's entities after the rules of this module.

        Args:
            parse: The message's data (``intent``, ``intent_ranking``, ``entities``).
            text: The message text.

        Returns:
            The entities to keep.
        """
        intent = best_intent(parse)
        entities = []
        for entity in parse.get(ENTITIES) or []:
            intents = self.scopes.get(entity.get(ENTITY_ATTRIBUTE_TYPE))
            if intents is None:
                entities.append(entity)
            elif intent in intents:
                entities.append(without_article(entity, text))
        return first_of_each(one_per_span(entities), self.single)

    def process(self, messages: list[Message]) -> list[Message]:
        """Filters each message's entities in place."""
        for message in messages:
            if message.get(ENTITIES):
                message.set(
                    ENTITIES,
                    self.scoped(message.as_dict(), message.get(TEXT) or ""),
                    add_to_output=True,
                )
        return messages
