"""Content files staff edit, read once and checked: the programme questions, the hotline number.

Read on first use, never at import time, and refused with a message naming the
problem when the file is broken.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).resolve().parent.parent.parent / "content"
QUESTIONS_PATH = CONTENT_DIR / "programme" / "questions.yml"
DOMAIN_PATH = CONTENT_DIR.parent / "domain.yml"
#: How a response or a content file refers to the hotline number.
HOTLINE_PLACEHOLDER = "{hotline_number}"


class ContentError(ValueError):
    """A content file is missing or malformed."""


@dataclass(frozen=True)
class ProgrammeQuestion:
    """A programme question: its intent, the response that answers it, its summary topic."""

    intent: str
    response: str
    topic: str


@functools.lru_cache(maxsize=4)
def programme_questions(path: Path = QUESTIONS_PATH) -> tuple[ProgrammeQuestion, ...]:
    """The programme questions in ``content/programme/questions.yml``, in order.

    Raises:
        ContentError: Naming the file and what is wrong with it.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path}: cannot be read: {error}") from error
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ContentError(f"{path}: needs a non-empty list under 'questions'")
    questions = []
    for number, item in enumerate(items, start=1):
        fields = (
            {k: item.get(k) for k in ("intent", "response", "topic")}
            if isinstance(item, dict)
            else {}
        )
        missing = [
            k
            for k in ("intent", "response", "topic")
            if not isinstance(fields.get(k), str) or not str(fields[k]).strip()
        ]
        if missing:
            raise ContentError(f"{path}: question {number} needs {', '.join(missing)}")
        questions.append(ProgrammeQuestion(**{k: str(v).strip() for k, v in fields.items()}))
    intents = [q.intent for q in questions]
    if len(set(intents)) != len(intents):
        raise ContentError(f"{path}: an intent is listed twice")
    return tuple(questions)


@functools.lru_cache(maxsize=4)
def hotline_number(path: Path = DOMAIN_PATH) -> str:
    """The hotline number: the `hotline_number` slot's initial value in ``domain.yml``.

    Rasa fills `{hotline_number}` in the responses from the same slot, so the
    number is written once, there.

    Raises:
        ContentError: Naming the file if the slot or its initial value is missing.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path}: cannot be read: {error}") from error
    slot = (data.get("slots") or {}).get("hotline_number") if isinstance(data, dict) else None
    number = slot.get("initial_value") if isinstance(slot, dict) else None
    if not isinstance(number, str) or not number.strip():
        raise ContentError(f"{path}: the hotline_number slot needs an initial_value")
    return number.strip()


def with_hotline_number(text: str) -> str:
    """``text`` with `{hotline_number}` replaced by the number (content files use it)."""
    return text.replace(HOTLINE_PLACEHOLDER, hotline_number())
