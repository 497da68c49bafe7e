"""The stack launcher's configuration checks and the commands it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.stack import StackConfig, StackError, services


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    return {"RASA_MODEL": str(model)}


def test_defaults(env: dict[str, str]) -> None:
    config = StackConfig.from_env(env)
    assert (config.rasa_port, config.actions_port, config.web_port) == (5005, 5055, 8080)
    assert config.cors_origins == ("http://localhost:8080", "http://127.0.0.1:8080")
    assert len(config.rasa_token) >= 32 and len(config.internal_token) >= 32
    assert config.rasa_token != config.internal_token


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"RASA_PORT": "http"}, "RASA_PORT must be a port number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT must be a port number"),
        ({"ACTIONS_PORT": "5005"}, "must differ"),
        ({"CORS_ORIGINS": "*"}, "not '\\*'"),
        ({"RASA_MODEL": "no/such/model.tar.gz"}, "No trained model"),
    ],
)
def test_bad_settings_are_refused_clearly(
    env: dict[str, str], changes: dict[str, str], message: str
) -> None:
    with pytest.raises(StackError, match=message):
        StackConfig.from_env({**env, **changes})


def test_rasa_api_only_with_a_token_and_cors_for_the_sites_own_origins(
    env: dict[str, str],
) -> None:
    config = StackConfig.from_env(
        {**env, "RASA_TOKEN": "t0ken", "CORS_ORIGINS": "https://a.example, https://b.example"}
    )
    rasa = next(s for s in services(config) if s.name == "rasa").argv
    assert rasa[rasa.index("--enable-api") + 1 : rasa.index("--enable-api") + 3] == [
        "--auth-token",
        "t0ken",
    ]
    assert rasa[rasa.index("--cors") + 1 : rasa.index("--cors") + 3] == [
        "https://a.example",
        "https://b.example",
    ]
    assert rasa.count("--cors") == 1
