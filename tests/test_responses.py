"""The bot states only sourced facts: every figure in a response is in facts.md."""

from __future__ import annotations

import ast
import re
import subprocess

from bot.core.content import hotline_number
from tests.trackers import ROOT, load_domain, rendered_response

FACTS = (ROOT / "content" / "programme" / "facts.md").read_text(encoding="utf-8")
SHARED_FACTS = ROOT.parent / "shared" / "programme" / "facts.md"
# Money, phone numbers, percentages, years and other numbers, as written.
FIGURE = re.compile(r"£[\d,.]+(?:\s?(?:million|m|k))?|\b\d[\d,]*\b")


def response_texts() -> list[tuple[str, str]]:
    """Each response as the caller reads it (slots filled with their initial values)."""
    domain = load_domain()
    return [
        (name, rendered_response(name, number))
        for name, variants in domain["responses"].items()
        for number in range(len(variants))
    ]


# Numbers in a response that are not figures about the programme: the phone-number
# prefixes the callback form gives as examples.
NOT_FIGURES = {("utter_callback_phone_invalid", "07"), ("utter_callback_phone_invalid", "01")}


def normalise(figure: str) -> str:
    return figure.replace(" million", "m").replace(" ", "")


def test_every_figure_in_a_response_is_in_the_facts() -> None:
    facts = normalise(FACTS)
    missing = [
        (name, figure)
        for name, text in response_texts()
        for figure in FIGURE.findall(text)
        if normalise(figure) not in facts
        and figure not in ("1", "2", "3", "4", "5")
        and (name, figure) not in NOT_FIGURES
    ]
    assert missing == []


def test_the_project_copy_of_the_facts_is_current() -> None:
    if SHARED_FACTS.exists():  # beside the project on every developer's machine and in CI
        assert SHARED_FACTS.read_text(encoding="utf-8") == FACTS


def test_the_hotline_number_is_given_where_people_are_pointed_to_it() -> None:
    texts = dict(response_texts())
    for name in ("utter_hotline_number", "utter_mis", "utter_request_human", "utter_offer_person"):
        assert "0845 5390543" in texts[name]


# The number in any spacing ("0845 5390543", "0845 539 0543", "08455390543", "+44 845...").
HOTLINE_ANYHOW = re.compile(r"(?:\+44\s?|0)845\s?539\s?0543")
# Where the number may appear besides its definition: the sourced facts, what callers
# type (training data), the tests and the docs.
NOT_PRODUCT = ("content/programme/facts.md", "data/nlu/", "tests/", "docs/", "benchmarks/")


def code_strings(source: str) -> list[str]:
    """The string constants of a Python module, without its docstrings."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_hotline_number_is_written_once() -> None:
    """Its one definition is the domain's hotline_number slot; nothing else repeats it."""
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    copies = []
    for name in tracked:
        path = ROOT / name
        if name.startswith(NOT_PRODUCT) or not path.is_file():
            continue
        if path.suffix not in (".py", ".yml", ".yaml", ".md", ".js", ".html", ".json", ".txt"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # In Python, the strings the code uses (docstrings' examples are documentation).
        lines = code_strings(text) if path.suffix == ".py" else text.splitlines()
        copies += [f"{name}: {line.strip()}" for line in lines if HOTLINE_ANYHOW.search(line)]
    assert copies == ['domain.yml: initial_value: "0845 5390543"']
    assert hotline_number() == "0845 5390543"


def test_every_intent_has_a_rule_or_story() -> None:
    import yaml

    used: set[str] = set()
    for path in (ROOT / "data").glob("*/*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        for block in data.get("rules", []) + data.get("stories", []):
            used.update(step["intent"] for step in block.get("steps", []) if "intent" in step)
    assert set(load_domain()["intents"]) - used == set()
