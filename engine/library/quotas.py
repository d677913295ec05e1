"""Per-learner page quotas: pages kept in the library (`library_max_pages`) and pages added in
the last 24 hours (`upload_max_pages_per_day`). Each counts only the learner's own rows.

Checked before a file is read any further than its page count (nothing saved yet), and again
in the transaction that stores the material, under a lock on the learner's row, so two
ingestions of one learner running at once can never both slip under the limit. The OCR page
allowance (`ocr_pages_per_user`) is checked again there the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.models import Material, PageIntake, User
from engine.domain.vocabulary import MaterialStatus
from engine.errors import OcrQuotaExceeded, QuotaExceeded
from engine.library.ocr_quota import count_ocr_pages
from engine.runtime import Runtime

DAY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class PageUsage:
    """A learner's pages: kept in the library, and added in the last 24 hours."""

    stored: int
    today: int
    # When the oldest of today's additions leaves the 24-hour window (None: nothing added).
    oldest_today: dt.datetime | None


def page_usage(session: Session, user_id: int) -> PageUsage:
    """The learner's page counts (their own rows only)."""
    stored = session.scalar(
        select(func.coalesce(func.sum(Material.page_count), 0)).where(
            Material.user_id == user_id, Material.status != MaterialStatus.DELETING
        )
    )
    today, oldest = session.execute(
        select(func.coalesce(func.sum(PageIntake.pages), 0), func.min(PageIntake.created_at)).where(
            PageIntake.user_id == user_id, PageIntake.created_at > func.now() - DAY
        )
    ).one()
    return PageUsage(stored=int(stored or 0), today=int(today or 0), oldest_today=oldest)


def check_page_quota(
    session: Session,
    settings: Settings,
    *,
    user_id: int,
    pages: int,
    now: dt.datetime | None = None,
) -> None:
    """Refuse `pages` more pages for this learner when they would pass a quota.

    Args:
        session: the caller's session (the storing transaction, or a read).
        settings: `library_max_pages`, `upload_max_pages_per_day` (0: no limit).
        user_id: the learner.
        pages: the pages about to be added (0 asks whether the learner is already at a limit).
        now: the current time, for the retry hint (defaults to the clock).

    Raises:
        QuotaExceeded: the message gives the numbers; nothing was stored.
    """
    s = settings.ingestion
    if not s.library_max_pages and not s.upload_max_pages_per_day:
        return
    usage = page_usage(session, user_id)
    full = (
        usage.stored + pages > s.library_max_pages if pages else usage.stored >= s.library_max_pages
    )
    if s.library_max_pages and full:
        raise QuotaExceeded(
            f"Your library is full: it holds {usage.stored:,} pages"
            + (f" and this file has {pages:,}" if pages else "")
            + f"; the limit is {s.library_max_pages:,} pages. Delete material you no longer "
            "need to make room. Nothing was saved."
        )
    over = (
        usage.today + pages > s.upload_max_pages_per_day
        if pages
        else usage.today >= s.upload_max_pages_per_day
    )
    if s.upload_max_pages_per_day and over:
        now = now or dt.datetime.now(dt.UTC)
        retry = int(((usage.oldest_today or now) + DAY - now).total_seconds()) + 1
        raise QuotaExceeded(
            f"You added {usage.today:,} pages in the last 24 hours"
            + (f" and this file has {pages:,}" if pages else "")
            + f"; the limit is {s.upload_max_pages_per_day:,} pages a day. Try again in "
            f"{_hours(retry)}. Nothing was saved.",
            retry_after_s=max(1, retry),
        )


def _hours(seconds: int) -> str:
    if seconds < 3600:
        minutes = max(1, seconds // 60)
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours = round(seconds / 3600)
    return f"{hours} hour{'' if hours == 1 else 's'}"


def check_quota(rt: Runtime, *, user_id: int, pages: int) -> None:
    """`check_page_quota` in a session of its own (before anything is saved)."""
    with rt.session_factory() as session:
        check_page_quota(session, rt.settings, user_id=user_id, pages=pages)


def reserve_pages(
    session: Session, settings: Settings, *, user_id: int, pages: int, ocr_pages: int = 0
) -> None:
    """In the storing transaction: lock the learner, check the quotas (`ocr_pages` of the
    `pages` read by OCR) and record the pages. The lock is held until the caller commits the
    material, so a second ingestion of the learner counts this one's pages.

    Raises:
        QuotaExceeded: nothing is recorded (the caller's transaction rolls back).
        OcrQuotaExceeded: likewise, when the OCR allowance is used up meanwhile.
    """
    session.get(User, user_id, with_for_update=True)
    check_page_quota(session, settings, user_id=user_id, pages=pages)
    if ocr_pages:
        left = max(0, settings.ingestion.ocr_pages_per_user - count_ocr_pages(session, user_id))
        if ocr_pages > left:
            raise OcrQuotaExceeded(
                f"This PDF has {ocr_pages} pages read by OCR, but your library may hold only "
                f"{left} more OCR pages (another upload used the rest meanwhile). Remove "
                "scanned materials you no longer need, or upload fewer pages. Nothing was saved."
            )
    session.add(PageIntake(user_id=user_id, pages=pages))
