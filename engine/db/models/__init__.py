"""All ORM models; importing this package registers every table on `Base.metadata`."""

from engine.db.models.accounts import LoginAttempt, Profile, User
from engine.db.models.library import Chunk, Material
from engine.db.models.practice import Attempt, Flag, ReviewState, SchedulerParameters
from engine.db.models.questions import PromptTemplate, Question

__all__ = [
    "Attempt", "Chunk", "Flag", "LoginAttempt", "Material", "Profile", "PromptTemplate",
    "Question", "ReviewState", "SchedulerParameters", "User",
]
