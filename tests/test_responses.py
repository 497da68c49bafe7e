"""The bot states only sourced facts: every figure in a response is in facts.md."""

from __future__ import annotations

import re

from tests.trackers import ROOT, load_domain

FACTS = (ROOT / "content" / "programme" / "facts.md").read_text(encoding="utf-8")
SHARED_FACTS = ROOT.parent / "shared" / "programme" / "facts.md"
# Money, phone numbers, percentages, years and other numbers, as written.
FIGURE = re.compile(r"£[\d,.]+(?:\s?(?:million|m|k))?|\b\d[\d,]*\b")


def response_texts() -> list[tuple[str, str]]:
    domain = load_domain()
    return [
        (name, variant.get("text", ""))
        for name, variants in domain["responses"].items()
        for variant in variants
    ]


def normalise(figure: str) -> str:
    return figure.replace(" million", "m").replace(" ", "")


def test_every_figure_in_a_response_is_in_the_facts() -> None:
    facts = normalise(FACTS)
    missing = [
        (name, figure)
        for name, text in response_texts()
        for figure in FIGURE.findall(text)
        if normalise(figure) not in facts and figure not in ("1", "2", "3", "4", "5")
    ]
    assert missing == []


def test_the_project_copy_of_the_facts_is_current() -> None:
    if SHARED_FACTS.exists():  # beside the project on every developer's machine and in CI
        assert SHARED_FACTS.read_text(encoding="utf-8") == FACTS


def test_the_hotline_number_is_given_where_people_are_pointed_to_it() -> None:
    texts = dict(response_texts())
    for name in ("utter_hotline_number", "utter_mis", "utter_request_human", "utter_offer_person"):
        assert "0845 5390543" in texts[name]


def test_every_intent_has_a_rule_or_story() -> None:
    import yaml

    used: set[str] = set()
    for path in (ROOT / "data").glob("*/*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        for block in data.get("rules", []) + data.get("stories", []):
            used.update(step["intent"] for step in block.get("steps", []) if "intent" in step)
    assert set(load_domain()["intents"]) - used == set()
