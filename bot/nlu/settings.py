"""Checks of our NLU components' settings in ``config.yml``, shared by every component."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A component's settings in ``config.yml`` are unusable."""


def whole_number(config: dict[str, Any], component: str, key: str, low: int, high: int) -> int:
    """The setting ``key`` as a whole number from ``low`` to ``high``.

    Raises:
        ConfigError: If it is missing, not a whole number (``True`` is not one) or out
            of bounds.
    """
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{component}: '{key}' must be a whole number {low}-{high}.")
    return value
