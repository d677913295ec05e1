"""courses: a teacher's materials and questions shared with a class, and its answer record

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

- courses: a teacher's course with its join code.
- course_members: enrolments; a learner who leaves keeps only an anonymous member key here.
- course_materials: the teacher's materials shared with a course (read-only for learners).
- course_questions / course_question_versions: the course bank (master question, version,
  draft/published/retired) and every version's content.
- questions.course_question_id / course_version: a learner's copy of a published question.
- course_responses: every enrolled answer to a course question, anonymous, for item analysis.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("teacher_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("join_code", sa.String(16), nullable=False),
        sa.Column("joining_open", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("length(btrim(title)) > 0", name=op.f("ck_courses_title_present")),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["users.id"],
            name=op.f("fk_courses_teacher_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("join_code", name="uq_courses_join_code"),
    )
    op.create_index("ix_courses_teacher", "courses", ["teacher_id"])

    op.create_table(
        "course_members",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("member_key", sa.String(32), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_members_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_members_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_members")),
        sa.UniqueConstraint("member_key", name="uq_course_members_member_key"),
    )
    op.create_index(
        "uq_course_members_current",
        "course_members",
        ["course_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_index("ix_course_members_user", "course_members", ["user_id"])

    op.create_table(
        "course_materials",
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("material_id", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_materials_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_course_materials_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "material_id", name=op.f("pk_course_materials")),
    )
    op.create_index("ix_course_materials_material", "course_materials", ["material_id"])

    op.create_table(
        "course_questions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(10), server_default="draft", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','published','retired')",
            name=op.f("ck_course_questions_status_known"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_course_questions_version_positive")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_questions_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_course_questions_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_questions")),
        sa.UniqueConstraint("question_id", name="uq_course_questions_question_id"),
    )
    op.create_index(
        "ix_course_questions_course_status", "course_questions", ["course_id", "status"]
    )

    op.create_table(
        "course_question_versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("course_question_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("correct_index", sa.SmallInteger(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), server_default="", nullable=False),
        sa.Column("change", sa.String(12), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "change IN ('created','edited','distractor','key')",
            name=op.f("ck_course_question_versions_change_known"),
        ),
        sa.ForeignKeyConstraint(
            ["course_question_id"],
            ["course_questions.id"],
            name=op.f("fk_course_question_versions_course_question_id_course_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_question_versions")),
        sa.UniqueConstraint("course_question_id", "version", name="uq_course_question_versions"),
    )

    op.add_column("questions", sa.Column("course_question_id", sa.BigInteger(), nullable=True))
    op.add_column("questions", sa.Column("course_version", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_questions_course_question_id_course_questions"),
        "questions",
        "course_questions",
        ["course_question_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_questions_course_question",
        "questions",
        ["course_question_id"],
        postgresql_where=sa.text("course_question_id IS NOT NULL"),
    )

    op.create_table(
        "course_responses",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("course_question_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("first_attempt", sa.Boolean(), nullable=False),
        sa.Column("chosen_index", sa.SmallInteger(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_question_id"],
            ["course_questions.id"],
            name=op.f("fk_course_responses_course_question_id_course_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["course_members.id"],
            name=op.f("fk_course_responses_member_id_course_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_course_responses_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_responses")),
    )
    op.create_index(
        "ix_course_responses_question", "course_responses", ["course_question_id", "version"]
    )
    op.create_index("ix_course_responses_member", "course_responses", ["member_id"])
    op.create_index("ix_course_responses_attempt", "course_responses", ["attempt_id"])


def downgrade() -> None:
    op.drop_table("course_responses")
    op.drop_index("ix_questions_course_question", table_name="questions")
    op.drop_constraint(
        op.f("fk_questions_course_question_id_course_questions"), "questions", type_="foreignkey"
    )
    op.drop_column("questions", "course_version")
    op.drop_column("questions", "course_question_id")
    op.drop_table("course_question_versions")
    op.drop_table("course_questions")
    op.drop_table("course_materials")
    op.drop_table("course_members")
    op.drop_table("courses")
