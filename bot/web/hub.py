"""The open staff console WebSockets (the handoff's `Broadcaster`).

Events pushed: `{"type": "ticket", "event": "created"|"updated", "ticket": {...}}`,
`{"type": "message", "ticket_id": n, "message": {...}}`, `{"type": "callback", ...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
from aiohttp import web


class ConsoleHub:
    """The open console WebSockets; broadcasts JSON events to all of them."""

    def __init__(self) -> None:
        self._sockets: set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        """Register a connected socket."""
        self._sockets.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        """Forget a socket (closed)."""
        self._sockets.discard(ws)

    async def broadcast(self, payload: dict[str, Any]) -> None:
        """Send an event to every console; a dead socket is dropped, never blocks the rest."""
        if not self._sockets:
            return
        data = json.dumps(payload)
        sockets = list(self._sockets)
        results = await asyncio.gather(
            *(ws.send_str(data) for ws in sockets), return_exceptions=True
        )
        for ws, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                self._sockets.discard(ws)

    async def close_all(self) -> None:
        """Close every socket (shutdown)."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"shutdown")
        self._sockets.clear()
