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
from engine.errors import PdfEncrypted, PdfMalformed, PdfNoText, PdfTooLarge, PdfTooMuchText
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

    @property
    def page_count(self) -> int:
        return len(self.pages)


PageCallback = Callable[[int, int], None]  # (pages read, page count)


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
) -> PdfText:
    """Extract each page's text in a child process under the limits in `settings`.

    Args:
        data: the PDF file's bytes.
        settings: limits (`upload_max_mb`, `pdf_max_pages`, `pdf_parse_timeout_s`,
            `pdf_page_timeout_s`, `pdf_parse_memory_mb`).
        password: the password for an encrypted PDF, if the learner gave one.
        on_page: called after each page with (pages read, page count).

    Returns:
        The text of every page; pages without usable text are empty strings and listed.

    Raises:
        PdfTooLarge: too many bytes or pages, too slow, or too much memory.
        PdfTooMuchText: more characters of text than `pdf_max_chars_per_byte` per byte of
            file (checked as pages arrive; the reader is stopped at once).
        PdfEncrypted: a password is needed, or the one given is wrong.
        PdfMalformed: not a PDF, or too damaged to read.
        PdfNoText: no page has usable text (scanned, image-only or garbled).
    """
    check_size(len(data), settings)
    if b"%PDF-" not in data[:1024]:
        raise PdfMalformed("This file is not a PDF (it does not start like one).")

    fd, tmp = tempfile.mkstemp(suffix=".pdf", prefix="groundwork-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        messages = _run_worker(Path(tmp), password=password, settings=settings, on_page=on_page,
                               text_budget=_TextBudget(len(data), settings))
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _assemble(messages)


# What the reader process may see of our environment: nothing that grants access (database
# URL, provider keys, cookie key, settings), only what Python and the locale need.
_WORKER_ENV_ALLOWED = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
                       "TEMP", "TMP", "SYSTEMROOT")


def worker_env() -> dict[str, str]:
    """The reader process's environment: an allow-list, never the whole of ours."""
    env = {k: os.environ[k] for k in _WORKER_ENV_ALLOWED if k in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run_worker(
    path: Path, *, password: str | None, settings: Settings, on_page: PageCallback | None,
    text_budget: _TextBudget,
) -> list[dict]:
    """The reader process's messages about the file at `path`, read under the time limits."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-X", "utf8", str(_WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=worker_env(),
        close_fds=True,
    )
    reading = _Reading(_Clock(settings), on_page, text_budget)
    try:
        _send_request(proc, path=path, password=password, settings=settings)
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


def _send_request(proc: subprocess.Popen, *, path: Path, password: str | None,
                  settings: Settings) -> None:
    request = {
        "path": str(path),
        "password": password,
        "max_pages": settings.ingestion.pdf_max_pages,
        "memory_mb": settings.ingestion.pdf_parse_memory_mb,
        "cpu_s": max(1, int(settings.ingestion.pdf_parse_timeout_s) + 1),
    }
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(request).encode())
    proc.stdin.close()


class _Clock:
    """The time limits of one reading: the whole file, and each page (from the last one)."""

    def __init__(self, settings: Settings) -> None:
        self.page_s = settings.ingestion.pdf_page_timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + settings.ingestion.pdf_parse_timeout_s
        self.page_deadline = self.started + self.page_s

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
                detail=f"chars={self.chars} bytes={self.size_bytes}")


class _Reading:
    """The messages received so far, with the page count and progress they report."""

    def __init__(self, clock: _Clock, on_page: PageCallback | None,
                 text_budget: _TextBudget) -> None:
        self.clock, self.on_page, self.text_budget = clock, on_page, text_budget
        self.messages: list[dict] = []
        self.page_count = 0

    def take(self, msg: dict) -> bool:
        """Record one message; True when it is the last one."""
        self.messages.append(msg)
        kind = msg["kind"]
        if kind == "meta":
            self.page_count = msg["page_count"]
        if kind == "page":
            self.text_budget.add(msg["number"], msg["text"])
        if kind in ("meta", "page"):
            self.clock.page_read()
        if kind == "page" and self.on_page is not None:
            self.on_page(msg["number"], self.page_count)
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
    log.warning("PDF reader process failed", extra={"returncode": returncode,
                                                     "stderr": stderr[-500:]})
    if "MemoryError" in stderr or returncode in (-9, -24) or returncode == -int(
        getattr(__import__("signal"), "SIGXCPU", 24)
    ):
        raise PdfTooLarge(
            "This PDF needs more memory or time to read than allowed, so it was refused. "
            "It may be a decompression bomb or an unusually complex file."
        )
    raise PdfMalformed(
        "This PDF is damaged and could not be read.", detail=f"reader exited {returncode}"
    )


def _assemble(messages: list[dict]) -> PdfText:
    last = messages[-1]
    if last["kind"] == "error":
        reason, detail = last["reason"], last.get("detail")
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
    page_msgs = [m for m in messages if m["kind"] == "page"]
    for m in page_msgs:
        if m.get("layout_error"):
            log.info("page %s read in drawing order: layout mode failed (%s)", m["number"],
                     m["layout_error"])
    raw = [m["text"] if has_text(m["text"], untrusted=m["untrusted"]) else ""
           for m in page_msgs]
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
    if len(empty) == len(pages):
        errors = sum(1 for m in messages if m["kind"] == "page" and m.get("error"))
        if errors == len(pages):
            raise PdfMalformed("This PDF is damaged: none of its pages could be read.")
        which = ("Its only page has no" if len(pages) == 1
                 else f"None of its {len(pages)} pages has a")
        raise PdfNoText(
            f"This PDF has no text that can be read. {which} usable text layer (it may be "
            "scanned or made of images, or its text is stored in a broken encoding). Run it "
            "through OCR first, then upload the result.",
            detail=f"pages without text: {_page_list(empty)}",
        )
    return PdfText(pages=pages, title=meta.get("title"), pages_without_text=empty,
                   title_lines=list(meta.get("title_lines") or []))


def describe_pages(numbers: list[int]) -> str:
    """'page 3' / 'pages 3, 5 and 7 more' for notes shown to the learner."""
    return ("page " if len(numbers) == 1 else "pages ") + _page_list(numbers)
