"""Every web response says nosniff and does not name the server (issue 11, finding 9)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

PATHS = [
    ("GET", "/health"),
    ("GET", "/no/such/page"),  # the router's 404
    ("GET", "/static/widget/widget.js"),  # a static file
    ("GET", "/api/handoffs"),  # 401 before sign-in
    ("POST", "/internal/handoffs"),  # 401 without the internal token
    ("GET", "/widget/config.json"),
    ("DELETE", "/health"),  # 405
]


@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_nosniff_and_no_server_header(client: TestClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", response.status
    assert "Server" not in response.headers
