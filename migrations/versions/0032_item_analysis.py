"""item analysis: answer counts kept by triggers, a first-answer index, learner notices

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-07

- course_item_counts: answers and flagged answers per course question version, kept by
  statement-level triggers on course_responses (as attempt_rollups are on attempts), so the
  item analysis page does not count every answer of a course on each load.
- course_member_totals: each member's first answers and first answers right (kept by the same
  triggers): the rest scores of item analysis without a pass over the course's answers.
- uq_course_responses_first: one first answer per member and question, covering the columns
  item analysis reads (index-only scans).
- learner_notices: messages shown to a learner on Today (a corrected key re-graded answers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0030"
branch_labels = None
depends_on = None

# Add a signed change per (question, version) from the transition table(s) in `src`.
ADD = """
    INSERT INTO course_item_counts AS c (course_question_id, version, answers, flagged)
    SELECT s.course_question_id, s.version, sum(s.sign),
           coalesce(sum(s.sign) FILTER (WHERE s.flagged), 0)
    FROM ({src}) s
    WHERE EXISTS (SELECT 1 FROM course_questions q WHERE q.id = s.course_question_id)
    GROUP BY s.course_question_id, s.version
    ON CONFLICT (course_question_id, version) DO UPDATE
    SET answers = c.answers + EXCLUDED.answers,
        flagged = c.flagged + EXCLUDED.flagged"""

# Add a signed change per member to their first answers and first answers right.
ADD_MEMBERS = """
    INSERT INTO course_member_totals AS t (member_id, first_answers, first_right)
    SELECT s.member_id, sum(s.sign), sum(s.sign * s.correct::int)
    FROM ({src}) s
    WHERE s.first_attempt AND EXISTS (SELECT 1 FROM course_members m WHERE m.id = s.member_id)
    GROUP BY s.member_id
    ON CONFLICT (member_id) DO UPDATE
    SET first_answers = t.first_answers + EXCLUDED.first_answers,
        first_right = t.first_right + EXCLUDED.first_right"""

ROWS = (
    "SELECT t.course_question_id, t.version, t.flagged, t.member_id, t.first_attempt,"
    " t.correct, {sign} AS sign FROM {table} t"
)

FUNCTIONS = f"""
CREATE FUNCTION course_item_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {ADD.format(src=ROWS.format(sign=1, table="new_rows"))};
    {ADD_MEMBERS.format(src=ROWS.format(sign=1, table="new_rows"))};
    RETURN NULL;
END $$;

CREATE FUNCTION course_item_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {
    ADD.format(
        src=ROWS.format(sign=-1, table="old_rows")
        + " UNION ALL "
        + ROWS.format(sign=1, table="new_rows")
    )
};
    {
    ADD_MEMBERS.format(
        src=ROWS.format(sign=-1, table="old_rows")
        + " UNION ALL "
        + ROWS.format(sign=1, table="new_rows")
    )
};
    RETURN NULL;
END $$;

CREATE FUNCTION course_item_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only rows still there: when a course question is deleted its counts go with it.
    UPDATE course_item_counts c
    SET answers = c.answers - d.answers, flagged = c.flagged - d.flagged
    FROM (SELECT course_question_id, version, count(*) AS answers,
                 count(*) FILTER (WHERE flagged) AS flagged
          FROM old_rows GROUP BY course_question_id, version) d
    WHERE c.course_question_id = d.course_question_id AND c.version = d.version;
    UPDATE course_member_totals t
    SET first_answers = t.first_answers - d.answers, first_right = t.first_right - d.right_
    FROM (SELECT member_id, count(*) AS answers, count(*) FILTER (WHERE correct) AS right_
          FROM old_rows WHERE first_attempt GROUP BY member_id) d
    WHERE t.member_id = d.member_id;
    RETURN NULL;
END $$;

CREATE TRIGGER course_item_counts_insert AFTER INSERT ON course_responses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION course_item_counts_inserted();
CREATE TRIGGER course_item_counts_update AFTER UPDATE ON course_responses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION course_item_counts_updated();
CREATE TRIGGER course_item_counts_delete AFTER DELETE ON course_responses
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION course_item_counts_deleted();
"""


def upgrade() -> None:
    op.create_table(
        "course_item_counts",
        sa.Column("course_question_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answers", sa.BigInteger(), nullable=False),
        sa.Column("flagged", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_question_id"],
            ["course_questions.id"],
            name=op.f("fk_course_item_counts_course_question_id_course_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "course_question_id", "version", name=op.f("pk_course_item_counts")
        ),
    )
    op.create_table(
        "course_member_totals",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("first_answers", sa.Integer(), nullable=False),
        sa.Column("first_right", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["course_members.id"],
            name=op.f("fk_course_member_totals_member_id_course_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_course_member_totals")),
    )
    op.execute(ADD.format(src=ROWS.format(sign=1, table="course_responses")))
    op.execute(ADD_MEMBERS.format(src=ROWS.format(sign=1, table="course_responses")))
    op.create_index(
        "uq_course_responses_first",
        "course_responses",
        ["course_question_id", "member_id"],
        unique=True,
        postgresql_where=sa.text("first_attempt"),
        postgresql_include=["version", "correct", "chosen_index", "seconds"],
    )
    op.execute(FUNCTIONS)
    op.create_table(
        "learner_notices",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_learner_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learner_notices")),
    )
    op.create_index(
        "ix_learner_notices_unseen",
        "learner_notices",
        ["user_id"],
        postgresql_where=sa.text("seen_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("learner_notices")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER course_item_counts_{name} ON course_responses")
    for name in ("inserted", "updated", "deleted"):
        op.execute(f"DROP FUNCTION course_item_counts_{name}()")
    op.drop_index("uq_course_responses_first", table_name="course_responses")
    op.drop_table("course_member_totals")
    op.drop_table("course_item_counts")
