"""Settings for every part of Groundwork, read from the environment or a `.env` file.

Every setting can be given as an environment variable named `GROUNDWORK_<FIELD>` (for example
`GROUNDWORK_DATA_DIR`); a few well-known names (`DATABASE_URL`, `CHROMA_HOST`, `CHROMA_PORT`) are
read without the prefix as docker-compose and hosting platforms use them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Streamlit's secrets file; keys are setting names (e.g. `cookie_key = "..."`).
SECRETS_FILE = Path(".streamlit") / "secrets.toml"


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
    # Signs the "stay signed in" cookie (32+ characters). Unset: a random key generated on
    # first start and kept in <data_dir>/cookie_key (engine/accounts/keys.py).
    cookie_key: SecretStr | None = None
    cookie_expiry_days: float = Field(14.0, gt=0)
    # Mark the cookie Secure (sent over HTTPS only): 'auto' when the browser's address is https,
    # 'always', or 'never'.
    cookie_secure: str = Field("auto", pattern="^(auto|always|never)$")
    # Who may create accounts: 'open' (anyone, on the Sign up page), 'invite' (only the
    # operator, with `python -m engine create-user`) or 'closed' (nobody).
    signup_mode: str = Field("open", pattern="^(open|invite|closed)$")
    password_min_length: int = Field(12, ge=8, le=64)
    login_max_failures: int = Field(5, ge=1)
    login_failure_window_min: int = Field(15, ge=1)
    login_lockout_min: int = Field(15, ge=1)
    # Failed logins from one client address (any emails) within the window before that address
    # is locked out for `login_lockout_min`; 0 turns the per-address limit off.
    login_max_failures_per_address: int = Field(30, ge=0)
    # Behind a reverse proxy every browser has the proxy's address: name the header that
    # carries the real one (e.g. 'X-Forwarded-For'; its last entry is used). Only set this
    # when a proxy you run always sets that header.
    client_address_header: str | None = None
    # bcrypt checks running at once in one process; more logins wait (at most
    # `login_bcrypt_wait_s`, then "busy, try again") without holding a database connection.
    login_bcrypt_concurrency: int = Field(2, ge=1)
    login_bcrypt_wait_s: float = Field(30.0, gt=0)

    # --- vectors (Chroma) ------------------------------------------------------------------
    chroma_host: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_HOST", "GROUNDWORK_CHROMA_HOST")
    )
    chroma_port: int = Field(
        8000, validation_alias=AliasChoices("CHROMA_PORT", "GROUNDWORK_CHROMA_PORT")
    )

    # --- library: ingestion and retrieval (issue 3) ----------------------------------------
    upload_max_mb: int = Field(100, description="Largest PDF accepted, in megabytes.")
    pdf_max_pages: int = Field(2000, description="PDFs with more pages are refused.")
    pdf_parse_timeout_s: float = Field(
        120.0, description="Wall-clock limit for reading one PDF (separate process)."
    )
    pdf_page_timeout_s: float = Field(
        20.0, description="Refuse the PDF when one page takes longer than this to read."
    )
    pdf_parse_memory_mb: int = Field(
        1536, description="Address-space limit of the process that reads a PDF."
    )
    chunk_tokens: int = Field(200, description="Chunk size in tokens of the default tokenizer.")
    chunk_overlap_tokens: int = Field(40, description="Tokens shared by consecutive chunks.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="'all-MiniLM-L6-v2' (bundled, offline, int8 on onnxruntime), "
        "'all-MiniLM-L6-v2-fp32' (unquantised), 'all-MiniLM-L6-v2-torch' (sentence-transformers, "
        "if installed) or any litellm embedding model, e.g. 'openai/text-embedding-3-small'.",
    )
    embedding_batch_size: int = Field(
        64, description="Passages per call to a hosted (or the torch) embedding model."
    )
    model_cache_dir: Path | None = Field(
        None, description="Where models built from packaged weights are cached "
        "(default: <data dir>/models); rebuilt when missing."
    )
    embedding_threads: int = Field(
        0, ge=0, description="CPU threads for the bundled model; 0 = one per core."
    )
    retrieval_candidates: int = Field(
        50, description="Candidates taken from each ranking before fusion."
    )
    retrieval_dense_weight: float = Field(
        0.65, description="Weight of the cosine similarity in the fused score; BM25 scaled by "
        "the query's best BM25 score gets the rest (tuned with `python -m bench.retrieval`)."
    )

    # --- background jobs (procrastinate on PostgreSQL) -------------------------------------
    # The app runs one worker thread in its own process unless this is false (then only
    # `python -m engine worker` processes run jobs).
    embedded_worker: bool = Field(
        True, validation_alias=AliasChoices("GROUNDWORK_EMBEDDED_WORKER", "embedded_worker"))
    worker_concurrency: int = Field(1, ge=1, le=32)
    jobs_heartbeat_s: float = Field(10.0, gt=0, description="How often a worker says it lives.")
    jobs_stalled_after_s: float = Field(
        30.0, gt=0, description="A worker silent this long is dead; its jobs are retried.")
    jobs_max_retries: int = Field(3, ge=0, le=10, description="Retries of a safe-to-retry job.")
    jobs_retry_wait_s: float = Field(2.0, ge=0, description="Backoff base (exponential).")
    jobs_check_cron: str = Field(
        "30 3 * * *", description="When workers compare rows and vectors and repair drift "
        "(cron, server time).")
    upload_max_pending: int = Field(
        5, ge=1, description="Uploads one learner may have waiting or being read at once.")
    spool_dir: Path | None = Field(
        None, description="Where uploads wait for a worker; shared by app and worker "
        "processes (default: <data_dir>/spool).")
    cache_budget_mb: int = Field(
        256, ge=8, description="Memory for per-process caches (search indexes, handles).")

    # --- LLM and generation (issue 4) ------------------------------------------------------
    # Any litellm model name ("gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022",
    # "ollama/llama3.1", "openai/<name>" with llm_api_base for an OpenAI-compatible server).
    # No generation model => the offline generator (extractive cloze and multiple choice).
    llm_generation_model: str | None = None
    # Grading and tutoring fall back to the generation model when not set.
    llm_grading_model: str | None = None
    llm_tutor_model: str | None = None
    llm_api_base: str | None = None
    # When unset, litellm reads the provider's own variable (OPENAI_API_KEY, ANTHROPIC_API_KEY...).
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_retry_backoff_s: float = Field(1.0, ge=0)
    llm_retry_backoff_max_s: float = Field(20.0, ge=0)
    llm_temperature: float = Field(0.2, ge=0, le=2)
    llm_max_output_tokens: int = Field(4000, ge=100)
    # 'auto' asks for a JSON schema when litellm knows the model supports it; 'json_schema'
    # always asks; 'json_object' asks for plain JSON mode; 'off' relies on the prompt alone.
    llm_structured_output: str = Field("auto", pattern="^(auto|json_schema|json_object|off)$")
    # Per-learner cost limits.
    generation_max_per_hour: int = Field(30, ge=1)
    generation_max_questions_per_day: int = Field(300, ge=1)
    generation_max_count: int = Field(20, ge=1, le=50)
    # Short answers graded by the model, and tutor questions, per learner per hour; all
    # model requests together per learner per day (engine/usage.py).
    grading_max_per_hour: int = Field(120, ge=1)
    tutor_max_per_hour: int = Field(60, ge=1)
    llm_max_requests_per_day: int = Field(600, ge=1)
    # A reservation a crashed process never settled stops counting after this many seconds.
    llm_reservation_ttl_s: int = Field(900, ge=30)
    generation_context_chunks: int = Field(8, ge=1, le=40)
    generation_context_max_chars: int = Field(12_000, ge=1000)
    # Two questions whose normalised stems score at least this (rapidfuzz, 0-100) are duplicates.
    generation_dedupe_threshold: float = Field(88.0, ge=50, le=100)
    generation_cache_ttl_h: float = Field(24 * 7, ge=0)

    # --- practice, scheduling, scoring (issue 5) -------------------------------------------
    # SM-2 (the published constants; see engine/scheduling/sm2.py).
    sm2_initial_easiness: float = Field(2.5, ge=1.0)
    sm2_min_easiness: float = Field(1.3, gt=0)
    sm2_max_easiness: float | None = Field(None, gt=0)
    sm2_first_interval_days: int = Field(1, ge=1)
    sm2_second_interval_days: int = Field(6, ge=1)
    sm2_max_interval_days: int = Field(
        36500, ge=1, description="Longest interval SM-2 schedules (Anki's default maximum).")
    # FSRS-6 (engine/scheduling/fsrs6.py).
    fsrs_desired_retention: float = Field(0.9, ge=0.5, lt=1)
    fsrs_maximum_interval_days: int = Field(36500, ge=1)
    fsrs_enable_fuzzing: bool = False
    # Personal FSRS parameters are fitted from this many reviews on, and adopted only when they
    # beat the current ones on the latest `fsrs_holdout_fraction` of the learner's reviews.
    fsrs_optimise_min_reviews: int = Field(400, ge=50)
    fsrs_holdout_fraction: float = Field(0.2, gt=0, lt=1)
    # Attempt -> grade: a correct answer slower than this counts one grade lower.
    practice_slow_after_s: float = Field(60.0, gt=0)
    # Offline short-answer grading: a key point counts as covered at this rapidfuzz
    # partial_token_set score (0-100); the answer is right when this share is covered.
    grading_keypoint_threshold: float = Field(75.0, ge=50, le=100)
    grading_keypoint_coverage: float = Field(0.6, gt=0, le=1)
    # Typed cloze answers: a rapidfuzz ratio at least this high tolerates a typo.
    grading_cloze_threshold: float = Field(88.0, ge=50, le=100)
    # Question quality (engine/scoring/quality.py).
    quality_min_attempts: int = Field(5, ge=1)
    quality_retire_below: float = Field(0.3, ge=0, le=1)
    quality_flag_rate_retire: float = Field(0.10, ge=0, le=1)
    quality_flag_min_attempts: int = Field(10, ge=1)
    # XP (engine/scoring/xp.py).
    xp_base: int = Field(10, ge=0)
    xp_correct_bonus: int = Field(10, ge=0)
    xp_calibration_bonus: int = Field(5, ge=0)
    xp_level_step: int = Field(100, ge=1)

    # --- tutor ---------------------------------------------------------------------------
    # Refuse without a model call when the best passage's fused retrieval score is below this
    # (measured with `python -m bench.tutor`).
    tutor_refusal_threshold: float = Field(0.55, ge=0, le=1)
    # An uncited sentence is cited when a passage's support score (0.9 cosine + 0.1 term
    # overlap, our own embeddings) reaches this; a model citation below the floor is dropped.
    tutor_citation_threshold: float = Field(0.5, ge=0, le=1)
    tutor_citation_min_support: float = Field(0.15, ge=0, le=1)
    tutor_context_passages: int = Field(6, ge=1, le=20)
    tutor_history_tokens: int = Field(1500, ge=0)
    tutor_history_max_messages: int = Field(20, ge=0)
    tutor_message_max_chars: int = Field(4000, ge=10)

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

    @property
    def is_production(self) -> bool:
        return self.env.strip().lower() == "production"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.data_dir / "spool"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        """Models built locally from packaged weights (rebuilt when missing)."""
        return self.model_cache_dir or self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call `get_settings.cache_clear()`."""
    return Settings()
