"""Amounts, comparisons, dates, superlatives and British money formatting."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.parsing import (
    asks_for_count,
    format_date,
    format_gbp,
    format_gbp_short,
    join_names,
    parse_amount,
    parse_amount_range,
    parse_attribute,
    parse_date_range,
    parse_superlative,
    words_to_digits,
)


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("£40,000", 4_000_000),
        ("40k", 4_000_000),
        ("£40K", 4_000_000),
        ("forty thousand pounds", 4_000_000),
        ("£1.5m", 150_000_000),
        ("a million pounds", 100_000_000),
        ("£55,852.50", 5_585_250),
        ("40000 pounds", 4_000_000),
        ("awards in 2012", None),
        ("21 contracts", None),
        ("3BM", None),
    ],
)
def test_parse_amount(text: str, pence: int | None) -> None:
    assert parse_amount(text) == pence


@pytest.mark.parametrize(
    ("text", "low", "high", "words"),
    [
        ("awards over £40,000", 4_000_001, None, "over £40,000"),
        ("more than 40k", 4_000_001, None, "over £40,000"),
        ("at least £45,000", 4_500_000, None, "£45,000 or more"),
        ("£45,000 or more", 4_500_000, None, "£45,000 or more"),
        ("under £20k", None, 1_999_999, "under £20,000"),
        ("up to £93,000", None, 9_300_000, "£93,000 or less"),
        ("between £10,000 and £50,000", 1_000_000, 5_000_000, "between £10,000 and £50,000"),
        ("from 50k to 10k", 1_000_000, 5_000_000, "between £10,000 and £50,000"),
        ("around £50k", 4_500_000, 5_500_000, "around £50,000"),
        ("the £45,000 award", 4_500_000, 4_500_000, "of exactly £45,000"),
        ("awards above forty thousand", 4_000_001, None, "over £40,000"),
        ("over 40000", 4_000_001, None, "over £40,000"),
    ],
)
def test_parse_amount_range(text: str, low: int | None, high: int | None, words: str) -> None:
    found = parse_amount_range(text)
    assert found is not None
    assert (found.min_pence, found.max_pence, found.description) == (low, high, words)


@pytest.mark.parametrize("text", ["awards in 2012", "how many awards?", "who got 3BM", ""])
def test_no_amount_range(text: str) -> None:
    assert parse_amount_range(text) is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("awards in 2012", dt.date(2012, 1, 1), dt.date(2012, 12, 31)),
        ("since 2013", dt.date(2013, 1, 1), None),
        ("after 2012", dt.date(2013, 1, 1), None),
        ("before 2013", None, dt.date(2012, 12, 31)),
        ("between 2013 and 2012", dt.date(2012, 1, 1), dt.date(2013, 12, 31)),
        ("in February 2013", dt.date(2013, 2, 1), dt.date(2013, 2, 28)),
        ("on 15 February 2013", dt.date(2013, 2, 15), dt.date(2013, 2, 15)),
        ("15th Feb 2013", dt.date(2013, 2, 15), dt.date(2013, 2, 15)),
        ("2013-02-15", dt.date(2013, 2, 15), dt.date(2013, 2, 15)),
    ],
)
def test_parse_date_range(text: str, start: dt.date | None, end: dt.date | None) -> None:
    found = parse_date_range(text)
    assert found is not None
    assert (found.date_from, found.date_to) == (start, end)


@pytest.mark.parametrize("text", ["awards over £2,012", "the 40k ones", "31 February 2013"])
def test_no_date(text: str) -> None:
    assert parse_date_range(text) is None


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("what is the largest award?", "largest"),
        ("biggest in London", "largest"),
        ("who got the most", "largest"),
        ("the smallest one", "smallest"),
        ("at least £5,000", None),
        ("the most recent award", "latest"),
        ("earliest award", "earliest"),
        ("awards in Oldham", None),
    ],
)
def test_parse_superlative(text: str, order: str | None) -> None:
    assert parse_superlative(text) == order


@pytest.mark.parametrize(
    ("text", "attribute"),
    [
        ("and who was the supplier?", "supplier"),
        ("who supported Spiral Health?", "supplier"),
        ("How much did Knowsley Youth Services get?", "amount"),
        ("when was it announced?", "date"),
        ("what support did they get?", "support"),
        ("what stage are they at?", "stage"),
        ("which region is it in?", "region"),
        ("where is that from?", "source"),
        ("source?", "source"),
        ("tell me about Spiral Health", None),
    ],
)
def test_parse_attribute(text: str, attribute: str | None) -> None:
    assert parse_attribute(text) == attribute


def test_counting_and_words() -> None:
    assert asks_for_count("how many awards in the North West?")
    assert not asks_for_count("awards in the North West")
    assert words_to_digits("forty-five thousand and fifty pounds") == "45050 pounds"
    assert words_to_digits("which one is a mutual") == "which one is a mutual"


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (9_300_000, "£93,000"),
        (5_585_200, "£55,852"),
        (5_585_250, "£55,852.50"),
        (1_892_700, "£18,927"),
        (0, "£0"),
        (99, "£0.99"),
        (-150, "-£1.50"),
        (100_000_000_000, "£1,000,000,000"),
    ],
)
def test_format_gbp(pence: int, text: str) -> None:
    assert format_gbp(pence) == text


def test_short_money_dates_and_lists() -> None:
    assert format_gbp_short(100_000_000) == "£1m"
    assert format_gbp_short(170_000_000) == "£1.7m"
    assert format_gbp_short(1_000_000_000) == "£10m"
    assert format_gbp_short(4_500_000) == "£45,000"
    assert format_date(dt.date(2013, 2, 15)) == "15 February 2013"
    assert format_date(dt.date(2012, 1, 1), "year") == "2012"
    assert format_date(dt.date(2012, 6, 1), "month") == "June 2012"
    assert join_names(["A"]) == "A"
    assert join_names(["A", "B", "C"]) == "A, B and C"
    assert join_names(["A", "B"], "or") == "A or B"


def test_hostile_text_is_cut_not_scanned() -> None:
    huge = "over £40,000 " + "x" * 10_000 + " 2012"
    found = parse_amount_range(huge)
    assert found is not None and found.min_pence == 4_000_001
    assert parse_date_range(huge) is None  # beyond the parsed prefix
