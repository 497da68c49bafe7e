"""One UK phone rule: the callback form, the internal API and the phone voice agree."""

from __future__ import annotations

import pytest

from bot.channels.speech import speak_phone_number
from bot.core.phone import find_uk_phone, format_uk_phone, normalise_uk_phone, spoken_groups
from bot.web.internal import uk_phone_field
from bot.web.validation import InputError

TYPED = [
    "07700 900123",
    "+44 7700 900123",
    "0044 (0)20 7946 0000",
    "020-7946-0000",
    "0770090012",
    "020 7946 000",
    "+1 202 555 0100",
    "07700 900123 ext 4",
    "07700.900.123",
    "0845 5390543",
    "999",
    "",
]


@pytest.mark.parametrize("typed", TYPED)
def test_the_internal_api_takes_exactly_what_the_form_takes(typed: str) -> None:
    number = normalise_uk_phone(typed)
    if number is None:
        with pytest.raises(InputError):
            uk_phone_field(typed)
    else:
        assert uk_phone_field(typed) == number


@pytest.mark.parametrize(
    ("number", "written", "spoken"),
    [
        ("07700900123", "07700 900123", "0 7 7 0 0, 9 0 0, 1 2 3"),
        ("02079460000", "020 7946 0000", "0 2 0, 7 9 4 6, 0 0 0 0"),
        ("08455390543", "0845 539 0543", "0 8 4 5, 5 3 9, 0 5 4 3"),
        ("01632960001", "01632 960001", "0 1 6 3 2, 9 6 0, 0 0 1"),
    ],
)
def test_a_number_is_written_and_spoken_in_its_groups(
    number: str, written: str, spoken: str
) -> None:
    assert format_uk_phone(number) == written
    assert speak_phone_number(number) == spoken
    assert speak_phone_number("+44 " + number[1:]) == spoken
    assert "".join(spoken_groups(written)) == number


@pytest.mark.parametrize(
    ("said", "number"),
    [
        ("it's 07700 900 123", "07700900123"),
        ("my number is +44 7700 900123, thanks", "07700900123"),
        ("call me on (020) 7946 0000 please", "02079460000"),
        ("07700 900123", "07700900123"),
    ],
)
def test_a_number_given_in_a_sentence_is_found(said: str, number: str) -> None:
    assert find_uk_phone(said) == number


@pytest.mark.parametrize(
    "said",
    [
        "07700 900123 ext 4",
        "07700 900123 x4",
        "07700 900123 or 07700 900456",
        "ring me on 07700 900123 after 5",
        "any time after 2pm",
        "call 123",
        "it's 07700 900 123 " + "and more " * 30,
    ],
)
def test_anything_unclear_is_refused(said: str) -> None:
    assert find_uk_phone(said) is None
