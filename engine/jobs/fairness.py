"""Fair turns between learners on a shared worker.

Each learner's jobs carry their lock (`learner:<id>`, uploads a lane of it: `learner:<id>#<n>`),
so a learner's uploads run at most `jobs_uploads_per_learner` at a time and their other jobs
alone (`engine.queueing`). Two rules keep one learner from making another wait behind all of their work:

- **Round-robin order.** A learner's next job is queued one priority step below their own
  lowest waiting or running job, and never above the job being served now; a learner with
  nothing queued joins at the current turn. Workers take the highest priority first, so five
  uploads of one learner and one of another run A, B, A, A, ... instead of A x 5, B. A
  learner's own jobs keep their order.
- **Stepping aside.** A long ingestion checks between embedding steps whether another
  learner's job is waiting; after `jobs_fair_slice_s` it saves the vectors made so far beside
  the spooled upload and is queued again at its own priority (`requeue`), so the waiting job
  runs first and the paused one continues where it stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from engine.queueing import LEARNER_GROUP, learner_lock, upload_lock

if TYPE_CHECKING:
    from procrastinate import JobContext

    from engine.runtime import Runtime

_JOBS = "procrastinate.procrastinate_jobs"

_PRIORITY = text(f"""
    SELECT (SELECT min(priority) FROM {_JOBS}
             WHERE {LEARNER_GROUP.format(col="lock")}
               AND status IN ('todo', 'doing')) AS own_lowest,
           (SELECT max(priority) FROM {_JOBS}
             WHERE lock LIKE 'learner:%' AND status = 'doing') AS serving,
           (SELECT max(priority) FROM {_JOBS}
             WHERE lock LIKE 'learner:%' AND status = 'todo') AS waiting
""")

_OTHER_WAITING = text(f"""
    SELECT EXISTS (
        SELECT 1 FROM {_JOBS} j
         WHERE j.status = 'todo'
           AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
           AND split_part(j.lock, '#', 1) IS DISTINCT FROM :lock
           AND (j.lock IS NULL OR NOT EXISTS (
                    SELECT 1 FROM {_JOBS} d
                     WHERE d.status = 'doing'
                       AND (d.lock = j.lock
                            OR (split_part(d.lock, '#', 1) = split_part(j.lock, '#', 1)
                                AND (strpos(d.lock, '#') = 0 OR strpos(j.lock, '#') = 0))))))
""")


def fair_priority(rt: Runtime, user_id: int) -> int:
    """The priority of the learner's next job (see the module's round-robin rule)."""
    with rt.engine.connect() as conn:
        own, serving, waiting = conn.execute(_PRIORITY, {"lock": learner_lock(user_id)}).one()
    turn = serving if serving is not None else (waiting if waiting is not None else 0)
    return min(turn, own - 1) if own is not None else turn


_LANE_LOADS = text(f"""
    SELECT lock, count(*) FROM {_JOBS}
     WHERE lock LIKE :lock || '#%' AND status IN ('todo', 'doing')
     GROUP BY lock
""")


def upload_lane(rt: Runtime, user_id: int) -> int:
    """The lane for the learner's next upload: of their `jobs_uploads_per_learner` lanes, the
    one with the fewest uploads waiting or running (the first on a tie), so a small file does
    not queue behind a big one while another lane is free."""
    lanes = rt.settings.jobs.uploads_per_learner
    with rt.engine.connect() as conn:
        rows = conn.execute(_LANE_LOADS, {"lock": learner_lock(user_id)}).all()
    loads: dict[str, int] = {str(lock): int(n) for lock, n in rows}
    return min(range(lanes), key=lambda lane: loads.get(upload_lock(user_id, lane), 0))


def another_learner_waiting(rt: Runtime, user_id: int) -> bool:
    """True when a job that is not this learner's could start now but for a free worker."""
    with rt.engine.connect() as conn:
        return bool(conn.execute(_OTHER_WAITING, {"lock": learner_lock(user_id)}).scalar())


def requeue(rt: Runtime, context: JobContext, task: str, **kwargs: Any) -> int:
    """Queue the running job's task again with the same lock, queueing lock and priority (it
    goes after other learners' jobs queued before it, and before its learner's later ones);
    returns the new queue job id."""
    job = context.job
    return rt.queue.configure_task(
        task,
        queue=job.queue,
        lock=job.lock,
        queueing_lock=job.queueing_lock,
        priority=job.priority,
    ).defer(**kwargs)
