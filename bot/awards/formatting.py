"""British formatting of dates (shared by the actions and the web pages).

Money is `bot.core.money`.
"""

from __future__ import annotations

import calendar
import datetime as dt


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
