"""Content files staff edit, read once and checked.

The programme questions, the hotline number, and the caller-facing messages
that are not Rasa responses (what the web app sends, the award replies' pieces).

Read on first use, never at import time, and refused with a message naming the
problem when the file is broken.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).resolve().parent.parent.parent / "content"
QUESTIONS_PATH = CONTENT_DIR / "programme" / "questions.yml"
DOMAIN_PATH = CONTENT_DIR.parent / "domain.yml"
#: What the web app itself sends to callers (queue updates, an adviser joining...).
HANDOFF_MESSAGES_PATH = CONTENT_DIR / "handoff" / "messages.yml"
#: The award replies' wording (sentences about awards, composed into one reply).
AWARD_REPLIES_PATH = CONTENT_DIR / "awards" / "replies.yml"
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


def template_variables(template: str) -> frozenset[str]:
    """The ``{variable}`` names in ``template``.

    Raises:
        ValueError: For a malformed template or a field that is not a plain name
            (``{a.b}``, ``{a[0]}``, ``{a!r}``, ``{a:>5}``): content cannot reach
            into the values it is given.
    """
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"{{{field}}} is not a plain {{name}}")
        names.add(field)
    return frozenset(names)


@dataclass(frozen=True)
class Messages:
    """Named caller-facing texts with ``{variables}``, read from one content file.

    Attributes:
        path: The file they came from (named in errors).
        texts: {message name: template}.
    """

    path: Path
    texts: Mapping[str, str]

    def variables(self, name: str) -> frozenset[str]:
        """The variables message ``name`` needs (``hotline_number`` is filled here)."""
        return template_variables(self._template(name))

    def render(self, name: str, /, **values: object) -> str:
        """Message ``name`` with its variables filled.

        Args:
            name: The message's name in the file.
            **values: Its variables; ``hotline_number`` is the domain's.

        Raises:
            ContentError: For an unknown message or a variable left unfilled, so
                a wording change cannot silently send "{position}" to a caller.
        """
        template = self._template(name)
        needed = template_variables(template)
        filled: dict[str, object] = {}
        if "hotline_number" in needed and "hotline_number" not in values:
            filled["hotline_number"] = hotline_number()
        filled.update(values)
        missing = sorted(needed - filled.keys())
        if missing:
            raise ContentError(f"{self.path}: {name} needs {', '.join(missing)}")
        return template.format_map(filled)

    def _template(self, name: str) -> str:
        try:
            return self.texts[name]
        except KeyError:
            raise ContentError(f"{self.path}: has no message {name!r}") from None


@functools.lru_cache(maxsize=8)
def messages(path: Path) -> Messages:
    """The messages in ``path``: a mapping of names to texts with ``{variables}``.

    Raises:
        ContentError: Naming the file and the broken message.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path}: cannot be read: {error}") from error
    if not isinstance(data, dict) or not data:
        raise ContentError(f"{path}: needs a mapping of message names to texts")
    texts: dict[str, str] = {}
    for name, text in data.items():
        if not isinstance(name, str) or not isinstance(text, str) or not text.strip():
            raise ContentError(f"{path}: {name!r} needs a non-empty text")
        try:
            template_variables(text)
        except ValueError as error:
            raise ContentError(f"{path}: {name}: {error}") from error
        texts[name] = text
    return Messages(path, texts)


def handoff_messages() -> Messages:
    """What the web app itself sends to callers (``content/handoff/messages.yml``)."""
    return messages(HANDOFF_MESSAGES_PATH)


def award_replies() -> Messages:
    """The award replies' wording (``content/awards/replies.yml``)."""
    return messages(AWARD_REPLIES_PATH)
