"""Caller messages from the tracker store as NLU training data, with personal data masked.

``python -m bot privacy export-nlu [FILE]`` writes what callers actually typed,
grouped by the intent the model gave it, in Rasa's NLU YAML format, for the NLU
maintainers to review and copy from (it never writes into ``data/nlu``). Every
kind of personal data (:data:`bot.core.pii.ALL_KINDS`: phone numbers, emails, NI
numbers, bank and card details) is masked in each message, and a message that is
nothing but a masked number is left out. Button payloads (``/intent``) are not
caller text and are skipped; so are exact repeats.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import yaml

from bot.core.pii import LABELS, mask
from bot.privacy.tracker import TrackerEvents

#: Messages longer than this are not training examples (and are not read).
MAX_EXAMPLE_CHARS = 500
UNKNOWN_INTENT = "nlu_fallback"


async def masked_examples(tracker: TrackerEvents) -> dict[str, list[str]]:
    """The caller messages by predicted intent, masked, without repeats.

    Args:
        tracker: Rasa's tracker store.

    Returns:
        Intent name to example texts, in the order first seen.
    """
    examples: dict[str, dict[str, None]] = defaultdict(dict)
    async for event in tracker.scan("user"):
        text = event.data.get("text")
        if not isinstance(text, str) or not text.strip() or text.startswith("/"):
            continue
        if len(text) > MAX_EXAMPLE_CHARS:
            continue
        masked = " ".join(mask(text).split())
        leftover = masked
        for label in LABELS.values():
            leftover = leftover.replace(label, "")
        if not leftover.strip(" .,:;-"):
            continue
        parse: Any = event.data.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") if isinstance(parse, dict) else None
        examples[str(intent or UNKNOWN_INTENT)][masked] = None
    return {intent: list(texts) for intent, texts in sorted(examples.items())}


def to_nlu_yaml(examples: dict[str, list[str]]) -> str:
    """Rasa 3 NLU YAML (``version: "3.1"``, one block per intent)."""
    body = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in examples.items()
        ],
    }

    class _Literal(yaml.SafeDumper):
        pass

    def _block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Literal.add_representer(str, _block)
    header = "# Caller messages from the tracker store, personal data masked (bot/privacy).\n"
    return header + yaml.dump(body, Dumper=_Literal, sort_keys=False, allow_unicode=True)
