"""Reads one untrusted PDF in a child process, under memory and CPU limits.

Run as a script (`python pdf_worker.py`), never imported by the app: it reads a JSON request on
stdin ({"path", "password", "max_pages", "memory_mb", "cpu_s", "ocr"}) and writes one JSON object
per line on stdout: `{"kind": "meta", ...}`, then `{"kind": "page", ...}` per page with a text
layer, then (when pages need OCR) `{"kind": "ocr", "pages": [...]}` and a page message per page
read by OCR, then `{"kind": "done"}`; or `{"kind": "error", "reason": ..., "detail": ...}` and
exit. The parent enforces the wall-clock limits and kills this process when they pass.

`ocr` is null (no OCR) or {"dpi", "pages_left", "threads", "memory_mb"}: pages without a usable
text layer are rendered and read by OCR after the text pages, in this same process, under the
same CPU limit and a memory limit raised to `memory_mb` for the model; more such pages than
`pages_left` refuse the file before any is read.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys

_out = sys.stdout  # where messages go; see `_keep_stdout_for_messages`


def _emit(obj: dict) -> None:
    _out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    _out.flush()


def _keep_stdout_for_messages() -> None:
    """Messages go to a private copy of stdout, and stdout itself then points at stderr:
    what libraries print (onnxruntime prints its errors there) cannot corrupt the messages."""
    global _out
    _out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)


def _limit(memory_mb: int, cpu_s: int, ocr_memory_mb: int = 0) -> None:
    """Memory: `memory_mb` while parsing; the hard limit leaves room to raise it to
    `ocr_memory_mb` for the OCR pass (the model needs more than parsing should ever take)."""
    mem = memory_mb * 1024 * 1024
    hard = max(mem, ocr_memory_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (mem, hard))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class _WarningCollector(logging.Handler):
    """Collects pypdf's warnings for the page being read: some say its text cannot be trusted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# pypdf falls back to a wrong encoding and says so; text from such fonts is garbage.
_UNTRUSTED_TEXT_WARNINGS = ("not implemented yet", "unknown encoding")


def _title(reader) -> str | None:
    try:
        meta = reader.metadata
        title = meta.title if meta else None
    except Exception:  # noqa: BLE001 - unreadable metadata is common and harmless
        return None
    return str(title).strip() if title else None


def _largest_font_lines(runs: list[tuple[float, str, float]]) -> list[str]:
    """The first block of text in the page's largest font (a title), in reading order, from
    the page's text runs (font size, text, baseline) as `_plain_text` collects them."""
    if not runs:
        return []
    biggest = max(size for size, _, _ in runs)
    chars: dict[float, int] = {}
    for size, text, _ in runs:
        chars[size] = chars.get(size, 0) + len(text)
    if biggest <= max(chars, key=chars.__getitem__) + 0.5:
        return []  # one size throughout: no title set apart by its font
    block: list[str] = []
    baseline = None
    for size, text, y in runs:
        if size >= biggest - 0.5:
            if baseline is not None and abs(y - baseline) > 1:
                block.append("\n")  # a new line of the title
            block.append(text)
            baseline = y
        elif block:
            break
    title = " ".join("".join(block).split())
    return [title] if title else []


def _plain_text(
    page,  # pypdf.PageObject
    fonts: list | None = None,
) -> tuple[str, list[tuple[float, float]]]:
    """The page's text in drawing order, and where each of its text runs starts (page space).
    `fonts`, when given, receives each run's (font size, text, baseline) for the title."""
    starts: list[tuple[float, float]] = []

    def visit(text, cm, tm, font_dict, font_size) -> None:
        if text and not text.isspace():
            starts.append(
                (cm[0] * tm[4] + cm[2] * tm[5] + cm[4], cm[1] * tm[4] + cm[3] * tm[5] + cm[5])
            )
        if fonts is not None and text and text.strip():
            scale = abs(tm[3]) or abs(tm[0]) or 1.0
            size = round(float(font_size) * scale * (abs(cm[3]) or 1.0), 1)
            fonts.append((size, text, round(float(tm[5]) * (abs(cm[3]) or 1.0) + cm[5], 1)))

    return page.extract_text(visitor_text=visit) or "", starts


def _reading_order(
    page,
    plain: str,
    starts: list[tuple[float, float]],
) -> tuple[str, str | None]:
    """The page's text column by column when it is set in two columns drawn across, else
    `plain`; with the reason layout mode failed, if it did (the plain text then stands).
    Layout mode runs only on pages whose run starts say they may be drawn across."""
    # run as a script: this file's folder is on sys.path
    from columns import column_order, may_be_drawn_across

    try:
        box = page.mediabox
        left, width = float(box.left), float(box.width)
    except Exception:  # noqa: BLE001 - no usable page box: no signal, try layout mode
        left, width = 0.0, 0.0
    if width > 0 and not may_be_drawn_across(starts, page_left=left, page_width=width):
        return plain, None
    try:
        layout = page.extract_text(extraction_mode="layout")
    except (MemoryError, RecursionError):
        raise
    except Exception as e:  # noqa: BLE001 - reported to the parent; the plain text stands
        return plain, f"{type(e).__name__}: {e}"[:200]
    return column_order(layout, plain) or plain, None


class _Refused(Exception):  # a refusal, reported to the parent as one message
    """The file cannot be read: `reason` is one the parent knows (see `engine.ingestion.pdf`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


def _collect_pypdf_warnings() -> _WarningCollector:
    collector = _WarningCollector()
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.addHandler(collector)
    pypdf_log.propagate = False
    import warnings

    warnings.simplefilter("ignore")
    return collector


def _decrypt(reader, password: str | None) -> None:  # pypdf.PdfReader
    if password is None:
        try:
            ok = reader.decrypt("")
        except Exception:  # noqa: BLE001 - any failure means "needs a password"
            ok = 0
        if not ok:
            raise _Refused("encrypted", "password needed")
        return
    try:
        ok = reader.decrypt(password)
    except Exception as e:
        raise _Refused("encrypted", repr(e)[:300]) from e
    if not ok:
        raise _Refused("wrong_password", "")


def _open(request: dict):  # (pypdf.PdfReader, page count)
    """The reader of the requested file, decrypted, and its page count."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = pypdf.PdfReader(request["path"], strict=False)
        if reader.is_encrypted:
            _decrypt(reader, request.get("password"))
        page_count = len(reader.pages)
    except _Refused:
        raise
    except FileNotDecryptedError as e:
        raise _Refused("encrypted", str(e)[:300]) from e
    except MemoryError:
        raise _Refused("too_large", "memory limit while opening") from None
    except RecursionError:
        raise _Refused("malformed", "cyclic structure") from None
    except LimitReachedError as e:
        reason = "too_large" if "decompress" in str(e).lower() else "malformed"
        raise _Refused(reason, str(e)[:300]) from e
    except (PdfReadError, Exception) as e:  # anything here means a damaged file
        raise _Refused("malformed", f"{type(e).__name__}: {e}"[:300]) from e
    if page_count == 0:
        raise _Refused("malformed", "no pages")
    if page_count > int(request["max_pages"]):
        raise _Refused("too_many_pages", str(page_count))
    return reader, page_count


def _emit_meta(reader, page_count: int, fonts: list) -> None:
    try:
        title_lines = _largest_font_lines(fonts)
    except MemoryError:
        title_lines = []
    _emit(
        {
            "kind": "meta",
            "page_count": page_count,
            "title": _title(reader),
            "title_lines": title_lines,
        }
    )


def _read_page(
    reader,
    number: int,
    collector: _WarningCollector,
    fonts: list | None = None,
) -> dict:
    """The message for page `number`; a broken page gives empty text and its error."""
    from pypdf.errors import LimitReachedError

    collector.messages.clear()
    error = layout_error = None
    try:
        page = reader.pages[number - 1]
        text, starts = _plain_text(page, fonts)
        if text.strip():
            text, layout_error = _reading_order(page, text, starts)
    except MemoryError:
        raise _Refused("too_large", f"memory on page {number}") from None
    except LimitReachedError as e:
        # pypdf stops decompressing past its output limits: a decompression bomb.
        raise _Refused("too_large", f"page {number}: {e}"[:300]) from e
    except RecursionError:
        text, error = "", "cyclic structure"
    except Exception as e:  # noqa: BLE001 - one broken page must not sink the document
        text, error = "", f"{type(e).__name__}: {e}"[:200]
    untrusted = any(
        marker in m.lower() for m in collector.messages for marker in _UNTRUSTED_TEXT_WARNINGS
    )
    return {
        "kind": "page",
        "number": number,
        "text": text,
        "error": error,
        "untrusted": untrusted,
        "layout_error": layout_error,
    }


def _needs_ocr(message: dict, pdfium_doc) -> bool:  # pypdfium2.PdfDocument
    """Whether the page of this message has no usable text layer (see `ocr.needs_ocr`)."""
    from cleaning import is_glyph_garbage
    from ocr import image_cover, needs_ocr
    from quality import has_text

    text = message["text"]
    usable = has_text(text, untrusted=message["untrusted"]) and not is_glyph_garbage(text)
    if usable and len(text.strip()) >= 200:
        return False  # plenty of text: no need to look at its images
    cover = 0.0
    if usable and pdfium_doc is not None:
        try:
            cover = image_cover(pdfium_doc[message["number"] - 1])
        except Exception:  # noqa: BLE001 - no image information: keep the text layer
            cover = 0.0
    return needs_ocr(text, usable=usable, image_cover=cover)


# How onnxruntime and the dynamic loader fail under the memory limit (not as MemoryError).
_OUT_OF_MEMORY = ("alloc", "failed to map segment", "pthread_create failed")


def _open_pdfium(request: dict):  # pypdfium2.PdfDocument or None
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(request["path"], password=request.get("password"))
    except Exception:  # noqa: BLE001 - pdfium cannot open what pypdf could: no OCR
        return None


def _ocr_pages(request: dict, pending: list[dict], text_pages: list[str]) -> None:
    """Read the pages in `pending` (their text-layer messages) by OCR, emitting each.

    Raises:
        _Refused: more pages need OCR than the learner has left.
    """
    from ocr import Reader, dominant_script, read_page, script_supported

    options = request["ocr"]
    numbers = [m["number"] for m in pending]
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # the OCR pass's own memory limit
    if len(numbers) > int(options["pages_left"]):
        raise _Refused(
            "ocr_quota", json.dumps({"needed": len(numbers), "left": int(options["pages_left"])})
        )
    script = dominant_script(text_pages)
    pdfium_doc = _open_pdfium(request) if script_supported(script) else None
    _emit({"kind": "ocr", "pages": numbers if pdfium_doc is not None else []})
    reader = Reader(threads=int(options.get("threads", 1)))
    for message in pending:
        if pdfium_doc is None:
            skipped = "unopened" if script_supported(script) else "script"
            _emit({**message, "ocr_skipped": skipped, "script": script})
            continue
        try:
            page = read_page(reader, pdfium_doc[message["number"] - 1], dpi=int(options["dpi"]))
        except MemoryError:
            raise _Refused("too_large", f"memory on page {message['number']} (OCR)") from None
        except Exception as e:  # one unreadable page must not sink the rest
            if any(m in str(e).lower() for m in _OUT_OF_MEMORY):  # the model under the limit
                raise _Refused("too_large", f"memory on page {message['number']} (OCR)") from e
            _emit({**message, "ocr_error": f"{type(e).__name__}: {e}"[-300:]})
            continue
        _emit(
            {
                **message,
                "text": page.text,
                "untrusted": False,
                "ocr": True,
                "confidence": round(page.confidence, 4),
            }
        )


def main() -> int:
    _keep_stdout_for_messages()
    # Loaded before the request arrives: the parent starts this process ahead of need (see
    # `reader_process.py`); no file is opened before the limits hold.
    import pypdf
    import pypdf.errors  # noqa: F401
    from columns import column_order  # noqa: F401 - run as a script: this folder is on sys.path

    request = json.loads(sys.stdin.read())
    ocr = request.get("ocr")
    _limit(
        int(request["memory_mb"]), int(request["cpu_s"]), int(ocr.get("memory_mb", 0)) if ocr else 0
    )
    collector = _collect_pypdf_warnings()
    try:
        reader, page_count = _open(request)
        # Page 1 is read before the meta message: its runs' font sizes give the title lines.
        fonts: list = []
        first = _read_page(reader, 1, collector, fonts)
        _emit_meta(reader, page_count, fonts)
        failures = 0
        pdfium_doc = _open_pdfium(request) if ocr else None
        pending: list[dict] = []  # pages to read by OCR once all text layers are read
        text_pages: list[str] = []
        for number in range(1, page_count + 1):
            message = first if number == 1 else _read_page(reader, number, collector)
            if message["error"]:
                failures += 1
            if ocr and not message["error"] and _needs_ocr(message, pdfium_doc):
                pending.append(message)
                continue
            text_pages.append(message["text"])
            _emit(message)
        pdfium_doc = None  # its pages are opened again one at a time by the OCR pass
        if pending:
            _ocr_pages(request, pending, text_pages)
    except _Refused as e:
        _emit({"kind": "error", "reason": e.reason, "detail": e.detail})
        return 0
    _emit({"kind": "done", "failed_pages": failures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
