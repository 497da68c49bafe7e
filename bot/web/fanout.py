"""Console events across web processes: Redis pub/sub in front of each process's hub.

In the single-process default the handoff broadcasts straight to this
process's `ConsoleHub`. In shared mode (`HOTLINE_PUBSUB_URL`) every web process
subscribes to one Redis channel and the handoff's `Broadcaster` is a
`RedisFanout`: an event is published once and each process, the publisher
included, hands it to the consoles connected to it. So a console on process 1
sees a ticket created through process 2, and each console gets each event once
(every event reaches a console only through the one subscription of its
process).

Pub/sub is fire-and-forget: a process that is down misses events, but its
consoles are disconnected then too and get a fresh snapshot when they reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.web.hub import ConsoleHub

log = logging.getLogger(__name__)

#: Pause before resubscribing after Redis went away.
RETRY_SECONDS = 1.0


class RedisFanout:
    """The handoff's `Broadcaster` in shared mode: publish to Redis, deliver from it.

    Args:
        url: Redis URL (`HOTLINE_PUBSUB_URL`).
        hub: This process's console sockets.
        channel: The pub/sub channel (all web processes of the deployment use the
            same one: `bot.core.pubsub.channel_name`).

    """

    def __init__(self, url: str, hub: ConsoleHub, channel: str) -> None:
        self._redis = aioredis.Redis.from_url(url)
        self._hub = hub
        self._channel = channel
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Subscribe, and return once subscribed (events published after this arrive)."""
        self._listener = asyncio.create_task(self._listen(), name="console-fanout")
        # Wait for the first subscription, but fail fast if Redis is not there at all.
        waiter = asyncio.ensure_future(self._subscribed.wait())
        done, _ = await asyncio.wait(
            {waiter, self._listener}, timeout=10, return_when="FIRST_COMPLETED"
        )
        if waiter not in done:
            waiter.cancel()
            await self.stop()
            raise RuntimeError(f"could not subscribe to Redis channel {self._channel!r}")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._listener
            self._listener = None
        with contextlib.suppress(RedisError, OSError):
            await self._redis.close()

    async def broadcast(self, payload: dict[str, Any]) -> None:
        """Publish one event to every web process's consoles (never raises).

        Args:
            payload: The console event (JSON-serialisable).

        """
        data = json.dumps(payload)
        try:
            await self._redis.publish(self._channel, data)
        except (RedisError, OSError) as exc:
            # Redis is away: this process's consoles at least get it; the others
            # reload their snapshot when they reconnect.
            log.warning("console event not published (%s); delivered locally only", exc)
            await self._hub.broadcast(payload)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        payload = json.loads(message["data"])
                    except (TypeError, ValueError):
                        log.warning("ignored a console event that is not JSON")
                        continue
                    await self._hub.broadcast(payload)
            except (RedisError, OSError) as exc:
                log.warning("console fan-out lost Redis (%s); resubscribing", exc)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.close()
