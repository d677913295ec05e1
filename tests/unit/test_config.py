"""Settings: no built-in cookie key; a configured key must be long; env and secrets.toml."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

import engine.config
from engine.accounts.keys import cookie_signing_key
from engine.config import Settings
from engine.errors import ConfigurationError


def test_there_is_no_default_cookie_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROUNDWORK_COOKIE_KEY", raising=False)
    assert Settings().accounts.cookie_key is None
    assert not hasattr(engine.config, "DEFAULT_COOKIE_KEY")


@pytest.mark.parametrize("env", ["development", "production"])
def test_a_short_configured_cookie_key_is_refused_in_every_environment(env, tmp_path):
    with pytest.raises(ConfigurationError, match="GROUNDWORK_COOKIE_KEY"):
        cookie_signing_key(Settings(env=env, data_dir=tmp_path, cookie_key=SecretStr("short-key")))


def test_a_strong_configured_cookie_key_is_used_and_no_file_is_written(tmp_path):
    key = "x" * 16 + "y" * 16 + "z"
    assert cookie_signing_key(Settings(data_dir=tmp_path, cookie_key=SecretStr(key))) == key
    assert not (tmp_path / "cookie_key").exists()


@pytest.mark.parametrize(("value", "ok"), [("auto", True), ("always", True), ("maybe", False)])
def test_cookie_secure_and_signup_mode_take_only_known_values(value, ok):
    from pydantic import ValidationError

    if ok:
        assert Settings(cookie_secure=value).accounts.cookie_secure == value
    else:
        with pytest.raises(ValidationError):
            Settings(cookie_secure=value)
        with pytest.raises(ValidationError):
            Settings(signup_mode=value)


def test_well_known_environment_names_are_read(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/gw")
    monkeypatch.setenv("CHROMA_HOST", "chroma")
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", "/srv/groundwork")
    s = Settings()
    assert s.database.url == "postgresql://u:p@db/gw"
    assert s.vectors.host == "chroma"
    assert str(s.storage.chroma_dir) == "/srv/groundwork/chroma"


def test_secrets_toml_supplies_settings_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        'cookie_key = "from-secrets-file-0123456789abcdef0123"\nlog_level = "DEBUG"\n'
        'signup_mode = "invite"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROUNDWORK_COOKIE_KEY", raising=False)
    monkeypatch.setenv("GROUNDWORK_LOG_LEVEL", "WARNING")
    s = Settings()
    assert s.accounts.cookie_key.get_secret_value() == "from-secrets-file-0123456789abcdef0123"
    assert s.logging.level == "WARNING"
    assert s.accounts.signup_mode == "invite"
