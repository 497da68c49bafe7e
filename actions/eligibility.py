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
from bot.core.places import find_places

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
    "can't say",
    "cant say",
    "cannot say",
    "too early to say",
    "still deciding",
)
# A decision not made yet, however it is put: "we haven't decided", "it hasn't been
# agreed", "we're yet to work that out", "nobody knows yet". A negated or pending verb
# of deciding is "not sure", not "no" (the NLU's deny intent must not make it one).
UNDECIDED = re.compile(
    r"(?:\b(?:not|never|yet\s+to|still|nobody|no\s+one)|n't)\s+(?:\w+\s+){0,2}?"
    r"(?:decid\w*|agree\w*|settled?|work(?:ed|ing)?\s+(?:it|that|this)\s+out|"
    r"determin\w*|finali[sz]\w*|confirm\w*|knows?|made\s+up)\b"
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
    #: Words that count only when no other option's ordinary keyword is there ("team",
    #: "business": any organisation has teams, and a council team may want business advice).
    weak_keywords: tuple[str, ...] = ()
    #: Nations whose places mean this option (content/places/uk_places.yml).
    nations: tuple[str, ...] = ()
    #: Options this one wins against when both are mentioned (a spun-out mutual names
    #: the council it left).
    overrides: tuple[str, ...] = ()
    #: How the bot repeats this answer back ("you've already spun out").
    said: str = ""


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
    #: An example answer, offered when the question has to be asked again.
    example: str = ""
    #: How the bot repeats a number answer back ("you spun out {value} years ago").
    said: str = ""
    #: Whether the answer may be read from a message that was not a reply to it.
    prefill: bool = True

    def option(self, value: str) -> Option | None:
        """Returns the option with ``value`` (None for a number question or no such option)."""
        return next((o for o in self.options if o.value == value), None)

    def said_back(self, value: str) -> str:
        """How the bot repeats an answer back, or "" when the file gives no wording."""
        option = self.option(value)
        template = option.said if option else self.said
        return template.replace("{value}", value) if template else ""

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
    #: The button that offers a person when a question has been asked twice already.
    person_button: str = "Talk to a person"

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
                _words(o.get("keywords")),
                weak_keywords=_words(o.get("weak_keywords")),
                nations=tuple(str(n) for n in o.get("nations") or []),
                overrides=tuple(str(v) for v in o.get("overrides") or []),
                said=str(o.get("said") or ""),
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
                example=str(raw.get("example") or ""),
                said=str(raw.get("said") or ""),
                prefill=bool(raw.get("prefill", True)),
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
        person_button=str(data.get("person_button") or "Talk to a person"),
    )


def _words(raw: Any) -> tuple[str, ...]:
    return tuple(str(k).lower() for k in raw or [])


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


# What ends the reach of a "not": punctuation, a joining word, or a new subject ("not in
# Wales we're in Bristol", spoken without a comma, is about two places).
_CLAUSE_BREAK = re.compile(
    r"[,.;:!?()]|\s[-–—]+\s|\b(?:but|and|so|because|though|although|however|whereas|while|we|we're|"
    r"were|i|i'm|it|it's|they|they're|our|actually|now)\b"
)
# Words that deny what follows in the same clause: "never part of the council", "not in
# Wales", "staff won't sit on the board".
_NEGATION = re.compile(
    r"\b(?:not|never|no|none|nor|neither|without|no longer|rather than|instead of|"
    r"used to|formerly|former|stop|stopping|cease|\w+n't|cannot|dont|doesnt|didnt|wont|"
    r"isnt|arent|wasnt|werent|havent|hasnt|cant|couldnt|wouldnt|shouldnt)\b"
)
# Plans that are not yet so, just before the words: "want to become a co-operative" is
# not being one (but "want to spin out of the council" still names the council).
_NOT_YET = re.compile(
    r"\b(?:become|becoming|convert to|converting to|set up as|form|forming|turn into|"
    r"turning into|going to be|aiming to be)\b"
)
_NOT_YET_REACH_WORDS = 3
_NEGATION_REACH_WORDS = 6


def is_negated(text: str, start: int) -> bool:
    """Whether the words just before ``start`` deny what stands there.

    Looks back to the start of the clause (punctuation, "but", a new subject such as
    "we're"), at most six words, for "not", "never", "no longer", "won't" and the like.

    Args:
        text: Normalised (lower-case) text.
        start: Where the phrase in question begins.
    """
    before = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    words = clause.split()
    return (
        _NEGATION.search(" ".join(words[-_NEGATION_REACH_WORDS:])) is not None
        or _NOT_YET.search(" ".join(words[-_NOT_YET_REACH_WORDS:])) is not None
    )


@dataclass(frozen=True)
class _Mention:
    start: int
    length: int
    value: str
    weak: bool


def _mentions(question: Question, said: str) -> tuple[list[_Mention], list[_Mention]]:
    """The options the text names, as (affirmed, denied) mentions."""
    affirmed: list[_Mention] = []
    denied: list[_Mention] = []
    places = [p for p in find_places(said) if any(o.nations for o in question.options)]
    for option in question.options:
        found = [(k, False) for k in option.keywords] + [(k, True) for k in option.weak_keywords]
        spans = [
            (m.start(), m.end() - m.start(), weak)
            for keyword, weak in found
            for m in re.finditer(rf"(?<![\w]){re.escape(keyword)}(?![\w])", said)
        ]
        spans += [(p.start, p.end - p.start, False) for p in places if p.nation in option.nations]
        for start, length, weak in spans:
            mention = _Mention(start, length, option.value, weak)
            (denied if is_negated(said, start) else affirmed).append(mention)
    return affirmed, denied


def _pick(question: Question, mentions: list[_Mention]) -> str | None:
    """The option the mentions point at: strong words over weak ones, overrides, then first."""
    if any(not m.weak for m in mentions):
        mentions = [m for m in mentions if not m.weak]
    named = {m.value for m in mentions}
    beaten = {v for o in question.options if o.value in named for v in o.overrides}
    mentions = [m for m in mentions if m.value not in beaten]
    if not mentions:
        return None
    # Callers say who they are first and what they want after ("a council team who want
    # business planning advice"): the earliest mention wins, the longest at one place.
    first = min(mentions, key=lambda m: (m.start, -m.length))
    return first.value


def _opposite(question: Question, value: str) -> str | None:
    """For a yes/no question, the other answer; None otherwise."""
    values = {o.value for o in question.options}
    if not {"yes", "no"} <= values or value not in ("yes", "no"):
        return None
    return "no" if value == "yes" else "yes"


def read_choice(
    question: Question, text: str, intent: str | None = None, *, strict: bool = False
) -> str | None:
    """Reads a free-text (or button) answer to a choice question.

    Accepts the option's label, its number ("2", as SMS users reply), its
    keywords and place names (a denied keyword does not count: "never part of the
    council"; on a yes/no question it counts as the other answer: "staff won't be on
    the board" is no), and yes/no/unsure wording (or the NLU's affirm/deny intent) for
    questions whose options are yes/no/unsure. Returns the option's value, or
    None when the answer is unclear.

    Args:
        question: The question answered.
        text: What the caller said or pressed.
        intent: The NLU's intent for the message, if known.
        strict: Only what the text says about the question's subject counts (keywords
            and places, no bare "yes", option numbers or intents): for reading answers
            out of a message that was not a reply to the question.
    """
    said = _normalise(text)[:MAX_ANSWER_CHARS]
    if not said:
        return None
    if not strict:
        for number, option in enumerate(question.options, start=1):
            if said in (option.label.lower(), option.value.lower(), str(number)):
                return option.value
    values = {o.value for o in question.options}
    if "unsure" in values and (
        any(_has_phrase(said, w) for w in UNSURE_WORDS) or UNDECIDED.search(said)
    ):
        return "unsure"
    affirmed, denied = _mentions(question, said)
    if strict:
        # "team" or "staff" in a question is nobody's answer yet.
        affirmed = [m for m in affirmed if not m.weak]
    picked = _pick(question, affirmed)
    if picked is not None:
        return picked
    # Only denials: "not in England" is no; "not in Wales" alone says nothing.
    opposites = {_opposite(question, m.value) for m in denied if m.value == "yes"}
    if len(opposites) == 1 and None not in opposites:
        return opposites.pop()
    if strict or denied:
        # A bare "not" or "no" here belongs to what it denies ("not in Wales"), not to
        # the question.
        return None
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


_DURATION_NUMBER = r"(\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r"|a|an)"


def read_duration(text: str, today: dt.date | None = None) -> int | None:
    """Reads how long ago something happened, only where the text says so plainly.

    For messages that were not an answer to the trading question ("we left the council
    four years ago, can you help?"): "N years ago", "for N years", "since 2021", "in
    2021", "last year", "N months ago". A bare number is not read.

    Returns:
        Whole years, or None when the text gives no such time.
    """
    said = _normalise(text)[:MAX_ANSWER_CHARS]
    today = today or dt.date.today()
    year = re.search(
        r"\b(?:since|in|from)\s+(?:early\s+|late\s+|mid\s+)?(19[5-9]\d|20\d\d)\b", said
    )
    if year:
        elapsed = today.year - int(year.group(1))
        return elapsed if elapsed >= 0 else None
    if re.search(r"\blast year\b", said):
        return 1
    if re.search(r"\b(?:this year|(?:a few|a couple of|\w+) months? ago|weeks? ago)\b", said):
        return 0
    ago = re.search(
        rf"\b(?:for\s+(?:about\s+|around\s+|over\s+|nearly\s+|almost\s+)?{_DURATION_NUMBER}"
        rf"\s+(?:full\s+)?(?:years?|yrs?)\b|{_DURATION_NUMBER}\s+(?:full\s+)?(?:years?|yrs?)\s+ago)",
        said,
    )
    if not ago:
        return None
    word = ago.group(1) or ago.group(2)
    if word.isdigit():
        return int(word)
    return 1 if word in ("a", "an") else NUMBER_WORDS.get(word)


def prefill(rules: Rules, text: str, today: dt.date | None = None) -> dict[str, str]:
    """The check's answers a caller has already given in a message that was not a reply.

    "We left the council as a social enterprise four years ago, could you still help
    us?" says who they are and how long ago they spun out; the check then asks only
    the rest. Only plain statements count (keywords, places, "N years ago"), never a
    bare yes or number, and only for questions that apply given what was read before
    and that the file allows (``prefill: false`` leaves a question to be asked).

    Args:
        rules: The check's rules.
        text: The caller's message.
        today: The date "since 2021" is counted to (default: today).

    Returns:
        Slot name to answer, in the file's order.
    """
    answers: dict[str, str] = {}
    for question in rules.questions:
        if not question.prefill or not question.applies(answers):
            continue
        if question.kind == "number":
            years = read_duration(text, today)
            value = (
                str(years)
                if years is not None and question.minimum <= years <= question.maximum
                else None
            )
        else:
            value = read_choice(question, text, strict=True)
        if value is not None:
            answers[question.slot] = value
    return answers


def said_back(rules: Rules, answers: dict[str, str]) -> str:
    """How the bot repeats answers back: "you've already spun out and you're in England"."""
    parts = [rules.question(slot).said_back(value) for slot, value in answers.items()]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


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
