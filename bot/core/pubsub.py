"""Names of the Redis pub/sub channels one deployment's processes share (shared mode).

Pub/sub channels are global to a Redis server, whatever its database number, so
two deployments (or two test runs) on one Redis would hear each other's console
events and socket.io emits. Every process of one deployment holds the same
`HOTLINE_SESSION_KEY`, so the channel is named after a digest of it: the same
for the deployment, different for any other, and the key itself never leaves.
"""

from __future__ import annotations

import hashlib


def channel_name(kind: str, session_key: str) -> str:
    """The deployment's channel for one kind of traffic.

    Args:
        kind: ``console`` (the web processes' console events) or ``socketio``
            (the Rasa instances' socket.io emits).
        session_key: The deployment's `HOTLINE_SESSION_KEY` (as resolved).

    Returns:
        e.g. ``mutualshotline-console-3f2a9c0b1d4e``.

    """
    digest = hashlib.sha256(b"pubsub-channel:" + session_key.encode("utf-8")).hexdigest()[:12]
    return f"mutualshotline-{kind}-{digest}"
