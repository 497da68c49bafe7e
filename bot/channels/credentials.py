"""Writes the effective Rasa credentials file: only the channels that are configured.

Rasa loads every channel listed in its credentials file and fails on any
`${VAR}` that is not set. `credentials.yml` (committed) lists every channel
with `${VAR}` references; `write_effective_credentials` copies it to
`var/credentials.yml` keeping:

- REST, `socketio` and the phone channel always, without settings whose
  variables are unset (e.g. the phone line without TWILIO_AUTH_TOKEN);
- any other channel only when its required settings (`REQUIRED`) have their
  variables set; its optional settings whose variables are unset are left out.

The `${VAR}` references are copied as they are, so no secret is written to
disk: Rasa substitutes them from the environment. `python -m bot.channels.credentials`
prints the channels that would be on.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "credentials.yml"
EFFECTIVE = ROOT / "var" / "credentials.yml"

VOICE = "bot.channels.twilio_voice.HotlineVoiceInput"
REST = "bot.channels.rest.HotlineRestInput"
ALWAYS_ON = ("rest", REST, "socketio", VOICE)
# Per channel: groups of settings; every group needs at least one setting present.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "bot.channels.twilio.SignedTwilioInput": [
        ("account_sid",),
        ("auth_token",),
        ("twilio_number", "whatsapp_number"),
    ],
    "bot.channels.telegram.SecretTelegramInput": [("access_token",), ("secret_token",)],
    "bot.channels.slack.SignedSlackInput": [("slack_token",), ("slack_signing_secret",)],
    "bot.channels.facebook.SignedFacebookInput": [
        ("verify",),
        ("secret",),
        ("page-access-token",),
    ],
    "bot.channels.botframework.VerifiedBotFrameworkInput": [("app_id",), ("app_password",)],
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _variables(value: Any) -> list[str]:
    return _VAR.findall(value) if isinstance(value, str) else []


def _is_set(value: Any, env: Mapping[str, str]) -> bool:
    return all(env.get(name) for name in _variables(value))


def effective_credentials(
    template: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The channels to run and notes about channels left off.

    Args:
        template: credentials.yml as loaded (with `${VAR}` strings).
        env: The environment Rasa will run with.

    Returns:
        The credentials to write, and human-readable notes (partly configured
        channels, the phone line without signature checks).
    """
    result: dict[str, Any] = {}
    notes: list[str] = []
    for channel, settings in template.items():
        if not isinstance(settings, dict):
            result[channel] = settings
            continue
        kept = {k: v for k, v in settings.items() if _is_set(v, env)}
        if channel in ALWAYS_ON:
            result[channel] = kept
            continue
        groups = REQUIRED.get(channel, [])
        if all(any(key in kept for key in group) for group in groups):
            result[channel] = kept
            continue
        wanted = {n for group in groups for key in group for n in _variables(settings.get(key))}
        if any(env.get(n) for n in wanted):
            missing = sorted(n for n in wanted if not env.get(n))
            notes.append(f"{channel.rsplit('.', 1)[-1]} is off: set {', '.join(missing)} too")
    if not env.get("TWILIO_AUTH_TOKEN"):
        notes.append(
            "TWILIO_AUTH_TOKEN is not set: the phone webhook (/webhooks/twilio_voice/webhook) "
            "accepts unsigned requests. Fine for trying it locally; set it before the "
            "number takes real calls."
        )
    return result, notes


def write_effective_credentials(
    env: Mapping[str, str], template: Path = TEMPLATE, target: Path = EFFECTIVE
) -> list[str]:
    """Writes the effective credentials file; returns the notes to show the operator.

    Args:
        env: The environment Rasa will run with (the stack builds it).
        template: credentials.yml with its `${VAR}` references.
        target: Where to write the result.

    Returns:
        Notes about channels left off.

    """
    loaded = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    credentials, notes = effective_credentials(loaded, env)
    target.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated from credentials.yml by bot.channels.credentials; do not edit.\n"
    target.write_text(header + yaml.safe_dump(credentials, sort_keys=False), encoding="utf-8")
    return notes


def main() -> int:
    """Prints the channels that the current environment switches on."""
    loaded = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")) or {}
    # The channels' `${VAR}`s are not our settings: Rasa substitutes them from its own
    # environment, so the environment this command runs in is the one to check.
    credentials, notes = effective_credentials(loaded, os.environ)
    print("Channels on: " + ", ".join(c.rsplit(".", 1)[-1] for c in credentials))
    for note in notes:
        print(f"Note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
