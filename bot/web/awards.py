"""The published awards register: an HTML page, a JSON API and a CSV download.

    GET /awards        server-rendered page with a filter form
    GET /api/awards    JSON, same filters, paginated
    GET /awards.csv    the full register in the import format

Filters (query string): sector, region, supplier (register names or known
aliases, case-insensitive), min_amount and max_amount (pounds: 40000,
40,000 or £40,000), sort (latest, largest, smallest, earliest, name), and for
the API page and per_page (1-100). Bad input gets a 400 with a message that
says which field and why; it never reaches SQL (names are resolved to register
names first, amounts to integers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.awards.csv_io import format_announced, rows_to_csv
from bot.awards.formatting import format_date
from bot.awards.matching import NameIndex, match_key
from bot.awards.repository import (
    ORDERS,
    AwardQuery,
    AwardView,
    Facets,
    FigureView,
    all_awards,
    facets,
    load_name_indexes,
    programme_figures,
    search_awards,
)
from bot.core.money import MAX_PENCE, AmountError, format_gbp, format_pounds, parse_pounds
from bot.web.context import request_session
from bot.web.headers import PAGE_HEADERS
from bot.web.validation import InputError

CAVEAT = (
    "This register lists the published awards we know of. It is incomplete: "
    "{contracts} contracts had been awarded by {as_of}."
)
FILTER_FIELDS = ("sector", "region", "supplier", "min_amount", "max_amount")
_AMOUNT_LABELS = {"min_amount": "Minimum amount", "max_amount": "Maximum amount"}
MAX_PARAM_LENGTH = 200
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
PAGE_SIZE_HTML = 50
_SECURITY_HEADERS = PAGE_HEADERS


class FilterError(InputError):
    """A filter value is invalid (an `InputError`: the API answers 400 `{"error", "field"}`).

    Attributes:
        field: The query-string parameter.
        message: What is wrong, for the user.

    """

    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


@dataclass(frozen=True)
class AwardFilters:
    """Validated filters.

    Attributes:
        sector: Register sector name.
        region: Region name.
        supplier: Register supplier name.
        min_pence: Smallest amount, inclusive.
        max_pence: Largest amount, inclusive.
        sort: One of `ORDERS`.
        page: 1-based page.
        per_page: Items per page.

    """

    sector: str | None = None
    region: str | None = None
    supplier: str | None = None
    min_pence: int | None = None
    max_pence: int | None = None
    sort: str = "latest"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def query(self) -> AwardQuery:
        """Return the repository query for this page."""
        return AwardQuery(
            sector=self.sector,
            region=self.region,
            supplier=self.supplier,
            min_pence=self.min_pence,
            max_pence=self.max_pence,
            order=self.sort,
            limit=self.per_page,
            offset=(self.page - 1) * self.per_page,
            fuzzy=False,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """Query-string parameters reproducing these filters (for links)."""
        values: dict[str, Any] = {
            "sector": self.sector,
            "region": self.region,
            "supplier": self.supplier,
            "min_amount": None if self.min_pence is None else format_pounds(self.min_pence),
            "max_amount": None if self.max_pence is None else format_pounds(self.max_pence),
            "sort": None if self.sort == "latest" else self.sort,
            "page": None if self.page == 1 else self.page,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _amount(field: str, raw: str) -> int:
    """Read an amount filter in pounds (bot.core.money's strict reader).

    Args:
        field: Parameter name (for the error).
        raw: e.g. "40000", "40,000", "£40,000", "40000.50".

    Returns:
        Pence.

    Raises:
        FilterError: If it is not a non-negative amount of pounds.

    """
    label = _AMOUNT_LABELS.get(field, field)
    try:
        return parse_pounds(raw, min_pence=0, max_pence=MAX_PENCE)
    except AmountError as error:
        if error.problem == "too_large":
            raise FilterError(field, f"{label} is too large") from None
        raise FilterError(
            field, f"{label} must be an amount in pounds, like 40000 or £40,000"
        ) from None


def _whole(field: str, raw: str, low: int, high: int | None = None) -> int:
    text = raw.strip()
    # ASCII digits only: str.isdigit() also passes "³", which int() refuses (a 500).
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise FilterError(field, f"{field} must be a whole number")
    value = int(text)
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise FilterError(field, f"{field} must be {limit}")
    return value


def _name(field: str, raw: str, index: NameIndex) -> str | None:
    text = raw.strip()
    if not text:
        return None
    key = match_key(text)
    canonicals = sorted({e.canonical for e in index.entries if e.key == key})
    if len(canonicals) != 1:
        options = ", ".join(index.canonicals[:20])
        raise FilterError(field, f"Unknown {field}. Choose one of: {options}")
    return canonicals[0]


def parse_filters(
    params: Mapping[str, str],
    indexes: Mapping[str, NameIndex],
    per_page_default: int = DEFAULT_PER_PAGE,
) -> AwardFilters:
    """Validate query-string filters.

    Args:
        params: The query string.
        indexes: Register names (from `load_name_indexes`).
        per_page_default: Page size when `per_page` is not given.

    Returns:
        The filters.

    Raises:
        FilterError: For the first invalid parameter.

    """
    for field, value in params.items():
        if len(value) > MAX_PARAM_LENGTH:
            raise FilterError(field, f"{field} is too long")
        if "\x00" in value:
            raise FilterError(field, f"{field} contains an invalid character")
    min_pence = max_pence = None
    if params.get("min_amount", "").strip():
        min_pence = _amount("min_amount", params["min_amount"])
    if params.get("max_amount", "").strip():
        max_pence = _amount("max_amount", params["max_amount"])
    if min_pence is not None and max_pence is not None and min_pence > max_pence:
        raise FilterError("min_amount", "Minimum amount must not be more than the maximum amount")
    sort = params.get("sort", "").strip() or "latest"
    if sort not in ORDERS:
        raise FilterError("sort", f"sort must be one of: {', '.join(ORDERS)}")
    page = _whole("page", params["page"], 1) if params.get("page", "").strip() else 1
    per_page = (
        _whole("per_page", params["per_page"], 1, MAX_PER_PAGE)
        if params.get("per_page", "").strip()
        else per_page_default
    )
    return AwardFilters(
        sector=_name("sector", params.get("sector", ""), indexes["sector"]),
        region=_name("region", params.get("region", ""), indexes["region"]),
        supplier=_name("supplier", params.get("supplier", ""), indexes["supplier"]),
        min_pence=min_pence,
        max_pence=max_pence,
        sort=sort,
        page=page,
        per_page=per_page,
    )


def award_json(award: AwardView) -> dict[str, Any]:
    """Return an award as the API shows it (amounts as pence and formatted).

    Args:
        award: The award.

    Returns:
        A JSON-ready dict.

    """
    return {
        "id": award.id,
        "recipient": award.recipient,
        "public_body": award.public_body,
        "place": award.place,
        "sector": award.sector,
        "region": award.region,
        "stage": award.stage,
        "amount_pence": award.amount_pence,
        "amount": format_gbp(award.amount_pence),
        "announced": format_announced(award.announced_on, award.announced_precision),
        "announced_display": format_date(award.announced_on, award.announced_precision),
        "support": award.support,
        "suppliers": [{"name": s.name, "sme": s.sme} for s in award.suppliers],
        "sme_supplier": award.sme_supplier,
        "source": award.source,
    }


def caveat_text(figures: Mapping[str, FigureView]) -> str:
    """Return the register's caveat, with the sourced contract count when stored.

    Args:
        figures: Programme figures by name.

    Returns:
        One sentence or two.

    """
    contracts = figures.get("contracts_awarded")
    if contracts is None or contracts.as_of is None:
        return "This register lists the published awards we know of. It may be incomplete."
    return CAVEAT.format(contracts=contracts.value, as_of=format_date(contracts.as_of))


async def api_awards(request: web.Request) -> web.Response:
    """`GET /api/awards`: filtered, paginated awards as JSON.

    Args:
        request: The request.

    Returns:
        `{"items", "total", "total_pence", "total_amount", "page", "per_page",
        "pages", "caveat"}`, or 400 `{"error", "field"}` for bad filters.

    """
    async with request_session(request) as session:
        indexes = await load_name_indexes(session)
        filters = parse_filters(request.query, indexes)  # FilterError: the middleware's 400
        result = await search_awards(session, filters.query(), indexes)
        figures = await programme_figures(session)
    body = {
        "items": [award_json(a) for a in result.awards],
        "total": result.total,
        "total_pence": result.total_pence,
        "total_amount": format_gbp(result.total_pence),
        "page": filters.page,
        "per_page": filters.per_page,
        "pages": max(1, math.ceil(result.total / filters.per_page)),
        "caveat": caveat_text(figures),
    }
    return web.json_response(body, headers={"X-Content-Type-Options": "nosniff"})


async def awards_page(request: web.Request) -> web.Response:
    """`GET /awards`: the published register with a filter form.

    Args:
        request: The request.

    Returns:
        The HTML page (400 with the form and an error summary for bad filters).

    """
    errors: dict[str, str] = {}
    async with request_session(request) as session:
        indexes = await load_name_indexes(session)
        held: Facets = await facets(session)
        try:
            filters = parse_filters(request.query, indexes, per_page_default=PAGE_SIZE_HTML)
            filters = AwardFilters(**{**filters.__dict__, "per_page": PAGE_SIZE_HTML})
        except FilterError as error:
            errors[error.field] = error.message
            filters = AwardFilters(per_page=PAGE_SIZE_HTML)
        result = await search_awards(session, filters.query(), indexes) if not errors else None
        figures = await programme_figures(session)
    pages = max(1, math.ceil(result.total / filters.per_page)) if result else 1
    context = {
        "filters": filters,
        "raw": {field: request.query.get(field, "")[:MAX_PARAM_LENGTH] for field in FILTER_FIELDS},
        "facets": held,
        "result": result,
        "errors": errors,
        "pages": pages,
        "caveat": caveat_text(figures),
        "orders": ORDERS,
        "format_date": format_date,
        "link": lambda **changes: "?" + urlencode(filters.params(**changes)),
    }
    response = aiohttp_jinja2.render_template(
        "awards.html", request, context, status=400 if errors else 200
    )
    response.headers.update(_SECURITY_HEADERS)
    return response


async def awards_csv(request: web.Request) -> web.Response:
    """`GET /awards.csv`: the full register, in the import format.

    Args:
        request: The request.

    Returns:
        A CSV download.

    """
    async with request_session(request) as session:
        awards = await all_awards(session)
    return web.Response(
        text=rows_to_csv(a.to_row() for a in awards),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="awards.csv"'},
    )


def setup_routes(app: web.Application) -> None:
    """Register the awards routes.

    Args:
        app: The application.

    """
    app.router.add_get("/awards", awards_page, name="awards")
    app.router.add_get("/awards.csv", awards_csv, name="awards_csv")
    app.router.add_get("/api/awards", api_awards, name="api_awards")
