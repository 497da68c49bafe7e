"""Read, validate and write the awards CSV.

Columns (header row required, order free, extra columns ignored with a warning):

    recipient, public_body, service_area, amount_gbp, suppliers, sme_supplier,
    stage, region, announced, support, source

- amount_gbp: pounds, e.g. 93000, 93,000, £93,000 or 55852.50 (read exactly by
  `bot.core.money.parse_pounds`: no exponents, words or signs).
- suppliers: one or more names separated by ";".
- sme_supplier: yes/no/unknown for the award (does the bid include an SME?), or
  one value per supplier separated by ";" when known supplier by supplier.
- announced: 2012, 2012-06 or 2012-06-01.

Validation reports every problem with the file's line number (the header is
line 1; a quoted field spanning lines counts each line), so staff can fix the
file and try again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.awards.aliases import clean_name
from bot.core.money import AmountError, format_pounds, parse_pounds
from bot.core.vocabulary import REGIONS, SME_FLAGS, STAGES

COLUMNS = (
    "recipient",
    "public_body",
    "service_area",
    "amount_gbp",
    "suppliers",
    "sme_supplier",
    "stage",
    "region",
    "announced",
    "support",
    "source",
)
REQUIRED_TEXT = ("recipient", "public_body", "service_area", "source")
NAME_MAX = 200
TEXT_MAX = 2000
# No single award can exceed the whole £10m programme: a bigger figure is a typo.
MAX_AWARD_PENCE = 1_000_000_000
FIRST_YEAR = 2011  # the programme was launched in December 2011
_REGIONS_BY_KEY = {region.casefold(): region for region in REGIONS}


@dataclass(frozen=True)
class SupplierRow:
    """A supplier on an award row.

    Attributes:
        name: Supplier name.
        sme: "yes", "no" or "unknown".

    """

    name: str
    sme: str


@dataclass(frozen=True)
class AwardRow:
    """A validated award row.

    Attributes:
        line: Line of the file the row starts on (0 for rows not from a file).
        recipient: The mutual's name.
        public_body: The public body it comes from.
        sector: Service area.
        amount_pence: Amount of support in pence.
        suppliers: Suppliers in register order.
        sme_supplier: Award-level SME flag.
        stage: exploring, developing or live.
        region: One of `REGIONS`.
        announced_on: Announcement date (1 January / 1st of month when less precise).
        announced_precision: "year", "month" or "day".
        support: Support provided (may be empty: not published).
        source: Where the row comes from.

    """

    line: int
    recipient: str
    public_body: str
    sector: str
    amount_pence: int
    suppliers: tuple[SupplierRow, ...]
    sme_supplier: str
    stage: str
    region: str
    announced_on: dt.date
    announced_precision: str
    support: str
    source: str

    @property
    def key(self) -> tuple[str, str, dt.date]:
        """The natural key: recipient, public body and announcement date."""
        return (self.recipient.casefold(), self.public_body.casefold(), self.announced_on)


@dataclass(frozen=True)
class RowError:
    """A problem with one line of the file.

    Attributes:
        line: Line number (1 is the header).
        reason: What is wrong, in words staff can act on.

    """

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParseResult:
    """Rows that passed validation, errors for those that did not, and warnings.

    Attributes:
        rows: Valid rows.
        errors: One entry per problem (a row can have several).
        warnings: Notes that do not stop an import (e.g. ignored columns).
        rows_seen: Data rows read, valid or not.

    """

    rows: list[AwardRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_seen: int = 0

    @property
    def bad_lines(self) -> list[int]:
        """Distinct line numbers with errors, in order."""
        return sorted({error.line for error in self.errors})


def amount_gbp_pence(raw: str) -> int:
    """Read the amount_gbp column into pence, with the reason staff see when it is wrong.

    Args:
        raw: e.g. "93000", "£93,000", "55852.50".

    Returns:
        Pence.

    Raises:
        ValueError: With the reason when the amount is invalid.

    """
    shown = raw.strip()
    try:
        return parse_pounds(raw, min_pence=1, max_pence=MAX_AWARD_PENCE)
    except AmountError as error:
        reasons = {
            "empty": "amount_gbp is empty",
            "not_a_number": f"amount_gbp {shown!r} is not a number of pounds",
            "precision": f"amount_gbp {shown!r} has more than two decimal places",
            "too_small": f"amount_gbp must be more than zero, got {shown!r}",
            "too_large": f"amount_gbp {shown!r} is more than £10,000,000 (the whole programme); "
            "is it in pence?",
        }
        raise ValueError(reasons[error.problem]) from None


def parse_announced(raw: str, today: dt.date | None = None) -> tuple[dt.date, str]:
    """Parse an announcement date of year, month or day precision.

    Args:
        raw: "2012", "2012-06" or "2012-06-01".
        today: Reference for "not in the future" (tests pass a fixed date).

    Returns:
        The date (first day of the period) and its precision.

    Raises:
        ValueError: With the reason when the date is invalid.

    """
    text = raw.strip()
    today = today or dt.date.today()
    parts = text.split("-")
    try:
        if len(parts) == 1 and len(parts[0]) == 4:
            value, precision = dt.date(int(parts[0]), 1, 1), "year"
        elif len(parts) == 2 and len(parts[0]) == 4:
            value, precision = dt.date(int(parts[0]), int(parts[1]), 1), "month"
        elif len(parts) == 3 and len(parts[0]) == 4:
            value, precision = dt.date.fromisoformat(text), "day"
        else:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"announced {text!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"
        ) from None
    if value.year < FIRST_YEAR:
        raise ValueError(f"announced {text!r} is before the programme began (December 2011)")
    if value > today:
        raise ValueError(f"announced {text!r} is in the future")
    return value, precision


def format_announced(value: dt.date, precision: str) -> str:
    """Format an announcement date for the CSV at its precision.

    Args:
        value: The stored date.
        precision: "year", "month" or "day".

    Returns:
        "2012", "2012-06" or "2012-06-01".

    """
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def _parse_suppliers(raw_names: str, raw_sme: str) -> tuple[tuple[SupplierRow, ...], str]:
    names = [clean_name(name) for name in raw_names.split(";")]
    if not raw_names.strip():
        raise ValueError("suppliers is empty; give at least one supplier")
    if any(not name for name in names):
        raise ValueError("suppliers has an empty name (check the ';' separators)")
    too_long = [name for name in names if len(name) > NAME_MAX]
    if too_long:
        raise ValueError(f"a supplier name is longer than {NAME_MAX} characters")
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise ValueError(f"supplier {name!r} is listed twice")
        seen.add(name.casefold())

    flags = [flag.strip().lower() for flag in raw_sme.split(";")]
    bad = [flag for flag in flags if flag not in SME_FLAGS]
    if bad:
        raise ValueError(
            f"sme_supplier {raw_sme.strip()!r} must be yes, no or unknown "
            "(or one of those per supplier, separated by ';')"
        )
    if len(flags) == 1:
        award_flag = flags[0]
        # One supplier: the award's flag is that supplier's. Several: "no" means
        # none is an SME; "yes" means at least one is, but we do not know which.
        if len(names) == 1 or award_flag == "no":
            per_supplier = [award_flag] * len(names)
        else:
            per_supplier = ["unknown"] * len(names)
    elif len(flags) == len(names):
        per_supplier = flags
        award_flag = (
            "yes" if "yes" in flags else "no" if all(f == "no" for f in flags) else "unknown"
        )
    else:
        raise ValueError(
            f"sme_supplier has {len(flags)} values for {len(names)} suppliers; "
            "give one value, or one per supplier"
        )
    suppliers = tuple(SupplierRow(n, f) for n, f in zip(names, per_supplier, strict=True))
    return suppliers, award_flag


def sme_column(suppliers: tuple[SupplierRow, ...], award_flag: str) -> str:
    """Format the sme_supplier column so that parsing it gives the same flags.

    Args:
        suppliers: The award's suppliers with their flags.
        award_flag: The award-level flag.

    Returns:
        A single flag when it reproduces the per-supplier flags, else one per supplier.

    """
    reparsed, derived = _parse_suppliers(";".join(s.name for s in suppliers), award_flag)
    if tuple(s.sme for s in reparsed) == tuple(s.sme for s in suppliers) and derived == award_flag:
        return award_flag
    return ";".join(s.sme for s in suppliers)


def _text(record: dict[str, str], column: str, errors: list[str], limit: int) -> str:
    value = clean_name(record.get(column) or "")
    if "\x00" in value:
        errors.append(f"{column} contains a NUL character")
        return ""
    if len(value) > limit:
        errors.append(f"{column} is longer than {limit} characters")
    return value


def validate_record(
    record: dict[str, str], line: int, today: dt.date | None = None
) -> tuple[AwardRow | None, list[str]]:
    """Validate one CSV record.

    Args:
        record: Column name -> raw text.
        line: The record's first line in the file.
        today: Reference date for "not in the future".

    Returns:
        The row (None if invalid) and the reasons it is invalid.

    """
    reasons: list[str] = []
    values = {
        column: _text(record, column, reasons, NAME_MAX if column in REQUIRED_TEXT else TEXT_MAX)
        for column in ("recipient", "public_body", "service_area")
    }
    support = _text(record, "support", reasons, TEXT_MAX)
    source = _text(record, "source", reasons, TEXT_MAX)
    for column in ("recipient", "public_body", "service_area"):
        if not values[column]:
            reasons.append(f"{column} is empty")
    if not source:
        reasons.append("source is empty; every row needs its source")

    amount = 0
    try:
        amount = amount_gbp_pence(record.get("amount_gbp") or "")
    except ValueError as exc:
        reasons.append(str(exc))

    suppliers: tuple[SupplierRow, ...] = ()
    award_sme = "unknown"
    try:
        suppliers, award_sme = _parse_suppliers(
            record.get("suppliers") or "", record.get("sme_supplier") or "unknown"
        )
    except ValueError as exc:
        reasons.append(str(exc))

    stage = (record.get("stage") or "").strip().lower()
    if stage not in STAGES:
        reasons.append(f"stage {stage!r} must be one of {', '.join(STAGES)}")

    raw_region = clean_name(record.get("region") or "")
    region = _REGIONS_BY_KEY.get(raw_region.casefold().removeprefix("the "))
    if region is None:
        reasons.append(f"region {raw_region!r} is not a UK region (e.g. North West, London)")

    announced, precision = dt.date(FIRST_YEAR, 1, 1), "year"
    try:
        announced, precision = parse_announced(record.get("announced") or "", today)
    except ValueError as exc:
        reasons.append(str(exc))

    if reasons:
        return None, reasons
    return (
        AwardRow(
            line=line,
            recipient=values["recipient"],
            public_body=values["public_body"],
            sector=values["service_area"],
            amount_pence=amount,
            suppliers=suppliers,
            sme_supplier=award_sme,
            stage=stage,
            region=region or raw_region,
            announced_on=announced,
            announced_precision=precision,
            support=support,
            source=source,
        ),
        [],
    )


def parse_csv_text(text: str, today: dt.date | None = None) -> ParseResult:
    """Parse and validate the whole CSV text.

    Args:
        text: File contents (a leading byte-order mark is ignored).
        today: Reference date for "not in the future".

    Returns:
        Valid rows, errors and warnings.

    """
    result = ParseResult()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append(RowError(1, "the file is empty; expected a header row"))
        return result
    except csv.Error as exc:
        result.errors.append(RowError(1, f"the header is not valid CSV: {exc}"))
        return result
    header = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        result.errors.append(RowError(1, f"missing column(s): {', '.join(missing)}"))
        return result
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        result.errors.append(RowError(1, f"duplicated column(s): {', '.join(duplicated)}"))
        return result
    extra = [name for name in header if name not in COLUMNS]
    if extra:
        result.warnings.append(f"line 1: ignoring unknown column(s): {', '.join(extra)}")

    first_line_of_row = reader.line_num + 1
    seen_keys: dict[tuple[str, str, dt.date], int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(first_line_of_row, f"not valid CSV: {exc}"))
            result.rows_seen += 1
            break  # the reader cannot resynchronise after a malformed quote
        line = first_line_of_row
        first_line_of_row = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are allowed
        result.rows_seen += 1
        if len(cells) != len(header):
            result.errors.append(
                RowError(line, f"expected {len(header)} fields, found {len(cells)}")
            )
            continue
        row, reasons = validate_record(dict(zip(header, cells, strict=True)), line, today)
        result.errors.extend(RowError(line, reason) for reason in reasons)
        if row is None:
            continue
        if row.key in seen_keys:
            result.errors.append(
                RowError(
                    line,
                    f"duplicate of line {seen_keys[row.key]} (same recipient, public body "
                    "and announcement date)",
                )
            )
            continue
        seen_keys[row.key] = line
        result.rows.append(row)
    return result


def read_csv(path: Path, today: dt.date | None = None) -> ParseResult:
    """Read and validate a CSV file (blocking: command line use only).

    Args:
        path: The file.
        today: Reference date for "not in the future".

    Returns:
        Valid rows, errors and warnings.

    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        result = ParseResult()
        result.errors.append(RowError(1, f"the file is not UTF-8 text ({exc.reason})"))
        return result
    return parse_csv_text(text, today)


def rows_to_csv(rows: Iterable[AwardRow]) -> str:
    """Write rows as CSV text in the import format (round-trips exactly).

    Args:
        rows: Award rows.

    Returns:
        CSV text with a header row and Unix line endings.

    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.recipient,
                row.public_body,
                row.sector,
                format_pounds(row.amount_pence),
                "; ".join(s.name for s in row.suppliers),
                sme_column(row.suppliers, row.sme_supplier),
                row.stage,
                row.region,
                format_announced(row.announced_on, row.announced_precision),
                row.support,
                row.source,
            )
        )
    return out.getvalue()
