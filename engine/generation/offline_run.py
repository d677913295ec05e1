"""Generation without a language model: the materials' key-term spaces (cached on the runtime)
and the offline generator's candidates, validated, grounded and deduplicated."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import usage
from engine.db.models import Chunk, Material, MaterialPage
from engine.domain.language import is_supported, page_languages
from engine.domain.passage import Passage
from engine.generation import offline
from engine.generation.drafts import Draft
from engine.generation.metering import Run
from engine.generation.results import Progress
from engine.generation.validation import Deduper, ground, validate
from engine.retrieval.embeddings import model_label
from engine.runtime import Runtime


def material_language(rt: Runtime, session: Session, user_id: int, material: Material) -> str:
    """The material's stored language; for one stored before languages were detected, it is
    detected from its pages now and stored."""
    if material.language is not None:
        return material.language
    pages = session.scalars(
        select(MaterialPage.text)
        .where(MaterialPage.material_id == material.id, MaterialPage.user_id == user_id)
        .order_by(MaterialPage.number)
    ).all()
    if not pages:  # a material without stored pages: its chunks tell
        pages = session.scalars(
            select(Chunk.text)
            .where(Chunk.material_id == material.id, Chunk.user_id == user_id)
            .order_by(Chunk.ordinal)
        ).all()
    main, per_page = page_languages(list(pages))
    with rt.session_factory.begin() as writer:
        writer.execute(
            update(Material)
            .where(Material.id == material.id, Material.user_id == user_id)
            .values(language=main)
        )
        for number, lang in enumerate(per_page, start=1):
            writer.execute(
                update(MaterialPage)
                .where(
                    MaterialPage.material_id == material.id,
                    MaterialPage.user_id == user_id,
                    MaterialPage.number == number,
                )
                .values(language=lang)
            )
    material.language = main
    return main


def _build_space(
    rt: Runtime, session: Session, user_id: int, material: Material
) -> offline.TermSpace:
    texts = session.scalars(
        select(Chunk.text)
        .where(Chunk.user_id == user_id, Chunk.material_id == material.id)
        .order_by(Chunk.ordinal)
    ).all()
    pages = session.scalars(
        select(MaterialPage.text)
        .where(MaterialPage.material_id == material.id, MaterialPage.user_id == user_id)
        .order_by(MaterialPage.number)
    ).all()
    first_page = pages[0] if pages else ""
    # Key terms of the whole document: an even spread of chunks up to the sample size.
    embedder = usage.embedder_for(rt, user_id=user_id)
    space = offline.build_space(
        offline.spread_sample(list(texts)),
        names=offline.author_names(first_page),
        embed=embedder.embed_documents,
        lang=material.language or "en",
        # Which phrases the material fixes, counted over all of it (chunks overlap).
        whole="\n".join(p or "" for p in pages) or None,
    )
    space.cut_openings = offline.cut_openings(list(texts))
    return space


def terms_for(rt: Runtime, session: Session, user_id: int, material: Material) -> offline.TermSpace:
    """The material's key terms in embedding space (cached per material and model)."""

    key = (material.id, material.sha256, model_label(rt.settings))
    return rt.term_cache.get_or_build(key, lambda: _build_space(rt, session, user_id, material))


def generate_offline(
    rt: Runtime,
    run: Run,
    materials: dict[int, Material],
    passages: Sequence[Passage],
    *,
    types: list[str],
    difficulty: int,
    count: int,
    topic: str | None,
    deduper: Deduper,
    used_sentences: set[str],
    on_progress: Callable[[Progress], None] | None,
) -> list[Draft]:
    spaces = {}
    with rt.session_factory() as session:
        for mid in sorted({p.material_id for p in passages} & set(materials)):
            lang = material_language(rt, session, run.user_id, materials[mid])
            if not is_supported(lang):
                # No questions rather than junk: said on the Library and Generate pages.
                run.rejections["language_unsupported"] += 1
                run.unsupported_languages.add(lang)
                continue
            spaces[mid] = terms_for(rt, session, run.user_id, materials[mid])
    passages = [p for p in passages if p.material_id in spaces]

    def rejected(reason: str) -> None:
        run.rejections[reason] += 1

    drafts: list[Draft] = []
    for draft in offline.generate(
        passages,
        spaces,
        count=count * 3,
        types=types,
        difficulty=difficulty,
        topic=topic,
        used_sentences=used_sentences,
        on_reject=rejected,
    ):
        reason = (
            validate(draft, wanted_types=types) or ground(draft, passages) or deduper.check(draft)
        )
        if reason:
            rejected(reason)
            continue
        drafts.append(draft)
        if on_progress is not None:
            on_progress(
                Progress(
                    len(drafts), count, list(drafts), f"{len(drafts)} of {count} question(s) ready"
                )
            )
        if len(drafts) >= count:
            break
    return drafts
