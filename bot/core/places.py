"""Where UK places are: the nation of every local authority and county a caller may name.

The names and nations are data, ``content/places/uk_places.yml``, generated from
ISO 3166-2:GB by ``scripts/uk_places.py``; nothing here is a hand-made list of
towns. Used wherever an answer has to know whether a place is in England ("we're
in Bristol", "not in Wales, we're in Cardiff's neighbour Newport").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PLACES_PATH = Path(__file__).resolve().parent.parent.parent / "content" / "places" / "uk_places.yml"
NATIONS = ("England", "Scotland", "Wales", "Northern Ireland")


@dataclass(frozen=True)
class PlaceMention:
    """A place named in a text: where, which place and its nation."""

    start: int
    end: int
    name: str
    nation: str


@functools.lru_cache(maxsize=2)
def place_nations(path: Path = PLACES_PATH) -> dict[str, str]:
    """Every place name (lower case) with its nation, the nations themselves included."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    nations = {nation.lower(): nation for nation in NATIONS}
    for place in data.get("places") or []:
        for name in place.get("names") or []:
            nations.setdefault(str(name).lower(), str(place["nation"]))
    return nations


@functools.lru_cache(maxsize=2)
def _pattern(path: Path = PLACES_PATH) -> re.Pattern[str]:
    # Longest names first, so that "North Yorkshire" is found before "York" could be.
    names = sorted(place_nations(path), key=len, reverse=True)
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w])", re.IGNORECASE)


def find_places(text: str, path: Path = PLACES_PATH) -> list[PlaceMention]:
    """The UK places named in ``text``, in order, each with its nation.

    Args:
        text: Any text; matched case-insensitively on whole words.
        path: The places file (the generated one by default).

    Returns:
        One mention per place name found, without overlaps.
    """
    nations = place_nations(path)
    return [
        PlaceMention(m.start(), m.end(), m.group(0), nations[m.group(0).lower()])
        for m in _pattern(path).finditer(text)
    ]
