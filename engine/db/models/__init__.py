"""All ORM models; importing this package registers every table on `Base.metadata`."""

from engine.db.models.accounts import (
    AuthSession,
    LoginAttempt,
    PasswordReset,
    Profile,
    SignupAttempt,
    User,
)
from engine.db.models.admin import (
    AuditEntry,
    Invitation,
    ServerSetting,
    SsoIdentity,
    UserLimit,
)
from engine.db.models.cohort import CourseItemCount, CourseMemberTotal, LearnerNotice
from engine.db.models.courses import (
    Course,
    CourseMaterial,
    CourseMember,
    CourseQuestion,
    CourseQuestionVersion,
    CourseResponse,
)
from engine.db.models.jobs import JobProgress
from engine.db.models.library import Chunk, Material, MaterialPage, PageIntake, VectorIndex
from engine.db.models.practice import (
    Attempt,
    AttemptRollup,
    Flag,
    ReviewState,
    SchedulerParameters,
)
from engine.db.models.questions import (
    LLMCache,
    LLMUsage,
    PromptTemplate,
    Question,
    QuestionImage,
    QuestionTag,
    RejectedQuestion,
)
from engine.db.models.tutor import Conversation, Message

__all__ = [
    "AuthSession",
    "Chunk",
    "JobProgress",
    "LLMCache",
    "LLMUsage",
    "LoginAttempt",
    "Material",
    "MaterialPage",
    "PageIntake",
    "PasswordReset",
    "Profile",
    "PromptTemplate",
    "Question",
    "QuestionImage",
    "QuestionTag",
    "RejectedQuestion",
    "SignupAttempt",
    "User",
    "VectorIndex",
    # practice
    "Attempt",
    "AttemptRollup",
    "Flag",
    "ReviewState",
    "SchedulerParameters",
    # tutor
    "Conversation",
    "Message",
    # courses
    "Course",
    "CourseMaterial",
    "CourseMember",
    "CourseQuestion",
    "CourseItemCount",
    "CourseMemberTotal",
    "CourseQuestionVersion",
    "CourseResponse",
    # admin
    "AuditEntry",
    "Invitation",
    "LearnerNotice",
    "ServerSetting",
    "SsoIdentity",
    "UserLimit",
]
