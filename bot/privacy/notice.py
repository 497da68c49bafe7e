"""The privacy notice, from its one source (``content/privacy/notice.yml``) and the settings.

The page ``/privacy``, the widget (``/widget/privacy.json``) and the phone line
(the short version, spoken at the start of a call by the action server) render
the same file with the same values: the retention settings and the hotline
number, so the notice says what the retention job does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.core.content import CONTENT_DIR, ContentError, hotline_number

NOTICE_PATH = CONTENT_DIR / "privacy" / "notice.yml"
#: Filled by the widget itself (how long its browser copy lasts).
BROWSER_PLACEHOLDER = "{browser_hours}"


@dataclass(frozen=True)
class Section:
    """A heading and its paragraphs."""

    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """The notice with every value filled in (but ``{browser_hours}``, the widget's own)."""

    title: str
    short: str
    widget_short: str
    widget_browser: str
    sections: tuple[Section, ...]

    def to_json(self) -> dict[str, Any]:
        """The notice for the widget."""
        return {
            "title": self.title,
            "short": self.short,
            "widget_short": self.widget_short,
            "widget_browser": self.widget_browser,
            "sections": [
                {"heading": s.heading, "paragraphs": list(s.paragraphs)} for s in self.sections
            ],
        }


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path}: cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise ContentError(f"{path}: needs title, short, widget_short, widget_browser, sections")
    for key in ("title", "short", "widget_short", "widget_browser"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ContentError(f"{path}: needs a text under {key!r}")
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise ContentError(f"{path}: needs a list under 'sections'")
    for number, section in enumerate(sections, start=1):
        paragraphs = section.get("paragraphs") if isinstance(section, dict) else None
        if (
            not isinstance(section, dict)
            or not isinstance(section.get("heading"), str)
            or not isinstance(paragraphs, list)
            or not all(isinstance(p, str) and p.strip() for p in paragraphs)
        ):
            raise ContentError(f"{path}: section {number} needs a heading and paragraphs")
    return data


def values(settings: Settings) -> dict[str, str]:
    """What the notice's placeholders stand for, from the settings."""
    return {
        "conversation_days": str(settings.retain_conversations_days),
        "callback_days": str(settings.retain_callbacks_days),
        "rating_days": str(settings.retain_ratings_days),
        "audit_days": str(settings.retain_audit_days),
        "hotline_number": hotline_number(),
    }


def _fill(text: str, filled: dict[str, str]) -> str:
    # str.replace, not str.format: a brace in the content is never code.
    text = " ".join(text.split())
    for name, value in filled.items():
        text = text.replace("{" + name + "}", value)
    return text


def privacy_notice(settings: Settings, path: Path = NOTICE_PATH) -> Notice:
    """The notice as these settings make it true.

    Args:
        settings: The application settings (the retention periods).
        path: The content file.

    Returns:
        The filled-in notice.

    Raises:
        ContentError: If the file is missing or malformed.
    """
    data = _load(path)
    filled = values(settings)
    return Notice(
        title=_fill(data["title"], filled),
        short=_fill(data["short"], filled),
        widget_short=_fill(data["widget_short"], filled),
        widget_browser=_fill(data["widget_browser"], filled),
        sections=tuple(
            Section(s["heading"], tuple(_fill(p, filled) for p in s["paragraphs"]))
            for s in data["sections"]
        ),
    )
