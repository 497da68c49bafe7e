"""The eligibility check's rules engine: plain functions over a rules file.

The rules live in ``content/programme/eligibility.yml`` so that programme staff can
change questions, accepted answers, limits and verdicts without code. This
module parses that file, reads free-text answers and decides the verdict; the
Rasa form in :mod:`actions.forms` only wires it to the conversation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from actions.parsing import UNIT_WORDS
from bot.core.content import with_hotline_number

# The slot holding the check's verdict (the answers have one slot per question).
VERDICT_SLOT = "elig_verdict"

RULES_PATH = Path(__file__).resolve().parent.parent / "content" / "programme" / "eligibility.yml"
VERDICTS = ("likely_eligible", "not_eligible", "adviser")

# Longest answers worth reading; anything longer is not an answer to a
# multiple-choice question and is not scanned (keeps the regexes cheap).
MAX_ANSWER_CHARS = 500
# What of a message is read at all, markup included.
MAX_SCANNED_CHARS = 4 * MAX_ANSWER_CHARS

YES_WORDS = (
    "yes",
    "yeah",
    "yep",
    "yup",
    "aye",
    "y",
    "correct",
    "definitely",
    "of course",
    "sure",
    "absolutely",
    "certainly",
    "it does",
    "we do",
    "they will",
    "it will",
    "we will",
    "right",
    "true",
    "indeed",
    "ok",
    "okay",
)
NO_WORDS = (
    "no",
    "nope",
    "nah",
    "n",
    "not",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "won't",
    "wont",
    "never",
    "negative",
    "false",
    "isn't",
    "isnt",
    "aren't",
    "arent",
)
UNSURE_WORDS = (
    "not sure",
    "unsure",
    "don't know",
    "dont know",
    "do not know",
    "maybe",
    "perhaps",
    "possibly",
    "not decided",
    "undecided",
    "no idea",
    "dunno",
    "not yet decided",
    "tbc",
    "not settled",
    "it depends",
    "depends",
)
# "none" (of a year) and the units up to twenty; "a"/"an" are read separately.
NUMBER_WORDS = {"none": 0, **{w: v for w, v in UNIT_WORDS.items() if v <= 20}}
LESS_THAN_A_YEAR = (
    "less than a year",
    "under a year",
    "few months",
    "couple of months",
    "months",
    "just started",
    "not yet",
    "haven't started",
    "havent started",
    "new",
    "this year",
)


class RulesError(ValueError):
    """The rules file is missing something or contradicts itself."""


@dataclass(frozen=True)
class Option:
    """One accepted answer to a choice question."""

    value: str
    label: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """One question of the check, tied to a form slot."""

    slot: str
    kind: str
    ask: str
    options: tuple[Option, ...] = ()
    ask_if: dict[str, Any] = field(default_factory=dict)
    minimum: int = 0
    maximum: int = 100

    def applies(self, answers: dict[str, Any]) -> bool:
        """Tells whether this question is asked, given the answers so far."""
        return all(_condition_holds(answers.get(s), c) for s, c in self.ask_if.items())


@dataclass(frozen=True)
class Rule:
    """A verdict that applies when all its conditions hold."""

    when: dict[str, Any]
    verdict: str
    reason: str
    next_step: str
    stop: bool = False


@dataclass(frozen=True)
class Verdict:
    """The outcome of the check, with its reason and next step."""

    verdict: str
    title: str
    reason: str
    next_step: str

    def message(self) -> str:
        """Renders the verdict for the caller."""
        return f"{self.title} {self.reason}\n\n{self.next_step}"


@dataclass(frozen=True)
class Rules:
    """The whole rules file, parsed and checked."""

    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    default: Rule
    titles: dict[str, str]
    not_understood: str

    def question(self, slot: str) -> Question:
        """Returns the question that fills ``slot``."""
        for question in self.questions:
            if question.slot == slot:
                return question
        raise KeyError(slot)

    @property
    def slots(self) -> list[str]:
        """All slots the check can ask for, in order."""
        return [q.slot for q in self.questions]

    def applicable_slots(self, answers: dict[str, Any]) -> list[str]:
        """Returns the questions that apply (answered or not); none once settled."""
        if self.settled(answers):
            return []
        return [q.slot for q in self.questions if q.applies(answers)]

    def pending_slots(self, answers: dict[str, Any]) -> list[str]:
        """Returns the questions still to ask; none once a stopping rule matches."""
        return [s for s in self.applicable_slots(answers) if answers.get(s) is None]

    def settled(self, answers: dict[str, Any]) -> bool:
        """Tells whether a stopping rule already decides the verdict."""
        return self._stopping_rule(answers) is not None

    def decide(self, answers: dict[str, Any]) -> Verdict:
        """Returns the verdict for the answers given."""
        rule = self._stopping_rule(answers) or next(
            (r for r in self.rules if _rule_matches(r, answers)), self.default
        )
        return Verdict(rule.verdict, self.titles[rule.verdict], rule.reason, rule.next_step)

    def _stopping_rule(self, answers: dict[str, Any]) -> Rule | None:
        return next((r for r in self.rules if r.stop and _rule_matches(r, answers)), None)


def _condition_holds(answer: Any, condition: Any) -> bool:
    if answer is None:
        return False
    if isinstance(condition, dict):
        try:
            number = int(answer)
        except (TypeError, ValueError):  # an answer not yet validated
            return False
        return all(
            (op == "over" and number > limit) or (op == "under" and number < limit)
            for op, limit in condition.items()
        )
    if isinstance(condition, list):
        return str(answer) in [str(c) for c in condition]
    return str(answer) == str(condition)


def _rule_matches(rule: Rule, answers: dict[str, Any]) -> bool:
    return all(_condition_holds(answers.get(slot), c) for slot, c in rule.when.items())


def _rule(raw: dict[str, Any], where: str) -> Rule:
    for key in ("verdict", "reason", "next_step"):
        if not raw.get(key):
            raise RulesError(f"{where}: '{key}' is missing")
    if raw["verdict"] not in VERDICTS:
        raise RulesError(f"{where}: verdict must be one of {', '.join(VERDICTS)}")
    return Rule(
        when=dict(raw.get("when") or {}),
        verdict=raw["verdict"],
        reason=str(raw["reason"]),
        # Staff write {hotline_number}; the number itself lives once, in the domain.
        next_step=with_hotline_number(str(raw["next_step"])),
        stop=bool(raw.get("stop", False)),
    )


def parse_rules(data: dict[str, Any]) -> Rules:
    """Builds :class:`Rules` from the file's mapping, checking it thoroughly.

    Raises:
        RulesError: the file names an unknown slot, verdict or kind, or lacks text.
    """
    questions = []
    for i, raw in enumerate(data.get("questions") or [], start=1):
        where = f"question {i}"
        if not raw.get("slot") or not raw.get("ask"):
            raise RulesError(f"{where}: 'slot' and 'ask' are required")
        kind = raw.get("kind", "choice")
        if kind not in ("choice", "number"):
            raise RulesError(f"{where}: kind must be 'choice' or 'number'")
        options = tuple(
            Option(
                str(o["value"]),
                str(o["label"]),
                tuple(str(k).lower() for k in o.get("keywords", [])),
            )
            for o in raw.get("options") or []
        )
        if kind == "choice" and len(options) < 2:
            raise RulesError(f"{where}: a choice question needs at least two options")
        questions.append(
            Question(
                slot=raw["slot"],
                kind=kind,
                ask=str(raw["ask"]),
                options=options,
                ask_if=dict(raw.get("ask_if") or {}),
                minimum=int(raw.get("min", 0)),
                maximum=int(raw.get("max", 100)),
            )
        )
    if not questions:
        raise RulesError("the rules file has no questions")
    slots = {q.slot for q in questions}
    rules = tuple(_rule(r, f"rule {i}") for i, r in enumerate(data.get("rules") or [], start=1))
    for i, rule in enumerate(rules, start=1):
        unknown = set(rule.when) - slots
        if unknown:
            raise RulesError(f"rule {i}: unknown question(s) {', '.join(sorted(unknown))}")
    default = _rule(data.get("default") or {}, "default")
    titles = dict(data.get("verdict_titles") or {})
    missing = [v for v in VERDICTS if not titles.get(v)]
    if missing:
        raise RulesError(f"verdict_titles: missing {', '.join(missing)}")
    return Rules(
        questions=tuple(questions),
        rules=rules,
        default=default,
        titles=titles,
        not_understood=str(data.get("not_understood") or "Sorry, I didn't understand that answer."),
    )


_cache: dict[Path, tuple[float, Rules]] = {}


def load_rules(path: Path = RULES_PATH) -> Rules:
    """Returns the parsed rules, re-reading the file only when it changed.

    The file is small and read at most once per edit, so the blocking read
    costs microseconds; staff edits apply without restarting the server.
    """
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    with path.open(encoding="utf-8") as handle:
        rules = parse_rules(yaml.safe_load(handle) or {})
    _cache[path] = (mtime, rules)
    return rules


def _normalise(text: str) -> str:
    # Markup is never part of an answer: drop scripts and tags before reading. Only the
    # start of a long message is read, so that no pattern here costs more than a
    # bounded amount of time (the script pattern is quadratic in what it scans: 64 KB
    # took 4.4 s).
    text = text[:MAX_SCANNED_CHARS]
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = text.lower().replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text) is not None


def read_choice(question: Question, text: str, intent: str | None = None) -> str | None:
    """Reads a free-text (or button) answer to a choice question.

    Accepts the option's label, its number ("2", as SMS users reply), its
    keywords, and yes/no/unsure wording (or the NLU's affirm/deny intent) for
    questions whose options are yes/no/unsure. Returns the option's value, or
    None when the answer is unclear.
    """
    said = _normalise(text)[:MAX_ANSWER_CHARS]
    if not said:
        return None
    for number, option in enumerate(question.options, start=1):
        if said in (option.label.lower(), option.value.lower(), str(number)):
            return option.value
    values = {o.value for o in question.options}
    if "unsure" in values and any(_has_phrase(said, w) for w in UNSURE_WORDS):
        return "unsure"
    best: tuple[int, str] | None = None
    tie = False
    for option in question.options:
        for keyword in option.keywords:
            if _has_phrase(said, keyword):
                if best is None or len(keyword) > best[0]:
                    best, tie = (len(keyword), option.value), False
                elif len(keyword) == best[0] and best[1] != option.value:
                    tie = True
    if best is not None and not tie:
        return best[1]
    if {"yes", "no"} <= values:
        yes = any(_has_phrase(said, w) for w in YES_WORDS)
        no = any(_has_phrase(said, w) for w in NO_WORDS)
        if yes != no:
            return "yes" if yes else "no"
        if not yes and intent in ("affirm", "deny"):
            return "yes" if intent == "affirm" else "no"
    return None


def read_years(text: str, today: dt.date | None = None) -> int | None:
    """Reads a number of whole years from free text ("3", "three years", "since 2021").

    Returns None when no number of years can be read.
    """
    said = _normalise(text)[:MAX_ANSWER_CHARS]
    if not said:
        return None
    year = re.search(r"\b(19[5-9]\d|20\d\d)\b", said)
    if year:
        elapsed = (today or dt.date.today()).year - int(year.group(1))
        return elapsed if elapsed >= 0 else None
    digits = re.search(r"(?<![\w.])(\d{1,3})(?:\.\d+)?(?![\w.])", said)
    if digits:
        return int(digits.group(1))
    for word, value in NUMBER_WORDS.items():
        if word in ("a", "an"):
            continue
        if _has_phrase(said, word):
            return value
    if any(_has_phrase(said, p) for p in LESS_THAN_A_YEAR):
        return 0
    if re.search(r"\b(a|an|one) (year|yr)\b", said):
        return 1
    return None


def read_answer(question: Question, text: str, intent: str | None = None) -> str | None:
    """Reads an answer of any kind; numbers come back as strings of digits."""
    if question.kind == "number":
        years = read_years(text)
        if years is None or not question.minimum <= years <= question.maximum:
            return None
        return str(years)
    return read_choice(question, text, intent)


def answers_from_slots(rules: Rules, slots: dict[str, Any]) -> dict[str, Any]:
    """Picks the check's answers out of a tracker's slots."""
    return {slot: slots.get(slot) for slot in rules.slots}


async def current_rules() -> Rules:
    """Loads the rules file off the event loop (it is re-read only when edited)."""
    return await asyncio.to_thread(load_rules)
