"""Every figure and date the bot can say is in the sourced facts as a whole token (issue 12).

``tests/test_responses.py`` looks a figure up as a substring of facts.md, so "£1"
passes for "£1.7m" and "10" for "2010". Here each figure is compared whole: the
facts' own figures are read with the same pattern, and a figure the bot says must
be one of them, written the same way. Read from everything the bot says: the
domain's responses, the content files (eligibility rules included) and the
strings the actions build their text from.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.test_responses import code_strings, response_texts
from tests.trackers import ROOT

FACTS = (ROOT / "content" / "programme" / "facts.md").read_text(encoding="utf-8")
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
#: Dates ("15 February 2013", "December 2011"), money ("£1.7m", "£10 million", "£40,000"),
#: percentages and other numbers, each as a whole token.
FIGURE = re.compile(
    rf"\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b|\b{_MONTH}\s+\d{{4}}\b"
    r"|£\d+(?:,\d{3})*(?:\.\d+)?(?:\s?(?:million|billion|m|bn|k)\b)?"
    r"|(?<![\w£.,])\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w.,]*\d)"
)
#: Figures that are not claims about the programme: list numbering and ratings (1-5),
#: the callback form's example prefixes, the example amount in the register's
#: how-to-ask hint, the trading-years question's "0 if less than a year" and its
#: example answer, the register's "£0" when it is empty. (where, figure); "*" anywhere.
NOT_FIGURES = {
    *(("*", str(n)) for n in range(1, 6)),
    ("utter_callback_phone_invalid", "07"),
    ("utter_callback_phone_invalid", "01"),
    ("content/awards/replies.yml:register_offer", "£40,000"),
    ("content/programme/eligibility.yml:questions[3]:ask", "0"),
    ("content/programme/eligibility.yml:questions[3]:example", "2022"),
    ("actions/award_answers.py", "£0"),
}
#: What a regular expression or a format string looks like (not text said to callers).
CODE_LIKE = re.compile(r"[\\{}\[\]^$|]|\(\?")


def normalise(figure: str) -> str:
    """One way of writing a figure: "£10 million" and "£10m" alike, no spaces."""
    text = figure.replace("\u00a0", " ")
    text = re.sub(r"\s?million\b", "m", text)
    text = re.sub(r"\s?billion\b", "bn", text)
    return text.replace(" ", "")


def figures(text: str) -> set[str]:
    """The figures in ``text``, each normalised."""
    return {normalise(m.group(0)) for m in FIGURE.finditer(text)}


FACT_FIGURES = figures(FACTS) | figures(FACTS.replace("\n", " "))


def _yaml_strings(value: object, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _yaml_strings(v, f"{where}:{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _yaml_strings(v, f"{where}[{i}]")]
    return []


def content_texts() -> list[tuple[str, str]]:
    """Every string in the content files the bot speaks from, named by file and key."""
    texts: list[tuple[str, str]] = []
    for path in sorted((ROOT / "content").rglob("*.yml")):
        name = str(path.relative_to(ROOT))
        if name == "content/places/uk_places.yml":
            continue  # place names, no figures said to callers
        texts += _yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8")), name)
    return texts


def action_texts() -> list[tuple[str, str]]:
    """The string constants of the actions that could reach a caller.

    Patterns and format strings are left out; so are bare values without a space
    (keys), except amounts: caller text lives in responses and content
    (test_caller_text). The action server's command line is not the bot speaking.
    """
    return [
        (str(path.relative_to(ROOT)), text)
        for path in sorted((ROOT / "actions").glob("*.py"))
        if path.name != "server.py"
        for text in code_strings(path.read_text(encoding="utf-8"))
        if (" " in text.strip() and not CODE_LIKE.search(text)) or text.startswith("£")
    ]


def unsourced(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (where, figure) pairs whose figure is not one of the facts' figures."""
    return [
        (where, figure)
        for where, text in texts
        for figure in sorted(figures(text))
        if figure not in FACT_FIGURES
        and ("*", figure) not in NOT_FIGURES
        and (where, figure) not in NOT_FIGURES
    ]


def test_a_figure_is_matched_whole_not_as_part_of_another() -> None:
    assert figures("about £1.7m of support") == {"£1.7m"}
    assert "£1" not in figures("£1.7m")
    assert figures("launched in December 2011, £10 million") == {"December2011", "£10m"}
    assert figures("call 0845 5390543") == {"0845", "5390543"}
    assert normalise("£10 million") == normalise("£10m")


def test_every_figure_in_a_response_is_a_fact() -> None:
    assert unsourced(response_texts()) == []


def test_every_figure_in_the_content_files_is_a_fact() -> None:
    assert unsourced(content_texts()) == []


def test_every_figure_the_actions_write_is_a_fact() -> None:
    # Format strings and register values are not figures; literal figures are.
    assert unsourced(action_texts()) == []


@pytest.mark.parametrize("figure", ["£1", "£1.7", "£10,000", "201", "17", "2013"])
def test_a_part_of_a_fact_is_not_a_fact(figure: str) -> None:
    # Each is a piece of a real fact ("£1.7m", "£10m", "2011", "2017", "15 February 2013").
    assert unsourced([("test", f"The programme gave {figure} to each mutual.")]) != []
