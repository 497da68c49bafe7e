"""The programme questions are defined once, and the config and the domain agree with them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.programme import programme_answers
from bot.core.content import ContentError, programme_questions
from bot.handoff.summary import topic_labels
from tests.trackers import ROOT, load_domain


def test_config_several_questions_component_replaces_exactly_the_programme_questions() -> None:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    [several] = [c for c in config["pipeline"] if c["name"].endswith("SeveralQuestionsClassifier")]
    expected = {q.intent for q in programme_questions()} | {"nlu_fallback", "check_eligibility"}
    assert set(several["replaces"]) == expected


def test_every_question_has_its_intent_and_response_in_the_domain() -> None:
    domain = load_domain()
    for question in programme_questions():
        assert question.intent in domain["intents"]
        assert question.response in domain["responses"]


def test_the_actions_read_the_one_list() -> None:
    for question in programme_questions():
        assert programme_answers()[question.intent] == question.response
        assert topic_labels()[question.intent] == question.topic


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("questions: []\n", "non-empty list"),
        ("nothing: here\n", "non-empty list"),
        ("questions:\n  - intent: ask_mis\n    response: utter_mis\n", "needs topic"),
        ("questions: [\n", "cannot be read"),
        (
            "questions:\n"
            "  - {intent: ask_mis, response: utter_mis, topic: a}\n"
            "  - {intent: ask_mis, response: utter_mis, topic: b}\n",
            "listed twice",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "questions.yml"
    path.write_text(text)
    with pytest.raises(ContentError, match=problem):
        programme_questions(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="cannot be read"):
        programme_questions(tmp_path / "none.yml")
