"""Reading PDFs in a separate process: text per page, and every kind of bad file refused with
its reason within the configured time and memory limits, without harming this process."""

from __future__ import annotations

import os

import pytest

from engine.config import Settings
from engine.errors import PdfEncrypted, PdfMalformed, PdfNoText, PdfTooLarge
from engine.ingestion.pdf import read_pdf
from tests.support.library_pdfs import (
    blank_pages_pdf,
    decompression_bomb_pdf,
    encrypted_pdf,
    mixed_pdf,
    text_pdf,
    truncated_pdf,
)


@pytest.fixture
def limits(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path, pdf_page_timeout_s=4, pdf_parse_timeout_s=20, pdf_parse_memory_mb=1024
    )


def test_reads_each_page_and_the_title(limits):
    pdf = read_pdf(
        text_pdf(["First page about lift.", "Second page about drag."], title="Wings"),
        settings=limits,
    )
    assert pdf.page_count == 2 and pdf.title == "Wings"
    assert pdf.pages[1] == "Second page about drag."
    assert pdf.pages_without_text == []


def test_reports_progress_page_by_page(limits):
    seen = []
    read_pdf(
        text_pdf(["one page", "two page", "three page"]),
        settings=limits,
        on_page=lambda n, total, ocr_page: seen.append((n, total, ocr_page)),
    )
    assert seen == [(1, 3, None), (2, 3, None), (3, 3, None)]


@pytest.mark.slow
def test_lists_pages_without_text(limits):
    pdf = read_pdf(mixed_pdf([None, "Readable words on page two.", None]), settings=limits)
    assert pdf.pages_without_text == [1, 3]
    assert pdf.pages[0] == "" and "Readable" in pdf.pages[1]


@pytest.mark.slow
def test_image_only_pdf_has_no_text(limits):
    with pytest.raises(PdfNoText) as caught:
        read_pdf(blank_pages_pdf(3), settings=limits)
    assert "None of its 3 pages" in caught.value.user_message
    assert "1, 2, 3" in caught.value.detail


def test_encrypted_needs_the_right_password(limits):
    data = encrypted_pdf("Confidential notes on thermodynamics.", "open sesame")
    with pytest.raises(PdfEncrypted, match="protected by a password"):
        read_pdf(data, settings=limits)
    with pytest.raises(PdfEncrypted, match="does not open"):
        read_pdf(data, settings=limits, password="open barley")
    assert "thermodynamics" in read_pdf(data, settings=limits, password="open sesame").pages[0]


@pytest.mark.parametrize(
    "data",
    [truncated_pdf(), b"%PDF-1.7\n" + os.urandom(2000), b"<html>not a pdf</html>"],
    ids=["truncated", "noise", "html"],
)
def test_damaged_files_are_malformed(limits, data):
    with pytest.raises(PdfMalformed):
        read_pdf(data, settings=limits)


def test_too_many_bytes_is_refused_before_reading(tmp_path):
    s = Settings(data_dir=tmp_path, upload_max_mb=1)
    with pytest.raises(PdfTooLarge, match="limit is 1 MB"):
        read_pdf(b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1), settings=s)


def test_an_upload_is_refused_by_the_same_size_limit_as_it_streams_in(tmp_path):
    import io
    from types import SimpleNamespace

    from engine.jobs.spool import spool_upload

    s = Settings(data_dir=tmp_path, upload_max_mb=1)
    rt = SimpleNamespace(settings=s)  # spooling uses only the runtime's settings
    path, _, size = spool_upload(rt, source=io.BytesIO(b"0" * (1024 * 1024)))
    assert size == 1024 * 1024 and path.is_file()
    with pytest.raises(PdfTooLarge, match="limit is 1 MB"):
        spool_upload(rt, source=io.BytesIO(b"0" * (1024 * 1024 + 1)))
    assert list(s.storage.spool_path.iterdir()) == [path]  # the refused upload left nothing behind


def test_too_many_pages_is_refused(tmp_path):
    s = Settings(data_dir=tmp_path, pdf_max_pages=2)
    with pytest.raises(PdfTooLarge, match="3 pages"):
        read_pdf(text_pdf(["a page", "b page", "c page"]), settings=s)


def test_decompression_bomb_is_stopped_by_the_time_limit(tmp_path):
    s = Settings(data_dir=tmp_path, pdf_page_timeout_s=2, pdf_parse_timeout_s=30)
    with pytest.raises(PdfTooLarge, match="took too long"):
        read_pdf(decompression_bomb_pdf(), settings=s)


def test_decompression_bomb_is_stopped_by_the_memory_limit(tmp_path):
    s = Settings(
        data_dir=tmp_path, pdf_page_timeout_s=120, pdf_parse_timeout_s=120, pdf_parse_memory_mb=160
    )
    with pytest.raises(PdfTooLarge, match="more memory"):
        read_pdf(decompression_bomb_pdf(), settings=s)


def test_the_reader_process_gets_no_secrets(limits, tmp_path, monkeypatch):
    """The child that parses untrusted PDFs sees an allow-listed environment: no database URL,
    provider API keys, cookie key or other settings of ours."""
    from engine.ingestion import pdf as pdf_module

    secrets = {
        "DATABASE_URL": "postgresql://app:hunter2@db/groundwork",
        "OPENAI_API_KEY": "sk-secret",
        "ANTHROPIC_API_KEY": "sk-ant-secret",
        "GROUNDWORK_LLM_API_KEY": "sk-gw-secret",
        "GROUNDWORK_COOKIE_KEY": "k" * 40,
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    spy = tmp_path / "env_worker.py"
    spy.write_text(
        "import json, os, sys\n"
        "sys.stdin.read()\n"
        "print(json.dumps({'kind': 'error', 'reason': 'damaged',\n"
        "                  'detail': json.dumps(dict(os.environ))}), flush=True)\n"
    )
    monkeypatch.setattr(pdf_module, "_WORKER", spy)
    with pytest.raises(PdfMalformed) as info:
        read_pdf(text_pdf(["Some text to read."]), settings=limits)
    import json

    child_env = json.loads(info.value.detail)
    assert not set(secrets) & set(child_env)
    assert not any(v in child_env.values() for v in secrets.values())
    assert "PATH" in child_env  # what the interpreter needs is still there
    # The real reader still works in that environment.
    monkeypatch.undo()
    assert read_pdf(text_pdf(["A page about lift and drag."]), settings=limits).pages
