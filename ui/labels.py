"""Words for the named values pages show (question types and statuses, flag reasons, schedulers,
tutor modes, job kinds and states, roles): one place, so every page says the same."""

from __future__ import annotations

from collections.abc import Mapping

from engine.admin.access import Role
from engine.domain.vocabulary import (
    FLASHCARD_FORM,
    CourseQuestionStatus,
    FlagReason,
    JobKind,
    JobState,
    QuestionStatus,
    QuestionType,
    Scheduler,
    TutorMode,
)

QUESTION_TYPE_LABELS = {
    QuestionType.MCQ: "Multiple choice",
    QuestionType.CLOZE: "Cloze",
    QuestionType.SHORT: "Short answer",
    # What the Generate page offers offline beside the types: self-rated flashcards.
    FLASHCARD_FORM: "Flashcards (self-rated)",
}
# The exercise within a type (`Draft.form`; None: plain).
QUESTION_FORM_LABELS = {
    "term": "key term",
    "definition": "definition from term",
    "naming": "term from definition",
    FLASHCARD_FORM: "flashcard",
    "statement": "true statement",
    "list": "list, several blanks",
}
QUESTION_STATUS_LABELS = {
    QuestionStatus.ACTIVE: "Active",
    QuestionStatus.FLAGGED: "Flagged",
    QuestionStatus.RETIRED: "Retired",
}
# Why a learner flags a question, as they choose it ...
FLAG_REASON_LABELS = {
    FlagReason.WRONG: "The answer is wrong",
    FlagReason.UNCLEAR: "The question is unclear",
    FlagReason.DUPLICATE: "It duplicates another question",
    FlagReason.OTHER: "Something else",
}
# ... and after "Flagged" once it is.
FLAG_REASON_PHRASES = {
    FlagReason.WRONG: "as wrong",
    FlagReason.UNCLEAR: "as unclear",
    FlagReason.DUPLICATE: "as a duplicate",
    FlagReason.OTHER: "for another reason",
}
SCHEDULER_LABELS = {Scheduler.SM2: "SM-2", Scheduler.FSRS: "FSRS-6"}
SCHEDULER_DESCRIPTIONS = {
    Scheduler.SM2: "SM-2 — the classic algorithm (default)",
    Scheduler.FSRS: "FSRS-6 — predicts forgetting from your answers",
}
TUTOR_MODE_LABELS = {
    TutorMode.EXPLAIN: "Explain",
    TutorMode.SOCRATIC: "Socratic",
    TutorMode.QUIZ: "Quiz me",
}
JOB_KIND_LABELS = {
    JobKind.INGEST: "Reading a PDF",
    JobKind.GENERATE: "Generating questions",
    JobKind.FIT_FSRS: "Fitting your FSRS parameters",
    JobKind.REINDEX: "Updating your search index",
    JobKind.EXPORT: "Exporting your data",
    JobKind.DELETE_ACCOUNT: "Deleting your account",
    JobKind.CHECK: "Checking search index",
    JobKind.IMPORT_ANKI: "Importing from Anki",
}
JOB_STATE_LABELS = {
    JobState.QUEUED: "Waiting",
    JobState.RUNNING: "Running",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}
ROLE_LABELS = {Role.LEARNER: "Learner", Role.TEACHER: "Teacher", Role.ADMIN: "Admin"}
COURSE_QUESTION_STATUS_LABELS = {
    CourseQuestionStatus.DRAFT: "Drafts",
    CourseQuestionStatus.PUBLISHED: "Published",
    CourseQuestionStatus.RETIRED: "Retired",
}


def label(labels: Mapping[str, str], value: str) -> str:
    """The words for `value`, or the value itself when it has none."""
    return labels.get(value, str(value))
