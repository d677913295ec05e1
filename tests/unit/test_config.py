"""Settings: production refuses unsafe cookie keys; development runs with defaults."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from engine.config import DEFAULT_COOKIE_KEY, Settings
from engine.errors import ConfigurationError
from engine.runtime import check_settings


def test_production_refuses_the_default_cookie_key():
    with pytest.raises(ConfigurationError, match="GROUNDWORK_COOKIE_KEY"):
        check_settings(Settings(env="production", cookie_key=SecretStr(DEFAULT_COOKIE_KEY)))


def test_production_refuses_a_short_cookie_key():
    with pytest.raises(ConfigurationError):
        check_settings(Settings(env="production", cookie_key=SecretStr("short-key")))


def test_production_accepts_a_strong_cookie_key():
    check_settings(Settings(env="production", cookie_key=SecretStr("x" * 16 + "y" * 16 + "z")))


def test_development_runs_with_the_default_key():
    check_settings(Settings(env="development"))


def test_well_known_environment_names_are_read(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/gw")
    monkeypatch.setenv("CHROMA_HOST", "chroma")
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", "/srv/groundwork")
    s = Settings()
    assert s.database_url == "postgresql://u:p@db/gw"
    assert s.chroma_host == "chroma"
    assert str(s.chroma_dir) == "/srv/groundwork/chroma"
