"""The two speed fixes of bot/rasa_runtime.py change no result."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import numpy as np
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.nlu.utils.spacy_utils import SpacyNLP

from bot import rasa_runtime
from tests.trackers import ROOT

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_LOAD = SpacyNLP.__dict__["load_model"]

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "followup", "name": "eligibility_form"}]},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": [{"text": 5}], "events": []},
    {},
]


@pytest.fixture
def patched() -> object:
    rasa_runtime.install()
    yield
    RemoteAction._validate_action_result = ORIGINAL_VALIDATE
    SpacyNLP.load_model = ORIGINAL_LOAD


def _outcome(validate: object, response: dict[str, object]) -> str:
    try:
        validate(RemoteAction("x", None), response)  # type: ignore[operator]
    except jsonschema.ValidationError as error:
        return f"invalid: {error.message}"
    return "valid"


@pytest.mark.parametrize("response", RESPONSES)
def test_action_replies_are_judged_exactly_as_rasa_judges_them(
    response: dict[str, object],
) -> None:
    assert _outcome(rasa_runtime.validate_action_result, response) == _outcome(
        ORIGINAL_VALIDATE, response
    )


def test_the_schema_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rasa_runtime.action_response_validator.cache_clear()
    calls = []
    cls = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s: calls.append(s)))
    for _ in range(20):
        rasa_runtime.validate_action_result(None, RESPONSES[1])
    assert len(calls) == 1
    rasa_runtime.action_response_validator.cache_clear()


def test_install_replaces_both_and_is_idempotent(patched: object) -> None:
    rasa_runtime.install()
    assert RemoteAction._validate_action_result is rasa_runtime.validate_action_result
    assert getattr(SpacyNLP.__dict__["load_model"], "_hotline_patched", False)


@pytest.mark.model
def test_spacy_gives_the_same_tokens_lemmas_tags_and_vectors_without_ner(patched: object) -> None:
    lean = SpacyNLP.load_model("en_core_web_md").model
    full = ORIGINAL_LOAD.__func__("en_core_web_md").model
    assert {"ner", "parser"} <= set(lean.disabled)
    assert "ner" in full.pipe_names
    for text in ["What is a public service mutual and how do we apply?",
                 "how much did Knowsley Youth Services get in 2014",
                 "eligable?? 😀 <b>council</b> team"]:
        a, b = lean(text), full(text)
        assert [(t.text, t.lemma_, t.pos_, t.tag_) for t in a] == [
            (t.text, t.lemma_, t.pos_, t.tag_) for t in b
        ]
        assert np.array_equal(a.vector, b.vector)
        assert not a.ents


def test_runs_rasas_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.rasa_runtime", "--version"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rasa Version" in done.stdout and "3.6.21" in done.stdout
