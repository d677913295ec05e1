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


def test_secrets_toml_supplies_settings_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        'cookie_key = "from-secrets-file-0123456789abcdef0123"\nlog_level = "DEBUG"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROUNDWORK_COOKIE_KEY", raising=False)
    monkeypatch.setenv("GROUNDWORK_LOG_LEVEL", "WARNING")
    s = Settings()
    assert s.cookie_key.get_secret_value() == "from-secrets-file-0123456789abcdef0123"
    assert s.log_level == "WARNING"
