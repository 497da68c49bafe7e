"""Staffed hours: parsing, UK time across the clock changes, holidays, configuration errors."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ConfigError, Settings
from bot.core.hours import UK, HoursError, parse_hours

UTC = dt.timezone.utc
WEEKDAYS = parse_hours("mon-fri 09:00-17:00", "2026-12-25,2026-12-26")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        (utc(2026, 1, 14, 9, 0), True),  # Wednesday 09:00 GMT = 09:00 UTC
        (utc(2026, 1, 14, 8, 59), False),
        (utc(2026, 1, 14, 16, 59), True),
        (utc(2026, 1, 14, 17, 0), False),  # closing time is exclusive
        (utc(2026, 1, 17, 12, 0), False),  # Saturday
        # British Summer Time: 09:00 in London is 08:00 UTC.
        (utc(2026, 7, 15, 8, 0), True),
        (utc(2026, 7, 15, 7, 59), False),
        (utc(2026, 7, 15, 16, 0), False),  # 17:00 BST
        # The clocks go forward on Sunday 29 March 2026; Monday 30th opens at 08:00 UTC.
        (utc(2026, 3, 27, 8, 30), False),  # Friday, still GMT: 08:30 local
        (utc(2026, 3, 30, 8, 30), True),  # Monday, BST: 09:30 local
        # They go back on Sunday 25 October 2026.
        (utc(2026, 10, 23, 8, 30), True),  # Friday, BST: 09:30 local
        (utc(2026, 10, 26, 8, 30), False),  # Monday, GMT: 08:30 local
        # Holidays, in UK dates: Christmas Day is closed all day, 27th (Sunday) anyway.
        (utc(2026, 12, 25, 12, 0), False),
        (utc(2026, 12, 24, 12, 0), True),
        (utc(2026, 12, 28, 12, 0), True),
    ],
)
def test_is_open(when: dt.datetime, open_: bool) -> None:
    assert WEEKDAYS.is_open(when) is open_


def test_local_midnight_decides_the_holiday_date() -> None:
    hours = parse_hours("mon-sun 00:00-24:00", "2026-07-01")
    assert hours.is_open(utc(2026, 6, 30, 22, 59))  # 23:59 BST on 30 June
    assert not hours.is_open(utc(2026, 6, 30, 23, 0))  # 00:00 BST on 1 July


def test_always_is_always_open_and_needs_aware_times() -> None:
    always = parse_hours("Always", "2026-12-25")
    assert always.always and always.is_open(utc(2026, 12, 25, 3, 0))
    with pytest.raises(ValueError, match="aware"):
        always.is_open(dt.datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001


def test_several_rules_and_day_lists() -> None:
    hours = parse_hours("mon,wed 09:00-12:00; sat 10:00-13:00")
    assert hours.is_open(utc(2026, 1, 12, 10, 0))  # Monday
    assert not hours.is_open(utc(2026, 1, 13, 10, 0))  # Tuesday
    assert hours.is_open(utc(2026, 1, 17, 12, 59))  # Saturday
    assert not hours.is_open(utc(2026, 1, 17, 13, 0))


def test_next_opening_skips_weekends_and_holidays_in_uk_time() -> None:
    opening = WEEKDAYS.next_opening(utc(2026, 12, 24, 18, 0))  # Thursday evening
    assert opening == dt.datetime(2026, 12, 28, 9, 0, tzinfo=UK)  # Mon (25, 26 holidays)
    summer = WEEKDAYS.next_opening(utc(2026, 7, 17, 17, 0))
    assert summer is not None and summer.astimezone(UTC) == utc(2026, 7, 20, 8, 0)


@pytest.mark.parametrize(
    ("hours", "holidays", "message"),
    [
        ("", "", "empty"),
        ("weekdays 9-5", "", "not like"),
        ("mon-fri 09:00", "", "not like"),
        ("mon-fri 17:00-09:00", "", "after the opening"),
        ("fri-mon 09:00-17:00", "", "forwards"),
        ("mon-fri 09:00-25:00", "", "not a valid time"),
        ("mon-fri 09:60-17:00", "", "not a valid time"),
        ("funday 09:00-17:00", "", "days are"),
        ("mon-fri 09:00-17:00", "25/12/2026", "not a date"),
    ],
)
def test_bad_hours_are_refused_with_a_clear_message(
    hours: str, holidays: str, message: str
) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours(hours, holidays)


def test_settings_read_and_validate_handoff_variables() -> None:
    settings = Settings.from_env(
        {
            "HOTLINE_HOURS": "always",
            "HOTLINE_MAX_QUEUE": "3",
            "HOTLINE_INTERNAL_TOKEN": "secret",
            "RASA_TOKEN": "rasa",
            "RASA_URL": "http://rasa:5005/",
        }
    )
    assert settings.hotline_hours.always and settings.hotline_max_queue == 3
    assert settings.rasa_url == "http://rasa:5005" and settings.cookie_secure is False
    assert "secret" not in repr(settings) and "rasa'" not in repr(settings)
    default = Settings.from_env({})
    assert default.hotline_hours.text == "mon-fri 09:00-17:00"
    https = Settings.from_env({"PUBLIC_BASE_URL": "https://hotline.example.gov.uk"})
    assert https.cookie_secure is True
    for env, name in [
        ({"HOTLINE_HOURS": "sometimes"}, "HOTLINE_HOURS"),
        ({"HOTLINE_HOLIDAYS": "christmas"}, "HOTLINE_HOLIDAYS"),
        ({"HOTLINE_MAX_QUEUE": "ten"}, "HOTLINE_MAX_QUEUE"),
        ({"HOTLINE_MAX_QUEUE": "-1"}, "HOTLINE_MAX_QUEUE"),
        ({"RASA_URL": "rasa:5005"}, "RASA_URL"),
        ({"HOTLINE_COOKIE_SECURE": "maybe"}, "HOTLINE_COOKIE_SECURE"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env(env)
