"""The UK places data: generated from ISO 3166-2:GB, in sync, with each place's nation."""

from __future__ import annotations

import yaml

from scripts import uk_places


def load() -> dict[str, str]:
    data = yaml.safe_load(uk_places.PLACES_FILE.read_text())
    return {name: place["nation"] for place in data["places"] for name in place["names"]}


def test_generated_files_are_up_to_date() -> None:
    assert uk_places.main(["--check"]) == 0


def test_every_local_authority_has_a_nation() -> None:
    data = yaml.safe_load(uk_places.PLACES_FILE.read_text())
    assert len(data["places"]) > 200
    assert {p["nation"] for p in data["places"]} == {
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    }


def test_places_callers_name_are_where_they_are() -> None:
    nation = load()
    assert nation["Bristol"] == "England"
    assert nation["Essex"] == "England"
    assert nation["County Durham"] == "England"
    assert nation["Hull"] == "England"
    assert nation["Cardiff"] == "Wales"
    assert nation["Vale of Glamorgan"] == "Wales"
    assert nation["Glasgow"] == "Scotland"
    assert nation["Belfast"] == "Northern Ireland"
    assert "London" not in nation  # the region, not the City of London


def test_lookup_leaves_out_place_names_that_are_ordinary_words() -> None:
    text = uk_places.LOOKUP_FILE.read_text()
    items = {line.strip()[2:] for line in text.splitlines() if line.startswith("    - ")}
    assert "Sunderland" in items and "Hertfordshire" in items
    assert "Reading" not in items and "Bury" not in items
