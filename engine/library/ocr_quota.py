"""The learner's OCR page allowance: pages read by OCR that their library holds."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import Material
from engine.runtime import Runtime


def count_ocr_pages(session: Session, user_id: int) -> int:
    """Pages read by OCR in this learner's materials (all of them, whatever their state), in
    the caller's session."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(func.jsonb_array_length(Material.ocr_pages)), 0)).where(
                Material.user_id == user_id
            )
        )
        or 0
    )


def ocr_pages_used(rt: Runtime, *, user_id: int) -> int:
    """`count_ocr_pages` in a session of its own."""
    with rt.session_factory() as session:
        return count_ocr_pages(session, user_id)


def ocr_pages_left(rt: Runtime, *, user_id: int) -> int:
    """How many more pages this learner may have read by OCR (`ocr_pages_per_user`)."""
    return max(0, rt.settings.ingestion.ocr_pages_per_user - ocr_pages_used(rt, user_id=user_id))
