"""Scores the trained model on our held-out utterances (never trained on).

Writes ``reports/heldout_nlu.json`` with per-intent and entity figures, and
asserts the intent macro-F1 gate of 0.92.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.trackers import ROOT

HELDOUT = ROOT / "tests" / "heldout" / "nlu_heldout.yml"
# HELDOUT_MODEL scores another model (e.g. a candidate pipeline) without installing it.
MODEL = Path(os.environ.get("HELDOUT_MODEL", ROOT / "models" / "current.tar.gz"))
REPORT = ROOT / "reports" / "heldout_nlu.json"
MACRO_F1_GATE = 0.92

pytestmark = pytest.mark.model


def _normalise(text: str) -> str:
    return re.sub(r"[^\w ]", "", text.lower()).strip()


@pytest.fixture(scope="module")
def heldout() -> Any:
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(HELDOUT))


@pytest.fixture(scope="module")
def predictions(heldout: Any) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    assert MODEL.exists(), "no trained model: run `make train`"
    agent = Agent.load(str(MODEL))

    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(m.get("text")) for m in heldout.intent_examples]

    return asyncio.run(parse_all())


def test_heldout_is_never_trained_on(heldout: Any) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    training = {
        _normalise(m.get("text")) for m in load_data(str(ROOT / "data" / "nlu")).intent_examples
    }
    overlap = [
        m.get("text") for m in heldout.intent_examples if _normalise(m.get("text")) in training
    ]
    assert overlap == []


def test_heldout_covers_every_intent(heldout: Any) -> None:
    import yaml

    intents = yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    counts = {i: 0 for i in intents}
    for message in heldout.intent_examples:
        counts[message.get("intent")] += 1
    assert {i: n for i, n in counts.items() if n < 10} == {}


def entity_set(entities: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (e["entity"], _normalise(str(e.get("value", ""))))
        for e in entities
        if e.get("extractor") in (None, "DIETClassifier", "RegexEntityExtractor")
    }


def test_intent_macro_f1_meets_the_gate(heldout: Any, predictions: list[dict[str, Any]]) -> None:
    from sklearn.metrics import classification_report, f1_score

    truth = [m.get("intent") for m in heldout.intent_examples]
    predicted = [p["intent"]["name"] for p in predictions]
    macro = f1_score(truth, predicted, average="macro", labels=sorted(set(truth)), zero_division=0)
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    errors = [
        {
            "text": m.get("text"),
            "intent": t,
            "predicted": p["intent"]["name"],
            "confidence": round(p["intent"]["confidence"], 3),
        }
        for m, t, p in zip(heldout.intent_examples, truth, predictions, strict=False)
        if p["intent"]["name"] != t
    ]
    # Entities: exact (type, value) matches on the held-out award questions.
    tp = fp = fn = 0
    for message, prediction in zip(heldout.intent_examples, predictions, strict=False):
        expected = entity_set(message.get("entities") or [])
        found = entity_set(prediction.get("entities") or [])
        tp, fp, fn = (
            tp + len(expected & found),
            fp + len(found - expected),
            fn + len(expected - found),
        )
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "examples": len(truth),
                "intent_macro_f1": macro,
                "intent_accuracy": report["accuracy"],
                "per_intent": report,
                "entity_precision": precision,
                "entity_recall": recall,
                "errors": errors,
            },
            indent=2,
        )
    )
    print(
        f"\nheld-out intent macro-F1 {macro:.3f}, accuracy {report['accuracy']:.3f}, "
        f"entities P {precision:.3f} R {recall:.3f}; {len(errors)} errors, report {REPORT}"
    )
    assert macro >= MACRO_F1_GATE, f"macro-F1 {macro:.3f} < {MACRO_F1_GATE}; see {REPORT}"
