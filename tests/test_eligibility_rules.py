"""The eligibility rules engine: the shipped rules file and free-text answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from actions.eligibility import (
    RULES_PATH,
    RulesError,
    load_rules,
    parse_rules,
    read_answer,
    read_years,
)

RULES = load_rules()
APPLICANT = RULES.question("elig_applicant")
YES_NO = RULES.question("elig_public_services")
CONTROL = RULES.question("elig_employee_control")
ENGLAND = RULES.question("elig_england")
YEARS = RULES.question("elig_trading_years")

ALL_YES = {
    "elig_applicant": "public_sector_team",
    "elig_public_services": "yes",
    "elig_employee_control": "yes",
    "elig_england": "yes",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we're a team at Oldham council", "public_sector_team"),
        ("NHS trust staff", "public_sector_team"),
        ("A team or staff group in a public sector body", "public_sector_team"),
        ("1", "public_sector_team"),
        ("we already spun out last year as a CIC", "spun_out"),
        ("An organisation that has already spun out", "spun_out"),
        ("2", "spun_out"),
        ("I run a private company", "other"),
        ("a team in a private company", "other"),  # the longer keyword wins
        ("just a member of the public", "other"),
        ("3", "other"),
    ],
)
def test_applicant_answers(text: str, expected: str) -> None:
    assert read_answer(APPLICANT, text) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("yes", None, "yes"),
        ("Yep, definitely", None, "yes"),
        ("no", None, "no"),
        ("nope we don't", None, "no"),
        ("mm", "affirm", "yes"),
        ("mm", "deny", "no"),
        ("2", None, "no"),
    ],
)
def test_yes_no_answers(text: str, intent: str | None, expected: str) -> None:
    assert read_answer(YES_NO, text, intent) == expected


def test_unsure_only_where_offered() -> None:
    assert read_answer(CONTROL, "not sure yet") == "unsure"
    assert read_answer(CONTROL, "I don't know") == "unsure"
    assert read_answer(YES_NO, "not sure yet") is None


def test_england_by_place_name() -> None:
    assert read_answer(ENGLAND, "we're in Wales") == "no"
    assert read_answer(ENGLAND, "Scotland") == "no"
    assert read_answer(ENGLAND, "London") == "yes"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "<script>alert(1)</script>",
        "¿Cómo estás?",
        "x" * 20_000,
        "maybe yes no",
    ],
)
def test_unreadable_answers_give_none(text: str) -> None:
    for question in (APPLICANT, YES_NO, YEARS):
        assert read_answer(question, text) is None


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("3", 3),
        ("three years", 3),
        ("about 2 and a half years", 2),
        ("since 2021", 5),
        ("less than a year", 0),
        ("a few months", 0),
        ("one year", 1),
        ("twelve", 12),
    ],
)
def test_years(text: str, years: int) -> None:
    assert read_years(text, today=dt.date(2026, 11, 30)) == years


def test_years_out_of_range_is_refused() -> None:
    assert read_answer(YEARS, "500 years") is None


def test_all_yes_is_likely_eligible() -> None:
    verdict = RULES.decide(ALL_YES)
    assert verdict.verdict == "likely_eligible"
    assert "Mutuals Support Programme Board" in verdict.message()


@pytest.mark.parametrize(
    ("changes", "verdict", "words"),
    [
        ({"elig_applicant": "other"}, "not_eligible", "private companies"),
        ({"elig_public_services": "no"}, "not_eligible", "public services"),
        ({"elig_employee_control": "no"}, "not_eligible", "employees"),
        ({"elig_england": "no"}, "not_eligible", "devolved government"),
        ({"elig_employee_control": "unsure"}, "adviser", "0845 5390543"),
        ({"elig_applicant": "spun_out", "elig_trading_years": "7"}, "not_eligible", "five years"),
        ({"elig_applicant": "spun_out", "elig_trading_years": "5"}, "likely_eligible", "Board"),
    ],
)
def test_verdicts(changes: dict[str, str], verdict: str, words: str) -> None:
    result = RULES.decide({**ALL_YES, **changes})
    assert result.verdict == verdict
    assert words in result.message()


def test_questions_asked_depend_on_answers() -> None:
    assert RULES.pending_slots({}) == [
        "elig_applicant",
        "elig_public_services",
        "elig_employee_control",
        "elig_england",
    ]
    assert "elig_trading_years" in RULES.pending_slots({"elig_applicant": "spun_out"})
    # A stopping rule ends the check at once.
    assert RULES.pending_slots({"elig_applicant": "other"}) == []
    assert RULES.pending_slots(ALL_YES) == []


def test_staff_can_change_a_limit_without_code(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_PATH.read_text())
    for rule in data["rules"]:
        if "elig_trading_years" in rule["when"]:
            rule["when"]["elig_trading_years"]["over"] = 10
    edited = tmp_path / "eligibility.yml"
    edited.write_text(yaml.safe_dump(data))
    rules = load_rules(edited)
    answers = {**ALL_YES, "elig_applicant": "spun_out", "elig_trading_years": "7"}
    assert rules.decide(answers).verdict == "likely_eligible"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["rules"][0].update(verdict="maybe"), "verdict must be one of"),
        (lambda d: d["rules"][0].update(when={"elig_shoe_size": 9}), "unknown question"),
        (lambda d: d["questions"][0].pop("ask"), "'slot' and 'ask' are required"),
        (lambda d: d["default"].pop("reason"), "'reason' is missing"),
        (lambda d: d.update(questions=[]), "no questions"),
    ],
)
def test_broken_rules_files_are_refused_clearly(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(RULES_PATH.read_text())
    mutate(data)
    with pytest.raises(RulesError, match=message):
        parse_rules(data)


def test_markup_in_a_huge_answer_is_read_in_bounded_time() -> None:
    import time

    from actions.eligibility import RULES_PATH, load_rules, read_choice

    question = load_rules(RULES_PATH).questions[0]
    started = time.perf_counter()
    # 64 KB of unclosed script tags took 4.4 s before the input was bounded.
    read_choice(question, "<script>" * 8000 + "we are a council team")
    assert time.perf_counter() - started < 2.0
