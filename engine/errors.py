"""Errors a learner can act on. Pages show `error.user_message`; programmer mistakes stay
ValueError/TypeError and are never caught for display."""

from __future__ import annotations


class EngineError(Exception):
    """An expected failure with a message fit to show the learner as it is."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message if detail is None else f"{user_message} ({detail})")
        self.user_message = user_message
        self.detail = detail


class ConfigurationError(EngineError):
    """Settings that make it unsafe or impossible to run."""


class DatabaseUnavailable(EngineError):
    """The database cannot be reached or started."""


class NotFound(EngineError):
    """The thing asked for does not exist for this learner (also used for other learners' rows)."""


class Forbidden(EngineError):
    """The signed-in account's role does not allow this (e.g. a learner calling an admin
    service)."""


class InvalidInput(EngineError):
    """Input that fails validation; the message says what to change."""


class RegistrationError(InvalidInput):
    """A sign-up that cannot be accepted (bad email, weak password, email taken...)."""


class AuthenticationFailed(EngineError):
    """Wrong email or password. Never says which."""


class AccountLocked(EngineError):
    """Too many failed logins for one account."""

    def __init__(self, user_message: str, *, retry_after_s: int) -> None:
        super().__init__(user_message)
        self.retry_after_s = retry_after_s


class RateLimited(EngineError):
    """A per-learner limit was reached; `retry_after_s` says when it resets."""

    def __init__(self, user_message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(user_message)
        self.retry_after_s = retry_after_s


class MailNotSent(EngineError):
    """An email could not be handed to the SMTP server (or email is not set up)."""


# --- library (issue 3) ---------------------------------------------------------------------


class PdfError(EngineError):
    """A PDF that cannot be ingested; the message names the reason."""


class PdfEncrypted(PdfError):
    """The PDF needs a password (or the one given is wrong)."""


class PdfNoText(PdfError):
    """No extractable text (scanned or image-only pages, or text that extracts as garbage)."""


class PdfMalformed(PdfError):
    """The file is damaged or not a PDF."""


class PdfTooLarge(PdfError):
    """Too many pages, too many bytes, too slow or too much memory to read."""


class PdfTooMuchText(PdfTooLarge):
    """The text runs to far more characters than the file has bytes (an amplification bomb)."""


class QuotaExceeded(RateLimited):
    """A learner's library is full, or they added as many pages today as allowed."""


class OcrQuotaExceeded(PdfError):
    """More pages need OCR than the learner's OCR page allowance has left."""


class VectorStoreUnavailable(EngineError):
    """The vector store (Chroma) could not be reached or refused the operation."""


# --- LLM and generation (issue 4) ----------------------------------------------------------


class LLMUnavailable(EngineError):
    """The provider cannot be reached, timed out, or refused our credentials."""


class LLMOutputInvalid(EngineError):
    """The model answered, but nothing usable could be made of it."""


class LLMAuthFailed(LLMUnavailable):
    """The provider refused the API key (missing, wrong, or without access to the model)."""


class LLMBusy(LLMUnavailable):
    """Every slot of the system-wide cap on concurrent model calls stayed taken for the
    whole wait (`llm_call_wait_s`); nothing was sent."""


class LLMNotConfigured(ConfigurationError):
    """A task needs a model and none is configured."""


class ProviderRateLimited(RateLimited):
    """The LLM provider (not Groundwork) is limiting our requests."""


class NoMaterials(InvalidInput):
    """Generation was asked for, but the learner has no usable material yet."""


class NothingGenerated(EngineError):
    """Every candidate was rejected; `rejections` counts them by reason."""

    def __init__(self, user_message: str, *, rejections: dict[str, int] | None = None) -> None:
        super().__init__(user_message)
        self.rejections = dict(rejections or {})


# --- practice (issue 5) --------------------------------------------------------------------


class QuestionUnavailable(InvalidInput):
    """The question was flagged or retired and is out of the queues."""


class NotEnoughHistory(InvalidInput):
    """Personal scheduler parameters need more reviews than the learner has made."""
