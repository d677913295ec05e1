"""From Anki notes and cards to Groundwork questions: pure.

* Fields are HTML; they become safe plain text: tags dropped, entities decoded, line breaks,
  paragraphs and list items kept as lines ("- " before each list item), sounds and videos
  dropped (counted as skipped media references), control characters removed. Images the
  package holds and that passed the checks (engine.interop.anki_media) go with the question,
  on the side of the card whose field shows them; the note's HTML is never kept.
* A card of a standard note type (Basic, "and reversed", custom) becomes a self-rated
  flashcard (type 'short', form 'flashcard'): the front is the fields its question template
  shows, the back the fields its answer template adds. A reversed card is simply the card
  whose template shows the other field first.
* A cloze card becomes a cloze question per deletion number, as Anki makes one card per
  number: that number's deletions become blanks `_____` (answers in order, ';'-separated, as
  grading reads several blanks); the other deletions show their answers.
* The deck (its full path, levels joined by '::') becomes the question's topic; a card in
  Anki's "Default" deck, where collections organised by tags keep everything, takes its
  note's first tag instead (tags are hierarchical with '::' too). Every tag of the note goes
  with each of its questions (engine.bank.tags), paths kept, control characters removed,
  each once (Anki's tags ignore case), at most 200 characters.
* Each question is keyed `anki:<note guid>:<card ord>`, so a re-import updates it.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

from engine.domain.vocabulary import FLASHCARD_FORM, QuestionType
from engine.interop.anki_media import image_names
from engine.interop.anki_package import Card, Collection, NoteType

BLANK = "_____"
CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
FIELD_REF = re.compile(r"\{\{([^{}]+)\}\}")
SOUND = re.compile(r"\[sound:[^\]]*\]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 20_000
DEFAULT_DECK = "Default"
PICTURE = "(picture)"
MAX_TAG = 200


@dataclass(frozen=True)
class ImportedQuestion:
    key: str
    card_id: int
    type: str  # 'short' (flashcard) or 'cloze'
    form: str | None
    stem: str
    answer: str
    explanation: str
    topic: str | None
    deck: str
    images: tuple[tuple[str, str], ...] = ()  # (side: 'question'/'answer', package name)
    tags: tuple[str, ...] = ()  # the note's tags, paths kept ("Lang::Spanish")


@dataclass(frozen=True)
class Converted:
    questions: list[ImportedQuestion]
    skipped: dict[str, int]


_BREAK_TAGS = {"br", "div", "p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.media = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("audio", "video"):
            self.media += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def sanitise(field: str) -> tuple[str, int]:
    """A field's safe plain text and how many sound or video references it dropped (images
    are kept apart: `anki_media.image_names`)."""
    sounds = len(SOUND.findall(field))
    parser = _Text()
    parser.feed(SOUND.sub("", field))
    parser.close()
    text = CONTROL.sub("", html.unescape("".join(parser.parts))).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)[:MAX_TEXT], parser.media + sounds


def _field_names(template: str, known: tuple[str, ...]) -> list[str]:
    names = []
    for ref in FIELD_REF.findall(template):
        ref = ref.strip()
        if ref[:1] in "#/^!" or ref == "FrontSide":
            continue
        name = ref.split(":")[-1].strip()
        if name in known and name not in names:
            names.append(name)
    return names


def _cloze_question(text: str, number: int) -> tuple[str, str] | None:
    answers: list[str] = []

    def replace(m: re.Match[str]) -> str:
        if int(m[1]) == number:
            answers.append(m[2].strip())
            return BLANK
        return m[2]

    stem = CLOZE.sub(replace, text)
    if not answers:
        return None
    return stem, "; ".join(answers)


def clean_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """A note's tags as kept: control characters removed, each once (ignoring case, as Anki
    does), in the note's order, at most MAX_TAG characters."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in tags:
        tag = CONTROL.sub("", raw).strip()[:MAX_TAG]
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return tuple(out)


def convert(collection: Collection) -> Converted:
    """One question per card the converter understands; the rest counted in `skipped`."""
    skipped: Counter[str] = Counter()
    notes = {n.id: n for n in collection.notes}
    questions: list[ImportedQuestion] = []
    for card in collection.cards:
        note = notes.get(card.note_id)
        notetype = collection.notetypes.get(note.notetype_id) if note else None
        if note is None or notetype is None:
            skipped["card_without_note"] += 1
            continue
        values: dict[str, str] = {}
        pictures: dict[str, list[str]] = {}
        for name, raw in zip(notetype.fields, note.fields, strict=False):
            values[name], media = sanitise(raw)
            skipped["media_reference"] += media
            pictures[name] = [n for n in image_names(raw) if n in collection.images]
            if pictures[name] and not values[name]:
                values[name] = PICTURE  # a side that is only a picture is not empty
        deck = collection.decks.get(card.deck_id, DEFAULT_DECK)
        tags = clean_tags(note.tags)
        topic = tags[0] if deck == DEFAULT_DECK and tags else deck
        made = (
            _cloze(card, notetype, values) if notetype.cloze else _flashcard(card, notetype, values)
        )
        if made is None:
            skipped["empty_card"] += 1
            continue
        kind, stem, answer, explanation, sides = made
        questions.append(
            ImportedQuestion(
                key=f"anki:{note.guid}:{card.ord}"[:160],
                card_id=card.id,
                type=kind,
                form=FLASHCARD_FORM if kind == QuestionType.SHORT else None,
                stem=stem,
                answer=answer,
                explanation=explanation,
                topic=topic[:200] or None,
                deck=deck,
                tags=tags,
                images=tuple(
                    (side, picture)
                    for side, names in zip(("question", "answer"), sides, strict=True)
                    for name in names
                    for picture in pictures.get(name, ())
                ),
            )
        )
    return Converted(questions, {k: v for k, v in skipped.items() if v})


# (type, stem, answer, explanation, (question side's fields, answer side's fields))
Made = tuple[str, str, str, str, tuple[list[str], list[str]]]


def _cloze(card: Card, notetype: NoteType, values: dict[str, str]) -> Made | None:
    text_field = notetype.fields[0] if notetype.fields else ""
    if notetype.templates:
        refs = [r.strip() for r in FIELD_REF.findall(notetype.templates[0][0])]
        cloze_refs = [r.split(":", 1)[1] for r in refs if r.startswith("cloze:")]
        text_field = cloze_refs[0] if cloze_refs and cloze_refs[0] in values else text_field
    made = _cloze_question(values.get(text_field, ""), card.ord + 1)
    if made is None or not made[0].strip():
        return None
    others = [k for k in values if k != text_field]
    extra = "\n".join(values[k] for k in others if values[k])
    return "cloze", made[0], made[1], extra, ([text_field], others)


def _flashcard(card: Card, notetype: NoteType, values: dict[str, str]) -> Made | None:
    if card.ord >= len(notetype.templates):
        return None
    qfmt, afmt = notetype.templates[card.ord]
    front_names = _field_names(qfmt, notetype.fields)
    back_names = [n for n in _field_names(afmt, notetype.fields) if n not in front_names]
    front = "\n".join(values[n] for n in front_names if values.get(n))
    back = "\n".join(values[n] for n in back_names if values.get(n))
    if not front or not back:
        return None
    return "short", front, back, "", (front_names, back_names)
