"""Time register look-ups (for the latency benchmark).

`time_lookups` runs each query the way the custom actions do (a fresh session,
names loaded and resolved, the awards queried) and reports latency
percentiles in milliseconds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from bot.awards.repository import AwardQuery, search_awards

#: A mix of look-ups like those users make (names, typos, places, amounts).
DEFAULT_QUERIES: tuple[AwardQuery, ...] = (
    AwardQuery(recipient="Knowsley Youth Services"),
    AwardQuery(recipient="Knowsly"),
    AwardQuery(recipient="3BM"),
    AwardQuery(place="Oldham"),
    AwardQuery(region="North West"),
    AwardQuery(sector="youth services"),
    AwardQuery(supplier="Mutual Ventures"),
    AwardQuery(min_pence=4_000_000),
    AwardQuery(order="largest", limit=1),
    AwardQuery(recipient="no such mutual anywhere"),
)


@dataclass(frozen=True)
class LookupTimings:
    """Latency of look-ups, in milliseconds.

    Attributes:
        count: Look-ups timed.
        mean_ms: Mean.
        p50_ms: Median.
        p95_ms: 95th percentile.
        max_ms: Slowest.

    """

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    def summary(self) -> str:
        """One line for printing."""
        return (
            f"{self.count} look-ups: mean {self.mean_ms:.2f} ms, p50 {self.p50_ms:.2f} ms, "
            f"p95 {self.p95_ms:.2f} ms, max {self.max_ms:.2f} ms"
        )


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def time_lookups(
    session_factory: sessionmaker,
    queries: Sequence[AwardQuery] = DEFAULT_QUERIES,
    repeats: int = 20,
    warmup: int = 1,
) -> LookupTimings:
    """Time `search_awards` for each query, each in its own session.

    Args:
        session_factory: From `bot.db.session.create_sessionmaker`.
        queries: Look-ups to time.
        repeats: Timed rounds over all queries.
        warmup: Untimed rounds first (connections, caches).

    Returns:
        Latency statistics over `repeats * len(queries)` look-ups.

    Raises:
        ValueError: If there is nothing to time.

    """
    if not queries or repeats < 1:
        raise ValueError("need at least one query and one repeat")
    samples: list[float] = []
    for round_number in range(warmup + repeats):
        for query in queries:
            started = time.perf_counter()
            async with session_factory() as session:
                await search_awards(session, query)
            if round_number >= warmup:
                samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return LookupTimings(
        count=len(samples),
        mean_ms=statistics.fmean(samples),
        p50_ms=_percentile(samples, 0.5),
        p95_ms=_percentile(samples, 0.95),
        max_ms=samples[-1],
    )
