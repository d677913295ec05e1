"""Reads one untrusted PDF in a child process, under memory and CPU limits.

Run as a script (`python pdf_worker.py`), never imported by the app: it reads a JSON request on
stdin ({"path", "password", "max_pages", "memory_mb", "cpu_s"}) and writes one JSON object per
line on stdout: `{"kind": "meta", ...}`, then `{"kind": "page", ...}` per page, then
`{"kind": "done"}`, or `{"kind": "error", "reason": ..., "detail": ...}` and exit. The parent
enforces the wall-clock limits and kills this process when they pass.
"""

from __future__ import annotations

import json
import logging
import resource
import sys


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _limit(memory_mb: int, cpu_s: int) -> None:
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
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


def _title(reader) -> str | None:  # noqa: ANN001
    try:
        meta = reader.metadata
        title = meta.title if meta else None
    except Exception:  # noqa: BLE001 - unreadable metadata is common and harmless
        return None
    return str(title).strip() if title else None


def _largest_font_lines(page) -> list[str]:  # noqa: ANN001 - pypdf.PageObject
    """The first block of text in the page's largest font (a title), in reading order."""
    runs: list[tuple[float, str, float]] = []  # (font size, text, baseline)

    def visit(text, cm, tm, font_dict, font_size) -> None:  # noqa: ANN001
        if text and text.strip():
            scale = abs(tm[3]) or abs(tm[0]) or 1.0
            size = round(float(font_size) * scale * (abs(cm[3]) or 1.0), 1)
            runs.append((size, text, round(float(tm[5]) * (abs(cm[3]) or 1.0) + cm[5], 1)))

    try:
        page.extract_text(visitor_text=visit)
    except Exception:  # noqa: BLE001 - a title candidate is optional
        return []
    if not runs:
        return []
    biggest = max(size for size, _, _ in runs)
    chars: dict[float, int] = {}
    for size, text, _ in runs:
        chars[size] = chars.get(size, 0) + len(text)
    if biggest <= max(chars, key=chars.get) + 0.5:
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


def _plain_text(page) -> tuple[str, list[tuple[float, float]]]:  # noqa: ANN001
    """The page's text in drawing order, and where each of its text runs starts (page space)."""
    starts: list[tuple[float, float]] = []

    def visit(text, cm, tm, font_dict, font_size) -> None:  # noqa: ANN001
        if text and not text.isspace():
            starts.append((cm[0] * tm[4] + cm[2] * tm[5] + cm[4],
                           cm[1] * tm[4] + cm[3] * tm[5] + cm[5]))

    return page.extract_text(visitor_text=visit) or "", starts


def _reading_order(page, plain: str, starts: list[tuple[float, float]]  # noqa: ANN001
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


class _Refused(Exception):  # noqa: N818 - a refusal, reported to the parent as one message
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


def _decrypt(reader, password: str | None) -> None:  # noqa: ANN001 - pypdf.PdfReader
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
    except Exception as e:  # noqa: BLE001
        raise _Refused("encrypted", repr(e)[:300]) from e
    if not ok:
        raise _Refused("wrong_password", "")


def _open(request: dict):  # noqa: ANN202 - (pypdf.PdfReader, page count)
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
    except (PdfReadError, Exception) as e:  # noqa: BLE001 - anything here means a damaged file
        raise _Refused("malformed", f"{type(e).__name__}: {e}"[:300]) from e
    if page_count == 0:
        raise _Refused("malformed", "no pages")
    if page_count > int(request["max_pages"]):
        raise _Refused("too_many_pages", str(page_count))
    return reader, page_count


def _emit_meta(reader, page_count: int) -> None:  # noqa: ANN001 - pypdf.PdfReader
    try:
        title_lines = _largest_font_lines(reader.pages[0])
    except MemoryError:
        title_lines = []
    _emit({"kind": "meta", "page_count": page_count, "title": _title(reader),
           "title_lines": title_lines})


def _read_page(reader, number: int, collector: _WarningCollector) -> dict:  # noqa: ANN001
    """The message for page `number`; a broken page gives empty text and its error."""
    from pypdf.errors import LimitReachedError

    collector.messages.clear()
    error = layout_error = None
    try:
        page = reader.pages[number - 1]
        text, starts = _plain_text(page)
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
    return {"kind": "page", "number": number, "text": text, "error": error,
            "untrusted": untrusted, "layout_error": layout_error}


def main() -> int:
    request = json.loads(sys.stdin.read())
    _limit(int(request["memory_mb"]), int(request["cpu_s"]))
    import pypdf  # noqa: F401 - loaded only once the limits hold

    collector = _collect_pypdf_warnings()
    try:
        reader, page_count = _open(request)
        _emit_meta(reader, page_count)
        failures = 0
        for number in range(1, page_count + 1):
            message = _read_page(reader, number, collector)
            if message["error"]:
                failures += 1
            _emit(message)
    except _Refused as e:
        _emit({"kind": "error", "reason": e.reason, "detail": e.detail})
        return 0
    _emit({"kind": "done", "failed_pages": failures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
