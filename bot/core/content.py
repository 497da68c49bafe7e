"""Content files staff edit, read once and checked: the programme questions.

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
