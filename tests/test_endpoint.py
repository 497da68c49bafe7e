"""Where the actions find Rasa's API and the web app's internal API."""

from __future__ import annotations

import pytest

from actions.hotline_api import HotlineApi
from actions.rasa_nlu import RasaNlu
from bot.config import Settings


def test_defaults_are_localhost_on_the_configured_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RASA_URL", "HOTLINE_APP_URL", "RASA_TOKEN", "HOTLINE_INTERNAL_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RASA_PORT", "5105")
    monkeypatch.delenv("WEB_PORT", raising=False)
    assert RasaNlu.from_settings(Settings.from_env()) == RasaNlu("http://localhost:5105", "")
    assert HotlineApi.from_settings(Settings.from_env()) == HotlineApi("http://localhost:8080", "")


def test_urls_win_over_ports_and_tokens_are_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_URL", "http://rasa.internal:5005/")
    monkeypatch.setenv("RASA_TOKEN", " t0k \n")
    monkeypatch.setenv("HOTLINE_APP_URL", "http://web.internal:8080")
    monkeypatch.setenv("HOTLINE_INTERNAL_TOKEN", "s3cret")
    assert RasaNlu.from_settings(Settings.from_env()) == RasaNlu("http://rasa.internal:5005", "t0k")
    assert HotlineApi.from_settings(Settings.from_env()) == HotlineApi(
        "http://web.internal:8080", "s3cret"
    )


def test_the_stack_and_first_supervisor_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "WEB_PORT": "8181",
            "ACTIONS_PORT": "5155",
            "HOTLINE_ADMIN_USER": " chief ",
            "HOTLINE_ADMIN_PASSWORD": "a-long-admin-password",
        }
    )
    assert settings.cors_origins == ("http://localhost:8181", "http://127.0.0.1:8181")
    assert settings.hotline_app_url == "http://localhost:8181"
    assert settings.actions_port == 5155
    assert (settings.admin_user, settings.admin_password) == ("chief", "a-long-admin-password")
    assert "a-long-admin-password" not in repr(settings)
    with pytest.raises(ValueError, match="CORS_ORIGINS must list the sites' own origins"):
        Settings.from_env({"CORS_ORIGINS": "https://a.example, *"})
    with pytest.raises(ValueError, match="HOTLINE_APP_URL must be an http"):
        Settings.from_env({"HOTLINE_APP_URL": "web.internal:8080"})
