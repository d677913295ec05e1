"""Courses: a teacher's materials and question bank shared with a class.

A published course question is copied into each enrolled learner's own bank, so their
schedule, XP and analytics stay their own; their answers to it are also recorded, under an
anonymous membership, for the course's item analysis.
"""

from engine.courses.access import can_teach
from engine.courses.bank import (
    add_questions,
    addable_questions,
    list_course_questions,
    publish_questions,
    retire_questions,
)
from engine.courses.manage import (
    create_course,
    list_enrolled,
    list_members,
    list_teaching,
    new_join_code,
    rename_course,
    set_joining,
)
from engine.courses.materials import add_material, list_materials, remove_material
from engine.courses.membership import join_course, leave_course

__all__ = [
    "add_material",
    "can_teach",
    "add_questions",
    "addable_questions",
    "create_course",
    "join_course",
    "leave_course",
    "list_course_questions",
    "list_enrolled",
    "list_materials",
    "list_members",
    "list_teaching",
    "new_join_code",
    "publish_questions",
    "remove_material",
    "rename_course",
    "retire_questions",
    "set_joining",
]
