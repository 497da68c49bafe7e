"""Issue 13: one privacy notice, true to the settings, on the page, in the widget, on the phone."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy import ActionValidateSlotMappings
from bot.config import Settings
from bot.core.content import hotline_number
from bot.privacy.notice import NOTICE_PATH, privacy_notice
from bot.web.widget import WIDGET_JS as WIDGET_SCRIPT


def _settings(**changes: Any) -> Settings:
    return replace(Settings.from_env({}), **changes)


def _all_text(settings: Settings) -> str:
    notice = privacy_notice(settings)
    parts = [notice.title, notice.short, notice.widget_short, notice.widget_browser]
    parts += [p for s in notice.sections for p in (s.heading, *s.paragraphs)]
    return "\n".join(parts)


def test_the_notice_states_the_configured_periods() -> None:
    settings = _settings(
        retain_conversations_days=45,
        retain_callbacks_days=14,
        retain_ratings_days=200,
        retain_audit_days=400,
    )
    text = _all_text(settings)
    for days in ("45 days", "14 days", "200 days", "400 days"):
        assert days in text
    assert "90 days" not in text  # the defaults are not written into the content
    assert hotline_number() in privacy_notice(settings).short
    # Nothing is left unfilled but the widget's own browser period.
    assert re.findall(r"\{[a-z_]+\}", text) == ["{browser_hours}"]


def test_the_notice_says_what_the_code_does() -> None:
    text = _all_text(_settings())
    # What is kept, who sees it, how to get a copy or erase it.
    for words in (
        "What we keep",
        "How long we keep it",
        "Who sees it",
        "copy",
        "delete",
        "number you call from",  # the phone channel stores `From` in the tracker metadata
        "masked",  # the log filter
        "remove it before the conversation is stored",  # the tracker store masks
    ):
        assert words in text, words
    raw = NOTICE_PATH.read_text(encoding="utf-8")
    assert re.search(r"\b\d+ days\b", raw) is None  # periods come only from the settings


async def test_the_page_and_the_widget_show_the_same_notice(
    aiohttp_client: Any, sqlite_settings: Settings
) -> None:
    from bot.db.migrate import upgrade
    from bot.web.app import create_app

    upgrade(sqlite_settings)
    settings = replace(sqlite_settings, retain_conversations_days=33)
    client = await aiohttp_client(create_app(settings))
    notice = privacy_notice(settings)
    page = await client.get("/privacy")
    assert page.status == 200 and "Content-Security-Policy" in page.headers
    html = await page.text()
    for paragraph in [notice.short, *notice.sections[1].paragraphs]:
        assert paragraph.replace("'", "&#39;") in html
    widget = await client.get("/widget/privacy.json")
    assert widget.status == 200
    body = await widget.json()
    assert body == notice.to_json() and "33 days" in body["short"]
    demo = await client.get("/")
    assert 'href="/privacy"' in await demo.text()


def test_the_widget_takes_its_words_from_the_notice() -> None:
    script = WIDGET_SCRIPT.read_text(encoding="utf-8")
    assert "/widget/privacy.json" in script and "/widget/erase" in script
    assert "{browser_hours}" in script  # it fills in its own storage period
    assert "Do not share sensitive personal details" not in script  # no second copy


def _call(text: str, users: int) -> Tracker:
    user = {"event": "user", "input_channel": "twilio_voice"}
    events = [{**user, "text": "earlier"}] * (users - 1) + [{**user, "text": text}]
    return Tracker("phone:x", {}, {"text": text}, events, False, None, {}, "twilio_voice")


def test_a_call_starts_with_the_short_notice() -> None:
    settings = _settings(retain_conversations_days=21)
    action = ActionValidateSlotMappings(settings)
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, _call("hello", users=1), {}))
    assert [m["text"] for m in dispatcher.messages] == [privacy_notice(settings).short]
    assert "21 days" in dispatcher.messages[0]["text"]
    later = CollectingDispatcher()
    asyncio.run(action.run(later, _call("how do I apply", users=2), {}))
    assert later.messages == []  # once per call
    web = CollectingDispatcher()
    first = [{"event": "user", "text": "hi", "input_channel": "socketio"}]
    tracker = Tracker("web:x", {}, {"text": "hi"}, first, False, None, {}, "socketio")
    asyncio.run(action.run(web, tracker, {}))
    assert web.messages == []  # the widget shows it on screen instead
