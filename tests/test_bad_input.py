"""Bad input to the staff API is a 4xx, never a 500 (issue 11, finding 8)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.handoff_support import login

HUGE_IDS = ["2147483648", "9223372036854775808", "99999999999999999999999999", "0", "007"]


@pytest.mark.parametrize("ticket", HUGE_IDS)
async def test_ticket_ids_beyond_the_column_are_not_found(client: TestClient, ticket: str) -> None:
    headers = await login(client, "alice")
    for method, path in (
        ("GET", f"/api/handoffs/{ticket}"),
        ("POST", f"/api/handoffs/{ticket}/claim"),
        ("POST", f"/api/handoffs/{ticket}/reply"),
        ("POST", f"/api/callbacks/{ticket}/done"),
    ):
        response = await client.request(method, path, headers=headers, json={"text": "x"})
        assert response.status == 404, (method, path, response.status)


async def test_the_largest_id_the_database_holds_is_still_a_lookup(client: TestClient) -> None:
    headers = await login(client, "alice")
    response = await client.get("/api/handoffs/999999999", headers=headers)
    assert response.status == 404
    assert "error" in await response.json()  # the handler's own answer, not the router's
