"""Console pages: login form with CSRF, redirects, CSP and other headers, form actions."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.handoff_support import PASSWORDS, create_handoff


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def _form_login(client: TestClient, user: str = "alice") -> str:
    page = await client.get("/console/login")
    token = _csrf(await page.text())
    response = await client.post(
        "/console/login",
        data={
            "username": user,
            "password": PASSWORDS[user],
            "csrf_token": token,
            "next": "/console",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    queue = await client.get("/console")
    return _csrf(await queue.text())


async def test_pages_need_login_and_carry_a_strict_csp(client: TestClient) -> None:
    response = await client.get("/console/callbacks", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/login?next=/console/callbacks"
    login = await client.get("/console/login")
    csp = login.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert login.headers["X-Frame-Options"] == "DENY"
    await _form_login(client)
    page = await client.get("/console")
    assert page.status == 200 and "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert 'class="govuk-skip-link"' in await page.text()
    assert (await client.get("/assets/fonts/bold-b542beb274-v2.woff2")).status == 200


async def test_login_form_needs_its_csrf_token_and_rejects_open_redirects(
    client: TestClient,
) -> None:
    await client.get("/console/login")
    forged = await client.post(
        "/console/login",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": "forged"},
        allow_redirects=False,
    )
    assert forged.status == 403
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={
            "username": "alice",
            "password": PASSWORDS["alice"],
            "csrf_token": _csrf(await page.text()),
            "next": "https://evil.example/",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console"
    page = await client.get("/console/login")
    wrong = await client.post(
        "/console/login",
        data={
            "username": "alice",
            "password": "nope-nope-nope",
            "csrf_token": _csrf(await page.text()),
        },
    )
    assert wrong.status == 401 and "The user name or password is wrong" in await wrong.text()


async def test_forms_need_the_session_csrf_token(client: TestClient) -> None:
    ticket = await create_handoff(client, "form-1", reason="<script>alert(1)</script>")
    csrf = await _form_login(client)
    claim = f"/console/handoffs/{ticket['id']}/claim"
    assert (await client.post(claim, data={"csrf_token": "x"})).status == 403
    done = await client.post(claim, data={"csrf_token": csrf}, allow_redirects=False)
    assert done.status == 303
    page = await client.get(f"/console/handoffs/{ticket['id']}")
    html = await page.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    reply = await client.post(
        f"/console/handoffs/{ticket['id']}/reply", data={"csrf_token": csrf, "text": "Hi there"}
    )
    assert reply.status == 200 and "Hi there" in await reply.text()
    again = await client.post(claim, data={"csrf_token": csrf})
    assert again.status == 409 and "this conversation is with Alice Adviser" in await again.text()
    agent_only = await client.get("/console/figures")
    assert agent_only.status == 403


async def test_what_the_assistant_learned_shows_each_item_once(client: TestClient) -> None:
    summary = {
        "topics": ["eligibility", "awards"],
        "eligibility": {"elig_applicant": "public_sector_team"},
        "eligibility_verdict": "adviser",
        "organisation": "Knowsley",
        "award_lookups": ["Knowsley"],
        "one_line": "Asked about eligibility, awards",
    }
    ticket = await create_handoff(client, "learned-1", summary=summary)
    await _form_login(client)
    html = await (await client.get(f"/console/handoffs/{ticket['id']}")).text()
    panel = html.split("What the assistant learned", 1)[1].split("</dl>", 1)[0]
    keys = re.findall(r'<dt class="govuk-summary-list__key">([^<]+)</dt>', panel)
    for label in ("Asked about", "Organisation", "Eligibility answers", "Award look-ups"):
        assert keys.count(label) == 1, keys
    assert len(keys) == len(set(keys)), keys
    assert "public_sector_team" in panel and "Knowsley" in panel
