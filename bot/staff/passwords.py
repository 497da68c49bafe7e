"""Password hashing with argon2id (argon2-cffi's recommended parameters).

Hashing and verifying are deliberately slow (tens of milliseconds of CPU), so the
async helpers run them in a worker thread and the event loop keeps serving.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# A real hash to verify against when the user does not exist, so a missing user
# takes as long as a wrong password (no user-name probing by timing).
_DUMMY_HASH = _HASHER.hash("not-a-real-password-0000")


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message says why."""


def check_policy(password: str) -> None:
    """Refuse passwords that are too short or too long.

    Args:
        password: The proposed password.

    Raises:
        PasswordPolicyError: If it is refused.

    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """Hash a password (argon2id, salted)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash (constant work when the user is unknown).

    Args:
        password_hash: The stored hash, or None for an unknown user.
        password: The password typed.

    Returns:
        Whether it matches.

    """
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash uses older parameters than the current ones."""
    return _HASHER.check_needs_rehash(password_hash)


async def hash_password_async(password: str) -> str:
    """`hash_password` in a worker thread."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` in a worker thread."""
    return await asyncio.to_thread(verify_password, password_hash, password)
