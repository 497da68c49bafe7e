"""Where the actions find Rasa's API and the web app's internal API."""

from __future__ import annotations

import pytest

from actions.hotline_api import HotlineApi
from actions.rasa_nlu import RasaNlu


def test_defaults_are_localhost_on_the_configured_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RASA_URL", "HOTLINE_APP_URL", "RASA_TOKEN", "HOTLINE_INTERNAL_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RASA_PORT", "5105")
    monkeypatch.delenv("WEB_PORT", raising=False)
    assert RasaNlu.from_env() == RasaNlu("http://localhost:5105", "")
    assert HotlineApi.from_env() == HotlineApi("http://localhost:8080", "")


def test_urls_win_over_ports_and_tokens_are_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_URL", "http://rasa.internal:5005/")
    monkeypatch.setenv("RASA_TOKEN", " t0k \n")
    monkeypatch.setenv("HOTLINE_APP_URL", "http://web.internal:8080")
    monkeypatch.setenv("HOTLINE_INTERNAL_TOKEN", "s3cret")
    assert RasaNlu.from_env() == RasaNlu("http://rasa.internal:5005", "t0k")
    assert HotlineApi.from_env() == HotlineApi("http://web.internal:8080", "s3cret")
