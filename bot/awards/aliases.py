"""Other names for register entries: derived ones and the alias file.

Derived aliases come from the names themselves: "3BM (Three Borough Mutual)"
is also "3BM" and "Three Borough Mutual"; "Spiral Health CIC" is also
"Spiral Health"; "Bates Wells & Braithwaite" is also "Bates Wells and
Braithwaite". Names people use that cannot be derived ("the Co-op") live in
content/awards/aliases.yml, which staff can edit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bot.core.vocabulary import NAME_KINDS

_LEGAL_SUFFIX = re.compile(
    r"[\s,]+(CIC|C\.I\.C\.|LLP|Ltd\.?|Limited|plc|PLC|CIO|Co-operative Ltd)$", re.IGNORECASE
)
_PARENS = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)\s*(?P<rest>.*)$")
# Trailing words that name the kind of body rather than the place.
_BODY_WORDS = {
    "council",
    "borough",
    "county",
    "city",
    "district",
    "metropolitan",
    "unitary",
    "authority",
    "nhs",
    "foundation",
    "trust",
    "teaching",
    "hospital",
    "hospitals",
    "university",
    "community",
    "healthcare",
    "health",
    "care",
    "partnership",
    "fire",
    "rescue",
    "and",
    "&",
    "service",
    "services",
    "probation",
}
_BODY_PREFIX = re.compile(
    r"^(the\s+)?(london\s+borough\s+of|royal\s+borough\s+of|city\s+of|county\s+of|"
    r"borough\s+of)\s+",
    re.IGNORECASE,
)


class AliasFileError(ValueError):
    """The alias file is malformed; the message says where."""


@dataclass(frozen=True, order=True)
class AliasEntry:
    """One alias row.

    Attributes:
        kind: One of `NAME_KINDS`.
        alias: The other name.
        canonical: The register's name it stands for.
        origin: "derived" or "file".

    """

    kind: str
    alias: str
    canonical: str
    origin: str = "derived"


def clean_name(value: str) -> str:
    """Normalise a name for storage: Unicode NFC, single spaces, trimmed.

    Args:
        value: A name as written.

    Returns:
        The cleaned name.

    """
    return " ".join(unicodedata.normalize("NFC", value).split())


def derive_aliases(name: str) -> list[str]:
    """Return the other names a register name is known by.

    Args:
        name: A recipient, supplier or sector name.

    Returns:
        Aliases in a stable order, without the name itself or duplicates.

    """
    found: list[str] = []

    def add(candidate: str) -> None:
        candidate = clean_name(candidate).strip(" ,;-")
        if (
            len(candidate) >= 2
            and candidate.casefold() != name.casefold()
            and candidate.casefold() not in {c.casefold() for c in found}
        ):
            found.append(candidate)

    bases = [name]
    parens = _PARENS.match(name)
    if parens:
        outer = clean_name(f"{parens['outer']} {parens['rest']}")
        add(outer)
        add(parens["inner"])
        bases += [outer, parens["inner"]]
    for base in list(bases):
        stripped = _LEGAL_SUFFIX.sub("", base)
        if stripped != base:
            add(stripped)
            bases.append(stripped)
    for base in list(bases):
        if base.lower().startswith("the ") and len(base) > 8:
            add(base[4:])
            bases.append(base[4:])
    for base in list(bases):
        if "&" in base:
            add(base.replace("&", "and"))
    return found


def derive_place(public_body: str) -> str:
    """Return the town or area of a public body.

    "Knowsley Council" -> "Knowsley"; "Blackpool Teaching Hospitals NHS
    Foundation Trust" -> "Blackpool"; "London Borough of Camden" -> "Camden".

    Args:
        public_body: The body's name.

    Returns:
        The place, or the whole name when nothing generic can be removed.

    """
    name = _BODY_PREFIX.sub("", clean_name(public_body))
    words = name.split()
    while len(words) > 1 and words[-1].casefold() in _BODY_WORDS:
        words.pop()
    # "Hammersmith & Fulham" keeps its "&": it only ends the loop at a trailing one.
    place = " ".join(words).strip(" ,&")
    return place or clean_name(public_body)


def parse_alias_file(text: str) -> dict[str, dict[str, str]]:
    """Parse the alias file.

    The file maps each kind to `{alias: canonical name}`:

        supplier:
          the Co-op: The Co-operative

    Args:
        text: The YAML text.

    Returns:
        `{kind: {alias: canonical}}` with cleaned names.

    Raises:
        AliasFileError: If the YAML is invalid or has unknown kinds or non-text names.

    """
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise AliasFileError(f"aliases file is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise AliasFileError("aliases file must map kinds (recipient, supplier...) to aliases")
    result: dict[str, dict[str, str]] = {}
    for kind, entries in data.items():
        if kind not in NAME_KINDS:
            raise AliasFileError(
                f"aliases file: unknown kind {kind!r}; use one of {', '.join(NAME_KINDS)}"
            )
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            raise AliasFileError(f"aliases file: {kind} must map alias to canonical name")
        result[kind] = {}
        for alias, canonical in entries.items():
            if not isinstance(alias, str) or not isinstance(canonical, str):
                raise AliasFileError(
                    f"aliases file: {kind}: {alias!r}: {canonical!r} must both be text"
                )
            result[kind][clean_name(alias)] = clean_name(canonical)
    return result


def build_aliases(
    names: Mapping[str, list[str]], file_aliases: Mapping[str, Mapping[str, str]]
) -> tuple[list[AliasEntry], list[str]]:
    """Combine derived and file aliases for the names in the register.

    File aliases whose canonical name is not in the register are left out and
    reported (so a typo in the file is noticed, not silently ignored).

    Args:
        names: `{kind: [canonical names in the register]}`.
        file_aliases: Parsed alias file.

    Returns:
        The sorted alias entries and a list of warnings.

    """
    # Keyed without case so a file alias repeating a derived one is not stored twice.
    entries: dict[tuple[str, str, str], AliasEntry] = {}

    def add(entry: AliasEntry) -> None:
        entries.setdefault((entry.kind, entry.alias.casefold(), entry.canonical), entry)

    warnings: list[str] = []
    for kind in ("recipient", "supplier", "sector"):
        for name in names.get(kind, []):
            for alias in derive_aliases(name):
                add(AliasEntry(kind, alias, name))
    for name in names.get("place", []):
        if "&" in name:
            add(AliasEntry("place", name.replace("&", "and"), name))
    for kind, mapping in file_aliases.items():
        known = {name.casefold(): name for name in names.get(kind, [])}
        for alias, canonical in mapping.items():
            target = known.get(canonical.casefold())
            if target is None:
                warnings.append(
                    f"aliases file: {kind} alias {alias!r} points at {canonical!r}, "
                    "which is not in the register; ignored"
                )
            elif alias.casefold() != target.casefold():
                add(AliasEntry(kind, alias, target, "file"))
    return sorted(entries.values()), warnings
