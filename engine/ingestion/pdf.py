"""Read a PDF's text page by page, safely: untrusted files are parsed in a separate process
with a wall-clock limit, a per-page limit, a CPU limit and a memory limit, so a decompression
bomb, a pathological page or a crashing parser is refused within a bound and never takes the
app down.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import Settings
from engine.errors import (
    OcrQuotaExceeded,
    PdfEncrypted,
    PdfMalformed,
    PdfNoText,
    PdfTooLarge,
    PdfTooMuchText,
)
from engine.ingestion.cleaning import clean_pages
from engine.ingestion.quality import has_text

log = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("pdf_worker.py")


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


# (pages read, page count, the page being read by OCR now or None)
PageCallback = Callable[[int, int, int | None], None]


def _page_list(numbers: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def check_size(size_bytes: int, settings: Settings) -> None:
    """Refuse a file of more than `upload_max_mb`: the one size limit of an upload, checked
    as its bytes arrive (`size_bytes` may be the part received so far) and before reading.

    Raises:
        PdfTooLarge: over the limit.
    """
    if size_bytes > settings.ingestion.upload_max_mb * 1024 * 1024:
        limit = settings.ingestion.upload_max_mb
        raise PdfTooLarge(f"This file is too large: the limit is {limit} MB.")


def read_pdf(
    data: bytes,
    *,
    settings: Settings,
    password: str | None = None,
    on_page: PageCallback | None = None,
    ocr_pages_left: int | None = None,
) -> PdfText:
    """Extract each page's text in a child process under the limits in `settings`; pages
    without a usable text layer are read by OCR there (when `ocr_enabled`).

    Args:
        data: the PDF file's bytes.
        settings: limits (`upload_max_mb`, `pdf_max_pages`, `pdf_parse_timeout_s`,
            `pdf_page_timeout_s`, `pdf_parse_memory_mb`).
        password: the password for an encrypted PDF, if the learner gave one.
        on_page: called after each page with (pages read, page count, None), and before each
            page read by OCR with (pages read, page count, its number).
        ocr_pages_left: how many pages the learner may still have read by OCR (None: no
            limit but `ocr_enabled`).

    Returns:
        The text of every page; pages without usable text are empty strings and listed.

    Raises:
        PdfTooLarge: too many bytes or pages, too slow, or too much memory.
        PdfTooMuchText: more characters of text than `pdf_max_chars_per_byte` per byte of
            file (checked as pages arrive; the reader is stopped at once).
        PdfEncrypted: a password is needed, or the one given is wrong.
        PdfMalformed: not a PDF, or too damaged to read.
        PdfNoText: no page has usable text (scanned, image-only or garbled) and OCR read none.
        OcrQuotaExceeded: more pages need OCR than `ocr_pages_left`.
    """
    check_size(len(data), settings)
    if b"%PDF-" not in data[:1024]:
        raise PdfMalformed("This file is not a PDF (it does not start like one).")

    fd, tmp = tempfile.mkstemp(suffix=".pdf", prefix="groundwork-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        messages = _run_worker(
            Path(tmp),
            password=password,
            settings=settings,
            on_page=on_page,
            text_budget=_TextBudget(len(data), settings),
            ocr_pages_left=ocr_pages_left,
        )
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _assemble(messages, min_confidence=settings.ingestion.ocr_min_confidence)


# What the reader process may see of our environment: nothing that grants access (database
# URL, provider keys, cookie key, settings), only what Python and the locale need.
_WORKER_ENV_ALLOWED = (
    "PATH",
    "PYTHONPATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
)


def worker_env() -> dict[str, str]:
    """The reader process's environment: an allow-list, never the whole of ours."""
    env = {k: os.environ[k] for k in _WORKER_ENV_ALLOWED if k in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run_worker(
    path: Path,
    *,
    password: str | None,
    settings: Settings,
    on_page: PageCallback | None,
    text_budget: _TextBudget,
    ocr_pages_left: int | None = None,
) -> list[dict]:
    """The reader process's messages about the file at `path`, read under the time limits."""
    proc = subprocess.Popen(  # our own interpreter and script
        [sys.executable, "-X", "utf8", str(_WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=worker_env(),
        close_fds=True,
    )
    reading = _Reading(_Clock(settings), on_page, text_budget)
    try:
        _send_request(
            proc, path=path, password=password, settings=settings, ocr_pages_left=ocr_pages_left
        )
        _read_messages(proc, reading)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    finally:
        stderr = _stop(proc)
    messages = reading.messages
    if not messages or messages[-1]["kind"] not in ("done", "error"):
        _raise_for_crash(proc.returncode, stderr)
    return messages


def _send_request(
    proc: subprocess.Popen,
    *,
    path: Path,
    password: str | None,
    settings: Settings,
    ocr_pages_left: int | None = None,
) -> None:
    s = settings.ingestion
    ocr = None
    if s.ocr_enabled:
        left = s.ocr_pages_per_user if ocr_pages_left is None else ocr_pages_left
        ocr = {
            "dpi": s.ocr_dpi,
            "pages_left": max(0, left),
            "threads": 2,
            "memory_mb": s.ocr_memory_mb,
        }
    cpu_s = s.pdf_parse_timeout_s + (s.ocr_timeout_s if ocr else 0)
    request = {
        "path": str(path),
        "password": password,
        "max_pages": s.pdf_max_pages,
        "memory_mb": s.pdf_parse_memory_mb,
        "cpu_s": max(1, int(cpu_s) + 1),
        "ocr": ocr,
    }
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(request).encode())
    proc.stdin.close()


class _Clock:
    """The time limits of one reading: the whole file, and each page (from the last one).
    Once the reader says pages are to be read by OCR, the file gets `ocr_timeout_s` more and
    each page `ocr_page_timeout_s`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.ingestion
        self.page_s = settings.ingestion.pdf_page_timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + settings.ingestion.pdf_parse_timeout_s
        self.page_deadline = self.started + self.page_s

    def ocr_started(self) -> None:
        self.deadline += self.settings.ocr_timeout_s
        self.page_s = self.settings.ocr_page_timeout_s
        self.page_read()

    def page_read(self) -> None:
        self.page_deadline = time.monotonic() + self.page_s

    def time_left(self, messages_read: int) -> float:
        """Seconds until the nearer limit.

        Raises:
            PdfTooLarge: a limit has passed.
        """
        now = time.monotonic()
        if now >= self.deadline or now >= self.page_deadline:
            raise PdfTooLarge(
                "Reading this PDF took too long, so it was stopped. It may be damaged or "
                "built in a way that is very slow to read (for example a decompression bomb).",
                detail=f"stopped after {now - self.started:.1f}s at page {messages_read}",
            )
        return min(self.deadline, self.page_deadline) - now


class _TextBudget:
    """How much text a file of this size may hold: `pdf_max_chars_per_byte` per byte. A few
    kilobytes that draw one text object thousands of times (form XObjects, one content stream
    shared by every page) would otherwise become a million characters to clean, chunk, embed
    and store."""

    def __init__(self, size_bytes: int, settings: Settings) -> None:
        self.size_bytes = size_bytes
        self.per_byte = settings.ingestion.pdf_max_chars_per_byte
        self.limit = int(self.per_byte * size_bytes)
        self.chars = 0

    def add(self, page_number: int, text: str) -> None:
        """Count a page's text.

        Raises:
            PdfTooMuchText: the text read so far passed the limit.
        """
        self.chars += len(text)
        if self.chars > self.limit:
            raise PdfTooMuchText(
                f"This PDF holds far more text than its size allows: its {self.size_bytes:,} "
                f"bytes expand to at least {self.chars:,} characters by page {page_number} "
                f"({self.chars / max(1, self.size_bytes):,.0f} per byte; the limit is "
                f"{self.per_byte:g} per byte). Text repeated by the file's own structure like "
                "this is refused; nothing was saved.",
                detail=f"chars={self.chars} bytes={self.size_bytes}",
            )


class _Reading:
    """The messages received so far, with the page count and progress they report."""

    def __init__(
        self, clock: _Clock, on_page: PageCallback | None, text_budget: _TextBudget
    ) -> None:
        self.clock, self.on_page, self.text_budget = clock, on_page, text_budget
        self.messages: list[dict] = []
        self.page_count = 0
        self.pages_read = 0
        self.ocr_queue: list[int] = []  # pages still to be read by OCR, in order

    def take(self, msg: dict) -> bool:
        """Record one message; True when it is the last one."""
        self.messages.append(msg)
        kind = msg["kind"]
        if kind == "meta":
            self.page_count = msg["page_count"]
        if kind == "page":
            self.text_budget.add(msg["number"], msg["text"])
        if kind == "ocr":
            self.clock.ocr_started()
            self.ocr_queue = list(msg["pages"])
        if kind in ("meta", "page"):
            self.clock.page_read()
        if kind == "page":
            self.pages_read += 1
            if msg["number"] in self.ocr_queue:
                self.ocr_queue.remove(msg["number"])
        if kind in ("page", "ocr") and self.on_page is not None:
            self.on_page(
                self.pages_read, self.page_count, self.ocr_queue[0] if self.ocr_queue else None
            )
        return kind in ("done", "error")


def _read_messages(proc: subprocess.Popen, reading: _Reading) -> None:
    """Read the reader's JSON lines until its last message or the end of its output."""
    assert proc.stdout is not None
    buffer = b""
    sel = selectors.DefaultSelector()
    try:
        os.set_blocking(proc.stdout.fileno(), False)
        sel.register(proc.stdout, selectors.EVENT_READ)
        finished = False
        while not finished:
            if not sel.select(timeout=reading.clock.time_left(len(reading.messages))):
                continue
            chunk = proc.stdout.read()
            if chunk is None:  # readable but nothing there yet (non-blocking read)
                continue
            if not chunk:  # end of output: the worker exited
                finished = True
            else:
                buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                finished = reading.take(json.loads(line)) or finished
    finally:
        sel.close()


def _stop(proc: subprocess.Popen) -> str:
    """Kill the reader if it still runs, close its pipes; returns what it wrote on stderr."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return stderr


def _raise_for_crash(returncode: int | None, stderr: str) -> None:
    log.warning(
        "PDF reader process failed", extra={"returncode": returncode, "stderr": stderr[-500:]}
    )
    if (
        "MemoryError" in stderr
        or returncode in (-9, -24)
        or returncode == -int(getattr(__import__("signal"), "SIGXCPU", 24))
    ):
        raise PdfTooLarge(
            "This PDF needs more memory or time to read than allowed, so it was refused. "
            "It may be a decompression bomb or an unusually complex file."
        )
    raise PdfMalformed(
        "This PDF is damaged and could not be read.", detail=f"reader exited {returncode}"
    )


def _assemble(messages: list[dict], *, min_confidence: float = 0.0) -> PdfText:
    last = messages[-1]
    if last["kind"] == "error":
        reason, detail = last["reason"], last.get("detail")
        if reason == "ocr_quota":
            numbers = json.loads(last["detail"])
            raise OcrQuotaExceeded(
                f"This PDF has {numbers['needed']} pages without a text layer to read by OCR, "
                f"but your library may hold only {numbers['left']} more OCR pages. Remove "
                "scanned materials you no longer need, or upload fewer pages.",
                detail=detail,
            )
        if reason == "encrypted":
            raise PdfEncrypted(
                "This PDF is protected by a password. Enter the password to read it.",
                detail=detail,
            )
        if reason == "wrong_password":
            raise PdfEncrypted("That password does not open this PDF. Check it and try again.")
        if reason == "too_many_pages":
            raise PdfTooLarge(f"This PDF has {detail} pages, more than this library accepts.")
        if reason == "too_large":
            raise PdfTooLarge(
                "This PDF needs more memory to read than allowed, so it was refused. It may be "
                "a decompression bomb or an unusually complex file.",
                detail=detail,
            )
        raise PdfMalformed("This PDF is damaged and could not be read.", detail=detail)

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
    if len(empty) == len(pages) and ocr["unsupported_script_pages"]:
        raise PdfNoText(
            "This PDF has no text layer, and its text is in a script the built-in OCR does not "
            f"read (it reads {_OCR_LANGUAGES}).",
            detail=f"script: {ocr['unsupported_script']}",
        )
    if len(empty) == len(pages):
        errors = sum(1 for m in messages if m["kind"] == "page" and m.get("error"))
        if errors == len(pages):
            raise PdfMalformed("This PDF is damaged: none of its pages could be read.")
        which = (
            "Its only page has no" if len(pages) == 1 else f"None of its {len(pages)} pages has a"
        )
        raise PdfNoText(
            f"This PDF has no text that can be read. {which} usable text layer (it may be "
            "scanned or made of images, or its text is stored in a broken encoding), and OCR "
            "found no legible text on them either.",
            detail=f"pages without text: {_page_list(empty)}",
        )
    return PdfText(
        pages=pages,
        title=meta.get("title"),
        pages_without_text=empty,
        title_lines=list(meta.get("title_lines") or []),
        **ocr,
    )


_OCR_LANGUAGES = "Latin-script languages and Chinese"  # see engine.ingestion.ocr


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
