"""The web chat widget in a real browser (Playwright, Debian's Chromium) against the live stack."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.live_stack import LiveStack

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "widget"
HOTLINE = "0845 5390543"
REPLY_TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (make browser installs it)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


@pytest_asyncio.fixture
async def context(chromium: Path) -> AsyncIterator[Any]:
    """A fresh browser profile (empty localStorage) for one test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            ctx = await browser.new_context()
            ctx.set_default_timeout(REPLY_TIMEOUT_MS)
            yield ctx
        finally:
            await browser.close()


# ---- helpers ---------------------------------------------------------------
async def open_widget(page: Any, url: str) -> None:
    """Load a page and open the chat with the launcher button."""
    await page.goto(url)
    launcher = page.get_by_role("button", name="Chat with us")
    assert await launcher.get_attribute("aria-expanded") == "false"
    await launcher.click()
    assert await launcher.get_attribute("aria-expanded") == "true"
    assert await page.evaluate("document.activeElement.id") == "mh-input"
    await page.locator(".mh-status[data-state=connected]").wait_for()


async def ask(page: Any, text: str) -> Any:
    """Type a message as a keyboard user would; wait for the next bot message."""
    before = await page.locator(".mh-message--bot").count()
    await page.get_by_label("Your message").fill(text)
    await page.keyboard.press("Enter")
    reply = page.locator(".mh-message--bot").nth(before)
    await reply.wait_for()
    return reply


async def transcript(page: Any) -> list[tuple[str, str]]:
    """The conversation as (sender class, text) pairs."""
    return await page.eval_on_selector_all(
        ".mh-message",
        "items => items.map(i => [i.className.replace('mh-message mh-message--', ''),"
        " i.querySelector('.mh-text').textContent])",
    )


async def session_id(page: Any, rasa_url: str) -> str:
    raw = await page.evaluate(f"localStorage.getItem({json.dumps('mh-chat:' + rasa_url)})")
    return str(json.loads(raw)["sessionId"])


async def append_events(stack: LiveStack, conversation: str, events: list[dict[str, Any]]) -> None:
    """What the web app does for staff messages (docs/handoff.md)."""
    url = (
        f"{stack.rasa_url}/conversations/{conversation}/tracker/events"
        "?output_channel=latest&execute_side_effects=true"
    )
    auth = {"Authorization": f"Bearer {stack.rasa_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=events, headers=auth) as response,
    ):
        assert response.status == 200, await response.text()


def widget_page(web_url: str, rasa_url: str) -> str:
    """A bare third-party page that embeds the widget with its one script tag."""
    return (
        "<!DOCTYPE html><html lang='en'><head><title>Embed test</title></head><body>"
        "<main><h1>Somebody else's page</h1></main>"
        f"<script src='{web_url}/widget.js' data-rasa-url='{rasa_url}' defer></script>"
        "</body></html>"
    )


# ---- tests -----------------------------------------------------------------
async def test_questions_answers_reload_and_second_tab(live_stack: LiveStack, context: Any) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    reply = await ask(page, "what is a mutual?")
    assert "spun out" in await reply.inner_text()
    reply = await ask(page, "how much did Knowsley Youth Services get?")
    # The award's own amount from the register, not merely a currency sign.
    assert "was awarded £93,000 of professional support" in await reply.inner_text()
    assert await page.locator(".mh-typing").is_hidden()
    before = await transcript(page)
    assert [who for who, _ in before[:2]] == ["user", "bot"]
    assert before[0][1] == "what is a mutual?"
    sid = await session_id(page, live_stack.rasa_url)

    # Reload: same conversation, still open, same session.
    await page.reload()
    await page.locator(".mh-status[data-state=connected]").wait_for()
    assert await page.locator("#mh-panel").is_visible()
    assert await transcript(page) == before
    assert await session_id(page, live_stack.rasa_url) == sid

    # A second tab shows the same conversation and carries it on; the first tab follows.
    other = await context.new_page()
    await other.goto(f"{live_stack.web_url}/")
    await other.locator(".mh-status[data-state=connected]").wait_for()
    assert await transcript(other) == before
    await ask(other, "who decides on support?")
    await page.locator(".mh-message").nth(len(before) + 1).wait_for()
    assert await transcript(page) == await transcript(other)
    assert len(await transcript(page)) == len(before) + 2, "the reply is stored once, not per tab"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "conversation.png"))


async def test_quick_reply_button(live_stack: LiveStack, context: Any) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    await ask(page, "am I eligible for support?")
    replies = page.locator(".mh-reply")
    await replies.first.wait_for()
    title = (await replies.first.inner_text()).strip()
    count = await page.locator(".mh-message--bot").count()
    await replies.first.focus()
    await page.keyboard.press("Enter")  # buttons work from the keyboard
    await page.locator(".mh-message--bot").nth(count).wait_for()
    messages = await transcript(page)
    user_texts = [text for who, text in messages if who == "user"]
    assert user_texts[-1] == title, "the button's title is shown as the caller's message"
    assert not any(text.startswith("/") for text in user_texts), "payloads are not shown"
    assert await page.evaluate("document.activeElement.id") == "mh-input"


async def test_html_is_shown_as_text(live_stack: LiveStack, context: Any) -> None:
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await open_widget(page, f"{live_stack.web_url}/")
    hostile = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]
    for text in hostile:
        await ask(page, text)
    conversation = live_stack.web_conversation(await session_id(page, live_stack.rasa_url))
    await append_events(
        live_stack,
        conversation,
        [
            {"event": "bot", "text": "<b>bold</b><img src=x onerror=alert(3)>"},
            {
                "event": "bot",
                "text": "<script>alert(4)</script>",
                "metadata": {"sender": "staff", "staff_name": "<i>Sam</i>"},
            },
        ],
    )
    await page.locator(".mh-message--staff").wait_for()
    texts = [text for _, text in await transcript(page)]
    for text in [*hostile, "<b>bold</b><img src=x onerror=alert(3)>", "<script>alert(4)</script>"]:
        assert text in texts
    assert await page.locator(".mh-messages img, .mh-messages script, .mh-messages b").count() == 0
    assert "<i>Sam</i>" in await page.locator(".mh-message--staff .mh-sender").inner_text()
    assert dialogs == []


async def test_staff_reply_is_shown_as_from_a_person(live_stack: LiveStack, context: Any) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    await ask(page, "hello")
    await page.get_by_role("button", name="Talk to a person").click()
    await page.locator(".mh-message--user", has_text="Talk to a person").wait_for()
    conversation = live_stack.web_conversation(await session_id(page, live_stack.rasa_url))

    await append_events(
        live_stack,
        conversation,
        [
            {"event": "bot", "data": {"custom": {"typing": True, "sender": "staff"}}},
        ],
    )
    await page.locator(".mh-typing", has_text="Adviser is typing").wait_for()
    await append_events(
        live_stack,
        conversation,
        [
            {
                "event": "bot",
                "text": "Hello, I'm Sam. How can I help?",
                "metadata": {"sender": "staff", "staff_name": "Sam"},
            },
        ],
    )
    staff = page.locator(".mh-message--staff")
    await staff.wait_for()
    assert "Hello, I'm Sam. How can I help?" in await staff.inner_text()
    assert await staff.locator(".mh-sender").inner_text() == "Sam, hotline adviser"
    banner = page.locator(".mh-handoff")
    assert "You're talking to a hotline adviser" in await banner.inner_text()
    assert await page.locator(".mh-typing").is_hidden()
    assert "Hello, I'm Sam" in await page.locator(".mh-announcer").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "staff.png"))

    # The state survives a reload; handing back clears it.
    await page.reload()
    assert "hotline adviser" in await page.locator(".mh-handoff").inner_text()
    await page.locator(".mh-status[data-state=connected]").wait_for()
    await append_events(
        live_stack,
        conversation,
        [
            {
                "event": "bot",
                "text": "You're back with the automated assistant.",
                "metadata": {"handoff_state": None},
            },
        ],
    )
    await page.locator(".mh-message--bot", has_text="back with the automated").wait_for()
    assert await page.locator(".mh-handoff").is_hidden()


async def test_messages_sent_while_disconnected_are_queued(
    live_stack: LiveStack, context: Any
) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    await ask(page, "hello")
    await page.evaluate("window.mhWidget.socket.disconnect()")
    await page.locator(".mh-status[data-state=reconnecting]").wait_for()
    await page.get_by_label("Your message").fill("what is a mutual?")
    await page.keyboard.press("Enter")
    await page.locator(".mh-pending").wait_for()
    bots = await page.locator(".mh-message--bot").count()
    await page.evaluate("window.mhWidget.socket.connect()")
    await page.locator(".mh-status[data-state=connected]").wait_for()
    await page.locator(".mh-message--bot").nth(bots).wait_for()
    assert "spun out" in await page.locator(".mh-message--bot").nth(bots).inner_text()
    assert await page.locator(".mh-pending").count() == 0

    # A dropped transport (not a deliberate disconnect) reconnects by itself.
    await page.evaluate("window.mhWidget.socket.io.engine.close()")
    await page.locator(".mh-status[data-state=connected]").wait_for()
    reply = await ask(page, "who decides on support?")
    assert await reply.inner_text()


async def test_no_serious_accessibility_violations(live_stack: LiveStack, context: Any) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    await ask(page, "am I eligible for support?")
    await page.locator(".mh-reply").first.wait_for()
    conversation = live_stack.web_conversation(await session_id(page, live_stack.rasa_url))
    await append_events(
        live_stack,
        conversation,
        [
            {
                "event": "bot",
                "text": "Hello, I'm Sam.",
                "metadata": {"sender": "staff", "staff_name": "Sam"},
            },
        ],
    )
    await page.locator(".mh-message--staff").wait_for()
    # The demo page's CSP allows our own scripts only: load axe from our static folder.
    await page.add_script_tag(url=f"{live_stack.web_url}/static/vendor/js/axe.min.js")
    result = await page.evaluate(
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "axe.json").write_text(json.dumps(result, indent=2))
    await page.screenshot(path=str(SCREENSHOTS / "axe.png"))
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, indent=2)


async def test_second_allowed_origin(live_stack: LiveStack, context: Any) -> None:
    """The page on 127.0.0.1 (the other default CORS origin) talks to Rasa on localhost."""
    page = await context.new_page()
    web_port = live_stack.web_url.rsplit(":", 1)[1]
    await open_widget(page, f"http://127.0.0.1:{web_port}/")
    reply = await ask(page, "what is a mutual?")
    assert "spun out" in await reply.inner_text()


async def test_connection_failure_shows_the_hotline(live_stack: LiveStack, context: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://localhost:{sock.getsockname()[1]}"
    page = await context.new_page()
    embed_url = f"{live_stack.web_url}/embed-closed"
    await page.route(
        embed_url,
        lambda route: route.fulfill(
            content_type="text/html", body=widget_page(live_stack.web_url, closed)
        ),
    )
    await page.goto(embed_url)
    await page.get_by_role("button", name="Chat with us").click()
    warning = page.locator(".mh-offline")
    await warning.wait_for(timeout=15_000)
    assert HOTLINE in await warning.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "offline.png"))


async def test_messages_sent_to_the_caller_while_disconnected_are_caught_up(
    live_stack: LiveStack, context: Any
) -> None:
    page = await context.new_page()
    await open_widget(page, f"{live_stack.web_url}/")
    await ask(page, "hello")
    conversation = live_stack.web_conversation(await session_id(page, live_stack.rasa_url))
    await page.evaluate("window.mhWidget.socket.disconnect()")
    await page.locator(".mh-status[data-state=reconnecting]").wait_for()
    # An adviser writes while the caller's connection is down: Rasa cannot deliver it.
    await append_events(
        live_stack,
        conversation,
        [
            {
                "event": "bot",
                "text": "Sorry we missed you, this is Priya.",
                "metadata": {"sender": "staff", "staff_name": "Priya"},
            },
        ],
    )
    assert await page.locator(".mh-message--staff").count() == 0
    await page.evaluate("window.mhWidget.socket.connect()")
    staff = page.locator(".mh-message--staff", has_text="Sorry we missed you")
    await staff.wait_for()
    assert await staff.count() == 1
    # Nothing already shown is repeated.
    texts = [text for kind, text in await transcript(page) if kind == "bot"]
    assert len(texts) == len(set(texts))


async def test_history_endpoint_refuses_malformed_ids(live_stack: LiveStack) -> None:
    """The widget posts its session secret; ids in the URL are gone (issue 11, finding 2)."""
    url = f"{live_stack.web_url}/widget/history"
    async with aiohttp.ClientSession() as http:
        for bad in ("", "x", "../../etc/passwd", "a" * 200, "<script>"):
            async with http.post(url, json={"session_id": bad}) as response:
                assert response.status == 400
        async with http.get(url, params={"session_id": "no-such-conversation-1"}) as response:
            assert response.status == 405
        async with http.post(url, json={"session_id": "no-such-conversation-1"}) as response:
            assert response.status == 200
            assert (await response.json())["items"] == []
