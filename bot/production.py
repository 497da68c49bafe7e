"""Production mode: start-up refuses a configuration that is unsafe for real callers.

`make run` is the easy local mode: plain http, generated secrets, the phone
webhook unsigned. The same choices on a public server would let anyone forge a
phone call, write into REST conversations or steal a console session. With
`HOTLINE_PRODUCTION=true` every process that starts through the stack (and the
web app and action server started on their own) checks the rules below and
refuses to start, naming each problem and its fix; in local mode the stack
prints what production would refuse, so nothing comes as a surprise.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings
from bot.core.net import is_loopback


class UnsafeForProduction(ConfigError):
    """The configuration would be unsafe with real callers; the message lists why."""


def problems(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """Everything about this configuration that production refuses.

    Args:
        settings: The application settings.
        env: The environment Rasa's channels read their secrets from.

    Returns:
        One sentence per problem, each saying what to set; empty when safe.
    """
    found = []
    if not env.get("TWILIO_AUTH_TOKEN", "").strip():
        found.append(
            "TWILIO_AUTH_TOKEN is not set, so the phone webhook takes unsigned requests "
            "(anyone could pose as a call): set it to the Twilio account's auth token."
        )
    if not env.get("HOTLINE_REST_TOKEN", "").strip():
        found.append(
            "HOTLINE_REST_TOKEN is not set, so anyone can talk to the REST channel: "
            "set a long random token and give it to the REST clients."
        )
    if not settings.cookie_secure:
        found.append(
            "HOTLINE_COOKIE_SECURE is off, so console sessions would travel over plain "
            "http: serve the console over https and set HOTLINE_COOKIE_SECURE=true."
        )
    if urlsplit(settings.public_base_url).scheme != "https":
        found.append(
            f"PUBLIC_BASE_URL is {settings.public_base_url!r}: the public address must be https."
        )
    if not is_loopback(settings.actions_host):
        found.append(
            f"ACTIONS_HOST is {settings.actions_host!r}: the action server must listen "
            "on loopback (127.0.0.1); only Rasa calls it."
        )
    if not settings.session_key:
        found.append(
            "HOTLINE_SESSION_KEY is not set, so each machine would make its own key in "
            "var/session.key and callers' conversations would not be found on another: "
            "set one long random key for every process."
        )
    insecure = [o for o in settings.cors_origins if urlsplit(o).scheme != "https"]
    if insecure:
        found.append(
            f"CORS_ORIGINS lists plain-http sites ({', '.join(insecure)}): list the "
            "https sites that embed the widget."
        )
    return found


def check(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """Refuses an unsafe production configuration; in local mode returns the problems.

    Args:
        settings: The application settings (`production` says which mode).
        env: The environment Rasa's channels read their secrets from.

    Returns:
        In local mode, what production would refuse (for the operator to read).

    Raises:
        UnsafeForProduction: In production mode, when there is any problem.
    """
    found = problems(settings, env)
    if settings.production and found:
        listed = "\n".join(f"  - {problem}" for problem in found)
        raise UnsafeForProduction(
            f"HOTLINE_PRODUCTION is on and this configuration is unsafe:\n{listed}"
        )
    return [] if settings.production else found
