"""Rasa's own command line, started with two fixes for speed (``python -m bot.rasa_runtime``).

``bot.stack`` runs ``python -m bot.rasa_runtime run ...`` where one would run
``rasa run ...``; the arguments are Rasa's. Before Rasa starts, two of its
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
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

# spaCy pipes whose output Rasa's SpacyTokenizer and SpacyFeaturizer never read.
UNUSED_SPACY_PIPES = ("parser", "ner")


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


def install() -> None:
    """Replaces the two Rasa functions (idempotent)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    RemoteAction._validate_action_result = validate_action_result

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
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
