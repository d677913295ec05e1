"""A learner's own data: export it as a zip, or delete the account with everything in it.

Both take only a user id and write nothing to the screen, so a page or a background job can
call them. Neither ever reads or touches another learner's rows, vectors or files.

The export (`groundwork-export.zip`) holds:

- `account.json`: email, name, sign-up time and the profile (never the password hash);
- `materials.csv`: every material with its file name, size, pages, chunks and status;
- `questions.json`: every question with its options, answer, explanation and source page;
  `question_tags.csv`: each question's tags (from its Anki note), one row per tag;
- `attempts.csv`, `review_states.csv`, `flags.csv`, `scheduler_parameters.csv`,
  `llm_usage.csv`, `course_memberships.csv`: practice history, review schedule, flags, fitted
  scheduler parameters, model usage and current course enrolments, one row per record with
  every column;
- `originals/<material id>-<file name>`: the uploaded PDFs (kept since this version), and for
  materials uploaded before originals were kept, `text/<material id>-<file name>.txt` with
  the text read from each page instead;
- `pictures/<question id>-<n>.<png|jpg|gif|webp>`: the pictures shown with questions
  (imported from Anki notes), listed with their question and side in `pictures.csv`.

Every CSV cell of text is neutralised against formula injection (`engine.csv_cells`). The zip
is prepared by a background job into the exports folder (`engine.exports`: owner-only, removed
when it expires or the account is deleted).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, delete, exists, func, select, update
from sqlalchemy.orm import Session

from engine import exports, originals, usage
from engine.courses.membership import forget_memberships
from engine.csv_cells import csv_text
from engine.db.base import Base
from engine.db.models import (
    Attempt,
    AuditEntry,
    Conversation,
    CourseMember,
    Flag,
    JobProgress,
    LLMUsage,
    LoginAttempt,
    Material,
    MaterialPage,
    Message,
    Profile,
    Question,
    QuestionImage,
    QuestionTag,
    RejectedQuestion,
    ReviewState,
    SchedulerParameters,
    User,
)
from engine.domain.vocabulary import JobKind, MaterialStatus
from engine.errors import NotFound
from engine.jobs import stop_learner_jobs
from engine.retrieval.collections import lock_vectors
from engine.retrieval.vectors import owner_of
from engine.runtime import Runtime

log = logging.getLogger(__name__)

_CSV_TABLES = {
    "attempts.csv": Attempt,
    "review_states.csv": ReviewState,
    "flags.csv": Flag,
    "scheduler_parameters.csv": SchedulerParameters,
    "llm_usage.csv": LLMUsage,
    "rejected_questions.csv": RejectedQuestion,
    "question_tags.csv": QuestionTag,
    "course_memberships.csv": CourseMember,
}
_MATERIAL_COLUMNS = (
    "id",
    "title",
    "filename",
    "sha256",
    "size_bytes",
    "page_count",
    "chunk_count",
    "status",
    "created_at",
    "embedding_model",
    "note",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(session: Session, model: type[Base], user_id: int) -> list[dict[str, Any]]:
    table: Table = model.__table__
    order = list(table.primary_key.columns)
    result = session.execute(select(table).where(table.c.user_id == user_id).order_by(*order))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[:120] or "material"


def _account(session: Session, user_id: int) -> dict[str, Any]:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("That account does not exist (it may have been deleted).")
    profile = session.get(Profile, user_id)
    fields = (
        {}
        if profile is None
        else {
            c.name: _plain(getattr(profile, c.key))
            for c in Profile.__table__.columns
            if c.name != "user_id"
        }
    )
    return {
        "email": user.email,
        "display_name": user.display_name,
        "created_at": _plain(user.created_at),
        "profile": fields,
    }


def _conversations(session: Session, user_id: int) -> list[dict[str, Any]]:
    """The learner's conversations, each with its messages in order."""
    messages: dict[int, list[dict[str, Any]]] = {}
    for m in _rows(session, Message, user_id):
        messages.setdefault(m["conversation_id"], []).append(m)
    return [
        {**c, "messages": messages.get(c["id"], [])} for c in _rows(session, Conversation, user_id)
    ]


def export_account(rt: Runtime, *, user_id: int, dest: Path) -> Path:
    """Write the learner's data as a zip to `dest` (see the module doc for its contents),
    owner-only and atomically: a failed export leaves no file."""
    with exports.private_writer(dest) as out:
        write_export(rt, user_id=user_id, out=out)
    log.info("account exported", extra={"user_id": user_id})
    return dest


def write_export(rt: Runtime, *, user_id: int, out: IO[bytes]) -> None:
    """Write the learner's data as a zip into the open binary file `out`.

    Raises:
        NotFound: the account no longer exists.
    """
    with (
        rt.session_factory() as session,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        zf.writestr(
            "account.json",
            json.dumps(_account(session, user_id), indent=2, ensure_ascii=False, default=str),
        )
        materials = _rows(session, Material, user_id)
        materials = [m for m in materials if m["status"] != MaterialStatus.DELETING]
        for m in materials:
            path = originals.original_path(rt, user_id=user_id, sha256=m["sha256"])
            name = f"{m['id']}-{_safe_name(m['filename'])}"
            if path.is_file():
                m["export_file"] = f"originals/{name}"
                zf.write(path, m["export_file"])
            else:
                m["export_file"] = f"text/{name}.txt"
                pages = session.execute(
                    select(MaterialPage.number, MaterialPage.text)
                    .where(MaterialPage.material_id == m["id"], MaterialPage.user_id == user_id)
                    .order_by(MaterialPage.number)
                )
                zf.writestr(
                    m["export_file"], "\n\n".join(f"--- page {n} ---\n{text}" for n, text in pages)
                )
        zf.writestr("materials.csv", csv_text(materials, [*_MATERIAL_COLUMNS, "export_file"]))
        zf.writestr(
            "questions.json",
            json.dumps(
                _rows(session, Question, user_id), indent=2, ensure_ascii=False, default=str
            ),
        )
        for name, model in _CSV_TABLES.items():
            zf.writestr(
                name,
                csv_text(_rows(session, model, user_id), [c.name for c in model.__table__.columns]),
            )
        zf.writestr(
            "tutor.json",
            json.dumps(_conversations(session, user_id), indent=2, ensure_ascii=False, default=str),
        )
        _pictures(session, zf, user_id)


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def _pictures(session: Session, zf: zipfile.ZipFile, user_id: int) -> None:
    """The pictures shown with the learner's questions, as files, and pictures.csv naming
    each one's question and side."""
    listed = []
    rows = session.execute(
        select(QuestionImage)
        .where(QuestionImage.user_id == user_id)
        .order_by(QuestionImage.question_id, QuestionImage.position)
    ).scalars()
    for image in rows:
        name = f"pictures/{image.question_id}-{image.position}.{_EXTENSIONS[image.media_type]}"
        zf.writestr(name, image.data)
        listed.append({"question_id": image.question_id, "side": image.side, "export_file": name})
    zf.writestr("pictures.csv", csv_text(listed, ["question_id", "side", "export_file"]))


def export_account_bytes(rt: Runtime, *, user_id: int) -> bytes:
    """The export zip in memory (nothing is written to disk)."""
    out = io.BytesIO()
    write_export(rt, user_id=user_id, out=out)
    return out.getvalue()


def _tables_with_user_id() -> list[Table]:
    # llm_usage is not deleted outright: `usage.forget_account` keeps what limits still count.
    return [
        t
        for t in reversed(Base.metadata.sorted_tables)
        if "user_id" in t.c and t.name not in ("users", LLMUsage.__tablename__)
    ]


def delete_account(rt: Runtime, *, user_id: int) -> None:
    """Delete the account: its jobs, every row that belongs to it, its vectors and its files.

    Called by the deletion job, which the learner queued after confirming with email and
    password (`engine.jobs.submit_account_deletion`). The learner's other jobs are stopped
    and their queue rows and spooled uploads removed first; then the rows go (one
    transaction), then the learner's collections, then the files (originals and data
    exports); a crash in between leaves only a collection or files of a learner who no longer
    exists, which `python -m engine check --repair` removes. Its model-usage rows of the last
    day stay without the account, under a keyed hash of the email (`usage.forget_account`),
    so signing up again does not refill the limits.

    Raises:
        NotFound: the account no longer exists.
    """
    stop_learner_jobs(rt, user_id=user_id)
    with rt.session_factory.begin() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("That account does not exist (it may have been deleted).")
        lock_vectors(session, user_id)
        usage.forget_account(rt, session, user_id=user_id, email_normalized=user.email_normalized)
        _pseudonymise_audit(session, user_id)
        # Enrolments become anonymous (as when leaving) instead of going, so the courses keep
        # the answer statistics; the loop below then finds none of them.
        forget_memberships(session, user_id=user_id)
        for table in _tables_with_user_id():
            session.execute(delete(table).where(table.c.user_id == user_id))
        session.execute(
            delete(LoginAttempt).where(LoginAttempt.email_normalized == user.email_normalized)
        )
        session.execute(delete(User).where(User.id == user_id))
    store = rt.vectors
    for name in store.list_names():
        if owner_of(name) == user_id:
            store.drop(name)
    _remove_files(rt, user_id)
    log.info("account deleted", extra={"user_id": user_id})


INTERRUPTED_AFTER = dt.timedelta(hours=1)


def finish_interrupted_deletions(rt: Runtime) -> list[int]:
    """Delete the accounts marked as being deleted over an hour ago whose deletion job is no
    longer waiting or running (it failed for good, or its worker's queue lost it); the
    learner asked for it with their password. Returns their ids (the nightly check)."""
    active = exists().where(
        JobProgress.user_id == User.id,
        JobProgress.kind == JobKind.DELETE_ACCOUNT,
        JobProgress.outcome.in_(("queued", "running")),
    )
    with rt.session_factory() as session:
        stuck = list(
            session.scalars(
                select(User.id).where(User.deleting_since < func.now() - INTERRUPTED_AFTER, ~active)
            )
        )
    for user_id in stuck:
        delete_account(rt, user_id=user_id)
    return stuck


def _pseudonymise_audit(session: Session, user_id: int) -> None:
    """The audit log keeps what was done to or by the account, but not its email: entries
    name it "deleted account #<id>" from now on."""
    label = f"deleted account #{user_id}"
    session.execute(update(AuditEntry).where(AuditEntry.actor_id == user_id).values(actor=label))
    session.execute(
        update(AuditEntry).where(AuditEntry.target_user_id == user_id).values(target=label)
    )


def _remove_files(rt: Runtime, user_id: int) -> None:
    """Every file of the learner kept on disk (spooled uploads went with their jobs)."""
    originals.remove_user_originals(rt, user_id=user_id)
    exports.remove_user_exports(rt, user_id=user_id)
