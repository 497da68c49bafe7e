"""Where a local HTTP service the actions call lives: a base URL and its token."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass

from rasa_sdk import Action

from bot.config import Settings


@dataclass(frozen=True)
class ServiceEndpoint:
    """A base URL and the token the service expects."""

    base_url: str
    token: str


class ConfiguredAction(Action, metaclass=ABCMeta):
    """An action that holds the application settings.

    The action server creates each action once, when it registers the package at
    start-up, so the settings are read and checked then (a bad variable stops the
    server with `ConfigError`). Tests pass their own settings.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        """Keeps ``settings`` (default: `Settings.from_env()`, read once here).

        Args:
            settings: The application settings.

        """
        self.settings = settings or Settings.from_env()

    @abstractmethod
    def name(self) -> str:
        """The action's name (abstract, so the action server never registers this base)."""
