"""Rasa's own command line, started with three fixes for speed and one for safety.

Run as ``python -m bot.rasa_runtime``.

``bot.stack`` runs ``python -m bot.rasa_runtime run ...`` where one would run
``rasa run ...``; the arguments are Rasa's. Before Rasa starts, three of its
functions are replaced by versions that give the same results with less work
(measured with py-spy on the REST benchmark, see docs/benchmarks.md):

- Every custom action's reply is checked against Rasa's response schema with
  ``jsonschema.validate``, which first checks the *schema itself* against the
  JSON Schema meta-schema, on every call. That meta-check took about 45% of the
  Rasa server's CPU time in a conversation with custom actions. Here the
  schema is checked once and the validator kept; each reply is still
  validated in full and an invalid one still raises ``ValidationError``.
- spaCy's named-entity recogniser runs on every message, though nothing in our
  pipeline reads spaCy's entities (tokens, lemmas, part-of-speech tags and
  word vectors come from other parts of the model). It is disabled as Rasa
  already disables the parser. The features the model sees do not change.
- Reading a conversation turns each stored event back into an object by its
  type name; Rasa finds the class by walking every subclass of ``Event`` for
  every event (about 10% of the server's time once the two above were gone).
  Here the classes are looked up in a table, rebuilt whenever a name is
  missing (so events defined later are still found); the first class with a
  name wins, as in Rasa's walk.

And one for safety (issue 11, finding 9): Rasa's ``--auth-token`` is only read
from the query string (``?token=...``), so it lands in every access log and
proxy log on the way, and Rasa compares it with ``==``. Here the HTTP API takes
it as ``Authorization: Bearer <token>``, compared in constant time, and refuses
it in a URL. JWT authentication, if configured, is Rasa's own, unchanged.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from inspect import isawaitable
from typing import Any

from bot.core.tokens import bearer_matches

# spaCy pipes whose output Rasa's SpacyTokenizer and SpacyFeaturizer never read.
UNUSED_SPACY_PIPES = ("parser", "ner")
#: The Rasa release whose private functions these replacements were written against
#: and tested to match. Another release may have changed them: refuse, don't guess.
RASA_VERSION = "3.6.21"


class UnsupportedRasa(RuntimeError):
    """The installed Rasa is not the release the replacements were written for."""


def check_rasa_version(installed: str | None = None) -> None:
    """Refuses to patch a Rasa release other than :data:`RASA_VERSION`.

    Raises:
        UnsupportedRasa: Naming both versions and what to do.
    """
    if installed is None:
        from rasa.version import __version__

        installed = str(__version__)
    if installed != RASA_VERSION:
        raise UnsupportedRasa(
            f"bot.rasa_runtime replaces private functions of Rasa {RASA_VERSION}, but Rasa "
            f"{installed} is installed. Check each replacement against that release (and "
            "tests/test_rasa_runtime.py), then update RASA_VERSION; or run plain `rasa run`."
        )


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """A validator for Rasa's action-server response schema, whose schema is checked once."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result`` (same errors, same message)."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_EVENT_CLASSES: dict[str, type] = {}


def resolve_event_type(type_name: str, default: type | None = None) -> type | None:
    """Drop-in for ``Event.resolve_by_type``: the same class, found in a table."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if type_name not in _EVENT_CLASSES:
        table: dict[str, type] = {}
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)
        _EVENT_CLASSES.clear()
        _EVENT_CLASSES.update(table)
    found = _EVENT_CLASSES.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def header_token_auth(rasa_requires_auth: Any) -> Any:
    """Wraps Rasa's ``requires_auth`` so the token travels in a header, not the URL.

    Args:
        rasa_requires_auth: ``rasa.server.requires_auth``.

    Returns:
        A drop-in replacement: the same decorator factory.
    """

    def requires_auth(app: Any, token: str | None = None) -> Any:
        rasa_check = rasa_requires_auth(app, token)

        def decorator(handler: Any) -> Any:
            checked = rasa_check(handler)

            @functools.wraps(handler)
            async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
                if token:
                    if bearer_matches(request.headers.get("Authorization"), token):
                        result = handler(request, *args, **kwargs)
                        return await result if isawaitable(result) else result
                    if "token" in request.args:
                        from rasa.server import ErrorResponse

                        raise ErrorResponse(
                            401,
                            "NotAuthenticated",
                            "Send the token as 'Authorization: Bearer <token>', not in the URL.",
                        )
                # No token configured, or a JWT: Rasa decides, as it always has.
                return await checked(request, *args, **kwargs)

            return decorated

        return decorator

    requires_auth._hotline_patched = True  # type: ignore[attr-defined]
    return requires_auth


def install() -> None:
    """Replaces the four Rasa functions (idempotent).

    Raises:
        UnsupportedRasa: If the installed Rasa is not :data:`RASA_VERSION`.
    """
    check_rasa_version()
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)

    import rasa.server

    if not getattr(rasa.server.requires_auth, "_hotline_patched", False):
        # create_app looks the decorator up when it builds the routes, after this.
        rasa.server.requires_auth = header_token_auth(rasa.server.requires_auth)

    original = SpacyNLP.__dict__["load_model"]
    if getattr(original, "_hotline_patched", False):
        return
    load = original.__func__

    def load_model(spacy_model_name: str) -> Any:
        model = load(spacy_model_name)
        for pipe in UNUSED_SPACY_PIPES:
            if pipe in model.model.pipe_names:
                model.model.disable_pipe(pipe)
        return model

    patched = staticmethod(load_model)
    patched._hotline_patched = True  # type: ignore[attr-defined]
    SpacyNLP.load_model = patched


def main(argv: Sequence[str] | None = None) -> None:
    """Runs ``rasa <argv>`` with the fixes installed."""
    from bot.core import logmask

    logmask.install()  # personal data masked in every log record (issue 13)
    try:
        install()
    except UnsupportedRasa as error:
        sys.exit(f"Configuration error: {error}")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
