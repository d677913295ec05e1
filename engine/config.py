"""Settings for every part of Groundwork, read from the environment or a `.env` file.

Every setting can be given as an environment variable named `GROUNDWORK_<FIELD>` (for example
`GROUNDWORK_DATA_DIR`); a few well-known names (`DATABASE_URL`, `CHROMA_HOST`, `CHROMA_PORT`) are
read without the prefix as docker-compose and hosting platforms use them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The cookie key used when none is configured. Fine on a laptop; refused in production.
DEFAULT_COOKIE_KEY = "groundwork-development-cookie-key-change-me-0123456789"


class Settings(BaseSettings):
    """All configuration, validated once. Obtain it with `get_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="GROUNDWORK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- runtime ---------------------------------------------------------------------------
    env: str = Field("development", description="'development' or 'production'.")
    data_dir: Path = Field(Path("data"), description="Embedded PostgreSQL and Chroma live here.")
    log_level: str = "INFO"
    log_json: bool = False

    # --- database --------------------------------------------------------------------------
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "GROUNDWORK_DATABASE_URL")
    )
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_timeout_s: float = 10.0
    db_connect_timeout_s: int = 5
    db_statement_timeout_ms: int = 30_000
    db_slow_query_ms: float = 200.0

    # --- accounts --------------------------------------------------------------------------
    cookie_name: str = "groundwork_auth"
    cookie_key: SecretStr = SecretStr(DEFAULT_COOKIE_KEY)
    cookie_expiry_days: float = 14.0
    password_min_length: int = 12
    login_max_failures: int = 5
    login_failure_window_min: int = 15
    login_lockout_min: int = 15

    # --- vectors (Chroma) ------------------------------------------------------------------
    chroma_host: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_HOST", "GROUNDWORK_CHROMA_HOST")
    )
    chroma_port: int = Field(
        8000, validation_alias=AliasChoices("CHROMA_PORT", "GROUNDWORK_CHROMA_PORT")
    )

    # --- library: ingestion and retrieval (issue 3) ----------------------------------------

    # --- LLM and generation (issue 4) ------------------------------------------------------

    # --- practice, scheduling, scoring (issue 5) -------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env.strip().lower() == "production"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call `get_settings.cache_clear()`."""
    return Settings()
