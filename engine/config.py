"""Settings for every part of Groundwork, read from the environment or a `.env` file.

Settings are grouped by capability: `settings.database.pool_size`, `settings.llm.timeout_s`, ...
(the groups, with every setting's default, are in `engine.config_groups`).
Each setting also has a flat name: its group's prefix and its field name (`db_pool_size`,
`llm_timeout_s`), or the alias its field gives. Users set it as an environment variable
`GROUNDWORK_<FLAT NAME>` (for example `GROUNDWORK_DATA_DIR`) or as a key of
`.streamlit/secrets.toml`; a few well-known names (`DATABASE_URL`, `CHROMA_HOST`, `CHROMA_PORT`)
are read without the prefix as docker-compose and hosting platforms use them. Code uses the flat
names too when it builds settings (`Settings(data_dir=...)`) or changes a copy
(`settings.replace(db_pool_size=2)`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.config_groups import (
    AccountsSettings,
    DatabaseSettings,
    DeploymentSettings,
    EmbeddingSettings,
    GenerationSettings,
    GradingSettings,
    IngestionSettings,
    JobsSettings,
    LlmSettings,
    LoggingSettings,
    RetrievalSettings,
    SchedulingSettings,
    ScoringSettings,
    StorageSettings,
    TutorSettings,
    UsageSettings,
    VectorsSettings,
    _Group,
)
from engine.config_mail import MailSettings

# Streamlit's secrets file; keys are flat setting names (e.g. `cookie_key = "..."`).
SECRETS_FILE = Path(".streamlit") / "secrets.toml"


class Settings(BaseModel):
    """All configuration, validated once, grouped by capability. Obtain it with `get_settings()`.

    `Settings(**flat)` reads the environment, `.env` and `.streamlit/secrets.toml`, with the
    given flat names (e.g. `data_dir=...`) taking precedence; `_env_file=None` skips `.env`.
    `settings.replace(**flat)` is a validated copy with some settings changed.
    """

    model_config = ConfigDict(frozen=True)

    deployment: DeploymentSettings
    storage: StorageSettings
    logging: LoggingSettings
    database: DatabaseSettings
    accounts: AccountsSettings
    mail: MailSettings
    vectors: VectorsSettings
    ingestion: IngestionSettings
    embedding: EmbeddingSettings
    retrieval: RetrievalSettings
    jobs: JobsSettings
    llm: LlmSettings
    usage: UsageSettings
    generation: GenerationSettings
    grading: GradingSettings
    scheduling: SchedulingSettings
    scoring: ScoringSettings
    tutor: TutorSettings

    def __init__(self, **flat: Any) -> None:
        read = _FlatSettings(**flat)
        groups: dict[str, dict[str, Any]] = {name: {} for name in type(self).model_fields}
        for flat_name, (group, field) in FLAT_NAMES.items():
            groups[group][field] = getattr(read, flat_name)
        super().__init__(**groups)

    def replace(self, **flat: Any) -> Settings:
        """A copy with the settings named by flat name (e.g. `db_pool_size=2`) changed.

        The new values are validated like the environment's; the environment is not read again.

        Raises:
            TypeError: a name that is not a setting.
            pydantic.ValidationError: a value the setting refuses.
        """
        changes: dict[str, dict[str, Any]] = {}
        for flat_name, value in flat.items():
            if flat_name not in FLAT_NAMES:
                raise TypeError(f"Settings.replace() got an unknown setting {flat_name!r}")
            group, field = FLAT_NAMES[flat_name]
            changes.setdefault(group, {})[field] = value
        update = {}
        for group, fields in changes.items():
            current = getattr(self, group)
            update[group] = type(current).model_validate({**dict(current), **fields})
        return self.model_copy(update=update)


def _group_fields(group: str) -> dict[str, FieldInfo]:
    """The fields of one group (every field of Settings is typed with a `_Group` model)."""
    return cast(type[_Group], Settings.model_fields[group].annotation).model_fields


def _flat_names() -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for group in Settings.model_fields:
        for field, info in _group_fields(group).items():
            flat_name = info.alias or field
            if flat_name in names:
                raise TypeError(f"two settings have the flat name {flat_name!r}")
            names[flat_name] = (group, field)
    return names


# Every setting's flat name -> (group, field): `FLAT_NAMES["db_pool_size"] == ("database",
# "pool_size")`.
FLAT_NAMES: dict[str, tuple[str, str]] = _flat_names()


class _FlatSource(BaseSettings):
    """Reads flat names from the environment, `.env` and `.streamlit/secrets.toml`."""

    model_config = SettingsConfigDict(
        env_prefix="GROUNDWORK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, environment, .env, then .streamlit/secrets.toml.
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=SECRETS_FILE),
            file_secret_settings,
        )


def _flat_source() -> type[_FlatSource]:
    """One flat field per setting, with its group field's type, default and constraints.

    Validation happens here, so a refused value is reported under the name the user set.
    """
    fields: dict[str, Any] = {}
    for flat_name, (group, field) in FLAT_NAMES.items():
        info = _group_fields(group)[field]
        # Names read without the prefix (DATABASE_URL...) are given as AliasChoices.
        env_names = (
            info.validation_alias if isinstance(info.validation_alias, AliasChoices) else None
        )
        annotation = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[flat_name] = (
            annotation,
            Field(info.default, description=info.description, validation_alias=env_names),
        )
    # Named "Settings" so that validation errors read "... validation error for Settings".
    return create_model("Settings", __base__=_FlatSource, __module__=__name__, **fields)


_FlatSettings = _flat_source()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call `get_settings.cache_clear()`."""
    return Settings()
