"""Register names made of the programme's own words still make an award question.

"Mutual Ventures", "Public Service Mutuals" and "Three Borough Mutual" share words
with questions about mutuals and the programme; a question about one of them is an
award question whatever else it says (issue 9's known gap). These sentences are not
in the training data (checked below), and the trained model answers them.
"""

from __future__ import annotations

from typing import Any

import pytest

from scripts import model_fingerprint, nlu_eval
from tests.trackers import ROOT

MODEL = ROOT / "models" / "current.tar.gz"
QUESTIONS = [
    ("Was Mutual Ventures contracted by a council?", "supplier", "Mutual Ventures"),
    ("did any local authority bring in public service mutuals", "supplier", None),
    ("how much did Three Borough Mutual receive", "recipient", "Three Borough Mutual"),
    ("Mutual Ventures which councils did they advise", "supplier", "Mutual Ventures"),
    ("which hospital trusts has mutual ventures worked with", "supplier", None),
]


@pytest.fixture(scope="module")
def parses() -> list[dict[str, Any]]:
    try:
        model_fingerprint.verify(MODEL.resolve(), ROOT)
    except model_fingerprint.StaleModel as error:
        pytest.fail(f"{error}: run `make train`")
    results, _ = nlu_eval.parse_with(MODEL, [text for text, _, _ in QUESTIONS])
    return [parse for parse, _ in results]


def test_the_questions_are_not_training_data() -> None:
    training = [e.text for e in nlu_eval.load_examples(nlu_eval.NLU_DATA)]
    assert nlu_eval.overlapping([text for text, _, _ in QUESTIONS], training) == []


@pytest.mark.model
@pytest.mark.parametrize("index", range(len(QUESTIONS)))
def test_a_question_about_a_named_body_is_an_award_question(
    parses: list[dict[str, Any]], index: int
) -> None:
    text, kind, value = QUESTIONS[index]
    parse = parses[index]
    assert parse["intent"]["name"] == "ask_award", (text, parse["intent"])
    found = {(e["entity"], e.get("value")) for e in parse.get("entities") or []}
    assert any(k == kind and (value is None or value in str(v)) for k, v in found), (text, found)
