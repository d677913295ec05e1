"""Materials for generation tests: inserted straight into the database (no PDF, no vectors),
and a stub responder that answers generation prompts with grounded questions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.db.models import Chunk, Material
from tests.support.llm_stub import Reply

BIOLOGY = [
    "Photosynthesis converts light energy into chemical energy stored in glucose molecules. "
    "The light-dependent reactions take place in the thylakoid membranes of the chloroplast. "
    "Chlorophyll absorbs mostly blue and red light and reflects green light. "
    "The Calvin cycle uses carbon dioxide to build sugars in the stroma of the chloroplast.",
    "Cellular respiration releases energy from glucose in the mitochondria of the cell. "
    "Glycolysis splits one glucose molecule into two pyruvate molecules in the cytoplasm. "
    "The Krebs cycle produces carrier molecules that feed the electron transport chain. "
    "Oxidative phosphorylation makes most of the ATP that a working muscle cell consumes.",
    "Enzymes are proteins that speed up chemical reactions without being consumed. "
    "Each enzyme binds its substrate at an active site with a specific shape. "
    "High temperatures denature enzymes by breaking the bonds that hold their shape. "
    "Competitive inhibitors block the active site and slow the reaction rate.",
    "Mitosis produces two genetically identical daughter cells from one parent cell. "
    "Meiosis halves the chromosome number and produces four haploid gametes. "
    "Crossing over during meiosis exchanges segments between homologous chromosomes. "
    "Errors in chromosome separation can lead to conditions such as trisomy.",
]

HISTORY = [
    "The Roman Republic was governed by two consuls elected every year by the assemblies. "
    "The Senate advised the consuls and controlled the treasury of the Republic. "
    "Julius Caesar crossed the Rubicon river with his legion in 49 BC. "
    "Augustus became the first emperor and ruled for more than forty years.",
    "The aqueducts carried fresh water across long distances into Roman cities. "
    "Roman engineers used concrete made from volcanic ash to build lasting harbours. "
    "The Colosseum hosted gladiator contests in front of tens of thousands of spectators. "
    "Latin remained the language of scholarship in Europe for many centuries.",
]


def add_material(
    session_factory: sessionmaker[Session], user_id: int, title: str, pages: list[str]
) -> tuple[int, list[int]]:
    """A ready material with one chunk per page; returns (material id, chunk ids)."""
    digest = hashlib.sha256(("\n".join(pages) + title + str(user_id)).encode()).hexdigest()
    with session_factory.begin() as session:
        m = Material(
            user_id=user_id,
            title=title,
            filename=f"{title}.pdf",
            sha256=digest,
            size_bytes=sum(len(p) for p in pages),
            page_count=len(pages),
            chunk_count=len(pages),
            status="ready",
        )
        session.add(m)
        session.flush()
        ids, offset = [], 0
        for i, text in enumerate(pages):
            c = Chunk(
                user_id=user_id,
                material_id=m.id,
                ordinal=i,
                text=text,
                page_start=i + 1,
                page_end=i + 1,
                char_start=offset,
                char_end=offset + len(text),
                token_count=len(text.split()),
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
            )
            offset += len(text) + 2
            session.add(c)
            session.flush()
            ids.append(c.id)
        return m.id, ids


_PASSAGE = re.compile(
    r"<<<PASSAGE id=(\d+) material=\"[^\"]*\" pages=[\d-]+>>>\n(.*?)\n"
    r"<<<END PASSAGE id=\1>>>",
    re.DOTALL,
)


def prompt_passages(body: dict[str, Any]) -> list[tuple[int, str]]:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return [(int(i), t) for i, t in _PASSAGE.findall(user)]


def prompt_count(body: dict[str, Any]) -> int:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return int(re.search(r"Write (\d+) question", user).group(1))


def grounded_items(
    body: dict[str, Any], qtype: str = "mcq", seen: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """Valid, grounded questions for the passages in a generation prompt. With `seen`
    (questions asked so far per chunk, updated), later calls quote later sentences."""
    usable = []
    for chunk_id, text in prompt_passages(body):
        sentences = [
            s.strip()
            for s in re.split(r"(?<=\.)\s+", text)
            if 30 < len(s.strip()) <= 400 and re.search(r"[A-Za-z]{4,}", s)
        ]
        if sentences:
            usable.append((chunk_id, sentences))
    items = []
    for i in range(prompt_count(body) if usable else 0):
        chunk_id, sentences = usable[i % len(usable)]
        offset = 0
        if seen is not None:
            offset = seen.get(chunk_id, 0)
            seen[chunk_id] = offset + 1
        sentence = sentences[(offset + i // len(usable)) % len(sentences)]
        answer = max(re.findall(r"[A-Za-z]{4,}", sentence), key=len)
        blanked = sentence.replace(answer, "_____", 1)
        item: dict[str, Any] = {
            "type": qtype,
            "answer": answer,
            "difficulty": 3,
            "chunk_ids": [chunk_id],
            "excerpt": sentence,
            "key_points": [],
            "explanation": f"The source states: {sentence} The other options are not used.",
        }
        if qtype == "mcq":
            item.update(
                stem=f"Which word completes: '{blanked}'?",
                options=[answer, f"Zorblat {i}", f"Quenmar {i}", f"Vexil {i}"],
                correct_index=0,
            )
        elif qtype == "cloze":
            item.update(stem=blanked, options=None, correct_index=None)
        else:
            item.update(
                stem=f"Explain what the material says about {answer.lower()}.",
                options=None,
                correct_index=None,
                answer=sentence,
                key_points=[answer],
            )
        items.append(item)
    return items


def grounded_responder(
    qtype: str = "mcq",
    mutate: Callable[[list[dict[str, Any]]], Any] | None = None,
    *,
    rotate: bool = False,
) -> Callable[[dict[str, Any]], Reply]:
    """A stub responder answering every generation prompt with grounded questions
    (optionally changed by `mutate(items)`, which may return a replacement payload). With
    `rotate`, each passage is quoted at a later sentence each time, as a model varies."""
    seen: dict[int, int] | None = {} if rotate else None

    def respond(body: dict[str, Any]) -> Reply:
        items = grounded_items(body, qtype, seen)
        payload: Any = {"questions": items}
        if mutate is not None:
            changed = mutate(items)
            if changed is not None:
                payload = changed
        content = payload if isinstance(payload, str) else json.dumps(payload)
        return Reply(content=content, prompt_tokens=400, completion_tokens=150 * len(items))

    return respond
