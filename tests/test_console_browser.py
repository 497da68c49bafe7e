"""The console in a real browser (Playwright driving Debian's Chromium).

Signs in through the form, watches the queue update live when the action server
creates a ticket, opens the conversation, shows that HTML and script a caller typed
appear as text (nothing runs: CSP without unsafe-inline, textContent, autoescape),
claims, replies, and runs axe-core over the pages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.web.app import create_app
from bot.web.context import STATIC_DIR
from tests.handoff_support import INTERNAL, PASSWORDS, FakeRasa

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
AXE = STATIC_DIR / "vendor" / "js" / "axe.min.js"
HOSTILE_REASON = '<img src=x onerror="window.__xss=1">'
HOSTILE_MESSAGE = "<script>window.__xss=2</script><b>bold</b> & 'quotes'"

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (make browser installs it)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


async def _internal(base: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}{path}", json=payload, headers=INTERNAL) as response,
    ):
        assert response.status in (201, 202), await response.text()
        return await response.json()


async def _axe(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate("async () => JSON.stringify(await axe.run())")
    violations = json.loads(result)["violations"]
    return [v for v in violations if v["impact"] in ("serious", "critical")]


async def test_console_live_queue_conversation_and_hostile_text(
    aiohttp_server: Any, staffed: Settings, fake_rasa: FakeRasa, chromium: Path, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    server = await aiohttp_server(create_app(staffed))
    base = f"http://{server.host}:{server.port}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            page = await context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: dialogs.append(d.message))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            # Every console page needs a login.
            await page.goto(f"{base}/console")
            assert page.url.startswith(f"{base}/console/login")
            assert await page.locator("h1").inner_text() == "Sign in to the hotline console"
            await page.get_by_label("User name").fill("alice")
            await page.get_by_label("Password").fill(PASSWORDS["alice"])
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/console")
            assert await page.locator("h1").inner_text() == "Queue"
            await page.wait_for_selector("body[data-live='true']")
            assert await page.locator("#queue-body tr").count() == 0

            # The action server hands over a conversation: the row appears without reload.
            ticket = await _internal(
                base,
                "/internal/handoffs",
                {
                    "conversation_id": "browser-1",
                    "channel": "socketio",
                    "reason": HOSTILE_REASON,
                    "summary": {"one_line": "<i>Asked</i> about eligibility"},
                },
            )
            row = page.locator("#queue-body tr")
            await row.first.wait_for()
            assert await row.count() == 1
            text = await row.first.inner_text()
            assert HOSTILE_REASON in text and "<i>Asked</i> about eligibility" in text
            assert await page.locator("#queue-body img, #queue-body i").count() == 0
            assert await page.locator("#waiting-count").inner_text() == "1"

            await _internal(
                base,
                "/internal/handoffs/browser-1/messages",
                {"text": HOSTILE_MESSAGE, "message_id": "b-1"},
            )
            await page.get_by_role("link", name=f"Open conversation {ticket['id']}").click()
            await page.wait_for_url(f"{base}/console/handoffs/{ticket['id']}")
            caller = page.locator("#transcript .app-msg--caller .app-msg__text")
            assert await caller.last.inner_text() == HOSTILE_MESSAGE
            assert await page.locator("#transcript b, #transcript script").count() == 0

            await page.get_by_role("button", name="Claim conversation").click()
            await page.get_by_label("Reply to the caller").wait_for()
            await page.wait_for_selector("body[data-live='true']")
            assert "You're now talking to Alice Adviser, a hotline adviser." in (
                fake_rasa.texts_for("browser-1")
            )

            # A caller message arriving while the page is open shows live, as text.
            live = '<svg onload="window.__xss=3"></svg> still there?'
            await _internal(
                base, "/internal/handoffs/browser-1/messages", {"text": live, "message_id": "b-2"}
            )
            await page.wait_for_function(
                "t => [...document.querySelectorAll('#transcript .app-msg__text')]"
                ".some(n => n.textContent === t)",
                arg=live,
            )
            assert await page.locator("#transcript svg").count() == 0

            reply = "Thanks – <u>we</u> can help."
            await page.get_by_label("Reply to the caller").fill(reply)
            await page.get_by_role("button", name="Send reply").click()
            staff = page.locator("#transcript .app-msg--staff .app-msg__text")
            await staff.last.wait_for()
            await page.wait_for_function(
                "t => [...document.querySelectorAll('#transcript .app-msg--staff .app-msg__text')]"
                ".some(n => n.textContent === t)",
                arg=reply,
            )
            assert await page.locator("#reply-text").input_value() == ""
            assert reply in fake_rasa.texts_for("browser-1")
            assert any(
                e.get("data", {}).get("custom", {}).get("typing")
                for e in fake_rasa.events_for("browser-1")
            )

            assert await page.evaluate("window.__xss") is None
            assert dialogs == [] and errors == []
            await page.screenshot(path=str(tmp_path / "conversation.png"), full_page=True)
        finally:
            await browser.close()


async def test_console_pages_pass_axe(
    aiohttp_server: Any, staffed: Settings, fake_rasa: FakeRasa, chromium: Path
) -> None:
    from playwright.async_api import async_playwright

    server = await aiohttp_server(create_app(staffed))
    base = f"http://{server.host}:{server.port}"
    await _internal(base, "/internal/handoffs", {"conversation_id": "axe-1", "reason": "help"})
    await _internal(
        base, "/internal/callbacks", {"name": "Pat", "phone": "020 7946 0000", "reason": "x"}
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            # Only this context bypasses the CSP, to inject axe-core.
            page = await (await browser.new_context(bypass_csp=True)).new_page()
            await page.goto(f"{base}/console/login")
            assert await _axe(page) == []
            await page.get_by_label("User name").fill("sup")
            await page.get_by_label("Password").fill(PASSWORDS["sup"])
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/console")
            for path in (
                "/console",
                "/console/handoffs/1",
                "/console/callbacks",
                "/console/canned",
                "/console/figures",
                "/console/audit",
            ):
                await page.goto(f"{base}{path}")
                assert await page.locator("h1").count() == 1, path
                assert await page.locator("a.govuk-skip-link").count() == 1
                assert await _axe(page) == [], path
        finally:
            await browser.close()


async def test_a_supervisor_closes_ticked_requests_in_the_browser(
    aiohttp_server: Any, staffed: Settings, fake_rasa: FakeRasa, chromium: Path
) -> None:
    """Issue 11, finding 6: a flood is cleared from the queue page; ticks survive updates."""
    from playwright.async_api import async_playwright

    server = await aiohttp_server(create_app(staffed))
    base = f"http://{server.host}:{server.port}"
    first = await _internal(base, "/internal/handoffs", {"conversation_id": "web:flood-a"})
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            # CSP bypassed only so axe-core can be injected at the end.
            page = await (await browser.new_context(bypass_csp=True)).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{base}/console/login")
            await page.get_by_label("User name").fill("sup")
            await page.get_by_label("Password").fill(PASSWORDS["sup"])
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/console")
            await page.wait_for_selector("body[data-live='true']")
            await page.get_by_label(f"Select conversation {first['id']}").check()
            # A new caller arrives while the supervisor is choosing: the tick stays.
            second = await _internal(base, "/internal/handoffs", {"conversation_id": "web:real"})
            await page.locator(f"#queue-body tr[data-ticket-id='{second['id']}']").wait_for()
            assert await page.get_by_label(f"Select conversation {first['id']}").is_checked()
            await page.get_by_role("button", name="Close selected requests").click()
            await page.wait_for_url(f"{base}/console")
            rows = page.locator("#queue-body tr")
            await page.wait_for_function("document.querySelectorAll('#queue-body tr').length === 1")
            assert await rows.first.get_attribute("data-ticket-id") == str(second["id"])
            assert await _axe(page) == []
            assert errors == []
        finally:
            await browser.close()
