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
from pathlib import Path

from engine.config import Settings
from engine.errors import (
    PdfMalformed,
    PdfTooLarge,
    PdfTooMuchText,
)
from engine.ingestion.pdf_text import PdfText, assemble, describe_pages
from engine.ingestion.reader_process import start_reader, stop_reader

log = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("pdf_worker.py")


# (pages read, page count, the page being read by OCR now or None)
PageCallback = Callable[[int, int, int | None], None]


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
    return assemble(messages, min_confidence=settings.ingestion.ocr_min_confidence)


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
    proc = start_reader([sys.executable, "-X", "utf8", str(_WORKER)], worker_env())
    reading = _Reading(_Clock(settings), on_page, text_budget)
    try:
        _send_request(
            proc, path=path, password=password, settings=settings, ocr_pages_left=ocr_pages_left
        )
        _read_messages(proc, reading)
        if not _finished(reading.messages):  # its output ended early: learn how it exited
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        # else it has said all it will: no need to wait ~0.2 s for its interpreter to shut down
    finally:
        stderr = stop_reader(proc)
    if not _finished(reading.messages):
        in_ocr = any(m["kind"] == "ocr" for m in reading.messages)
        _raise_for_crash(proc.returncode, stderr, in_ocr=in_ocr)
    return reading.messages


def _finished(messages: list[dict]) -> bool:
    return bool(messages) and messages[-1]["kind"] in ("done", "error")


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
                message = _message(line)
                if message is not None:
                    finished = reading.take(message) or finished
    finally:
        sel.close()


def _message(line: bytes) -> dict | None:
    """One message of the reader; None (logged) for a line that is not one."""
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict) or "kind" not in message:
        log.warning("PDF reader wrote a line that is not a message", extra={"line": line[:200]})
        return None
    return message


def _raise_for_crash(returncode: int | None, stderr: str, *, in_ocr: bool = False) -> None:
    """`in_ocr`: the reader died during its OCR pass, where onnxruntime crashes (SIGSEGV)
    rather than failing cleanly when the memory limit stops it."""
    log.warning(
        "PDF reader process failed", extra={"returncode": returncode, "stderr": stderr[-500:]}
    )
    if (
        "MemoryError" in stderr
        or (in_ocr and returncode is not None and returncode < 0)
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


__all__ = ["PageCallback", "PdfText", "check_size", "describe_pages", "read_pdf", "worker_env"]
