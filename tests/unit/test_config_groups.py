"""Grouped settings: every flat name, environment variable and secrets.toml key reads as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from engine.config import FLAT_NAMES, Settings

# Every setting's flat name and default before the settings were grouped (and, marked, those
# added since).
OLD_DEFAULTS: dict[str, Any] = {
    "env": "development",
    "data_dir": Path("data"),
    "log_level": "INFO",
    "log_json": False,
    "database_url": None,
    "db_pool_size": 5,
    "db_max_overflow": 10,
    "db_pool_timeout_s": 10.0,
    "db_connect_timeout_s": 5,
    "db_statement_timeout_ms": 30000,
    "db_slow_query_ms": 200.0,
    "cookie_name": "groundwork_auth",
    "cookie_key": None,
    "cookie_expiry_days": 14.0,
    "cookie_secure": "auto",
    "signup_mode": "open",
    "password_min_length": 12,
    "login_max_failures": 5,
    "login_failure_window_min": 15,
    "login_lockout_min": 15,
    "login_max_failures_per_address": 30,
    "client_address_header": None,
    "login_bcrypt_concurrency": 2,
    "login_bcrypt_wait_s": 30.0,
    # added since: login waits without a connection, device cookies, sign-up limits
    "login_lock_wait_s": 10.0,
    "device_cookie_days": 180.0,
    "signup_max_per_address": 20,
    "signup_max_taken_per_address": 5,
    "signup_max_global": 200,
    "signup_window_min": 60,
    "sso_role_claim": None,  # added with roles and single sign-on
    "chroma_host": None,
    "chroma_port": 8000,
    # added since: Anki import limits
    "anki_max_mb": 200,
    "anki_max_unpacked_mb": 1024,
    "anki_max_media_files": 50000,
    "anki_image_max_kb": 2000,
    "upload_max_mb": 100,
    "pdf_max_pages": 2000,
    "pdf_parse_timeout_s": 120.0,
    "pdf_page_timeout_s": 20.0,
    "pdf_parse_memory_mb": 1536,
    "chunk_tokens": 200,
    # added since: OCR of pages without a text layer
    "ocr_enabled": True,
    "ocr_dpi": 150,
    "ocr_page_timeout_s": 60.0,
    "ocr_timeout_s": 1800.0,
    "ocr_min_confidence": 0.8,
    "ocr_memory_mb": 3072,
    "ocr_pages_per_user": 2000,
    "chunk_overlap_tokens": 40,
    "embedding_model": "all-MiniLM-L6-v2",
    "embedding_batch_size": 64,
    "model_cache_dir": None,
    "embedding_threads": 0,
    "embedding_warm_up": True,
    "retrieval_candidates": 50,
    "retrieval_dense_weight": 0.65,
    # added since: pseudo-relevance feedback in search
    "retrieval_feedback_passages": 10,
    "retrieval_feedback_terms": 40,
    "retrieval_feedback_query_weight": 0.6,
    "retrieval_feedback_dense_passages": 5,
    "retrieval_feedback_dense_shift": 1.0,
    "retrieval_feedback_dense_weight": 0.8,
    "embedded_worker": True,
    "worker_concurrency": 2,
    "jobs_heartbeat_s": 10.0,
    "jobs_stalled_after_s": 30.0,
    "jobs_max_retries": 3,
    "jobs_retry_wait_s": 2.0,
    "jobs_check_cron": "30 3 * * *",
    "upload_max_pending": 5,
    "spool_dir": None,
    "cache_budget_mb": 256,
    "llm_generation_model": None,
    "llm_grading_model": None,
    "llm_tutor_model": None,
    "llm_api_base": None,
    "llm_api_key": None,
    "llm_timeout_s": 60.0,
    "llm_max_retries": 2,
    "llm_retry_backoff_s": 1.0,
    "llm_retry_backoff_max_s": 20.0,
    "llm_temperature": 0.2,
    "llm_max_output_tokens": 4000,
    "llm_structured_output": "auto",
    "generation_max_per_hour": 30,
    "generation_max_questions_per_day": 300,
    "generation_max_count": 20,
    "grading_max_per_hour": 120,
    "tutor_max_per_hour": 60,
    "llm_max_requests_per_day": 600,
    "llm_reservation_ttl_s": 900,
    "llm_max_requests_per_address_per_hour": 600,
    "hosted_embedding_max_texts_per_day": 20000,
    "llm_max_concurrent_calls": 8,
    "llm_call_wait_s": 30.0,
    "generation_context_chunks": 8,
    "generation_context_max_chars": 12000,
    "generation_dedupe_threshold": 88.0,
    "generation_cache_ttl_h": 168,
    "sm2_initial_easiness": 2.5,
    "sm2_min_easiness": 1.3,
    "sm2_max_easiness": None,
    "sm2_first_interval_days": 1,
    "sm2_second_interval_days": 6,
    "sm2_max_interval_days": 36500,
    "fsrs_desired_retention": 0.9,
    "fsrs_maximum_interval_days": 36500,
    "fsrs_enable_fuzzing": False,
    "fsrs_optimise_min_reviews": 400,
    "fsrs_holdout_fraction": 0.2,
    "practice_slow_after_s": 60.0,
    "grading_keypoint_threshold": 75.0,
    "grading_keypoint_coverage": 0.6,
    "grading_cloze_threshold": 88.0,
    "quality_min_attempts": 5,
    "quality_retire_below": 0.3,
    "quality_flag_rate_retire": 0.1,
    "quality_flag_min_attempts": 10,
    "item_min_learners": 30,
    "xp_base": 10,
    "xp_correct_bonus": 10,
    "xp_calibration_bonus": 5,
    "xp_level_step": 100,
    "tutor_refusal_threshold": 0.87,
    "tutor_citation_threshold": 0.5,
    "tutor_citation_min_support": 0.15,
    "tutor_context_passages": 6,
    "tutor_history_tokens": 1500,
    "tutor_history_max_messages": 20,
    "tutor_message_max_chars": 4000,
    # added since: data exports expire
    "export_ttl_h": 24.0,
    # added since: amplification cap, page quotas and fair scheduling of ingestion
    "pdf_max_chars_per_byte": 20.0,
    "library_max_pages": 20_000,
    "upload_max_pages_per_day": 5_000,
    "jobs_fair_slice_s": 10.0,
    # added since: email (SMTP) for invitations and password reset links
    "public_url": None,
    "smtp_host": None,
    "smtp_port": 587,
    "smtp_username": None,
    "smtp_password": None,
    "smtp_from": None,
    "smtp_tls": "starttls",
    "smtp_timeout_s": 10.0,
    "password_reset_ttl_min": 60,
    "password_reset_max_per_email": 3,
    "password_reset_max_per_address": 20,
    "password_reset_window_min": 60,
    # added since: a learner's uploads run side by side
    "jobs_uploads_per_learner": 2,
    "jobs_worker_niceness": 10,  # added since: a worker's CPU priority is a setting
}

# Environment names read without the GROUNDWORK_ prefix, or besides GROUNDWORK_<FLAT NAME>.
EXTRA_ENV_NAMES = {
    "database_url": ["DATABASE_URL"],
    "chroma_host": ["CHROMA_HOST"],
    "chroma_port": ["CHROMA_PORT"],
}
# A valid value other than the default for the settings whose type or bounds need one.
CHANGED: dict[str, Any] = {
    "env": "production",
    "log_level": "DEBUG",
    "cookie_secure": "always",
    "signup_mode": "invite",
    "llm_structured_output": "off",
    "jobs_check_cron": "0 1 * * *",
    "cookie_key": "k" * 40,
    "llm_api_key": "sk-" + "a" * 20,
    "sm2_max_easiness": 3.0,
    "public_url": "https://groundwork.school.example",
    "smtp_password": "smtp-secret-pw",
    "smtp_from": "Groundwork <groundwork@school.example>",
    "smtp_tls": "ssl",
}
ENV_NAMES = [(flat, f"GROUNDWORK_{flat.upper()}") for flat in OLD_DEFAULTS] + [
    (flat, name) for flat, names in EXTRA_ENV_NAMES.items() for name in names
]


def _changed(flat: str) -> Any:
    """A valid value for `flat` that differs from its default."""
    if flat in CHANGED:
        return CHANGED[flat]
    default = OLD_DEFAULTS[flat]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return round(default * 0.9, 6)
    if isinstance(default, Path) or flat.endswith("_dir"):
        return Path("/srv/groundwork") / flat
    return f"value-of-{flat}"


def _grouped(settings: Settings, flat: str) -> Any:
    group, field = FLAT_NAMES[flat]
    value = getattr(getattr(settings, group), field)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No settings from the process environment, a `.env` or a secrets file."""
    monkeypatch.chdir(tmp_path)
    for _, name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_groups_hold_every_old_setting_exactly_once():
    assert sorted(FLAT_NAMES) == sorted(OLD_DEFAULTS)
    places = list(FLAT_NAMES.values())
    assert len(places) == len(set(places)) == 151
    grouped = [
        (group, field)
        for group, info in Settings.model_fields.items()
        for field in info.annotation.model_fields
    ]
    assert sorted(grouped) == sorted(places)
    assert all(issubclass(info.annotation, BaseModel) for info in Settings.model_fields.values())


def test_defaults_are_unchanged(clean):
    settings = Settings(_env_file=None)
    assert {flat: _grouped(settings, flat) for flat in OLD_DEFAULTS} == OLD_DEFAULTS


@pytest.mark.parametrize(("flat", "env_name"), ENV_NAMES, ids=[n for _, n in ENV_NAMES])
def test_every_environment_name_sets_its_setting(clean, monkeypatch, flat, env_name):
    value = _changed(flat)
    monkeypatch.setenv(env_name, str(value).lower() if isinstance(value, bool) else str(value))
    settings = Settings(_env_file=None)
    assert _grouped(settings, flat) == value
    others = {f: _grouped(settings, f) for f in OLD_DEFAULTS if f != flat}
    assert others == {f: v for f, v in OLD_DEFAULTS.items() if f != flat}


def test_every_secrets_toml_key_sets_its_setting(clean):
    def toml(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        return repr(value) if isinstance(value, int | float) else f'"{value}"'

    (clean / ".streamlit").mkdir()
    (clean / ".streamlit" / "secrets.toml").write_text(
        "".join(f"{flat} = {toml(_changed(flat))}\n" for flat in OLD_DEFAULTS)
    )
    settings = Settings(_env_file=None)
    assert {flat: _grouped(settings, flat) for flat in OLD_DEFAULTS} == {
        flat: _changed(flat) for flat in OLD_DEFAULTS
    }


def test_a_dotenv_file_sets_settings_by_their_environment_names(clean):
    (clean / ".env").write_text("GROUNDWORK_DB_POOL_SIZE=3\nGROUNDWORK_LLM_TIMEOUT_S=7\n")
    settings = Settings()
    assert (settings.database.pool_size, settings.llm.timeout_s) == (3, 7.0)


def test_flat_arguments_and_replace_set_every_setting(clean):
    changed = {flat: _changed(flat) for flat in OLD_DEFAULTS}
    built = Settings(_env_file=None, **changed)
    copy = Settings(_env_file=None).replace(**changed)
    assert {flat: _grouped(built, flat) for flat in OLD_DEFAULTS} == changed
    assert {flat: _grouped(copy, flat) for flat in OLD_DEFAULTS} == changed


def test_replace_validates_and_leaves_the_original_alone(clean):
    settings = Settings(_env_file=None)
    smaller = settings.replace(db_pool_size=2, llm_timeout_s="5")
    assert (smaller.database.pool_size, smaller.llm.timeout_s) == (2, 5.0)
    assert (settings.database.pool_size, settings.llm.timeout_s) == (5, 60.0)
    with pytest.raises(ValidationError, match="greater than or equal to 8"):
        settings.replace(password_min_length=3)
    with pytest.raises(TypeError, match="pool_size"):
        settings.replace(pool_size=2)


def test_a_refused_value_is_reported_under_the_name_the_user_set(clean, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_PASSWORD_MIN_LENGTH", "3")
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)
    assert info.value.title == "Settings"
    assert [e["loc"] for e in info.value.errors()] == [("password_min_length",)]
    assert "greater than or equal to 8" in str(info.value)


def test_paths_derived_from_the_data_folder(clean):
    settings = Settings(_env_file=None, data_dir="/srv/gw")
    storage = settings.storage
    assert (storage.pg_data_dir, storage.chroma_dir, storage.spool_path, storage.models_dir) == (
        Path("/srv/gw/postgres"),
        Path("/srv/gw/chroma"),
        Path("/srv/gw/spool"),
        Path("/srv/gw/models"),
    )
    assert settings.replace(spool_dir="/q", model_cache_dir="/m").storage.spool_path == Path("/q")
    assert not settings.deployment.is_production
    assert settings.replace(env=" Production ").deployment.is_production
