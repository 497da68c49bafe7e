"""Splitting one message into the separate questions it asks.

Callers often ask two things at once ("What is a mutual and how do we apply?").
:func:`split_questions` cuts a message at sentence ends, numbered items and
joining words ("and", "also", "plus", a comma) that are followed by the start
of a new question; :func:`question_count` counts the pieces that read as
questions on their own. Plain functions, so that the NLU component, the action
server and the tests share one definition.
"""

from __future__ import annotations

import re

# Words that open a new question. "and how ..." starts a question, "and NHS
# trusts" does not, so a joining word only splits before one of these.
_STARTERS = (
    r"what|what's|whats|wat|how|how's|who|who's|whos|whom|whose|when|where|which|why|"
    r"is|isn't|are|aren't|can|can't|could|do|does|did|will|would|should|shall|may|"
    r"has|have|am|tell|explain|give|any|anything"
)
_START = rf"(?:{_STARTERS})\b"
_JOIN = r"(?:and\s+also|and\s+then|and|also|plus|&|as\s+well\s+as|then)"

# Sentence ends and line breaks always split.
_SENTENCE_END = re.compile(r"(?<=[?!;])\s*|(?<=\.)\s+(?=[A-Za-z])|\n+")
# A joining word or a comma/dash before the start of a new question.
_JOINED_QUESTION = re.compile(
    rf"(?:\s*[,/-]\s*{_JOIN}?\s+|\s+{_JOIN}\s+|\s*[,/]\s*|\s+-\s+)"
    rf"(?:if\s+(?:so|not|yes)\s*,?\s*)?(?={_START})",
    re.IGNORECASE,
)
# Numbered or lettered items and ordinal words: "1) ...", "2. ...", "first, ...".
_ITEM_MARKER = re.compile(
    r"(?:^|\s)(?:\d{1,2}[).:]|[a-c]\)|(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|"
    r"lastly|finally)\s*[,:]?)\s+",
    re.IGNORECASE,
)
_LEADING_FILLER = re.compile(
    rf"^(?:(?:{_JOIN}|so|ok|okay|oh|um|also|and|but|then|two questions|"
    r"a couple of questions|couple of questions|questions?)\b[\s,:.-]*)+",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'’]+")
_QUESTION_START = re.compile(rf"^{_START}", re.IGNORECASE)

MAX_SEGMENTS = 5
#: Longer messages are not cut into questions: one piece, read as a whole. Keeps the
#: splitting's cost bounded whatever arrives (no channel's limit is trusted here).
MAX_SPLIT_CHARS = 2000
# Where the NLU component leaves the pieces in the parse data for the actions.
SEGMENTS_KEY = "question_segments"


def squeeze_spaces(text: str) -> str:
    """Each run of spaces becomes one space, each run of line breaks one line break.

    Done in linear time, without a regular expression, before any pattern sees the
    text: the patterns below allow optional space around joining words, and on a
    long run of spaces a regex engine would try every start in the run (an 8 KB
    message of spaces took 56 s, stalling every caller's Rasa).
    """
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def split_questions(text: str) -> list[str]:
    """Cuts a message into the questions it seems to ask, in order.

    Args:
        text: The caller's message.

    Returns:
        The non-empty pieces, stripped of joining words and list markers; the
        whole message as one piece if nothing suggests a split. At most
        :data:`MAX_SEGMENTS` pieces: the rest is joined to the last one.
    """
    if len(text or "") > MAX_SPLIT_CHARS:
        return [squeeze_spaces(text)] if text.strip() else []
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(squeeze_spaces(text or "")):
        for item in _ITEM_MARKER.split(sentence):
            for part in _JOINED_QUESTION.split(item):
                cleaned = _LEADING_FILLER.sub("", part.strip(" \t,;:-–—")).strip()
                if _WORD.search(cleaned):
                    pieces.append(cleaned)
    if len(pieces) > MAX_SEGMENTS:
        pieces = [*pieces[: MAX_SEGMENTS - 1], " ".join(pieces[MAX_SEGMENTS - 1 :])]
    return pieces or ([text.strip()] if text and text.strip() else [])


def is_question(piece: str) -> bool:
    """Whether a piece reads as a question of its own.

    It needs two or more words, and to open like a question or end with a
    question mark.
    """
    words = _WORD.findall(piece)
    if len(words) < 2:
        return False
    return piece.rstrip().endswith("?") or bool(_QUESTION_START.match(piece))


def question_count(text: str, pieces: list[str] | None = None) -> int:
    """How many separate questions a message asks (0 for a statement).

    ``pieces`` are the message's pieces if the caller has already split it.
    """
    return sum(
        1 for piece in (split_questions(text) if pieces is None else pieces) if is_question(piece)
    )
