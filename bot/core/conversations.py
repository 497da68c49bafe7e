"""Conversation ids that are not secrets, one namespace per channel.

A conversation id is what staff, logs, URLs and the tracker store see, so it
must never be what proves a client may join, read or write a conversation
(issue 11, findings 2-4):

- Web (socket.io): the client holds a random *session secret* (the `session_id`
  a standard socket.io client such as rasa-webchat stores and sends back in
  `session_request`). The conversation id is `web:` plus an HMAC of that secret
  under the server's key, so knowing a conversation id gives nothing: it cannot
  be turned back into the secret, and a secret that is not the caller's gives
  another conversation.
- Phone (Twilio Voice): `phone:` plus an HMAC of the call's `CallSid`, so one
  call is one conversation and a request naming only a phone number (`From`)
  reaches none but its own call's.
- REST: `rest:` plus the sender the client chose; no other channel makes ids
  with that prefix, so REST never reaches a phone or web conversation.

The key is `HOTLINE_SESSION_KEY`; without it, one is generated once into
`var/session.key` and shared by the processes of one machine
(:func:`resolve_key`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from bot.core.net import is_loopback

WEB_PREFIX = "web:"
PHONE_PREFIX = "phone:"
REST_PREFIX = "rest:"
# 128 bits of hex: enough that nobody guesses a conversation into existence.
_DIGEST_CHARS = 32
# What a client may offer as its session secret: long enough not to be guessed
# (uuid4().hex, which Rasa and rasa-webchat make, is 32), short enough to log nothing big.
SESSION_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
# What a REST client may name its own conversation.
REST_SENDER = re.compile(r"^[A-Za-z0-9_.@+:-]{1,128}$")
KEY_FILE = Path("var") / "session.key"


def keyed_digest(key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of a value under the server key, for one purpose.

    Args:
        key: The server's secret key.
        purpose: What the digest is for (`web`, `phone`), so one value never
            gives the same id in two channels.
        value: The client's secret (session secret, call id).

    Returns:
        The first 32 hex digits of the digest.

    """
    message = f"{purpose}\0{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:_DIGEST_CHARS]


def is_session_secret(value: object) -> bool:
    """Whether a client's offered session id is usable as a session secret.

    Args:
        value: What the client sent.

    Returns:
        True for a string of 16 to 128 letters, digits, `_` or `-`.

    """
    return isinstance(value, str) and SESSION_SECRET.match(value) is not None


def new_session_secret() -> str:
    """A fresh session secret (the form Rasa's socket.io channel makes: 32 hex digits)."""
    return secrets.token_hex(16)


def web_conversation_id(key: str, secret: str) -> str:
    """The conversation id of a web (socket.io) session secret.

    Args:
        key: The server's secret key.
        secret: The client's session secret.

    Returns:
        `web:` and 32 hex digits.

    """
    return WEB_PREFIX + keyed_digest(key, "web", secret)


def phone_conversation_id(key: str, call_sid: str) -> str:
    """The conversation id of one phone call.

    Args:
        key: The server's secret key.
        call_sid: Twilio's id of the call (`CallSid`).

    Returns:
        `phone:` and 32 hex digits.

    """
    return PHONE_PREFIX + keyed_digest(key, "phone", call_sid)


def rest_conversation_id(sender: str) -> str:
    """The conversation id of a REST client's sender (always in the `rest:` namespace).

    Args:
        sender: The sender id the client chose (checked with `REST_SENDER`).

    Returns:
        `rest:` and the sender.

    """
    return REST_PREFIX + sender


def resolve_key(configured: str, project_root: Path) -> str:
    """The server key: the configured one, else the one stored under `var/`.

    Without `HOTLINE_SESSION_KEY`, the first process to need a key writes a
    random one to `var/session.key` (readable by the owner only); every process
    of the stack on this machine then reads the same key, and conversations
    survive a restart. Several machines must share a configured key.

    Args:
        configured: `HOTLINE_SESSION_KEY` (empty when unset).
        project_root: The project directory (`var/` is under it).

    Returns:
        The key.

    """
    if configured:
        return configured
    path = project_root / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        stored = path.read_text(encoding="ascii").strip()
        if stored:
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    draft.write_text(secrets.token_urlsafe(32), encoding="ascii")
    draft.chmod(0o600)
    try:
        # link() never replaces: if another process stored a key first, that key wins.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


#: Where channels put the caller's client key in a message's metadata (server-set:
#: whatever a client sends under this name is replaced).
CLIENT_KEY_FIELD = "hotline_client"


def client_address(remote: str | None, forwarded_for: str | None) -> str:
    """The caller's address: the socket's peer, or the client our own proxy names.

    A `X-Forwarded-For` header is believed only when the peer is this machine
    (HAProxy on loopback in front of the cluster); from anyone else it is a claim
    the caller wrote.

    Args:
        remote: The connection's peer address.
        forwarded_for: The `X-Forwarded-For` header, if any.

    Returns:
        An address (empty if unknown).
    """
    peer = (remote or "").strip()
    if forwarded_for and (not peer or is_loopback(peer)):
        # The right-most entry is the one our proxy added: the client it saw.
        named = forwarded_for.split(",")[-1].strip()
        if named:
            return named[:64]
    return peer[:64]


def client_key(key: str, address: str) -> str | None:
    """A stable, non-reversible key for a caller's address (for per-address limits).

    Raw addresses are personal data and are never stored; the keyed digest lets
    the web app count tickets and callbacks per address without holding one.

    Args:
        key: The server key.
        address: The caller's address.

    Returns:
        `addr:` and 32 hex digits, or None when the address is unknown.
    """
    if not address:
        return None
    return "addr:" + keyed_digest(key, "address", address)
