"""bot/core/money.py: the one reader and writer of money, and that it has no copies."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.core.money import (
    MAX_PENCE,
    AmountError,
    AmountMatch,
    find_amounts,
    format_gbp,
    format_gbp_short,
    format_pounds,
    parse_pounds,
    read_amount,
    spoken_amounts,
    words_to_digits,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "pence"),
    [
        ("93000", 9_300_000),
        ("93,000", 9_300_000),
        ("£93,000", 9_300_000),
        ("£ 93,000", 9_300_000),
        ("  1,234,567.5 ", 123_456_750),
        ("55852.50", 5_585_250),
        ("0", 0),
        ("007", 700),
    ],
)
def test_strict_reads_typed_pounds_exactly(raw: str, pence: int) -> None:
    assert parse_pounds(raw) == pence


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1e3", "not_a_number"),
        ("1E+3", "not_a_number"),
        ("NaN", "not_a_number"),
        ("nan", "not_a_number"),
        ("inf", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("-Infinity", "not_a_number"),
        ("forty thousand", "not_a_number"),
        ("40k", "not_a_number"),
        ("³", "not_a_number"),
        ("١٢٣", "not_a_number"),  # Arabic-Indic digits: \d and int() take them
        ("１２３", "not_a_number"),  # fullwidth digits
        ("1_000", "not_a_number"),  # Decimal() and int() take underscores
        ("9,3000", "not_a_number"),  # commas only as thousands separators
        (",93000", "not_a_number"),
        ("40000.", "not_a_number"),
        (".5", "not_a_number"),
        ("+5", "not_a_number"),
        ("£-5", "not_a_number"),
        ("0x10", "not_a_number"),
        ("5\x00", "not_a_number"),
        ("12.345", "precision"),
        ("-5", "too_small"),
        ("-£5", "too_small"),
        ("-0.001", "precision"),
    ],
)
def test_strict_refuses_what_is_not_an_amount(raw: str, problem: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_pounds(raw)
    assert caught.value.problem == problem


def test_strict_limits_are_the_callers() -> None:
    assert parse_pounds("10,000,000", min_pence=1, max_pence=10**9) == 10**9
    for raw, problem in (("10,000,000.01", "too_large"), ("0", "too_small"), ("0.00", "too_small")):
        with pytest.raises(AmountError) as caught:
            parse_pounds(raw, min_pence=1, max_pence=10**9)
        assert caught.value.problem == problem
    assert parse_pounds("0.01", min_pence=1, max_pence=10**9) == 1


@pytest.mark.parametrize("digits", [30, 4_301, 100_000])
def test_strict_huge_digit_strings_are_too_large_without_int(digits: int) -> None:
    # Past 4,300 digits int() itself raises ValueError; the length is checked first.
    with pytest.raises(AmountError) as caught:
        parse_pounds("9" * digits)
    assert caught.value.problem == "too_large"
    assert parse_pounds("0" * digits + "5") == 500  # leading zeros are not size


@pytest.mark.parametrize("pence", [0, 1, 99, 100, 5_585_250, 9_300_000, MAX_PENCE])
def test_plain_pounds_read_back(pence: int) -> None:
    assert parse_pounds(format_pounds(pence)) == pence
    assert parse_pounds(format_gbp(pence)) == pence


def test_writers() -> None:
    assert format_pounds(9_300_000) == "93000"
    assert format_pounds(5_585_250) == "55852.50"
    assert format_pounds(-150) == "-1.50"
    assert format_gbp(123_456_789) == "£1,234,567.89"
    assert format_gbp(-150) == "-£1.50"
    assert format_gbp_short(170_000_000) == "£1.7m"
    assert format_gbp_short(4_500_000) == "£45,000"


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("over £40k", 4_000_000),
        ("£1.7m", 170_000_000),
        ("£ 40,000", 4_000_000),
        ("forty thousand pounds", 4_000_000),
        ("£5 mn", 500_000_000),
        ("GBP 500", 50_000),
        ("£2bn", 200_000_000_000),
        ("awards in 2012", None),
        ("21 contracts", None),
        ("١٢٣ pounds", None),  # only ASCII digits are amounts
        ("³ pounds", None),
        ("£1e3", 100),  # "£1" then letters: never an exponent
        ("£NaN", None),
        ("£inf", None),
        ("£" + "9" * 5000, None),  # past the digit limit: not an amount, no int() of it
        ("£" + "9" * 20 + "k", None),  # above MAX_PENCE
    ],
)
def test_lenient_reads_what_callers_say(text: str, pence: int | None) -> None:
    assert read_amount(text) == pence


def test_lenient_tells_amounts_from_counts_and_years() -> None:
    found = find_amounts("21 of the 2013 awards were over £40,000")
    assert [(f.pence, f.explicit) for f in found] == [(2100, False), (4_000_000, True)]
    assert words_to_digits("a million and five pounds") == "1000005 pounds"
    assert len(words_to_digits("one thousand " * 1000)) <= 500


def test_lenient_is_linear_on_hostile_text() -> None:
    # 64 KB of digits, or of digits and commas: one pass, each number read once.
    digits = "£" + "9" * 64_000
    assert find_amounts(digits) == []
    assert spoken_amounts(digits) == digits
    found = find_amounts("£" + "1," * 32_000)
    assert len(found) == 32_000 and found[0] == AmountMatch(0, 2, 100, True)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("It received £93,000.", "It received 93 thousand pounds."),
        ("£1.7m from January 2018", "1.7 million pounds from January 2018"),
        ("£5 thousand pounds", "5 thousand pounds"),
        ("£1 and £2.50", "1 pound and 2 pounds and 50 pence"),
        ("£2,000,000", "2 million pounds"),
        ("£1,234,567", "1,234,567 pounds"),
        ("in 2012 and GBP 40", "in 2012 and GBP 40"),
    ],
)
def test_spoken_amounts(text: str, spoken: str) -> None:
    assert spoken_amounts(text) == spoken


# What an amount parser or formatter looked like before bot/core/money.py was the only one.
_OLD_NAMES = {
    "parse_pounds",
    "parse_amount",
    "parse_amount_gbp",
    "read_amount",
    "find_amounts",
    "words_to_digits",
    "format_gbp",
    "format_gbp_short",
    "format_amount_gbp",
    "format_pounds",
    "_pounds_text",
    "_money_matches",
    "speak_amount",
    "spoken_amounts",
}
# A pattern that reads "£" followed by digits, or money's scale words after a number.
_MONEY_PATTERN = re.compile(
    r"(?<!\[)£\??(?:\\s[?*]?)*(?:\((?:\?P<\w+>|\?:))?(?:\\d|\[0-9\])|k\|thousand"
)


def _product_modules() -> list[Path]:
    files = [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("actions").rglob("*.py")]
    return [p for p in files if p != ROOT / "bot" / "core" / "money.py"]


def test_no_other_module_reads_or_writes_money() -> None:
    found = []
    for path in _product_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in _OLD_NAMES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} def {node.name}")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _MONEY_PATTERN.search(node.value)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} pattern {node.value[:40]!r}")
    assert not found, "amounts are read and written in bot/core/money.py only: " + ", ".join(found)


def test_the_copy_check_would_see_the_old_copies() -> None:
    # The patterns the old copies used: the check above must be able to fail.
    old = [
        r"^£?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$",
        r"£\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?P<dec>\.\d+)?",
        r"(?:\s?(?P<mult>k|thousand|grand|mn|m|million)\b)?",
    ]
    assert all(_MONEY_PATTERN.search(pattern) for pattern in old)
    money = (ROOT / "bot" / "core" / "money.py").read_text(encoding="utf-8")
    assert _MONEY_PATTERN.search(money)
