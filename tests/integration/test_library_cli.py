"""`python -m engine ingest|search`: one line per file, exit status 1 when a file is refused."""

from __future__ import annotations

import pytest

from engine.__main__ import main
from engine.bootstrap import get_runtime
from tests.support.library_pdfs import blank_pages_pdf, encrypted_pdf, text_pdf

COMETS = (
    "Comets are icy bodies; near the Sun their ice sublimates and forms a coma and a tail "
    "that always points away from the Sun."
)


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "a long enough password 42")
    get_runtime.cache_clear()
    yield main
    get_runtime().close()
    get_runtime.cache_clear()


def test_ingest_then_search(cli, tmp_path, capsys):
    good = tmp_path / "comets.pdf"
    good.write_bytes(text_pdf([COMETS], title="Comets"))
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(blank_pages_pdf(1))
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted_pdf(COMETS + " Locked copy.", "pw-123"))

    assert cli(["ingest", str(good), "--user", "cli@example.com", "--create-user"]) == 0
    out = capsys.readouterr().out
    assert "created learner cli@example.com" in out
    assert "ingested  " in out and "'Comets', 1 pages, 1 chunks" in out

    status = cli(
        [
            "ingest",
            str(good),
            str(scan),
            str(locked),
            str(tmp_path / "missing.pdf"),
            "--user",
            "cli@example.com",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0].startswith("present ") and "already in the library" in out[0]
    assert out[1].startswith("refused ") and "no text" in out[1]
    assert out[2].startswith("refused ") and "password" in out[2]
    assert out[3].startswith("refused ") and "missing.pdf" in out[3]

    assert cli(["ingest", str(locked), "--user", "cli@example.com", "--password", "pw-123"]) == 0
    assert "ingested" in capsys.readouterr().out

    assert cli(["search", "--user", "cli@example.com", "why does a comet tail point away"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "Comets, p. 1" in out and "sublimates" in out


def test_unknown_learner_is_an_error(cli, tmp_path, capsys):
    assert cli(["search", "--user", "nobody@example.com", "anything"]) == 1
    assert "nobody@example.com" in capsys.readouterr().err


@pytest.mark.slow
def test_ingest_json_and_pages_json_report_ocr_pages(cli, tmp_path, capsys):
    import json

    from tests.support.library_pdfs import scanned_pdf

    mixed = tmp_path / "mixed.pdf"
    mixed.write_bytes(scanned_pdf([None, COMETS * 2]))
    blank = tmp_path / "blank.pdf"
    blank.write_bytes(blank_pages_pdf(1))
    status = cli(
        ["ingest", str(mixed), str(blank), "--user", "json@example.com", "--create-user", "--json"]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert lines[0]["file"] == str(mixed) and lines[0]["pages"] == 2
    assert lines[0]["ocr_pages"] == 1 and isinstance(lines[0]["material_id"], int)
    assert lines[1]["file"] == str(blank) and "no text" in lines[1]["refused"]

    assert (
        cli(["pages", "--user", "json@example.com", "--material", str(lines[0]["material_id"])])
        == 0
    )
    pages = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["page"], p["ocr"]) for p in pages] == [(1, False), (2, True)]
    assert "near the Sun their ice sublimates" in " ".join(pages[1]["text"].split())
