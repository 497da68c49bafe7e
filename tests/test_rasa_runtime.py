"""The two speed fixes of bot/rasa_runtime.py change no result."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import numpy as np
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.core.events import Event

from bot import rasa_runtime
from tests.trackers import ROOT

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_LOAD = SpacyNLP.__dict__["load_model"]
ORIGINAL_RESOLVE = Event.resolve_by_type

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
    Event.resolve_by_type = staticmethod(ORIGINAL_RESOLVE)


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
    for text in [
        "What is a public service mutual and how do we apply?",
        "how much did Knowsley Youth Services get in 2014",
        "eligable?? 😀 <b>council</b> team",
    ]:
        a, b = lean(text), full(text)
        assert [(t.text, t.lemma_, t.pos_, t.tag_) for t in a] == [
            (t.text, t.lemma_, t.pos_, t.tag_) for t in b
        ]
        assert np.array_equal(a.vector, b.vector)
        assert not a.ents


def test_runs_rasas_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.rasa_runtime", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rasa Version" in done.stdout and "3.6.21" in done.stdout


def test_event_types_resolve_to_rasas_classes() -> None:
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses

    names = [c.type_name for c in all_subclasses(events.Event)] + [
        "user",
        "bot",
        "action",
        "slot",
        "session_started",
        "active_loop",
        "followup",
        "action_execution_rejected",
        "loop_interrupted",
        "entities",
        "user_featurization",
    ]
    for name in names:
        assert rasa_runtime.resolve_event_type(name) is ORIGINAL_RESOLVE(name)
    assert rasa_runtime.resolve_event_type("topic") is None
    assert rasa_runtime.resolve_event_type("nonsense", events.UserUttered) is events.UserUttered
    with pytest.raises(ValueError, match="Unknown event name 'nonsense'"):
        rasa_runtime.resolve_event_type("nonsense")


def test_an_event_class_defined_later_is_found() -> None:
    from rasa.shared.core.events import SessionStarted

    rasa_runtime.resolve_event_type("user")  # the table exists before the new class

    class LateEvent(SessionStarted):
        type_name = "hotline_late_event"

    assert rasa_runtime.resolve_event_type("hotline_late_event") is LateEvent


def test_stored_events_deserialise_the_same(patched: object) -> None:
    from rasa.shared.core.events import Event, deserialise_events

    dicts = [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "action", "name": "utter_greet"},
        {"event": "bot", "text": "Hello"},
        {"event": "slot", "name": "handoff_active", "value": True},
        {"event": "session_started"},
    ]
    assert Event.resolve_by_type is rasa_runtime.resolve_event_type
    assert [type(e).__name__ for e in deserialise_events(dicts)] == [
        "UserUttered",
        "ActionExecuted",
        "BotUttered",
        "SlotSet",
        "SessionStarted",
    ]


def test_refuses_to_patch_another_rasa_release() -> None:
    from bot.rasa_runtime import RASA_VERSION, UnsupportedRasa, check_rasa_version

    check_rasa_version(RASA_VERSION)
    check_rasa_version()  # the installed one is the one written for
    with pytest.raises(UnsupportedRasa, match="3.7.0"):
        check_rasa_version("3.7.0")


async def test_the_api_token_is_read_from_a_header_in_constant_time() -> None:
    """Issue 11, finding 9: not from the URL, where access and proxy logs keep it."""
    from types import SimpleNamespace

    import rasa.server
    from rasa.server import ErrorResponse

    rasa_runtime.install()
    assert getattr(rasa.server.requires_auth, "_hotline_patched", False)
    app = SimpleNamespace(config={})

    async def handler(request: object) -> str:
        return "answered"

    guarded = rasa.server.requires_auth(app, "s3cret-token")(handler)

    def request(headers: dict[str, str], args: dict[str, str]) -> object:
        return SimpleNamespace(headers=headers, args=args)

    assert await guarded(request({"Authorization": "Bearer s3cret-token"}, {})) == "answered"
    for headers, args in (
        ({}, {"token": "s3cret-token"}),  # the URL: refused even when right
        ({"Authorization": "Bearer wrong"}, {}),
        ({"Authorization": "Basic s3cret-token"}, {}),
        ({}, {}),
    ):
        with pytest.raises(ErrorResponse):
            await guarded(request(headers, args))
    # Without a configured token, Rasa's own rule (no authentication) is unchanged.
    assert await rasa.server.requires_auth(app, None)(handler)(request({}, {})) == "answered"
