"""The /awards page in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.web.app import create_app

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (make browser installs it)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


async def test_filter_by_region_in_a_browser(
    aiohttp_server: Any, seeded_sqlite: Settings, chromium: Path, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    server = await aiohttp_server(create_app(seeded_sqlite))
    base = f"http://{server.host}:{server.port}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/awards")
            assert await page.locator("h1").inner_text() == "Details of successful awards"
            assert await page.locator("tbody tr").count() == 7

            # Labels are wired to their fields: select by label, as a screen reader user would.
            await page.get_by_label("Region").select_option("North West")
            await page.get_by_label("Minimum amount").fill("40,000")
            await page.get_by_role("button", name="Apply filters").click()
            await page.wait_for_url("**/awards?*region=North+West*")

            rows = page.locator("tbody tr")
            assert await rows.count() == 3
            regions = await page.locator("td.app-award-region").all_inner_texts()
            assert set(regions) == {"North West"}
            amounts = await page.locator("td.app-award-amount").all_inner_texts()
            assert sorted(amounts) == ["£45,000", "£46,000", "£93,000"]
            summary = await page.locator("#results-summary").inner_text()
            assert "3 awards, totalling £184,000" in summary
            assert (
                "published awards we know of" in await page.locator("#register-caveat").inner_text()
            )
            await page.screenshot(path=str(tmp_path / "awards.png"), full_page=True)
        finally:
            await browser.close()
