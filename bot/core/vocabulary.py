"""Closed vocabularies of the awards register (no I/O, no dependencies)."""

from __future__ import annotations

from typing import Final

#: How far a mutual had got when the award was made.
STAGES: Final = ("exploring", "developing", "live")

#: Whether a supplier (or, for an award, any supplier in the bid) is an SME.
SME_FLAGS: Final = ("yes", "no", "unknown")

#: How precise an announcement date is: the CSV may give 2012, 2012-06 or 2012-06-01.
DATE_PRECISIONS: Final = ("year", "month", "day")

#: The nine English regions (ONS) plus the devolved nations, as written in the register.
REGIONS: Final = (
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
    "Wales",
    "Scotland",
    "Northern Ireland",
)

#: Kinds of name the register resolves; each has its own NLU entity.
NAME_KINDS: Final = ("recipient", "place", "sector", "supplier", "region")

#: What a follow-up question can ask about an award (entity `award_attribute`).
AWARD_ATTRIBUTES: Final = ("supplier", "amount", "date", "support", "stage", "region", "source")
