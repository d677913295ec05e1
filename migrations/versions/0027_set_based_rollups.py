"""analytics: rollups rebuilt set-based, and a deleted answer recounts only its learner's day

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

Migration 0014 rebuilt a learner's whole rollup with one plpgsql call per learner: after a bulk
load (one call per learner, each planned without statistics: a hash join over every question
of every learner, so the cost grew with learners x questions), after any deleted answer (a
deleted question rebuilt its learner's whole history inside the request, and a statement
deleting answers of many learners rebuilt them one by one) and after a change of time zone.
Now:

- `attempt_rollups_rebuild(uids bigint[])` rebuilds any set of learners in one statement
  (their profiles joined once, not looked up per answer); `bench.practice` rebuilds all its
  learners with one call;
- DELETE on attempts recounts only the cells the deleted answers were counted in: the learner's
  local days that held them, from that learner's remaining answers of those days (a range of
  the covering index per cell), for all affected learners in one statement. The old rows'
  question types are not needed, so it does not matter that their questions are gone;
- a change of time zone rebuilds that learner through the same set-based function.

Deleting a question also set `questions.replaces_question_id` to NULL where it pointed at the
question by reading every question (no index: about 1 s at 1.2 M questions, more than the
rollup); a partial index `ix_questions_replaces_question_id` now finds them.

The rows a learner's answers produce are those of migration 0014 (same day, category, hour,
time bucket and question type rules); `ROWS` below differs only in joining the profile instead
of a per-answer lookup. The downgrade restores 0014's functions.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

MATURE_DAYS = 21
TIME_BUCKET_EDGES = "0,10,20,30,45,60,90,120,180,300,600,3600"
KEY = "user_id, kind, day, category, true_review, correct, hour, confidence, bucket, qtype, rating"

# `{src}`: rows shaped like attempts, plus `sign` (+1 to add, -1 to take away).
ROWS = f"""
    SELECT a.user_id, a.sign, a.correct, a.seconds, a.xp, a.confidence, a.rating, q.type AS qtype,
           (a.answered_at AT TIME ZONE z.tz)::date AS day,
           extract(hour FROM a.answered_at AT TIME ZONE z.tz)::smallint AS hour,
           CASE WHEN a.previous_answered_at IS NULL THEN 0
                WHEN a.answered_at - a.previous_answered_at < interval '1 day' THEN 1
                WHEN a.answered_at - a.previous_answered_at < interval '{MATURE_DAYS} days'
                  THEN 2 ELSE 3 END::smallint AS category,
           a.previous_answered_at IS NOT NULL
             AND (a.previous_answered_at AT TIME ZONE z.tz)::date
                 < (a.answered_at AT TIME ZONE z.tz)::date AS true_review,
           width_bucket(a.seconds, ARRAY[{TIME_BUCKET_EDGES}])::smallint AS bucket
    FROM ({{src}}) a
    JOIN questions q ON q.id = a.question_id
    LEFT JOIN (SELECT p.user_id, p.timezone AS tz FROM profiles p) z0 ON z0.user_id = a.user_id
    CROSS JOIN LATERAL (SELECT coalesce(z0.tz, 'UTC') AS tz) z"""

ADD = f"""
    INSERT INTO attempt_rollups AS r ({KEY}, answers, "right", seconds, xp)
    SELECT s.user_id,
           CASE WHEN grouping(s.category) = 0 THEN 1 WHEN grouping(s.hour) = 0 THEN 2
                WHEN grouping(s.confidence) = 0 THEN 3 WHEN grouping(s.bucket) = 0 THEN 4
                ELSE 5 END,
           s.day, coalesce(s.category, -1), coalesce(s.true_review, false),
           CASE WHEN grouping(s.category) = 0 THEN s.correct ELSE false END,
           coalesce(s.hour, -1), coalesce(s.confidence, -1), coalesce(s.bucket, -1),
           coalesce(s.qtype, ''), coalesce(s.rating, -1),
           sum(s.sign), coalesce(sum(s.sign) FILTER (WHERE s.correct), 0),
           sum(s.sign * s.seconds), sum(s.sign * s.xp)
    FROM ({ROWS}) s
    GROUP BY GROUPING SETS ((s.user_id, s.day, s.category, s.true_review, s.correct),
                            (s.user_id, s.day, s.hour), (s.user_id, s.day, s.confidence),
                            (s.user_id, s.day, s.bucket), (s.user_id, s.day, s.qtype, s.rating))
    ON CONFLICT ({KEY}) DO UPDATE
    SET answers = r.answers + EXCLUDED.answers, "right" = r."right" + EXCLUDED."right",
        seconds = r.seconds + EXCLUDED.seconds, xp = r.xp + EXCLUDED.xp"""

# The local days (in the learner's zone) that held the deleted answers of learners who still
# exist. A cell's answers are a range of the covering index (user_id, answered_at) three hours
# wider on each side than the day (a local midnight can fall in a daylight-saving gap, which
# PostgreSQL resolves by up to the zone's shift), kept only if their local day is the cell's.
CELLS = """
    SELECT DISTINCT o.user_id, (o.answered_at AT TIME ZONE z.tz)::date AS day, z.tz
    FROM old_rows o
    JOIN users u ON u.id = o.user_id
    CROSS JOIN LATERAL (SELECT coalesce((SELECT p.timezone FROM profiles p
                                         WHERE p.user_id = o.user_id), 'UTC') AS tz) z"""

CELL_ANSWERS = f"""
    SELECT t.*, 1 AS sign FROM ({CELLS}) c
    JOIN attempts t ON t.user_id = c.user_id
     AND t.answered_at >= (c.day - interval '3 hours') AT TIME ZONE c.tz
     AND t.answered_at < (c.day + interval '27 hours') AT TIME ZONE c.tz
     AND (t.answered_at AT TIME ZONE c.tz)::date = c.day"""

# The rebuild is planned for the learners it is given (EXECUTE): a cached generic plan made
# for one learner would be used for thousands, and the reverse.
FUNCTIONS = f"""
CREATE FUNCTION attempt_rollups_rebuild(uids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attempt_rollups WHERE user_id = ANY(uids);
    EXECUTE $q$ {ADD.format(src="SELECT t.*, 1 AS sign FROM attempts t WHERE t.user_id = ANY($1)")}
    $q$ USING uids;
END $$;

CREATE OR REPLACE FUNCTION attempt_rollups_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Every kind named, so each cell is found through the key (user_id, kind, day, ...).
    DELETE FROM attempt_rollups r USING ({CELLS}) c
    WHERE r.user_id = c.user_id AND r.kind = ANY('{{1,2,3,4,5}}'::smallint[]) AND r.day = c.day;
    {ADD.format(src=CELL_ANSWERS)};
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION attempt_rollups_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM attempt_rollups_rebuild(ARRAY[NEW.user_id]);
    RETURN NULL;
END $$;
"""


def _revision_0014():
    """Migration 0014's module, whose functions and triggers the downgrade restores."""
    path = Path(__file__).with_name("0014_attempt_rollups.py")
    spec = importlib.util.spec_from_file_location("groundwork_migration_0014", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute("DROP FUNCTION attempt_rollups_rebuild(bigint)")
    op.execute(FUNCTIONS)
    op.create_index(
        "ix_questions_replaces_question_id",
        "questions",
        ["replaces_question_id"],
        postgresql_where=sa.text("replaces_question_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_questions_replaces_question_id", table_name="questions")
    op.execute("DROP TRIGGER attempt_rollups_zone ON profiles")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER attempt_rollups_{name} ON attempts")
    for fn in ("inserted", "updated", "deleted", "zone_changed"):
        op.execute(f"DROP FUNCTION attempt_rollups_{fn}()")
    op.execute("DROP FUNCTION attempt_rollups_rebuild(bigint[])")
    op.execute(_revision_0014().FUNCTIONS)
