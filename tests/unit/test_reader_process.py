"""The PDF reader process is started one file ahead, so a reading starts without waiting for
Python and pypdf to load; the spare one is used only for the same command and environment."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from engine.ingestion import reader_process
from engine.ingestion.pdf import read_pdf, worker_env
from tests.support.library_pdfs import text_pdf

# Says when it started and which environment it has, once it is given its request.
_REPORTER = (
    "import json, os, sys, time\n"
    "started = time.monotonic()\n"
    "request = sys.stdin.read()\n"
    "print(json.dumps({'started': started, 'label': os.environ.get('LABEL'),"
    " 'request': request}), flush=True)\n"
)


@pytest.fixture(autouse=True)
def no_spare():
    reader_process.discard_spare()
    yield
    reader_process.discard_spare()


def _ask(proc, request: str = "go") -> dict:
    out, _ = proc.communicate(request.encode(), timeout=60)
    return json.loads(out)


def _env(label: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "LABEL": label}


def test_the_next_reader_was_started_before_it_was_asked_for():
    command = [sys.executable, "-c", _REPORTER]
    first = reader_process.start_reader(command, _env("a"))
    # The process started ahead for the next file (by pid: on a loaded machine its Python
    # may still be starting when the next file is asked for, so its own clock cannot say).
    assert reader_process._spare is not None
    ahead = reader_process._spare[1].pid
    assert _ask(first)["request"] == "go"
    second = reader_process.start_reader(command, _env("a"))
    report = _ask(second, "next file")
    assert second.pid == ahead and report["request"] == "next file"
    assert second.pid != first.pid


def test_a_spare_started_with_another_environment_or_command_is_not_used():
    command = [sys.executable, "-c", _REPORTER]
    reader_process.start_reader(command, _env("a")).kill()
    asked_at = time.monotonic()
    report = _ask(reader_process.start_reader(command, _env("b")))
    assert report["label"] == "b" and report["started"] >= asked_at
    asked_at = time.monotonic()
    other = [sys.executable, "-X", "utf8", "-c", _REPORTER]
    report = _ask(reader_process.start_reader(other, _env("b")))
    assert report["started"] >= asked_at


def test_a_spare_that_died_is_replaced():
    command = [sys.executable, "-c", _REPORTER]
    reader_process.start_reader(command, _env("a")).kill()
    spare = reader_process._spare
    assert spare is not None
    spare[1].kill()
    spare[1].wait()
    report = _ask(reader_process.start_reader(command, _env("a")))
    assert report["label"] == "a"


def test_pdfs_read_one_after_another_each_get_their_own_text(tmp_path):
    from engine.config import Settings

    settings = Settings(data_dir=tmp_path)
    texts = ["Lift grows with the angle of attack.", "Drag grows with the square of speed."]
    pages = [read_pdf(text_pdf([t]), settings=settings).pages for t in texts]
    assert pages == [[texts[0]], [texts[1]]]
    spare = reader_process._spare
    assert spare is not None and spare[1].poll() is None  # waiting for the next file
    assert dict(spare[0][1]) == worker_env()  # with the reader's allow-listed environment


def test_a_reader_is_stopped_once_it_has_sent_its_last_message(tmp_path, monkeypatch):
    """The reading does not wait for the reader's interpreter to shut down (~0.2 s a file);
    a reader that would run on after its last message does not get to."""
    from engine.config import Settings
    from engine.ingestion import pdf as pdf_module

    marker = tmp_path / "ran-on"
    worker = tmp_path / "lingering_worker.py"
    worker.write_text(
        "import json, sys, time\n"
        "sys.stdin.read()\n"
        "for m in ({'kind': 'meta', 'page_count': 1, 'title': None, 'title_lines': []},\n"
        "          {'kind': 'page', 'number': 1, 'text': 'Lift grows with the angle.',\n"
        "           'error': None, 'untrusted': False, 'layout_error': None},\n"
        "          {'kind': 'done', 'failed_pages': 0}):\n"
        "    print(json.dumps(m), flush=True)\n"
        "time.sleep(2)\n"
        f"open({str(marker)!r}, 'w').close()\n"
    )
    monkeypatch.setattr(pdf_module, "_WORKER", worker)
    pdf = read_pdf(text_pdf(["ignored"]), settings=Settings(data_dir=tmp_path))
    assert pdf.pages == ["Lift grows with the angle."]
    time.sleep(3)
    assert not marker.exists()


def test_a_line_the_reader_prints_that_is_not_a_message_is_skipped(tmp_path, monkeypatch):
    """Libraries in the reader may print (onnxruntime prints its errors): such a line neither
    ends the reading nor escapes as a parsing error."""
    from engine.config import Settings
    from engine.ingestion import pdf as pdf_module

    worker = tmp_path / "chatty_worker.py"
    worker.write_text(
        "import json, sys\n"
        "sys.stdin.read()\n"
        "print('*** EP Error ***', flush=True)\n"
        "print('', flush=True)\n"
        "for m in ({'kind': 'meta', 'page_count': 1, 'title': None, 'title_lines': []},\n"
        "          {'kind': 'page', 'number': 1, 'text': 'Drag grows with speed.',\n"
        "           'error': None, 'untrusted': False, 'layout_error': None},\n"
        "          {'kind': 'done', 'failed_pages': 0}):\n"
        "    print(json.dumps(m), flush=True)\n"
    )
    monkeypatch.setattr(pdf_module, "_WORKER", worker)
    pdf = read_pdf(text_pdf(["ignored"]), settings=Settings(data_dir=tmp_path))
    assert pdf.pages == ["Drag grows with speed."]
