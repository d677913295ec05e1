"""The text of a PDF as the reader process reported it: pages cleaned, OCR summarised, and
the reader's refusals turned into the errors users see (see `engine.ingestion.pdf`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from engine.errors import (
    EngineError,
    OcrQuotaExceeded,
    PdfEncrypted,
    PdfMalformed,
    PdfNoText,
    PdfTooLarge,
)
from engine.ingestion.cleaning import clean_pages
from engine.ingestion.quality import has_text

# Logged under the reader's name: these are the reading's messages.
log = logging.getLogger("engine.ingestion.pdf")


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF, one string per page (1-based page n is `pages[n - 1]`)."""

    pages: list[str]
    title: str | None
    # 1-based numbers of pages that had no usable text (empty, image-only or mojibake).
    pages_without_text: list[int] = field(default_factory=list)
    # The largest-font lines of the first page, in reading order (a title candidate).
    title_lines: list[str] = field(default_factory=list)
    # 1-based numbers of the pages read by OCR, and the mean confidence of their reading.
    ocr_pages: list[int] = field(default_factory=list)
    ocr_confidence: float | None = None
    # OCR pages read with less confidence than `ocr_min_confidence` (kept, but marked).
    low_confidence_pages: list[int] = field(default_factory=list)
    # Pages that needed OCR but are in a script the OCR model does not read, and that script.
    unsupported_script_pages: list[int] = field(default_factory=list)
    unsupported_script: str | None = None

    @property
    def page_count(self) -> int:
        return len(self.pages)


def _page_list(numbers: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def assemble(messages: list[dict], *, min_confidence: float = 0.0) -> PdfText:
    """The reader's messages as the document's text, or the error the reader reported."""
    last = messages[-1]
    if last["kind"] == "error":
        raise _reader_error(last["reason"], last.get("detail"))
    meta = next(m for m in messages if m["kind"] == "meta")
    page_msgs = sorted((m for m in messages if m["kind"] == "page"), key=lambda m: m["number"])
    for m in page_msgs:
        if m.get("ocr_error"):
            log.warning("page %s could not be read by OCR: %s", m["number"], m["ocr_error"])
        if m.get("layout_error"):
            log.info(
                "page %s read in drawing order: layout mode failed (%s)",
                m["number"],
                m["layout_error"],
            )
    raw = [m["text"] if has_text(m["text"], untrusted=m["untrusted"]) else "" for m in page_msgs]
    cleaned, garbage = clean_pages(raw)
    pages: list[str] = []
    empty: list[int] = []
    for msg, text in zip(page_msgs, cleaned, strict=True):
        if has_text(text) and msg["number"] not in garbage:
            pages.append(text)
        else:
            pages.append("")
            empty.append(msg["number"])
    if not pages:
        raise PdfMalformed("This PDF is damaged and could not be read.", detail="no pages read")
    ocr = _ocr_summary(page_msgs, pages, min_confidence)
    if len(empty) == len(pages):
        raise _no_text_error(messages, pages, empty, ocr)
    return PdfText(
        pages=pages,
        title=meta.get("title"),
        pages_without_text=empty,
        title_lines=list(meta.get("title_lines") or []),
        **ocr,
    )


def _reader_error(reason: str, detail: Any) -> EngineError:
    """The error for a reader that stopped (`reason` as the reader process reports it)."""
    if reason == "ocr_quota":
        numbers = json.loads(detail)
        return OcrQuotaExceeded(
            f"This PDF has {numbers['needed']} pages without a text layer to read by OCR, "
            f"but your library may hold only {numbers['left']} more OCR pages. Remove "
            "scanned materials you no longer need, or upload fewer pages.",
            detail=detail,
        )
    if reason == "encrypted":
        return PdfEncrypted(
            "This PDF is protected by a password. Enter the password to read it.",
            detail=detail,
        )
    if reason == "wrong_password":
        return PdfEncrypted("That password does not open this PDF. Check it and try again.")
    if reason == "too_many_pages":
        return PdfTooLarge(f"This PDF has {detail} pages, more than this library accepts.")
    if reason == "too_large":
        return PdfTooLarge(
            "This PDF needs more memory to read than allowed, so it was refused. It may be "
            "a decompression bomb or an unusually complex file.",
            detail=detail,
        )
    return PdfMalformed("This PDF is damaged and could not be read.", detail=detail)


def _no_text_error(
    messages: list[dict], pages: list[str], empty: list[int], ocr: dict
) -> EngineError:
    """Why a document none of whose pages has usable text is refused."""
    if ocr["unsupported_script_pages"]:
        return PdfNoText(
            "This PDF has no text layer, and its text is in a script the built-in OCR does not "
            f"read (it reads {_OCR_LANGUAGES}).",
            detail=f"script: {ocr['unsupported_script']}",
        )
    errors = sum(1 for m in messages if m["kind"] == "page" and m.get("error"))
    if errors == len(pages):
        return PdfMalformed("This PDF is damaged: none of its pages could be read.")
    which = "Its only page has no" if len(pages) == 1 else f"None of its {len(pages)} pages has a"
    return PdfNoText(
        f"This PDF has no text that can be read. {which} usable text layer (it may be "
        "scanned or made of images, or its text is stored in a broken encoding), and OCR "
        "found no legible text on them either.",
        detail=f"pages without text: {_page_list(empty)}",
    )


# See engine.ingestion.ocr.
_OCR_LANGUAGES = "Latin-script languages and Chinese"


def _ocr_summary(page_msgs: list[dict], pages: list[str], min_confidence: float) -> dict:
    """Which pages were read by OCR (and hold text after cleaning), their mean confidence
    weighted by length, the ones below `min_confidence`, and pages left unread because of
    their script."""
    read = [(m, pages[m["number"] - 1]) for m in page_msgs if m.get("ocr")]
    read = [(m, text) for m, text in read if text]
    chars = sum(len(text) for _, text in read)
    mean = (sum(m["confidence"] * len(text) for m, text in read) / chars) if chars else None
    skipped = [m for m in page_msgs if m.get("ocr_skipped") == "script"]
    return {
        "ocr_pages": [m["number"] for m, _ in read],
        "ocr_confidence": round(mean, 4) if mean is not None else None,
        "low_confidence_pages": [m["number"] for m, _ in read if m["confidence"] < min_confidence],
        "unsupported_script_pages": [m["number"] for m in skipped],
        "unsupported_script": skipped[0].get("script") if skipped else None,
    }


def describe_pages(numbers: list[int]) -> str:
    """'page 3' / 'pages 3, 5 and 7 more' for notes shown to the learner."""
    return ("page " if len(numbers) == 1 else "pages ") + _page_list(numbers)
