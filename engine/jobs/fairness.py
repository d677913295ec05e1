"""Fair turns between learners on a shared worker.

Each learner's jobs carry their lock (`learner:<id>`), so one learner's jobs run one at a time.
Two rules keep one learner from making another wait behind all of their work:

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

from engine.queueing import learner_lock

if TYPE_CHECKING:
    from procrastinate import JobContext

    from engine.runtime import Runtime

_JOBS = "procrastinate.procrastinate_jobs"

_PRIORITY = text(f"""
    SELECT (SELECT min(priority) FROM {_JOBS}
             WHERE lock = :lock AND status IN ('todo', 'doing')) AS own_lowest,
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
           AND j.lock IS DISTINCT FROM :lock
           AND (j.lock IS NULL OR NOT EXISTS (
                    SELECT 1 FROM {_JOBS} d WHERE d.lock = j.lock AND d.status = 'doing')))
""")


def fair_priority(rt: Runtime, user_id: int) -> int:
    """The priority of the learner's next job (see the module's round-robin rule)."""
    with rt.engine.connect() as conn:
        own, serving, waiting = conn.execute(_PRIORITY, {"lock": learner_lock(user_id)}).one()
    turn = serving if serving is not None else (waiting if waiting is not None else 0)
    return min(turn, own - 1) if own is not None else turn


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
