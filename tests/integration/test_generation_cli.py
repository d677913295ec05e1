"""`python -m engine generate` in-process against the test database."""

from __future__ import annotations

import json

import pytest

from engine.__main__ import main
from engine.bank import service as bank
from engine.bootstrap import get_runtime
from engine.config import get_settings
from tests.support.generation_data import BIOLOGY, HISTORY, add_material, grounded_responder


@pytest.fixture
def cli_runtime(settings):
    get_runtime.cache_clear()
    yield
    rt = get_runtime()
    get_runtime.cache_clear()
    rt.close()


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_generate_prints_json_lines_and_saves_only_with_accept(
    cli_runtime, make_user, session_factory, capsys, runtime
):
    user_id = make_user("cli@example.com")
    bio, _ = add_material(session_factory, user_id, "Biology", BIOLOGY)
    add_material(session_factory, user_id, "History", HISTORY)

    assert (
        main(
            [
                "generate",
                "--user",
                "cli@example.com",
                "--material",
                str(bio),
                "--type",
                "cloze",
                "--count",
                "3",
                "--json",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    records = _lines(out.out)
    assert len(records) == 3
    for r in records:
        assert r["type"] == "cloze" and r["id"] is None
        assert r["material_id"] == bio and r["chunk_ids"] and r["excerpt"] and r["page_start"]
        assert r["answer"] and r["explanation"]
    assert "not saved" in out.err
    assert bank.list_questions(runtime, user_id=user_id).total == 0

    assert (
        main(
            [
                "generate",
                "--user",
                "cli@example.com",
                "--type",
                "mcq",
                "--count",
                "2",
                "--accept",
                "--json",
            ]
        )
        == 0
    )
    records = _lines(capsys.readouterr().out)
    assert len(records) == 2 and all(isinstance(r["id"], int) for r in records)
    assert all(len(r["options"]) == 4 and 0 <= r["correct_index"] < 4 for r in records)
    assert bank.list_questions(runtime, user_id=user_id).total == 2


@pytest.mark.slow
def test_generate_with_model_and_errors(
    cli_runtime, make_user, session_factory, capsys, llm_stub, monkeypatch
):
    user_id = make_user("cli2@example.com")
    add_material(session_factory, user_id, "Biology", BIOLOGY)
    for k, v in llm_stub.env_for().items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    llm_stub.responder = grounded_responder("short")
    assert (
        main(
            ["generate", "--user", "cli2@example.com", "--type", "short", "--count", "1", "--json"]
        )
        == 0
    )
    (record,) = _lines(capsys.readouterr().out)
    assert record["generator"] == "llm" and record["model"] == "openai/stub-model"
    assert record["key_points"]

    assert main(["generate", "--user", "nobody@example.com", "--json"]) == 1
    assert "error:" in capsys.readouterr().err
    assert main(["generate", "--user", "cli2@example.com", "--count", "500", "--json"]) == 1
    assert "between 1 and" in capsys.readouterr().err
