"""The stack launcher's configuration checks and the commands it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.stack import (
    ROOT,
    StackConfig,
    StackError,
    endpoints_file,
    services,
    write_endpoints,
)


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
        ({"RASA_PORT": "http"}, "RASA_PORT must be a whole number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT must be between 1 and 65535"),
        ({"ACTIONS_PORT": "5005"}, "must differ"),
        ({"CORS_ORIGINS": "*"}, "not '\\*'"),
        ({"RASA_MODEL": "no/such/model.tar.gz"}, "No trained model"),
        ({"RASA_TRACKER_STORE_URL": "sqlite:///x.db"}, "must be postgresql://"),
        ({"RASA_TRACKER_STORE_URL": "postgresql://localhost"}, "must be postgresql://"),
        ({"RASA_TRACKER_STORE_URL": "not a url"}, "not a database URL"),
        ({"RASA_LOCK_STORE_URL": "http://localhost:6379"}, "must be redis://"),
        ({"RASA_LOCK_STORE_URL": "redis://localhost:6379/zero"}, "must be redis://"),
        ({"RASA_LOCK_STORE_URL": "redis://localhost:port/0"}, "bad port"),
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
    assert rasa[rasa.index("--enable-api") + 1] == "--auth-token=t0ken"
    assert rasa[rasa.index("--cors") + 1 : rasa.index("--cors") + 3] == [
        "https://a.example",
        "https://b.example",
    ]
    assert rasa.count("--cors") == 1


def test_default_endpoints_are_the_projects_own(env: dict[str, str]) -> None:
    config = StackConfig.from_env({**env, "RASA_PORT": "5999"})
    written = yaml.safe_load(write_endpoints(config).read_text())
    assert written == yaml.safe_load((ROOT / "endpoints.yml").read_text())
    rasa = next(s for s in services(config) if s.name == "rasa").argv
    assert rasa[rasa.index("--endpoints") + 1] == str(endpoints_file(config))
    endpoints_file(config).unlink()


def test_shared_tracker_and_lock_stores_for_several_instances(env: dict[str, str]) -> None:
    config = StackConfig.from_env(
        {
            **env,
            "RASA_PORT": "5998",
            "RASA_TRACKER_STORE_URL": "postgresql://rasa:s3cret@db.internal:5433/tracker",
            "RASA_LOCK_STORE_URL": "redis://:pw@cache.internal:6380/2",
        }
    )
    written = yaml.safe_load(write_endpoints(config).read_text())
    endpoints_file(config).unlink()
    assert written["tracker_store"] == {
        "type": "bot.tracker_store.HotlineSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 5433,
        "db": "tracker",
        "username": "rasa",
        "password": "s3cret",
    }
    assert written["lock_store"] == {
        "type": "bot.lock_store.HotlineRedisLockStore",
        "url": "cache.internal",
        "port": 6380,
        "db": 2,
        "key_prefix": "mutualshotline",
        "password": "pw",
    }
    assert written["action_endpoint"]["url"] == "http://localhost:${ACTIONS_PORT}/webhook"
