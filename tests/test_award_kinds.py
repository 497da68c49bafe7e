"""Award look-ups the way callers ask them (issue 12, kind 7).

Suppliers asked about with any verb are answered with what they worked on, saying
so; a name the register does not hold is named back ("I couldn't find ... in the
register") rather than answered with a summary of the register. The actions run on
a seeded SQLite database with the entities the NLU gives (or none at all).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.award_understanding import named_in_text, widened
from actions.awards import ActionAwardLookup, ActionAwardSource, ActionAwardTotals
from tests.trackers import load_domain, make_tracker, said

OLDHAM = "Oldham Council adult social care"


async def ask(
    action: Action, text: str, entities: dict[str, str] | None = None, intent: str = "ask_award"
) -> tuple[str, dict[str, Any]]:
    """Run an award action on one message; return what the caller reads and the slots set."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text, intent, entities=[{"entity": k, "value": v} for k, v in (entities or {}).items()]
    )
    events = await action.run(dispatcher, tracker, load_domain())
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return "\n".join(said(m) for m in dispatcher.messages), slots


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("did Hollybrook Consulting pick up any contracts?", "Hollybrook Consulting"),
        ("was 'Greenway Partners' paid for anything", "Greenway Partners"),
        ("has hollybrook consulting been hired by a council?", "hollybrook consulting"),
        ("Any money to the Marsh Lane Library Trust?", "Marsh Lane Library Trust"),
        ("tell me about ferndale advisory", "ferndale advisory"),
        ("How many awards did Mutual Ventures work on?", "Mutual Ventures"),
    ],
)
def test_the_name_a_caller_gives_is_read_from_the_words(text: str, expected: str) -> None:
    assert named_in_text(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "What's the biggest award in the register?",
        "and who supplied it?",
        "Show me the awards announced in March 2013",
        "Which Council got the most money?",
        "awards over £40,000 please",
        "Thanks, that's all",
    ],
)
def test_questions_without_a_name_name_nothing(text: str) -> None:
    assert named_in_text(text) == []


def test_a_fragment_entity_is_widened_to_the_callers_name() -> None:
    assert widened("what did Fenwick Housing receive", "housing") == "Fenwick Housing"
    assert widened("any awards in housing?", "housing") == "housing"


@pytest.mark.usefixtures("awards_actions")
@pytest.mark.parametrize(
    ("text", "supplier"),
    [
        ("which bids was Mouchel brought in on?", "Mouchel"),
        ("what did SCA Group end up advising on", "SCA Group"),
        ("Turning Point: any projects?", "Turning Point"),
        ("who did Mouchel advise?", "Mouchel"),
    ],
)
async def test_a_supplier_asked_about_in_other_words_gets_what_it_worked_on(
    text: str, supplier: str
) -> None:
    reply, slots = await ask(ActionAwardLookup(), text, {"supplier": supplier})
    # The reply says what the award was found by, then the award itself.
    assert f"with {supplier} as a supplier" in reply
    assert OLDHAM in reply and "£46,000" in reply
    assert len(slots["award_ids"]) == 1


@pytest.mark.usefixtures("awards_actions")
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("did Hollybrook Consulting pick up any contracts?", "Hollybrook Consulting"),
        ("was the Marsh Lane Library Trust given anything?", "Marsh Lane Library Trust"),
        ("has ferndale advisory done any work for you", "ferndale advisory"),
    ],
)
async def test_a_name_not_in_the_register_is_named_back(text: str, name: str) -> None:
    reply, slots = await ask(ActionAwardLookup(), text)
    assert reply.startswith(f"I couldn't find “{name}” in the register.")
    assert "The register has" not in reply  # not the register's summary instead
    assert slots["award_ids"] is None  # a "source?" next is not about an old award


@pytest.mark.usefixtures("awards_actions")
async def test_a_partly_tagged_unknown_name_is_said_whole() -> None:
    reply, _ = await ask(
        ActionAwardLookup(), "what did Fenwick Housing receive", {"recipient": "housing"}
    )
    assert "“Fenwick Housing”" in reply


@pytest.mark.usefixtures("awards_actions")
async def test_totals_and_sources_name_an_unknown_name_too() -> None:
    reply, _ = await ask(
        ActionAwardTotals(),
        "how much has Hollybrook Consulting had in total?",
        None,
        "ask_award_totals",
    )
    assert reply.startswith("I couldn't find “Hollybrook Consulting” in the register.")
    reply, _ = await ask(
        ActionAwardSource(), "where is the Fenwick Housing award from?", None, "ask_award_source"
    )
    assert reply.startswith("I couldn't find “Fenwick Housing” in the register.")


@pytest.mark.usefixtures("awards_actions")
async def test_a_known_name_is_still_answered() -> None:
    reply, _ = await ask(ActionAwardLookup(), "what did Oldham get?", {"place": "Oldham"})
    assert OLDHAM in reply and "couldn't find" not in reply
    reply, _ = await ask(ActionAwardLookup(), "What is the largest award?")
    assert "£93,000" in reply
