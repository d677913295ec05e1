"""A learner's own data: export it as a zip, or delete the account with everything in it.

Both take only a user id and write nothing to the screen, so a page or a background job can
call them. Neither ever reads or touches another learner's rows, vectors or files.

The export (`groundwork-export.zip`) holds:

- `account.json`: email, name, sign-up time and the profile (never the password hash);
- `materials.csv`: every material with its file name, size, pages, chunks and status;
- `questions.json`: every question with its options, answer, explanation and source page;
- `attempts.csv`, `review_states.csv`, `flags.csv`, `scheduler_parameters.csv`,
  `llm_usage.csv`: practice history, review schedule, flags, fitted scheduler parameters and
  model usage, one row per record with every column;
- `originals/<material id>-<file name>`: the uploaded PDFs (kept since this version), and for
  materials uploaded before originals were kept, `text/<material id>-<file name>.txt` with
  the text read from each page instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from engine import originals, usage
from engine.accounts import normalise_email
from engine.db.base import Base
from engine.db.models import (
    Attempt,
    Flag,
    LLMUsage,
    LoginAttempt,
    Material,
    MaterialPage,
    Profile,
    Question,
    ReviewState,
    SchedulerParameters,
    User,
)
from engine.errors import InvalidInput, NotFound
from engine.retrieval.collections import lock_vectors
from engine.retrieval.vectors import owner_of
from engine.runtime import Runtime

log = logging.getLogger(__name__)

_CSV_TABLES = {
    "attempts.csv": Attempt, "review_states.csv": ReviewState, "flags.csv": Flag,
    "scheduler_parameters.csv": SchedulerParameters, "llm_usage.csv": LLMUsage,
}
_MATERIAL_COLUMNS = ("id", "title", "filename", "sha256", "size_bytes", "page_count",
                     "chunk_count", "status", "created_at", "embedding_model", "note")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(session: Session, model: type[Base], user_id: int) -> list[dict[str, Any]]:
    table: Table = model.__table__  # type: ignore[assignment]
    order = list(table.primary_key.columns)
    result = session.execute(select(table).where(table.c.user_id == user_id).order_by(*order))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v
                         for k, v in row.items()})
    return out.getvalue()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[:120] or "material"


def _account(session: Session, user_id: int) -> dict[str, Any]:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("That account does not exist (it may have been deleted).")
    profile = session.get(Profile, user_id)
    fields = {} if profile is None else {
        c.name: _plain(getattr(profile, c.key)) for c in Profile.__table__.columns
        if c.name != "user_id"}
    return {"email": user.email, "display_name": user.display_name,
            "created_at": _plain(user.created_at), "profile": fields}


def export_account(rt: Runtime, *, user_id: int, dest: Path) -> Path:
    """Write the learner's data as a zip to `dest` (see the module doc for its contents)."""
    with rt.session_factory() as session, zipfile.ZipFile(
            dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("account.json", json.dumps(_account(session, user_id), indent=2,
                                               ensure_ascii=False, default=str))
        materials = _rows(session, Material, user_id)
        materials = [m for m in materials if m["status"] != "deleting"]
        for m in materials:
            path = originals.original_path(rt, user_id=user_id, sha256=m["sha256"])
            name = f"{m['id']}-{_safe_name(m['filename'])}"
            if path.is_file():
                m["export_file"] = f"originals/{name}"
                zf.write(path, m["export_file"])
            else:
                m["export_file"] = f"text/{name}.txt"
                pages = session.execute(select(MaterialPage.number, MaterialPage.text).where(
                    MaterialPage.material_id == m["id"], MaterialPage.user_id == user_id)
                    .order_by(MaterialPage.number))
                zf.writestr(m["export_file"], "\n\n".join(
                    f"--- page {n} ---\n{text}" for n, text in pages))
        zf.writestr("materials.csv", _csv(materials, [*_MATERIAL_COLUMNS, "export_file"]))
        zf.writestr("questions.json", json.dumps(_rows(session, Question, user_id), indent=2,
                                                 ensure_ascii=False, default=str))
        for name, model in _CSV_TABLES.items():
            zf.writestr(name, _csv(_rows(session, model, user_id),
                                   [c.name for c in model.__table__.columns]))
    log.info("account exported", extra={"user_id": user_id})
    return dest


def export_account_bytes(rt: Runtime, *, user_id: int) -> bytes:
    """`export_account` into memory (for a download button)."""
    folder = rt.settings.storage.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{int(user_id)}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}.zip"
    try:
        export_account(rt, user_id=user_id, dest=path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def _tables_with_user_id() -> list[Table]:
    # llm_usage is not deleted outright: `usage.forget_account` keeps what limits still count.
    return [t for t in reversed(Base.metadata.sorted_tables)
            if "user_id" in t.c and t.name not in ("users", LLMUsage.__tablename__)]


def check_deletion_confirmation(rt: Runtime, *, user_id: int, confirm_email: str) -> None:
    """Raise InvalidInput unless `confirm_email` is the account's email (NotFound: no account)."""
    with rt.session_factory() as session:
        _confirmed_user(session, user_id, confirm_email)


def _confirmed_user(session: Session, user_id: int, confirm_email: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("That account does not exist (it may have been deleted).")
    if normalise_email(confirm_email or "") != user.email_normalized:
        raise InvalidInput("To delete your account, type its email address exactly as shown.")
    return user


def delete_account(rt: Runtime, *, user_id: int, confirm_email: str) -> None:
    """Delete the account: every row that belongs to it, its vectors and its files. Its
    model-usage rows of the last day stay without the account, under a keyed hash of the
    email (`usage.forget_account`), so signing up again does not refill the limits.

    Rows go first (one transaction), then the learner's collections, then the folder of
    originals; a crash in between leaves only a collection or files of a learner who no longer
    exists, which `python -m engine check --repair` removes.

    Raises:
        InvalidInput: `confirm_email` is not the account's email.
        NotFound: the account no longer exists.
    """
    with rt.session_factory.begin() as session:
        user = _confirmed_user(session, user_id, confirm_email)
        lock_vectors(session, user_id)
        usage.forget_account(rt, session, user_id=user_id,
                             email_normalized=user.email_normalized)
        for table in _tables_with_user_id():
            session.execute(delete(table).where(table.c.user_id == user_id))
        session.execute(delete(LoginAttempt).where(
            LoginAttempt.email_normalized == user.email_normalized))
        session.execute(delete(User).where(User.id == user_id))
    store = rt.vectors
    for name in store.list_names():
        if owner_of(name) == user_id:
            store.drop(name)
    originals.remove_user_originals(rt, user_id=user_id)
    log.info("account deleted", extra={"user_id": user_id})
