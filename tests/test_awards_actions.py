"""The award actions, run with real rasa_sdk trackers on a seeded SQLite database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.awards import (
    ActionAwardLookup,
    ActionAwardSource,
    ActionAwardTotals,
    RegisterAction,
)
from bot.config import Settings
from tests.trackers import load_domain, make_tracker, said

pytestmark = pytest.mark.usefixtures("awards_actions")

KNOWSLEY = "Knowsley Youth Services and Knowsley Youth Rights and Participation Services"


async def run(
    action: Action,
    text: str,
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    intent: str = "ask_award",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run an action; return the messages and the slots it set."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text,
        intent,
        entities=[{"entity": k, "value": v} for k, v in (entities or {}).items()],
        slots=slots,
    )
    events = await action.run(dispatcher, tracker, load_domain())
    slots_set = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots_set


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(said(m) for m in messages)


async def test_how_much_by_recipient() -> None:
    messages, slots = await run(
        ActionAwardLookup(),
        "How much did Knowsley Youth Services get?",
        {"recipient": "Knowsley Youth Services"},
    )
    assert text_of(messages) == (
        f"{KNOWSLEY} was awarded £93,000 of professional support (announced on 15 February 2013)."
    )
    assert slots["award_ids"] and len(slots["award_ids"]) == 1
    # Entity slots are cleared so the next question starts afresh.
    assert all(slots[s] is None for s in ("recipient", "place", "region", "sector", "supplier"))


async def test_follow_up_keeps_context_and_cites_source() -> None:
    _, slots = await run(ActionAwardLookup(), "tell me about 3BM", {"recipient": "3BM"})
    ids = slots["award_ids"]
    messages, _ = await run(
        ActionAwardLookup(),
        "and who was the supplier?",
        {"award_attribute": "supplier"},
        {"award_ids": ids},
    )
    assert text_of(messages) == (
        "For 3BM (Three Borough Mutual), the supplier was Field Fisher Waterhouse LLP."
    )
    messages, _ = await run(
        ActionAwardSource(),
        "where is that from?",
        slots={"award_ids": ids},
        intent="ask_award_source",
    )
    assert text_of(messages).startswith("Source for 3BM (Three Borough Mutual): GOV.UK news")
    messages, _ = await run(
        ActionAwardLookup(), "and when was it announced?", slots={"award_ids": ids}
    )
    assert text_of(messages) == "The award to 3BM (Three Borough Mutual) was announced in 2012."


async def test_typo_without_entities_is_found_by_fuzzy_matching() -> None:
    messages, _ = await run(ActionAwardLookup(), "How much did Knowsly get?")
    assert "£93,000" in text_of(messages) and KNOWSLEY in text_of(messages)


async def test_synonym_three_borough_mutual() -> None:
    messages, _ = await run(
        ActionAwardLookup(),
        "what about Three Borough Mutual?",
        {"recipient": "Three Borough Mutual"},
    )
    assert "3BM (Three Borough Mutual) (Hammersmith & Fulham Council, London): £55,852" in text_of(
        messages
    )


async def test_place_with_one_award() -> None:
    messages, _ = await run(ActionAwardLookup(), "awards in Oldham", {"place": "Oldham"})
    text = text_of(messages)
    assert text.startswith(
        "The only published award in the register in Oldham is: "
        "Oldham Council adult social care (Oldham Council, the North West): £46,000"
    )
    assert "the bid included an SME" in text


async def test_several_matches_give_a_short_list_with_buttons() -> None:
    messages, slots = await run(
        ActionAwardLookup(), "awards in the North West", {"region": "the North West"}
    )
    (message,) = messages
    assert message["text"].startswith(
        "There are 4 published awards in the register in the North West, totalling £194,000:"
    )
    assert "- Spiral Health CIC (Blackpool): £45,000" in message["text"]
    assert "published awards we know of" in message["text"]
    payloads = [json.loads(b["payload"].removeprefix("/ask_award")) for b in message["buttons"]]
    assert {"recipient": KNOWSLEY} in payloads
    assert len(slots["award_ids"]) == 4

    # "which of those is the largest?" narrows the previous list.
    messages, _ = await run(
        ActionAwardLookup(),
        "which of those is the largest?",
        slots={"award_ids": slots["award_ids"]},
    )
    assert text_of(messages).startswith(f"Of those 4 awards, the largest is: {KNOWSLEY}")

    # A button press names the award exactly.
    messages, _ = await run(ActionAwardLookup(), message["buttons"][0]["payload"], payloads[0])
    assert text_of(messages).startswith(payloads[0]["recipient"])


async def test_by_sector_and_supplier() -> None:
    messages, _ = await run(ActionAwardLookup(), "youth services", {"sector": "youth services"})
    assert (
        "There are 2 published awards in the register in youth services, totalling £103,000"
        in text_of(messages)
    )
    messages, _ = await run(
        ActionAwardLookup(), "did Mutual Ventures win anything?", {"supplier": "Mutual Ventures"}
    )
    text = text_of(messages)
    assert (
        "2 published awards in the register with Mutual Ventures as a supplier, totalling £38,927"
        in text
    )
    assert "Hazlitt Arts Centre (Maidstone): £18,927" in text


async def test_entity_of_the_wrong_kind_is_still_found() -> None:
    messages, _ = await run(
        ActionAwardLookup(), "did Mutual Ventures win anything?", {"recipient": "Mutual Ventures"}
    )
    assert "with Mutual Ventures as a supplier" in text_of(messages)


async def test_who_supported_spiral_health() -> None:
    messages, _ = await run(
        ActionAwardLookup(), "who supported Spiral Health?", {"recipient": "Spiral Health"}
    )
    assert text_of(messages) == "For Spiral Health CIC, the supplier was Make it Happen (an SME)."


async def test_amounts_superlatives_and_dates() -> None:
    messages, _ = await run(ActionAwardLookup(), "which awards were over £40,000?")
    assert (
        "There are 4 published awards in the register over £40,000, totalling £239,852"
        in text_of(messages)
    )
    messages, _ = await run(ActionAwardLookup(), "what was the largest award?")
    assert text_of(messages).startswith(
        f"The largest of the 7 published awards in the register is: {KNOWSLEY}"
    )
    messages, _ = await run(
        ActionAwardLookup(), "the smallest award in the North West", {"region": "North West"}
    )
    assert "Blackpool Council youth services" in text_of(messages) and "£10,000" in text_of(
        messages
    )
    messages, _ = await run(ActionAwardLookup(), "awards in 2012")
    assert "There are 3 published awards in the register in 2012, totalling £84,779" in text_of(
        messages
    )


async def test_none_match_says_so_and_offers_what_is_there() -> None:
    messages, slots = await run(ActionAwardLookup(), "awards in Liverpool", {"place": "Liverpool"})
    text = text_of(messages)
    assert "I couldn't find an award in “Liverpool” in the register." in text
    assert "from public bodies in Blackpool, Gloucestershire" in text
    assert messages[-1]["buttons"]
    assert "award_ids" not in slots  # earlier context is kept
    messages, _ = await run(ActionAwardLookup(), "awards in Yorkshire", {"region": "Yorkshire"})
    assert "There is no published award in the register in Yorkshire and the Humber." in text_of(
        messages
    )
    messages, _ = await run(ActionAwardLookup(), "awards over £1m")
    assert "There is no published award in the register over £1,000,000." in text_of(messages)


async def test_no_filters_offers_the_register() -> None:
    messages, _ = await run(ActionAwardLookup(), "tell me about awards")
    assert text_of(messages).startswith("The register has 7 published awards")
    assert len(messages[0]["buttons"]) == 5


async def test_totals_give_sourced_figures_and_the_register_separately() -> None:
    messages, slots = await run(
        ActionAwardTotals(), "how many contracts were awarded?", intent="ask_award_totals"
    )
    text = text_of(messages)
    assert text.startswith(
        "Programme figures (by 15 February 2013): 21 contracts had been awarded (14 of them to "
        "small and medium-sized enterprises, SMEs) and about £1m of professional support had "
        "been procured for 21 live and developing mutuals (source: Cabinet Office press release"
    )
    assert (
        "Our register: it lists the published awards we know of: 7 awards totalling £288,779, "
        "3 of them with an SME supplier. It is incomplete (21 contracts had been awarded by "
        "15 February 2013)"
    ) in text
    assert slots["award_ids"] is None
    messages, _ = await run(ActionAwardSource(), "source?", intent="ask_award_source")
    assert text_of(messages).startswith(
        "The programme figures come from the Cabinet Office press release"
    )


async def test_filtered_totals() -> None:
    messages, _ = await run(
        ActionAwardTotals(),
        "how much went to the North West?",
        {"region": "North West"},
        intent="ask_award_totals",
    )
    assert text_of(messages).startswith(
        "The register lists 4 published awards in the North West, totalling £194,000."
    )


async def test_source_by_name() -> None:
    messages, _ = await run(
        ActionAwardSource(),
        "where does the Spiral Health figure come from?",
        {"recipient": "Spiral Health"},
        intent="ask_award_source",
    )
    assert text_of(messages).startswith(
        "Source for Spiral Health CIC: Cabinet Office press release, 15 Feb 2013"
    )


@pytest.mark.parametrize("action", [ActionAwardLookup, ActionAwardTotals, ActionAwardSource])
async def test_database_trouble_is_reported_politely(
    action: type[RegisterAction], awards_actions: Settings, tmp_path: Any
) -> None:
    # A database without the register's tables: each action gives the one apology,
    # and nothing it may have found before the error.
    empty = awards_actions.with_database(f"sqlite:///{tmp_path / 'empty.db'}")
    messages, slots = await run(action(empty), "awards in Oldham", {"place": "Oldham"})
    assert len(messages) == 2
    assert said(messages[0]).startswith("Sorry, I can't reach the awards register just now")
    assert messages[1]["response"] == "utter_request_human"
    assert slots["place"] is None and "award_ids" not in slots


async def test_a_sector_mentioned_earlier_does_not_narrow_a_later_look_up() -> None:
    # "we run adult social care" in the eligibility check fills the sector slot;
    # a later question about Knowsley must not be filtered by it.
    # Here the NLU found no entity: the name is found in the text itself.
    messages, _ = await run(
        ActionAwardLookup(),
        "How much did Knowsley Youth Services get?",
        slots={"sector": "adult social care", "place": "Oldham"},
    )
    assert "£93,000" in text_of(messages)
