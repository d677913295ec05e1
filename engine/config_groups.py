"""The settings groups: one pydantic model per capability, with each setting's default.

`engine.config.Settings` holds one of each; a field's flat name (`GROUNDWORK_<FLAT NAME>`) is its
group's prefix and its field name, or the alias the field gives.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr


class _Group(BaseModel):
    """The settings of one capability; a field's alias, when it has one, is its flat name."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _prefixed(prefix: str) -> ConfigDict:
    """A group whose flat names are `prefix` + field name (unless a field gives an alias)."""
    return ConfigDict(alias_generator=lambda name: prefix + name)


class DeploymentSettings(_Group):
    """What kind of installation this is."""

    env: str = Field("development", description="'development' or 'production'.")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The address learners open the app at (e.g. https://groundwork.school.example); "
        "links in emails start with it. Needed to send invitations and reset links by email.",
    )

    @property
    def base_url(self) -> str | None:
        """`public_url` without a trailing slash."""
        return self.public_url.rstrip("/") if self.public_url else None

    @property
    def is_production(self) -> bool:
        return self.env.strip().lower() == "production"


class StorageSettings(_Group):
    """Folders on disk."""

    data_dir: Path = Field(Path("data"), description="Embedded PostgreSQL and Chroma live here.")
    spool_dir: Path | None = Field(
        None,
        description="Where uploads wait for a worker; shared by app and worker "
        "processes (default: <data_dir>/spool).",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where models built from packaged weights are cached "
        "(default: <data dir>/models); rebuilt when missing.",
    )
    export_ttl_h: float = Field(
        24.0,
        gt=0,
        description="Hours a prepared data export stays downloadable; then it "
        "is removed (when next looked at, or by the nightly check).",
    )

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


class LoggingSettings(_Group):
    """Log records (engine/logging_setup.py); flat names `log_level`, `log_json`."""

    model_config = _prefixed("log_")

    level: str = "INFO"
    # One JSON object per line instead of text.
    json_lines: bool = Field(False, alias="log_json")


class DatabaseSettings(_Group):
    """PostgreSQL: where it is (unset: the embedded server) and the connection pool."""

    model_config = _prefixed("db_")

    url: str | None = Field(
        None,
        alias="database_url",
        validation_alias=AliasChoices("DATABASE_URL", "GROUNDWORK_DATABASE_URL"),
    )
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 10.0
    connect_timeout_s: int = 5
    statement_timeout_ms: int = 30_000
    slow_query_ms: float = 200.0


class AccountsSettings(_Group):
    """Sign-up, sign-in and the "stay signed in" cookie."""

    cookie_name: str = "groundwork_auth"
    # Signs the "stay signed in" cookie (32+ characters). Unset: a random key generated on
    # first start and kept in <data_dir>/cookie_key (engine/accounts/keys.py).
    cookie_key: SecretStr | None = None
    cookie_expiry_days: float = Field(14.0, gt=0)
    # Mark the cookie Secure (sent over HTTPS only): 'auto' when the browser's address is https,
    # 'always', or 'never'.
    cookie_secure: str = Field("auto", pattern="^(auto|always|never)$")
    # Who may create accounts: 'open' (anyone, on the Sign up page), 'invite' (invitation
    # links from the admin console, and the operator with `python -m engine create-user`),
    # 'closed' (nobody) or 'sso' (single sign-on only). The default: an admin can change it
    # at run time in the console (stored in PostgreSQL).
    signup_mode: str = Field("open", pattern="^(open|invite|closed|sso)$")
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
    # How long a login waits for another login on the same email (or from the same address)
    # to be recorded before it gets "busy, try again"; it waits holding no database connection.
    login_lock_wait_s: float = Field(10.0, gt=0)
    # A browser that signed in to an email keeps a signed device cookie for it this long: its
    # attempts on that email are throttled per device, so strangers failing on the email do
    # not lock the owner's known browser out.
    device_cookie_days: float = Field(180.0, gt=0)
    # Sign-ups that reach the "email taken?" check, within `signup_window_min`: from one client
    # address, refused as taken from one address, and server-wide (0 turns a limit off).
    signup_max_per_address: int = Field(20, ge=0)
    signup_max_taken_per_address: int = Field(5, ge=0)
    signup_max_global: int = Field(200, ge=0)
    signup_window_min: int = Field(60, ge=1)
    # Single sign-on (OpenID Connect, `[auth]` in .streamlit/secrets.toml): the ID token claim
    # that holds an account's role (learner, teacher or admin) when SSO creates it; unset:
    # new SSO accounts are learners.
    sso_role_claim: str | None = None
    # "Forgot password?" links (sent by email when SMTP is set up): minutes a link works, and
    # requests within `password_reset_window_min` per email address asked for (known or not,
    # so the limit tells nothing about which addresses have accounts) and per client address
    # (0 turns a limit off).
    password_reset_ttl_min: int = Field(60, ge=5, le=7 * 24 * 60)
    password_reset_max_per_email: int = Field(3, ge=0)
    password_reset_max_per_address: int = Field(20, ge=0)
    password_reset_window_min: int = Field(60, ge=1)

    @property
    def signup_open(self) -> bool:
        """Whether anyone may create an account on the Sign up page."""
        return self.signup_mode == "open"


class VectorsSettings(_Group):
    """A Chroma server (unset host: Chroma runs in-process on <data_dir>/chroma)."""

    model_config = _prefixed("chroma_")

    host: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_HOST", "GROUNDWORK_CHROMA_HOST")
    )
    port: int = Field(8000, validation_alias=AliasChoices("CHROMA_PORT", "GROUNDWORK_CHROMA_PORT"))


class IngestionSettings(_Group):
    """Uploading and reading PDFs, and cutting them into chunks."""

    upload_max_mb: int = Field(100, description="Largest PDF accepted, in megabytes.")
    upload_max_pending: int = Field(
        5, ge=1, description="Uploads one learner may have waiting or being read at once."
    )
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
    pdf_max_chars_per_byte: float = Field(
        20.0,
        gt=0,
        description="Refuse a PDF whose text runs to more characters than this per "
        "byte of file (text repeated by the file's structure: an amplification bomb).",
    )
    library_max_pages: int = Field(
        20_000, ge=0, description="Pages one learner may keep in their library (0: no limit)."
    )
    upload_max_pages_per_day: int = Field(
        5_000, ge=0, description="Pages one learner may add in 24 hours (0: no limit)."
    )
    anki_max_mb: int = Field(
        200, ge=1, description="Largest Anki package (.apkg/.colpkg) accepted, in megabytes."
    )
    anki_max_unpacked_mb: int = Field(
        1024,
        ge=1,
        description="Refuse an Anki package whose contents unpack to more than "
        "this, in megabytes (a compression bomb).",
    )
    anki_max_media_files: int = Field(
        50000, ge=0, description="Refuse an Anki package with more media files than this."
    )
    anki_image_max_kb: int = Field(
        2000,
        ge=1,
        description="Largest image imported with an Anki note, in kilobytes (a larger one "
        "is left out and counted).",
    )
    ocr_enabled: bool = Field(
        True, description="Read pages without a usable text layer by OCR (in the reader)."
    )
    ocr_dpi: int = Field(
        150,
        ge=72,
        le=600,
        description="Resolution pages are rendered at for OCR (150 reads 9-point type).",
    )
    ocr_page_timeout_s: float = Field(
        60.0, description="Refuse the PDF when one page takes longer than this to OCR."
    )
    ocr_timeout_s: float = Field(
        1800.0, description="Extra wall-clock time one PDF's OCR pages may take in all."
    )
    ocr_min_confidence: float = Field(
        0.8,
        ge=0,
        le=1,
        description="OCR pages read with less mean confidence are marked "
        "and left out of question generation.",
    )
    ocr_memory_mb: int = Field(
        3072, description="Address-space limit of the reader process while it runs OCR."
    )
    ocr_pages_per_user: int = Field(
        2000, ge=0, description="Pages one learner's library may hold that were read by OCR."
    )
    chunk_tokens: int = Field(200, description="Chunk size in tokens of the default tokenizer.")
    chunk_overlap_tokens: int = Field(40, description="Tokens shared by consecutive chunks.")


class EmbeddingSettings(_Group):
    """The model that turns passages and queries into vectors."""

    model_config = _prefixed("embedding_")

    model: str = Field(
        "all-MiniLM-L6-v2",
        description="'all-MiniLM-L6-v2' (bundled, offline, int8 on onnxruntime), "
        "'all-MiniLM-L6-v2-fp32' (unquantised), 'all-MiniLM-L6-v2-torch' (sentence-transformers, "
        "if installed) or any litellm embedding model, e.g. 'openai/text-embedding-3-small'.",
    )
    batch_size: int = Field(
        64, description="Passages per call to a hosted (or the torch) embedding model."
    )
    threads: int = Field(
        0, ge=0, description="CPU threads for the bundled model; 0 = one per core."
    )
    warm_up: bool = Field(
        True,
        description="Load the model in the background when the app or a worker starts "
        "(false: on first use, e.g. in tests that never embed).",
    )


class RetrievalSettings(_Group):
    """Hybrid search: dense and BM25 rankings fused."""

    model_config = _prefixed("retrieval_")

    candidates: int = Field(50, description="Candidates taken from each ranking before fusion.")
    dense_weight: float = Field(
        0.65,
        description="Weight of the cosine similarity in the fused score; BM25 scaled by "
        "the query's best BM25 score gets the rest (tuned with `python -m bench.retrieval`).",
    )
    # Pseudo-relevance feedback (engine/retrieval/feedback.py): a second query expanded from
    # the best `feedback_passages` passages of the first (0 turns it off); tuned with
    # `python -m bench.retrieval`.
    feedback_passages: int = Field(10, ge=0, le=100)
    feedback_terms: int = Field(40, ge=1, le=200)
    feedback_query_weight: float = Field(0.6, ge=0, le=1)
    feedback_dense_passages: int = Field(5, ge=1, le=100)
    feedback_dense_shift: float = Field(1.0, ge=0)
    feedback_dense_weight: float = Field(0.8, ge=0, le=1)
    cache_budget_mb: int = Field(
        256,
        ge=8,
        alias="cache_budget_mb",
        description="Memory for per-process caches (search indexes, handles).",
    )


class JobsSettings(_Group):
    """Background jobs (procrastinate on PostgreSQL)."""

    model_config = _prefixed("jobs_")

    # The app runs one worker thread in its own process unless this is false (then only
    # `python -m engine worker` processes run jobs).
    embedded_worker: bool = Field(
        True,
        alias="embedded_worker",
        validation_alias=AliasChoices("GROUNDWORK_EMBEDDED_WORKER", "embedded_worker"),
    )
    # Two jobs at once: a learner's upload never waits behind another learner's (learners take
    # turns: `engine.jobs.fairness`).
    worker_concurrency: int = Field(2, ge=1, le=32, alias="worker_concurrency")
    uploads_per_learner: int = Field(
        2,
        ge=1,
        le=8,
        description="How many of one learner's uploads may be read at once (their other jobs "
        "always run alone).",
    )
    heartbeat_s: float = Field(10.0, gt=0, description="How often a worker says it lives.")
    stalled_after_s: float = Field(
        30.0, gt=0, description="A worker silent this long is dead; its jobs are retried."
    )
    max_retries: int = Field(3, ge=0, le=10, description="Retries of a safe-to-retry job.")
    retry_wait_s: float = Field(2.0, ge=0, description="Backoff base (exponential).")
    fair_slice_s: float = Field(
        10.0,
        ge=0,
        description="An ingestion that has run this long steps aside (and continues "
        "later, keeping its work) when another learner's job is waiting for a worker.",
    )
    worker_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description="Added to a `python -m engine worker` process's CPU nice value, so "
        "ingestion and generation yield the CPU to learners' clicks (0: the app's priority).",
    )
    check_cron: str = Field(
        "30 3 * * *",
        description="When workers compare rows and vectors and repair drift (cron, server time).",
    )


class LlmSettings(_Group):
    """The language model adapter (engine/llm.py)."""

    model_config = _prefixed("llm_")

    # Any litellm model name ("gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022",
    # "ollama/llama3.1", "openai/<name>" with llm_api_base for an OpenAI-compatible server).
    # No generation model => the offline generator (extractive cloze and multiple choice).
    generation_model: str | None = None
    # Grading and tutoring fall back to the generation model when not set.
    grading_model: str | None = None
    tutor_model: str | None = None
    api_base: str | None = None
    # When unset, litellm reads the provider's own variable (OPENAI_API_KEY, ANTHROPIC_API_KEY...).
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    retry_backoff_s: float = Field(1.0, ge=0)
    retry_backoff_max_s: float = Field(20.0, ge=0)
    temperature: float = Field(0.2, ge=0, le=2)
    max_output_tokens: int = Field(4000, ge=100)
    # 'auto' asks for a JSON schema when litellm knows the model supports it; 'json_schema'
    # always asks; 'json_object' asks for plain JSON mode; 'off' relies on the prompt alone.
    structured_output: str = Field("auto", pattern="^(auto|json_schema|json_object|off)$")


class UsageSettings(_Group):
    """Per-learner limits on model use (engine/usage/)."""

    generation_max_per_hour: int = Field(30, ge=1)
    generation_max_questions_per_day: int = Field(300, ge=1)
    # Short answers graded by the model, and tutor questions, per learner per hour; all
    # model requests together per learner per day.
    grading_max_per_hour: int = Field(120, ge=1)
    tutor_max_per_hour: int = Field(60, ge=1)
    llm_max_requests_per_day: int = Field(600, ge=1)
    # A reservation a crashed process never settled stops counting after this many seconds.
    llm_reservation_ttl_s: int = Field(900, ge=30)
    # Model requests per hour from one client address, all learners together (the address a
    # learner last signed in from); 0 turns it off. Behind one NAT address (a school), raise it.
    llm_max_requests_per_address_per_hour: int = Field(600, ge=0)
    # Texts a learner may send to a hosted embedding model per day (passages and queries;
    # the bundled local model is not limited).
    hosted_embedding_max_texts_per_day: int = Field(20_000, ge=1)
    # Model calls in flight at once on the whole installation (every app replica and
    # worker); more wait up to `llm_call_wait_s`, then get "busy, try again". 0: no cap.
    llm_max_concurrent_calls: int = Field(8, ge=0)
    llm_call_wait_s: float = Field(30.0, gt=0)


class GenerationSettings(_Group):
    """Writing questions from passages."""

    model_config = _prefixed("generation_")

    max_count: int = Field(20, ge=1, le=50)
    context_chunks: int = Field(8, ge=1, le=40)
    context_max_chars: int = Field(12_000, ge=1000)
    # Two questions whose normalised stems score at least this (rapidfuzz, 0-100) are duplicates.
    dedupe_threshold: float = Field(88.0, ge=50, le=100)
    cache_ttl_h: float = Field(24 * 7, ge=0)


class GradingSettings(_Group):
    """Judging an answer (engine/practice/grading.py) and rating it for the scheduler."""

    model_config = _prefixed("grading_")

    # Attempt -> grade: a correct answer slower than this counts one grade lower.
    slow_after_s: float = Field(60.0, gt=0, alias="practice_slow_after_s")
    # Offline short-answer grading: a key point counts as covered at this rapidfuzz
    # partial_token_set score (0-100); the answer is right when this share is covered.
    keypoint_threshold: float = Field(75.0, ge=50, le=100)
    keypoint_coverage: float = Field(0.6, gt=0, le=1)
    # Typed cloze answers: a rapidfuzz ratio at least this high tolerates a typo.
    cloze_threshold: float = Field(88.0, ge=50, le=100)


class SchedulingSettings(_Group):
    """SM-2 and FSRS-6 (engine/scheduling)."""

    # SM-2 (the published constants; see engine/scheduling/sm2.py).
    sm2_initial_easiness: float = Field(2.5, ge=1.0)
    sm2_min_easiness: float = Field(1.3, gt=0)
    sm2_max_easiness: float | None = Field(None, gt=0)
    sm2_first_interval_days: int = Field(1, ge=1)
    sm2_second_interval_days: int = Field(6, ge=1)
    sm2_max_interval_days: int = Field(
        36500, ge=1, description="Longest interval SM-2 schedules (Anki's default maximum)."
    )
    # FSRS-6 (engine/scheduling/fsrs6.py).
    fsrs_desired_retention: float = Field(0.9, ge=0.5, lt=1)
    fsrs_maximum_interval_days: int = Field(36500, ge=1)
    fsrs_enable_fuzzing: bool = False
    # Personal FSRS parameters are fitted from this many reviews on, and adopted only when they
    # beat the current ones on the latest `fsrs_holdout_fraction` of the learner's reviews.
    fsrs_optimise_min_reviews: int = Field(400, ge=50)
    fsrs_holdout_fraction: float = Field(0.2, gt=0, lt=1)


class ScoringSettings(_Group):
    """Question quality (engine/scoring/quality.py) and XP (engine/scoring/xp.py)."""

    quality_min_attempts: int = Field(5, ge=1)
    quality_retire_below: float = Field(0.3, ge=0, le=1)
    quality_flag_rate_retire: float = Field(0.10, ge=0, le=1)
    quality_flag_min_attempts: int = Field(10, ge=1)
    # Course item analysis (engine/domain/item_analysis.py) gives a verdict, and the cohort's
    # statistics enter a course question's quality score, from this many learners on.
    item_min_learners: int = Field(30, ge=2)
    xp_base: int = Field(10, ge=0)
    xp_correct_bonus: int = Field(10, ge=0)
    xp_calibration_bonus: int = Field(5, ge=0)
    xp_level_step: int = Field(100, ge=1)


class TutorSettings(_Group):
    """The tutor chat (engine/tutor)."""

    model_config = _prefixed("tutor_")

    # Refuse without a model call when the evidence that the library covers the question is
    # below this: the best passage's cosine + 0.3 x the share of the question's terms
    # (IDF-weighted) in the library + 0.3 x that share in the best top passage, 0..1.6
    # (`engine.tutor.grounding.Evidence`; chosen on half of `python -m bench.tutor`'s questions).
    refusal_threshold: float = Field(0.87, ge=0, le=1.6)
    # An uncited sentence is cited when a passage's support score (0.9 cosine + 0.1 term
    # overlap, our own embeddings) reaches this; a model citation below the floor is dropped.
    citation_threshold: float = Field(0.5, ge=0, le=1)
    citation_min_support: float = Field(0.15, ge=0, le=1)
    context_passages: int = Field(6, ge=1, le=20)
    history_tokens: int = Field(1500, ge=0)
    history_max_messages: int = Field(20, ge=0)
    message_max_chars: int = Field(4000, ge=10)
