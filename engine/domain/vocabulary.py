"""Named values stored in the database and shown in pages.

Each enum's values are the exact strings (or integers) stored in PostgreSQL, so a member compares
equal to the stored value (`QuestionStatus.ACTIVE == "active"`) and the check constraints in the
migrations stay as they are.
"""

from __future__ import annotations

from enum import StrEnum


class QuestionStatus(StrEnum):
    ACTIVE = "active"
    FLAGGED = "flagged"
    RETIRED = "retired"


class QuestionType(StrEnum):
    MCQ = "mcq"
    CLOZE = "cloze"
    SHORT = "short"


# The form of a self-rated flashcard (a question of type 'short'): front in the stem, back in
# the answer; the learner turns it over and rates their recall Again/Hard/Good/Easy.
FLASHCARD_FORM = "flashcard"


class Generator(StrEnum):
    LLM = "llm"
    OFFLINE = "offline"
    ANKI = "anki"  # imported from an Anki deck
    CSV = "csv"  # imported from a CSV file


class Scheduler(StrEnum):
    SM2 = "sm2"
    FSRS = "fsrs"


class FlagReason(StrEnum):
    WRONG = "wrong"
    UNCLEAR = "unclear"
    DUPLICATE = "duplicate"
    OTHER = "other"


class JobKind(StrEnum):
    INGEST = "ingest"
    GENERATE = "generate"
    FIT_FSRS = "fit_fsrs"
    REINDEX = "reindex"
    EXPORT = "export"
    DELETE_ACCOUNT = "delete_account"
    CHECK = "check"
    IMPORT_ANKI = "import_anki"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TutorMode(StrEnum):
    EXPLAIN = "explain"
    SOCRATIC = "socratic"
    QUIZ = "quiz"


class MaterialStatus(StrEnum):
    """Where a material is in its life: only 'ready' ones are listed and searched."""

    READY = "ready"
    PROCESSING = "processing"
    FAILED = "failed"
    INDEXING = "indexing"  # rows committed, vectors not yet written
    DELETING = "deleting"  # hidden; its vectors, rows and file are being removed


class CourseQuestionStatus(StrEnum):
    """Where a question of a course bank is: a draft only its teacher sees, published (copied
    into every learner's bank) or retired (the learners' copies are out of their queues)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"
