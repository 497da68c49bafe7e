"""A wait in words, the same wherever a caller is told it (queue place, queue updates)."""

from __future__ import annotations


def wait_in_words(seconds: float | None) -> str:
    """Reads a wait in seconds as words: "less than a minute", "about 5 minutes".

    Args:
        seconds: The expected wait (None or 0 when there is none).

    Returns:
        "less than a minute" under 60 s (45 s is not "about 1 minute"), otherwise
        the wait rounded to whole minutes.
    """
    if not seconds or seconds < 60:
        return "less than a minute"
    whole = round(seconds / 60)
    return f"about {whole} minute{'s' if whole != 1 else ''}"
