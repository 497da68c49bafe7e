"""British formatting of money and dates (shared by the actions and the web pages)."""

from __future__ import annotations

import calendar
import datetime as dt


def format_gbp(pence: int) -> str:
    """Format pence the British way: "£93,000", "£55,852", "£1,234.50".

    Args:
        pence: Amount in pence.

    Returns:
        Pounds with thousands separators; pence shown only when not whole.

    """
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}" + (f".{rest:02d}" if rest else "")


def format_gbp_short(pence: int) -> str:
    """Format large amounts as people say them: "£1m", "£1.7m", "£10m".

    Args:
        pence: Amount in pence.

    Returns:
        Millions with at most one decimal (when exact), else `format_gbp`.

    """
    if abs(pence) >= 100_000_000 and pence % 10_000_000 == 0:
        whole, tenth = divmod(pence // 10_000_000, 10)
        return f"£{whole}m" if tenth == 0 else f"£{whole}.{tenth}m"
    return format_gbp(pence)


def format_date(value: dt.date, precision: str = "day") -> str:
    """Format a date at its precision: "15 February 2013", "February 2013", "2012".

    Args:
        value: The date.
        precision: "day", "month" or "year".

    Returns:
        The date in words.

    """
    if precision == "year":
        return str(value.year)
    if precision == "month":
        return f"{calendar.month_name[value.month]} {value.year}"
    return f"{value.day} {calendar.month_name[value.month]} {value.year}"
