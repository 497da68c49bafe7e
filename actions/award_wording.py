"""How award facts are put into words, from the pieces in ``content/awards/replies.yml``.

The register gives the facts; this module only chooses which piece of wording
says them and fills it. It knows no database and no Rasa: every function takes
the register's views and returns text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from actions.parsing import format_date, format_gbp, format_gbp_short, join_names
from bot.awards.repository import AwardView, FigureView
from bot.core.content import Messages, award_replies

#: Regions said without "the" ("London", but "the North West").
NO_ARTICLE_REGIONS = frozenset(
    {"London", "Wales", "Scotland", "Northern Ireland", "Yorkshire and the Humber"}
)
#: Longest piece of caller text echoed back in a reply.
MAX_ECHO = 60


def replies() -> Messages:
    """The award replies' wording (read once, checked)."""
    return award_replies()


def say(piece: str, /, **values: object) -> str:
    """The piece ``piece`` with its variables filled (the caveat is filled here)."""
    wording = replies()
    if "caveat" in wording.variables(piece) and "caveat" not in values:
        values["caveat"] = wording.render("caveat")
    return wording.render(piece, **values)


def clean(value: object) -> str:
    """Caller text or an entity value made short and printable."""
    text = " ".join(str(value).split())
    return "".join(ch for ch in text if ch.isprintable())[:200]


def echo(text: str) -> str:
    """Caller text as a reply may quote it: cleaned and at most `MAX_ECHO` characters."""
    text = clean(text)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1].rstrip() + "…"


def scope(description: str) -> str:
    """The filters in words as they follow "in the register" (nothing when there are none)."""
    return f" {description}" if description else ""


def region_phrase(region: str) -> str:
    """Return "the North West", but "London", "Wales", "Yorkshire and the Humber"."""
    return region if region in NO_ARTICLE_REGIONS else say("region_with_article", region=region)


def describe(names: Mapping[str, str], extra: str, resolved: Mapping[str, list[str]]) -> str:
    """Describe the filters in words, using register names where resolved.

    Args:
        names: {kind: text} the caller named.
        extra: Amounts and dates in words ("over £40,000"), or "".
        resolved: {kind: register names matched}.

    Returns:
        e.g. "in the North West over £40,000" (may be empty).

    """

    def name(kind: str) -> str:
        found = resolved.get(kind) or []
        if len(found) == 1:
            return region_phrase(found[0]) if kind == "region" else found[0]
        return echo(names[kind])

    parts = [
        say(f"filter_{kind}", name=name(kind))
        for kind in ("recipient", "place", "region", "sector", "supplier")
        if kind in names
    ]
    if extra:
        parts.append(extra)
    return " ".join(parts)


def announced_phrase(award: AwardView) -> str:
    """Return when an award was announced: "on 15 February 2013" or "in 2012"."""
    when = format_date(award.announced_on, award.announced_precision)
    piece = "announced_on_day" if award.announced_precision == "day" else "announced_in"
    return say(piece, date=when)


def suppliers_phrase(award: AwardView) -> str:
    """Return the suppliers with what is known about SMEs."""
    names = [
        say("sme_supplier", supplier=s.name) if s.sme == "yes" else s.name for s in award.suppliers
    ]
    text = join_names(names)
    if award.sme_supplier == "yes" and not any(s.sme == "yes" for s in award.suppliers):
        text = say("bid_included_sme", suppliers=text)
    return text


def award_summary(award: AwardView) -> str:
    """Everything the register holds about one award, in a few sentences."""
    return say(
        "summary",
        recipient=award.recipient,
        public_body=award.public_body,
        region=region_phrase(award.region),
        amount=format_gbp(award.amount_pence),
        announced=announced_phrase(award),
        support=say("support_detail", support=award.support) if award.support else "",
        supplier_label=say(
            "supplier_label_many" if len(award.suppliers) > 1 else "supplier_label_one"
        ),
        suppliers=suppliers_phrase(award),
        sector=award.sector,
        stage=award.stage,
    )


def attribute_answer(award: AwardView, attribute: str) -> str:
    """Answer one question about one award.

    Args:
        award: The award.
        attribute: One of `AWARD_ATTRIBUTES`.

    Returns:
        A sentence (the whole summary for an attribute it has no answer for).

    """
    facts = {"recipient": award.recipient}
    if attribute == "supplier":
        many = len(award.suppliers) > 1
        piece = "answer_supplier_many" if many else "answer_supplier_one"
        return say(piece, suppliers=suppliers_phrase(award), **facts)
    if attribute == "amount":
        return say(
            "answer_amount",
            amount=format_gbp(award.amount_pence),
            announced=announced_phrase(award),
            **facts,
        )
    if attribute == "date":
        return say("answer_date", announced=announced_phrase(award), **facts)
    if attribute == "support":
        if award.support:
            return say(
                "answer_support", support=award.support, suppliers=suppliers_phrase(award), **facts
            )
        return say("answer_support_unknown", suppliers=suppliers_phrase(award), **facts)
    if attribute == "stage":
        return say("answer_stage", stage=award.stage, **facts)
    if attribute == "region":
        return say(
            "answer_region",
            region=region_phrase(award.region),
            public_body=award.public_body,
            **facts,
        )
    if attribute == "source":
        return say("answer_source", source=award.source, **facts)
    return award_summary(award)


def list_line(award: AwardView, attribute: str | None) -> str:
    """One line of a list of awards, with what was asked about."""
    detail = ""
    if attribute == "supplier":
        detail = say("detail_supplier", suppliers=suppliers_phrase(award))
    elif attribute == "date":
        detail = say("detail_date", announced=announced_phrase(award))
    elif attribute == "support" and award.support:
        detail = say("detail_support", support=award.support)
    elif attribute == "stage":
        detail = say("detail_stage", stage=award.stage)
    elif attribute == "region":
        detail = say("detail_region", region=award.region)
    elif attribute == "source":
        detail = say("detail_source", source=award.source)
    return say(
        "list_line",
        recipient=award.recipient,
        place=award.place,
        amount=format_gbp(award.amount_pence),
        detail=detail,
    )


def figures_sentence(figures: Mapping[str, FigureView]) -> str | None:
    """Return the programme's own totals in one sentence, with date and source.

    Args:
        figures: Sourced figures by name.

    Returns:
        The sentence, or None when no figures are stored.

    """
    contracts = figures.get("contracts_awarded")
    smes = figures.get("contracts_to_smes")
    procured = figures.get("support_procured")
    mutuals = figures.get("mutuals_supported")
    anchor = contracts or procured or mutuals
    if anchor is None:
        return None
    parts = []
    if contracts:
        if smes:
            parts.append(say("figures_contracts_smes", count=contracts.value, smes=smes.value))
        else:
            parts.append(say("figures_contracts", count=contracts.value))
    if procured:
        piece = "figures_procured_about" if procured.approximate else "figures_procured"
        part = say(piece, amount=format_gbp_short(procured.value))
        if mutuals:
            label = mutuals.label.replace(" supported", "")
            part = say("figures_procured_for", procured=part, count=mutuals.value, label=label)
        parts.append(part)
    when = (
        say("figures_by", date=format_date(anchor.as_of)) if anchor.as_of else say("figures_so_far")
    )
    sources = main_sources(f.source for f in (contracts, smes, procured, mutuals) if f)
    return say("figures", when=when, parts=join_names(parts), sources="; ".join(sources))


def main_sources(sources: Iterable[str]) -> list[str]:
    """Distinct sources, dropping refinements of another ("X, note 1" when "X" is there).

    Args:
        sources: Source citations.

    Returns:
        Sorted distinct citations.

    """
    unique = sorted(set(sources), key=len)
    kept: list[str] = []
    for source in unique:
        if not any(source.startswith(shorter) for shorter in kept):
            kept.append(source)
    return sorted(kept)
