"""Simulated callers and a button crawl, through the running stack (issue 12).

Simulated callers have their own facts (who they are, where, how long trading, what
staff will have a say in) and answer whatever the bot asks in their own free text,
a different phrasing each time a question comes back. Each must reach the verdict
its facts call for within ``MAX_TURNS`` messages and never be asked the same
question three times. Every caller is run with each of its phrasings.

The crawl starts from several openers and presses every button the bot offers, to
depth 3, each press in a conversation of its own replaying the path to it. A press
fails when it gets "didn't understand" or out-of-scope, an empty reply, the same
reply as the turn before, or cancels what the caller was doing.

Both print their figures and write them to ``reports/callers.json``; the figures
quoted in docs/design.md come from here. The actions run (``python -m actions.server``
inside ``bot.stack``), so replies are the real answers.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import yaml

from tests.live_stack import LiveStack
from tests.trackers import ROOT, rendered_response

RULES = yaml.safe_load((ROOT / "content/programme/eligibility.yml").read_text(encoding="utf-8"))
QUESTIONS: dict[str, str] = {q["slot"]: q["ask"] for q in RULES["questions"]}
VERDICT_TITLES: dict[str, str] = RULES["verdict_titles"]
#: A conversation that takes more messages than this has failed the caller.
MAX_TURNS = 9
REPORT = ROOT / "reports" / "callers.json"


def say(stack: LiveStack, sender: str, text: str) -> list[dict[str, Any]]:
    """One message on Rasa's REST channel (conversation ``rest:<sender>``); the bot's replies."""
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    response.raise_for_status()
    return list(response.json())


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text") or "") for r in replies)


def asked(replies: list[dict[str, Any]]) -> str | None:
    """The eligibility question the replies ask, by its slot (the one asked last)."""
    text = text_of(replies)
    where = {slot: text.rfind(question) for slot, question in QUESTIONS.items()}
    found = [slot for slot, at in where.items() if at >= 0]
    return max(found, key=lambda slot: where[slot]) if found else None


def verdict_of(replies: list[dict[str, Any]]) -> str | None:
    text = text_of(replies)
    return next((v for v, title in VERDICT_TITLES.items() if title in text), None)


# --- simulated callers ------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A caller with their own facts, said their own way.

    Attributes:
        who: Who they are (the test's id).
        openers: Ways they start ("can we get help?").
        answers: For each question (its slot), the caller's phrasings of the same fact.
        verdict: The verdict their facts call for.

    """

    who: str
    openers: tuple[str, ...]
    answers: dict[str, tuple[str, ...]]
    verdict: str


CALLERS = (
    Caller(
        "council repairs team in Wakefield, staff to own it",
        ("Could you check whether our team qualifies?", "can we get support from you?"),
        {
            "elig_applicant": (
                "we're the housing repairs team at Wakefield Council",
                "a repairs service inside the local authority",
                "we work for the council, fixing tenants' homes",
            ),
            "elig_public_services": (
                "yes, we fix council homes and would keep doing that",
                "we deliver repairs for tenants and will continue to",
                "yes, we'd carry on running the service",
            ),
            "elig_employee_control": (
                "the staff would own it and elect the board",
                "every employee would be a member with a vote",
                "staff will hold the shares",
            ),
            "elig_england": ("yes, Wakefield", "we're in West Yorkshire, in Wakefield", "England"),
        },
        "likely_eligible",
    ),
    Caller(
        "community interest company that left the NHS seven years ago",
        ("are we eligible?", "would we qualify for the programme"),
        {
            "elig_applicant": (
                "we're a community interest company that left the NHS",
                "we already spun out, as a CIC",
                "we used to be part of the trust and are now a social enterprise",
            ),
            "elig_public_services": (
                "yes, we provide community nursing and will keep providing it",
                "we run district nursing and that continues",
                "yes we deliver NHS services",
            ),
            "elig_employee_control": (
                "yes, it's employee owned",
                "the nurses are the members and vote on the board",
                "staff hold the shares",
            ),
            "elig_trading_years": ("seven years", "we've traded for 7 years", "7"),
            "elig_england": ("yes, in Sheffield", "England, Sheffield", "yes"),
        },
        "not_eligible",
    ),
    Caller(
        "a private consultancy",
        ("am I eligible for support?", "can my company apply?"),
        {
            "elig_applicant": (
                "I run a small consultancy, it's a limited company",
                "we're a private sector firm",
                "I'm a sole trader",
            ),
        },
        "not_eligible",
    ),
    Caller(
        "a council leisure team in Swansea",
        ("check if we qualify please", "is our service eligible?"),
        {
            "elig_applicant": (
                "we're the leisure centres team at the council",
                "a team in a local authority",
                "council staff running the leisure centres",
            ),
            "elig_public_services": (
                "yes, we run the leisure centres and would continue",
                "we provide sports services to the public and will keep going",
                "yes",
            ),
            "elig_employee_control": (
                "staff would sit on the board",
                "yes, the employees would own it",
                "the workforce would be the members",
            ),
            "elig_england": ("no, we're in Swansea", "we are in Wales", "not England, Swansea"),
        },
        "not_eligible",
    ),
    Caller(
        "an NHS therapy team not sure about staff control",
        ("can we get help from the programme?", "do we qualify?"),
        {
            "elig_applicant": (
                "we're a physiotherapy team in an NHS hospital",
                "an NHS trust team",
                "hospital staff, physio department",
            ),
            "elig_public_services": (
                "yes, we deliver physiotherapy and will keep delivering it",
                "we provide therapy to patients and would continue",
                "yes",
            ),
            "elig_employee_control": ("not sure yet", "we haven't decided", "not sure"),
            "elig_england": ("yes, in Norwich", "we're in Norfolk", "England"),
        },
        "adviser",
    ),
    Caller(
        "a youth services mutual that spun out two years ago in Manchester",
        ("could we get support?", "are we eligible for the programme?"),
        {
            "elig_applicant": (
                "we're a mutual that spun out of the council",
                "we already left the local authority and are a co-operative now",
                "we became a mutual, out of the council's youth service",
            ),
            "elig_public_services": (
                "yes, we run youth services and will keep running them",
                "we deliver youth work for the council and that continues",
                "yes",
            ),
            "elig_employee_control": (
                "it's staff-owned",
                "the youth workers are members and elect the directors",
                "yes, staff have shares",
            ),
            "elig_trading_years": ("two years", "2 years", "2"),
            "elig_england": ("yes, Manchester", "we're in Greater Manchester", "England"),
        },
        "likely_eligible",
    ),
)


@dataclass
class Outcome:
    """One simulated conversation: the verdict reached, the turns, the most asks of a question."""

    caller: str
    phrasing: int
    verdict: str | None
    turns: int
    most_asked: int
    transcript: list[tuple[str, str]] = field(default_factory=list)


def converse(stack: LiveStack, caller: Caller, phrasing: int) -> Outcome:
    """The caller opens, then answers whatever the bot asks, until a verdict or MAX_TURNS."""
    sender = f"caller-{uuid.uuid4().hex}"
    asks: Counter[str] = Counter()
    message = caller.openers[phrasing % len(caller.openers)]
    transcript: list[tuple[str, str]] = []
    for turn in range(1, MAX_TURNS + 1):
        replies = say(stack, sender, message)
        transcript.append((message, text_of(replies)))
        verdict = verdict_of(replies)
        if verdict:
            return Outcome(
                caller.who, phrasing, verdict, turn, max(asks.values(), default=0), transcript
            )
        slot = asked(replies)
        if slot is None or slot not in caller.answers:
            break  # the bot asked nothing the caller can answer: the test fails below
        # The same question again gets the caller's next phrasing of the same fact.
        phrasings = caller.answers[slot]
        message = phrasings[(phrasing + asks[slot]) % len(phrasings)]
        asks[slot] += 1
    return Outcome(caller.who, phrasing, None, turn, max(asks.values(), default=0), transcript)


def record(key: str, figures: dict[str, Any]) -> None:
    """Adds figures to reports/callers.json (printed too)."""
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[key] = figures
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{key}: {json.dumps(figures)}")


def test_simulated_callers_reach_their_verdict(live_stack: LiveStack) -> None:
    outcomes = [converse(live_stack, c, p) for c in CALLERS for p in range(3)]
    right = [
        o for o in outcomes if o.verdict == next(c.verdict for c in CALLERS if c.who == o.caller)
    ]
    turns = [o.turns for o in right]
    record(
        "simulated_callers",
        {
            "callers": len(CALLERS),
            "conversations": len(outcomes),
            "right_verdict": len(right),
            "turns_mean": round(sum(turns) / len(turns), 2) if turns else None,
            "turns_max": max(turns, default=None),
            "most_asks_of_one_question": max(o.most_asked for o in outcomes),
        },
    )
    wrong = [(o.caller, o.phrasing, o.verdict, o.transcript) for o in outcomes if o not in right]
    for caller, phrasing, verdict, transcript in wrong:
        print(f"\n{caller} (phrasing {phrasing}) reached {verdict}:")
        for message, reply in transcript:
            print(f"  caller: {message}\n  bot: {reply[:300]!r}")
    assert wrong == []
    assert all(o.most_asked < 3 for o in outcomes)
    assert all(o.turns <= MAX_TURNS for o in outcomes)


# --- the button crawl -------------------------------------------------------------------

OPENERS = (
    "hello",
    "what can you help with?",
    "am I eligible?",
    "tell me about the awards",
    "I'd like to talk to someone",
)
#: Buttons whose job is to end what the caller is doing: pressing them cancels by design.
ENDING_TITLES = ("cancel", "stop")
DEPTH = 3
#: Replies that mean the press was not understood, or cancelled what the caller was doing.
NOT_UNDERSTOOD = tuple(
    rendered_response(name).split(".")[0]
    for name in ("utter_ask_rephrase", "utter_out_of_scope", "utter_offer_person")
)
CANCELLED = (
    rendered_response("utter_eligibility_stopped").split(".")[0],
    "I haven't passed you to an adviser",
)


def problem(before: str, replies: list[dict[str, Any]]) -> str | None:
    """What is wrong with the replies to a press, if anything."""
    text = text_of(replies).strip()
    if not text:
        return "empty reply"
    if text == before.strip():
        return "the same reply again"
    if any(marker in text for marker in NOT_UNDERSTOOD):
        return "not understood"
    if any(marker in text for marker in CANCELLED):
        return "cancelled"
    return None


def buttons(replies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (str(b.get("title")), str(b.get("payload")))
        for r in replies
        for b in r.get("buttons") or []
        if b.get("payload")
    ]


def test_every_button_works_to_depth_three(live_stack: LiveStack) -> None:
    presses = 0
    failures: list[tuple[str, tuple[str, ...], str]] = []
    seen: set[tuple[str, str]] = set()
    pressed: set[str] = set()
    # Each entry: the path of messages (opener, then payloads) and its last replies.
    frontier: list[tuple[tuple[str, ...], list[dict[str, Any]]]] = []
    for opener in OPENERS:
        frontier.append(((opener,), say(live_stack, f"crawl-{uuid.uuid4().hex}", opener)))
    for _ in range(DEPTH):
        deeper = []
        for path, replies in frontier:
            for title, payload in buttons(replies):
                if title.strip().lower().startswith(ENDING_TITLES):
                    continue
                # The same button after the same reply leads to the same place: press once.
                key = (text_of(replies), payload)
                if key in seen:
                    continue
                seen.add(key)
                sender = f"crawl-{uuid.uuid4().hex}"
                before: list[dict[str, Any]] = []
                for message in path:
                    before = say(live_stack, sender, message)
                after = say(live_stack, sender, payload)
                presses += 1
                pressed.add(title)
                wrong = problem(text_of(before), after)
                if wrong:
                    failures.append((title, path, wrong))
                else:
                    deeper.append(((*path, payload), after))
        frontier = deeper
    record(
        "button_crawl",
        {
            "openers": len(OPENERS),
            "depth": DEPTH,
            "presses": presses,
            "distinct_buttons": sorted(pressed),
            "failures": len(failures),
        },
    )
    for title, path, wrong in failures:
        print(f"  {title!r} after {path}: {wrong}")
    assert presses > len(OPENERS)
    assert failures == []


@pytest.mark.parametrize(
    "text", ["we haven't decided", "it hasn't been agreed yet", "nobody knows yet"]
)
def test_a_decision_not_made_yet_is_not_sure_not_no(text: str) -> None:
    # Found by the simulated callers: "we haven't decided" with the NLU's deny was "no".
    import asyncio

    from actions.eligibility import current_rules, read_answer

    rules = asyncio.run(current_rules())
    assert read_answer(rules.question("elig_employee_control"), text, "deny") == "unsure"
    assert read_answer(rules.question("elig_employee_control"), "no, they won't", "deny") == "no"


def test_the_crawl_and_callers_notice_what_they_check() -> None:
    # The checks themselves, on replies made up for the purpose.
    assert problem("x", []) == "empty reply"
    assert problem("same", [{"text": "same"}]) == "the same reply again"
    assert problem("x", [{"text": rendered_response("utter_ask_rephrase")}]) == "not understood"
    assert problem("x", [{"text": rendered_response("utter_eligibility_stopped")}]) == "cancelled"
    assert problem("x", [{"text": "Here is the answer."}]) is None
    question = QUESTIONS["elig_england"]
    assert asked([{"text": f"Thanks. {question}"}]) == "elig_england"
    assert verdict_of([{"text": VERDICT_TITLES["adviser"] + " ..."}]) == "adviser"
