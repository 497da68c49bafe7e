"""Match what people type to names in the register (exact, partial, fuzzy).

Everything here is pure Python over a `NameIndex` loaded from the database:
user text is compared with known names in memory and only the ids of names
that match ever reach SQL, as bound parameters. So quotes, SQL fragments or
huge strings typed by a user cannot change a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

#: Longest user text we compare; anything longer is cut (no name is this long).
MAX_QUERY_CHARS = 200
#: Minimum WRatio score (0-100) for a fuzzy match ("Knowsly" -> "Knowsley").
FUZZY_CUTOFF = 86
#: Minimum ratio for a span of a whole message to count as a mention of a name.
MENTION_CUTOFF = 88
_LEADING_THE = re.compile(r"^the\s+")
_POSSESSIVE = re.compile(r"(?<=\w)'s\b")


def match_key(text: str) -> str:
    """Reduce text to a comparison key: lower case, letters/digits, single spaces.

    Args:
        text: Any text.

    Returns:
        The key ("The Co-operative's" -> "co operative").

    """
    text = _POSSESSIVE.sub("", text[:MAX_QUERY_CHARS].replace("&", " and "))
    return _LEADING_THE.sub("", " ".join(default_process(text).split()))


@dataclass(frozen=True)
class NameEntry:
    """One way of writing a name, and what it stands for.

    Attributes:
        text: The name or alias as written.
        canonical: The register's name (the value look-ups use).
        key: `match_key(text)`.

    """

    text: str
    canonical: str
    key: str


@dataclass
class NameIndex:
    """All names of one kind (recipients, suppliers...) with their aliases.

    Attributes:
        kind: Which kind of name.
        entries: Names and aliases.

    """

    kind: str
    entries: list[NameEntry] = field(default_factory=list)

    @classmethod
    def build(cls, kind: str, pairs: Iterable[tuple[str, str]]) -> NameIndex:
        """Build an index from (text, canonical) pairs.

        Args:
            kind: Which kind of name.
            pairs: Names (text == canonical) and aliases.

        Returns:
            The index, without empty keys or duplicates.

        """
        # Keep spellings that share a key ("Co-op", "the Co-op"): the lookup
        # tables generated from the index want every written form.
        seen: set[tuple[str, str]] = set()
        entries = []
        for text, canonical in pairs:
            key = match_key(text)
            if key and (text.casefold(), canonical) not in seen:
                seen.add((text.casefold(), canonical))
                entries.append(NameEntry(text, canonical, key))
        return cls(kind, entries)

    @property
    def canonicals(self) -> list[str]:
        """Distinct canonical names, sorted."""
        return sorted({entry.canonical for entry in self.entries})

    def match(self, query: str, fuzzy: bool = True) -> list[str]:
        """Return the canonical names `query` refers to, best first.

        Tries, in order: the whole name or an alias (ignoring case and
        punctuation); names containing the query as whole words, or contained
        in it ("Knowsley" -> the Knowsley award); then, when `fuzzy`, close
        spellings ("Knowsly").

        Args:
            query: What the user typed (any length; cut to `MAX_QUERY_CHARS`).
            fuzzy: Whether to allow misspellings.

        Returns:
            Canonical names, without duplicates; empty when nothing matches.

        """
        key = match_key(query)
        if not key:
            return []
        exact = [e.canonical for e in self.entries if e.key == key]
        if exact:
            return _unique(exact)
        padded = f" {key} "
        partial = [
            e.canonical
            for e in self.entries
            if f" {e.key} " in padded and len(e.key) >= 3 or padded in f" {e.key} "
        ]
        if partial:
            return _unique(partial)
        if not fuzzy or len(key) < 4:
            return []
        scored = sorted(
            ((_fuzzy_score(key, e.key), i) for i, e in enumerate(self.entries)),
            reverse=True,
        )
        if not scored or scored[0][0] < FUZZY_CUTOFF:
            return []
        best = scored[0][0]
        # Keep near-ties only: "Blackpol" may mean either Blackpool award.
        return _unique(self.entries[i].canonical for score, i in scored if score >= best - 2)


@dataclass(frozen=True)
class Mention:
    """A name found in a message by `find_mentions`.

    Attributes:
        kind: Which kind of name.
        canonical: The register's name.
        text: The words of the message that matched.
        score: Similarity, 0-100.

    """

    kind: str
    canonical: str
    text: str
    score: float


def find_mentions(text: str, indexes: Sequence[NameIndex], max_words: int = 8) -> list[Mention]:
    """Find register names written (or misspelt) anywhere in a message.

    A fallback for when the NLU model extracted no entity: every run of up to
    `max_words` words is compared with every name; the longest, best matches
    win and matches may not overlap. Kinds earlier in `indexes` win ties.

    Args:
        text: The user's message.
        indexes: Name indexes, in order of preference.
        max_words: Longest run of words compared.

    Returns:
        Non-overlapping mentions in message order.

    """
    words = match_key(text[: MAX_QUERY_CHARS * 2]).split()
    candidates: list[tuple[int, float, int, int, int, Mention]] = []
    for rank, index in enumerate(indexes):
        by_key: dict[str, str] = {}
        for entry in index.entries:
            by_key.setdefault(entry.key, entry.canonical)
        keys = list(by_key)
        if not keys:
            continue
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + max_words) + 1):
                span = " ".join(words[start:end])
                if len(span) < 3:
                    continue
                hit = process.extractOne(
                    span, keys, scorer=fuzz.ratio, processor=None, score_cutoff=MENTION_CUTOFF
                )
                if hit is None:
                    continue
                key, score, _ = hit
                # Short names must be spelt exactly: "live" is not "Olive".
                if len(key) <= 4 and score < 100:
                    continue
                mention = Mention(index.kind, by_key[key], span, score)
                candidates.append((-(end - start), -score, rank, start, end, mention))
    taken: set[int] = set()
    chosen: list[tuple[int, Mention]] = []
    for _, _, _, start, end, mention in sorted(candidates, key=lambda c: c[:5]):
        if taken.isdisjoint(range(start, end)):
            taken.update(range(start, end))
            chosen.append((start, mention))
    return [mention for _, mention in sorted(chosen, key=lambda c: c[0])]


def _fuzzy_score(query: str, name: str) -> float:
    """Similarity of a query to a name, or to the best run of as many words in it.

    WRatio alone scores a one-word typo ("Knowsly") low against a long name
    ("Knowsley Youth Services and..."); comparing it with each run of words of
    the same length finds "knowsley".
    """
    score = fuzz.WRatio(query, name, processor=None)
    query_words = query.count(" ") + 1
    words = name.split()
    if len(words) > query_words:
        windows = (
            " ".join(words[i : i + query_words]) for i in range(len(words) - query_words + 1)
        )
        score = max(score, max(fuzz.ratio(query, window) for window in windows))
    return float(score)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
