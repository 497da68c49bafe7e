"""Shared secrets in requests: the one `Authorization: Bearer` reader and comparison."""

from __future__ import annotations

import hmac


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case).

    Args:
        header: The header's value, if any.

    Returns:
        The token, or None when the header is missing, empty or another scheme.
    """
    scheme, _, given = (header or "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of secrets (False when either is empty)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_matches(header: str | None, expected: str) -> bool:
    """Whether an `Authorization` header carries `expected` (never for an empty secret)."""
    return same_token(bearer_token(header), expected)
