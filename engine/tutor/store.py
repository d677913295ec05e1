"""Conversations and messages in PostgreSQL. Every query is filtered by the learner: another
learner's conversation is reported as NotFound, exactly like one that does not exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engine.courses.materials import shared_libraries
from engine.db.models import Chunk, Conversation, Material, MaterialPage, Message
from engine.db.models.tutor import TUTOR_MODES
from engine.domain.passage import page_range_label
from engine.domain.vocabulary import TutorMode
from engine.errors import InvalidInput, NotFound
from engine.runtime import Runtime
from engine.tutor.sources import Source

DEFAULT_TITLE = "New conversation"
TITLE_MAX = 200
AUTO_TITLE_CHARS = 60


@dataclass(frozen=True)
class ConversationView:
    id: int
    title: str
    material_ids: list[int] | None
    mode: str
    created_at: dt.datetime
    updated_at: dt.datetime
    message_count: int = 0


@dataclass(frozen=True)
class MessageView:
    id: int
    role: str
    kind: str
    mode: str
    content: str
    status: str
    citations: list[Source] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    cited_share: float | None = None
    search_query: str | None = None
    model: str | None = None
    created_at: dt.datetime | None = None


def _conv_view(c: Conversation, count: int = 0) -> ConversationView:
    return ConversationView(
        id=c.id,
        title=c.title,
        material_ids=c.material_ids,
        mode=c.mode,
        created_at=c.created_at,
        updated_at=c.updated_at,
        message_count=count,
    )


def _msg_view(m: Message) -> MessageView:
    return MessageView(
        id=m.id,
        role=m.role,
        kind=m.kind,
        mode=m.mode,
        content=m.content,
        status=m.status,
        citations=[Source.from_json(c) for c in m.citations or []],
        sentences=list(m.sentences or []),
        cited_share=m.cited_share,
        search_query=m.search_query,
        model=m.model,
        created_at=m.created_at,
    )


def owned(session: Session, user_id: int, conversation_id: int) -> Conversation:
    conv = session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.user_id == user_id
        )
    )
    if conv is None:
        raise NotFound("This conversation does not exist (it may have been deleted).")
    return conv


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("Give the conversation a name.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"Conversation names can be at most {TITLE_MAX} characters.")
    return title


def _check_materials(
    session: Session, user_id: int, material_ids: list[int] | None
) -> list[int] | None:
    if not material_ids:
        return None
    wanted = sorted({int(m) for m in material_ids})
    mine = set(
        session.scalars(
            select(Material.id).where(Material.user_id == user_id, Material.id.in_(wanted))
        )
    )
    if set(wanted) - mine:
        raise NotFound("A chosen material is not in your library (it may have been deleted).")
    return wanted


def _check_mode(mode: str) -> str:
    if mode not in TUTOR_MODES:
        raise InvalidInput("Choose Explain, Socratic or Quiz me.")
    return mode


def create_conversation(
    rt: Runtime,
    *,
    user_id: int,
    title: str | None = None,
    material_ids: list[int] | None = None,
    mode: str = TutorMode.EXPLAIN,
) -> ConversationView:
    """A new, empty conversation (optionally limited to some of the learner's materials)."""
    with rt.session_factory.begin() as session:
        conv = Conversation(
            user_id=user_id,
            title=_clean_title(title or DEFAULT_TITLE),
            material_ids=_check_materials(session, user_id, material_ids),
            mode=_check_mode(mode),
        )
        session.add(conv)
        session.flush()
        session.refresh(conv)
        return _conv_view(conv)


def list_conversations(rt: Runtime, *, user_id: int) -> list[ConversationView]:
    """The learner's conversations, most recently active first."""
    counts = (
        select(Message.conversation_id, func.count(Message.id).label("n"))
        .where(Message.user_id == user_id)
        .group_by(Message.conversation_id)
        .subquery()
    )
    with rt.session_factory() as session:
        rows = session.execute(
            select(Conversation, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == Conversation.id)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        ).all()
    return [_conv_view(c, int(n)) for c, n in rows]


def get_conversation(rt: Runtime, *, user_id: int, conversation_id: int) -> ConversationView:
    with rt.session_factory() as session:
        return _conv_view(owned(session, user_id, conversation_id))


def update_conversation(
    rt: Runtime,
    *,
    user_id: int,
    conversation_id: int,
    title: str | None = None,
    material_ids: list[int] | None = ...,  # type: ignore[assignment]
    mode: str | None = None,
) -> ConversationView:
    """Rename, change the material filter (None = all materials) or the mode."""
    with rt.session_factory.begin() as session:
        conv = owned(session, user_id, conversation_id)
        if title is not None:
            conv.title = _clean_title(title)
        if material_ids is not ...:
            conv.material_ids = _check_materials(session, user_id, material_ids)
        if mode is not None:
            conv.mode = _check_mode(mode)
        session.flush()
        return _conv_view(conv)


def delete_conversation(rt: Runtime, *, user_id: int, conversation_id: int) -> None:
    """Delete a conversation and all its messages."""
    with rt.session_factory.begin() as session:
        owned(session, user_id, conversation_id)
        session.execute(
            delete(Message).where(
                Message.conversation_id == conversation_id, Message.user_id == user_id
            )
        )
        session.execute(
            delete(Conversation).where(
                Conversation.id == conversation_id, Conversation.user_id == user_id
            )
        )


def list_messages(
    rt: Runtime, *, user_id: int, conversation_id: int, limit: int | None = None
) -> list[MessageView]:
    """The conversation's messages, oldest first (the latest `limit` when given)."""
    with rt.session_factory() as session:
        owned(session, user_id, conversation_id)
        return _messages(session, user_id, conversation_id, limit)


def _messages(
    session: Session, user_id: int, conversation_id: int, limit: int | None
) -> list[MessageView]:
    q = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.user_id == user_id)
        .order_by(Message.id.desc())
    )
    if limit is not None:
        q = q.limit(limit)
    return [_msg_view(m) for m in reversed(session.scalars(q).all())]


def add_message(
    session: Session,
    *,
    user_id: int,
    conversation: Conversation,
    role: str,
    kind: str,
    mode: str,
    content: str,
    **fields: Any,
) -> Message:
    """Append a message and mark the conversation active (titles a new one from its first
    question)."""
    msg = Message(
        conversation_id=conversation.id,
        user_id=user_id,
        role=role,
        kind=kind,
        mode=mode,
        content=content,
        **fields,
    )
    session.add(msg)
    if role == "user" and conversation.title == DEFAULT_TITLE:
        first = " ".join(content.split())
        conversation.title = (
            first[:AUTO_TITLE_CHARS].rstrip() + "…" if len(first) > AUTO_TITLE_CHARS else first
        ) or DEFAULT_TITLE
    session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(updated_at=func.now())
    )
    session.flush()
    return msg


@dataclass(frozen=True)
class CitationView:
    """A cited passage in its pages: the text of the pages it spans split around it."""

    material_title: str
    page_start: int
    page_end: int
    before: str
    passage: str
    after: str

    @property
    def pages(self) -> str:
        return page_range_label(self.page_start, self.page_end)


def citation_view(rt: Runtime, *, user_id: int, chunk_id: int) -> CitationView:
    """The pages of a cited passage with the passage located in them.

    Raises:
        NotFound: the passage is neither the learner's nor of a material shared with a course
            they are enrolled in, or its material was deleted.
    """
    with rt.session_factory() as session:
        row = session.execute(
            select(Chunk, Material.title)
            .join(Material, Material.id == Chunk.material_id)
            .where(Chunk.id == chunk_id, Material.user_id == Chunk.user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("This source is no longer in your library.")
        chunk, title = row
        if chunk.user_id != user_id:
            title = _course_title(session, user_id, chunk, title)
        pages = session.execute(
            select(MaterialPage.text, MaterialPage.char_start)
            .where(
                MaterialPage.material_id == chunk.material_id,
                MaterialPage.user_id == chunk.user_id,
                MaterialPage.number.between(chunk.page_start, chunk.page_end),
            )
            .order_by(MaterialPage.number)
        ).all()
    if not pages:
        raise NotFound("This source is no longer in your library.")
    # The material's text is its pages joined by a blank line; chunk offsets point into it.
    text = "\n\n".join(t for t, _ in pages)
    origin = pages[0][1]
    start = max(0, min(len(text), chunk.char_start - origin))
    end = max(start, min(len(text), chunk.char_end - origin))
    return CitationView(
        material_title=title,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        before=text[:start],
        passage=text[start:end],
        after=text[end:],
    )


def _course_title(session: Session, user_id: int, chunk: Chunk, title: str) -> str:
    """The citation title of a course material's passage ("<course>: <material>"), or
    NotFound when the material is not shared with a course the learner is enrolled in."""
    for shared in shared_libraries(session, user_id):
        if shared.teacher_id == chunk.user_id and chunk.material_id in shared.course_titles:
            return f"{shared.course_titles[chunk.material_id]}: {title}"
    raise NotFound("This source is no longer in your library.")


LEAD_CHARS = 120


def passage_leads(session: Session, *, user_id: int, chunk_ids: list[int]) -> dict[int, str]:
    """For each of the learner's chunks, the document text just before it (up to `LEAD_CHARS`
    characters from the previous chunk; "" for a document's first chunk), so the offline
    answer can tell whether a chunk begins at a sentence start. Chunks not found (another
    learner's, deleted) are left out."""
    if not chunk_ids:
        return {}
    rows = session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.ordinal, Chunk.char_start).where(
            Chunk.user_id == user_id, Chunk.id.in_(chunk_ids)
        )
    ).all()
    wanted = {(m, o - 1): (cid, start) for cid, m, o, start in rows}
    leads = {cid: "" for cid, _, o, _ in rows if o == 0}
    if not wanted:
        return leads
    previous = session.execute(
        select(Chunk.material_id, Chunk.ordinal, Chunk.text, Chunk.char_start).where(
            Chunk.user_id == user_id,
            Chunk.material_id.in_({m for m, _ in wanted}),
            Chunk.ordinal.in_({o for _, o in wanted}),
        )
    ).all()
    for material_id, ordinal, text, start in previous:
        if (material_id, ordinal) not in wanted:
            continue
        cid, chunk_start = wanted[(material_id, ordinal)]
        before = text[: max(0, chunk_start - start)]
        # Chunks that do not overlap (a new section) are separated by whitespace at least.
        leads[cid] = before[-LEAD_CHARS:] + ("" if chunk_start - start <= len(text) else "\n\n")
    return leads


def passage_trails(session: Session, *, user_id: int, chunk_ids: list[int]) -> dict[int, str]:
    """For each of the learner's chunks, the document text just after it (up to `LEAD_CHARS`
    characters of the next chunk; "" for a document's last chunk), so the offline answer can
    tell whether a list item at the chunk's end is whole. Chunks not found are left out."""
    if not chunk_ids:
        return {}
    rows = session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.ordinal, Chunk.char_end).where(
            Chunk.user_id == user_id, Chunk.id.in_(chunk_ids)
        )
    ).all()
    wanted = {(m, o + 1): (cid, end) for cid, m, o, end in rows}
    trails = {cid: "" for cid, _, _, _ in rows}
    following = session.execute(
        select(Chunk.material_id, Chunk.ordinal, Chunk.text, Chunk.char_start).where(
            Chunk.user_id == user_id,
            Chunk.material_id.in_({m for m, _ in wanted}),
            Chunk.ordinal.in_({o for _, o in wanted}),
        )
    ).all()
    for material_id, ordinal, text, start in following:
        if (material_id, ordinal) not in wanted:
            continue
        cid, chunk_end = wanted[(material_id, ordinal)]
        # Chunks that do not touch (a new section) are separated by whitespace at least.
        gap = "\n\n" if start > chunk_end else ""
        trails[cid] = gap + text[max(0, chunk_end - start) :][:LEAD_CHARS]
    return trails


def _quiz_message(session: Session, user_id: int, message_id: int) -> Message:
    msg = session.scalar(
        select(Message).where(
            Message.id == message_id, Message.user_id == user_id, Message.kind == "quiz"
        )
    )
    if msg is None:
        raise NotFound("This quiz is no longer in your conversations.")
    return msg


def set_quiz_item(
    session: Session, *, user_id: int, message_id: int, index: int, **changes: Any
) -> dict[str, Any]:
    """Change one question of a stored quiz (its state, the learner's answer...).

    Raises:
        NotFound: the quiz or the question is not the learner's.
    """
    msg = _quiz_message(session, user_id, message_id)
    items = [dict(s) for s in (msg.sentences or [])]
    if not 0 <= index < len(items) or "quiz" not in items[index]:
        raise NotFound("This question is no longer in the quiz.")
    items[index].update(changes)
    msg.sentences = items  # a new list, so the JSON column is written
    return items[index]


def rejected_quiz_keys(session: Session, user_id: int) -> set[str]:
    """The dedupe keys of every quiz question the learner rejected, in any conversation."""
    rows = session.scalars(
        select(Message.sentences).where(Message.user_id == user_id, Message.kind == "quiz")
    ).all()
    return {
        s["key"]
        for sentences in rows
        for s in (sentences or [])
        if s.get("state") == "rejected" and s.get("key")
    }
