"""The sealed held-out gate: the trained model scored on messages it never saw.

``tests/heldout/nlu_sealed.yml`` was written by someone who never saw the
training data and is reported here as figures only (``reports/heldout_nlu.json``:
per-intent F1, confusion counts, entity figures per type), never as the texts
it got wrong. The model scored is always ``models/current.tar.gz``, and only
after its manifest shows it was trained from the project's current inputs: no
setting points the gate at another model or another set.

The development set (``tests/nlu_dev/nlu_dev_set.yml``, the old held-out set,
tuned against) is scored too, with its errors, in ``reports/dev_nlu.json``; it
gates nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import yaml

from scripts import model_fingerprint, nlu_eval
from tests.trackers import ROOT

MODEL = ROOT / "models" / "current.tar.gz"
REPORT = ROOT / "reports" / "heldout_nlu.json"
DEV_REPORT = ROOT / "reports" / "dev_nlu.json"
MACRO_F1_GATE = 0.92
MIN_PER_INTENT = 10


@pytest.fixture(scope="module")
def sealed() -> list[nlu_eval.Example]:
    return nlu_eval.load_examples(nlu_eval.SEALED_SET)


@pytest.fixture(scope="module")
def training_texts() -> list[str]:
    return [e.text for e in nlu_eval.load_examples(nlu_eval.NLU_DATA)]


# --- the overlap rule itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "How do we APPLY?",  # case
        "how do we apply",  # punctuation
        "  how   do we  apply ?  ",  # spacing
        "how, do we apply!!",  # punctuation inside
        "so how do we apply",  # a near copy: word-set Jaccard 4/5
    ],
)
def test_overlap_check_catches_copies_and_near_copies(variant: str) -> None:
    assert nlu_eval.overlapping([variant], ["How do we apply?"]) == [0]


def test_overlap_check_lets_different_messages_through() -> None:
    training = ["How do we apply?", "what is a mutual"]
    assert (
        nlu_eval.overlapping(["how do we apply for legal advice as a council team"], training) == []
    )
    assert nlu_eval.jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)


# --- the sealed set ------------------------------------------------------------------------


def test_sealed_set_is_never_trained_on(
    sealed: list[nlu_eval.Example], training_texts: list[str]
) -> None:
    found = nlu_eval.overlapping([e.text for e in sealed], training_texts)
    # Only a count: the sealed texts are not shown. A training example added since
    # copies a sealed message; change it, or run `python -m scripts.sealed_set prune`.
    assert len(found) == 0, f"{len(found)} sealed messages copy or nearly copy training data"


def test_sealed_set_covers_every_intent(sealed: list[nlu_eval.Example]) -> None:
    intents = yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    counts = Counter(e.intent for e in sealed)
    assert {i: counts[i] for i in intents if counts[i] < MIN_PER_INTENT} == {}
    assert set(counts) <= set(intents)


# --- the model -----------------------------------------------------------------------------


@pytest.mark.model
def test_model_was_trained_from_the_current_inputs() -> None:
    model_fingerprint.verify(MODEL.resolve(), ROOT)


@pytest.fixture(scope="module")
def dev() -> list[nlu_eval.Example]:
    return nlu_eval.load_examples(nlu_eval.DEV_SET)


@pytest.fixture(scope="module")
def parses(
    sealed: list[nlu_eval.Example], dev: list[nlu_eval.Example]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sealed and dev parses, from one load of the verified model."""
    try:
        model_fingerprint.verify(MODEL.resolve(), ROOT)
    except model_fingerprint.StaleModel as error:
        pytest.fail(f"{error}: run `make train`")
    results, _ = nlu_eval.parse_with(MODEL, [e.text for e in [*sealed, *dev]])
    everything = [p for p, _ in results]
    return everything[: len(sealed)], everything[len(sealed) :]


@pytest.mark.model
def test_intent_macro_f1_meets_the_gate(
    sealed: list[nlu_eval.Example], parses: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    figures = nlu_eval.score(sealed, parses[0])
    assert "errors" not in figures
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        json.dumps({"set": str(nlu_eval.SEALED_SET.relative_to(ROOT)), **figures}, indent=2)
    )
    macro = figures["intent_macro_f1"]
    print(
        f"\nsealed held-out ({figures['examples']} messages): intent macro-F1 {macro:.3f}, "
        f"accuracy {figures['intent_accuracy']:.3f}, fallback {figures['fallback_rate']:.3f}, "
        f"entities P {figures['entity_precision']:.3f} R {figures['entity_recall']:.3f}; "
        f"report {REPORT}"
    )
    assert macro >= MACRO_F1_GATE, f"macro-F1 {macro:.3f} < {MACRO_F1_GATE}; see {REPORT}"


@pytest.mark.model
def test_development_set_report(
    dev: list[nlu_eval.Example], parses: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    figures = nlu_eval.score(dev, parses[1], with_errors=True)
    DEV_REPORT.parent.mkdir(exist_ok=True)
    DEV_REPORT.write_text(json.dumps(figures, indent=2))
    print(f"\ndevelopment set: intent macro-F1 {figures['intent_macro_f1']:.3f}")
    assert figures["examples"] == len(dev)
