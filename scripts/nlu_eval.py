"""Scores a trained NLU model on an evaluation set; the overlap check against training data.

Tooling, loaded by the held-out gate (``tests/test_nlu_heldout.py``) and by
``benchmarks/nlu_compare.py``; never by the running product.

Two evaluation sets live in the repository:

- ``tests/heldout/nlu_sealed.yml``: the sealed set, written by someone who never saw
  the training data. It is reported only as figures (per-intent F1, confusion
  counts, entity figures per type), never as the texts it got wrong, so that
  nobody tunes against it. The gate in ``make test`` runs on it.
- ``tests/nlu_dev/nlu_dev_set.yml``: the development set (the old held-out set, read
  and tuned against). Its errors may be read; choices are made on it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NLU_DATA = ROOT / "data" / "nlu"
SEALED_SET = ROOT / "tests" / "heldout" / "nlu_sealed.yml"
DEV_SET = ROOT / "tests" / "nlu_dev" / "nlu_dev_set.yml"
FALLBACK_INTENT = "nlu_fallback"
#: Two texts whose word sets overlap this much (Jaccard) count as the same message.
NEAR_DUPLICATE_JACCARD = 0.8


@dataclass(frozen=True)
class Example:
    """An annotated message."""

    text: str
    intent: str
    # (entity type, start, end, value)
    entities: tuple[tuple[str, int, int, str], ...]


def load_examples(path: Path) -> list[Example]:
    """Reads Rasa NLU YAML (a file or a folder) into plain examples."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for message in load_data(str(path)).intent_examples:
        entities = tuple(
            (str(e["entity"]), int(e["start"]), int(e["end"]), str(e["value"]))
            for e in message.get("entities") or []
        )
        examples.append(Example(message.get("text"), message.get("intent"), entities))
    return examples


def with_typos(examples: Sequence[Example], rate: float = 0.3, seed: int = 1) -> list[Example]:
    """The examples with typing slips: two neighbouring letters swapped inside words.

    Each word of four letters or more is slipped with probability ``rate``, from a
    generator seeded per text, so the set is the same on every run. A swap keeps
    the text's length, so entity offsets stay valid.
    """
    import random

    slipped = []
    for example in examples:
        rng = random.Random(f"{seed}:{example.text}")  # noqa: S311 - test noise, not secrets
        chars = list(example.text)
        for match in re.finditer(r"[A-Za-z]{4,}", example.text):
            if rng.random() < rate:
                i = rng.randrange(match.start() + 1, match.end() - 2)
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        slipped.append(Example("".join(chars), example.intent, example.entities))
    return slipped


# --- overlap ----------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, runs of spaces made one: "Hi,  there!" -> "hi there"."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def word_set(text: str) -> frozenset[str]:
    """The distinct words of a text after :func:`normalise`."""
    return frozenset(normalise(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Word-set Jaccard similarity (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def overlapping(
    evaluation: Iterable[str], training: Iterable[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[int]:
    """Indices of evaluation texts that copy, or nearly copy, a training text.

    A copy is the same text after :func:`normalise` (so case, punctuation and
    spacing variants count); a near copy shares at least ``threshold`` of its
    word set with a training text (Jaccard). Only indices are returned: the
    sealed set's texts are never shown.

    Args:
        evaluation: The evaluation texts.
        training: The training texts.
        threshold: The Jaccard similarity at or above which two texts are the same.

    Returns:
        Sorted indices into ``evaluation``.
    """
    training_sets = {word_set(t) for t in training}
    normalised = {normalise(t) for t in training}
    # Index training word sets by word so that each evaluation text is compared
    # only with training texts sharing a word (Jaccard > 0).
    by_word: dict[str, list[frozenset[str]]] = {}
    for words in training_sets:
        for word in words:
            by_word.setdefault(word, []).append(words)
    found = []
    for index, text in enumerate(evaluation):
        if normalise(text) in normalised:
            found.append(index)
            continue
        words = word_set(text)
        candidates = {id(s): s for w in words for s in by_word.get(w, ())}
        if any(jaccard(words, other) >= threshold for other in candidates.values()):
            found.append(index)
    return found


# --- scoring ----------------------------------------------------------------------------


def top_non_fallback(parsed: dict[str, Any]) -> str | None:
    """The classifier's best intent, ignoring the FallbackClassifier's verdict."""
    for ranked in parsed.get("intent_ranking") or []:
        if ranked.get("name") != FALLBACK_INTENT:
            return str(ranked.get("name"))
    intent = (parsed.get("intent") or {}).get("name")
    return None if intent == FALLBACK_INTENT else intent


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (0 where undefined)."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def predicted_entities(parsed: dict[str, Any]) -> set[tuple[str, int, int]]:
    """The entities of a parse as (type, start, end), each span once.

    Two extractors finding the same span with the same type is one finding, not
    a false positive. The value is not compared: the sets are annotated with the
    text as typed, and mapping it to the register's name (EntitySynonymMapper,
    then the action's fuzzy matching) is tested on its own.
    """
    return {
        (str(e.get("entity")), int(e.get("start", -1)), int(e.get("end", -1)))
        for e in parsed.get("entities") or []
    }


async def parse_all(agent: Any, texts: Sequence[str]) -> list[tuple[dict[str, Any], float]]:
    """Parses each text in turn with a loaded Rasa agent, timing each (one warm-up first)."""
    await agent.parse_message("hello")
    results = []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        results.append((parsed, time.perf_counter() - started))
    return results


def parse_with(
    model: Path, texts: Sequence[str]
) -> tuple[list[tuple[dict[str, Any], float]], float]:
    """Loads a model in this process and parses the texts.

    Returns:
        The parses with their latencies, and the model's load time in seconds.
    """
    import logging
    import warnings

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parse, text included, at debug level: the sealed set's
    # texts must not reach a log or a failing test's captured output.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        started = time.perf_counter()
        agent = Agent.load(str(model))
        load_seconds = time.perf_counter() - started
        parsed = asyncio.run(parse_all(agent, texts))
    return parsed, load_seconds


def score(
    examples: Sequence[Example],
    parsed: Sequence[dict[str, Any]],
    *,
    with_errors: bool = False,
) -> dict[str, Any]:
    """Intent and entity figures for parses of ``examples``.

    Args:
        examples: The gold examples.
        parsed: One parse per example, in order.
        with_errors: Include the misclassified texts (development set only: the
            sealed set is reported as figures alone).

    Returns:
        Accuracy, macro and weighted F1 over the set's intents (a predicted
        ``nlu_fallback`` is a miss), the fallback rate, accuracy ignoring the
        fallback, per-intent figures, entity precision/recall/F1 overall and per
        type (exact span and type), and the commonest confusions as counts.
    """
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    gold = [e.intent for e in examples]
    predicted = [str((p.get("intent") or {}).get("name")) for p in parsed]
    without_fallback = [str(top_non_fallback(p)) for p in parsed]
    labels = sorted(set(gold))
    report = classification_report(
        gold, predicted, labels=labels, output_dict=True, zero_division=0
    )

    gold_entities: Counter[tuple[Any, ...]] = Counter()
    found_entities: Counter[tuple[Any, ...]] = Counter()
    for index, (example, result) in enumerate(zip(examples, parsed, strict=True)):
        gold_entities.update((index, *entity[:3]) for entity in example.entities)
        found_entities.update((index, *entity) for entity in predicted_entities(result))
    matched = gold_entities & found_entities
    per_type = {}
    for kind in sorted({k[1] for k in gold_entities} | {k[1] for k in found_entities}):

        def count(counter: Counter[tuple[Any, ...]], wanted: str = kind) -> int:
            return sum(n for key, n in counter.items() if key[1] == wanted)

        per_type[kind] = {
            **prf(count(matched), count(found_entities), count(gold_entities)),
            "support": count(gold_entities),
        }
    overall = prf(sum(matched.values()), sum(found_entities.values()), sum(gold_entities.values()))
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    figures: dict[str, Any] = {
        "examples": len(gold),
        "intent_accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "intent_macro_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        "intent_weighted_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="weighted", zero_division=0)),
            4,
        ),
        "fallback_rate": round(predicted.count(FALLBACK_INTENT) / max(len(predicted), 1), 4),
        "intent_accuracy_without_fallback": round(float(accuracy_score(gold, without_fallback)), 4),
        "entity_precision": overall["precision"],
        "entity_recall": overall["recall"],
        "entity_f1": overall["f1"],
        "entity_support": sum(gold_entities.values()),
        "per_intent": {
            label: {k: round(float(v), 4) for k, v in report[label].items()} for label in labels
        },
        "per_entity_type": per_type,
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common()
        ],
    }
    if with_errors:
        figures["errors"] = [
            {"text": e.text, "intent": e.intent, "predicted": p}
            for e, p in zip(examples, predicted, strict=True)
            if p != e.intent
        ]
    return figures
