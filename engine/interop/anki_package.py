"""Reading an Anki package (`.apkg` deck or `.colpkg` collection) into plain values.

Two layouts are read:

* legacy: a zip holding `collection.anki2` (or `collection.anki21`), an SQLite database of
  schema 11 whose note types and decks are JSON in the `col` row, and a JSON media map
  (`media`: `{"0": "picture.jpg"}`);
* current (Anki 2.1.50+): `collection.anki21b`, the same database zstd-compressed, schema
  15-18 with note types, fields, templates and decks in their own tables (their settings are
  protobuf), a zstd-compressed protobuf media map, and a stub `collection.anki2` that only
  says "please update Anki", which is ignored.

Refused, with the reason, before anything is imported: more bytes than the size limit; not a
zip; no collection; contents that unpack to more than the unpacked limit or more media files
than allowed (a compression bomb); a database SQLite cannot read or check; a schema version
this reader does not know.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field, replace

import zstandard

from engine.interop.anki_media import PackageImage, image_names, read_images
from engine.interop.anki_proto import AnkiPackageRefused, proto_fields

LEGACY_SCHEMA = 11
TABLE_SCHEMAS = range(15, 19)  # note types in their own tables (Anki 2.1.28+)
COLLECTION_NAMES = ("collection.anki21b", "collection.anki21", "collection.anki2")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_unpacked_bytes: int
    max_media_files: int
    max_image_bytes: int = 2_000_000


@dataclass(frozen=True)
class NoteType:
    id: int
    name: str
    cloze: bool
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str], ...]  # (question format, answer format) by ord


@dataclass(frozen=True)
class Note:
    id: int
    guid: str
    notetype_id: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Card:
    id: int
    note_id: int
    deck_id: int
    ord: int
    type: int  # 0 new, 1 learning, 2 review, 3 relearning
    queue: int  # -1 suspended
    ivl: int  # days when positive
    factor: int  # ease in permille
    reps: int
    lapses: int


@dataclass(frozen=True)
class Review:
    id: int  # milliseconds since the epoch: when it was answered
    card_id: int
    ease: int  # 1 Again .. 4 Easy (0: a manual reschedule, not an answer)
    ivl: int
    factor: int
    time_ms: int
    type: int  # 0 learn, 1 review, 2 relearn, 3 filtered, 4 manual


@dataclass(frozen=True)
class Collection:
    schema: int
    notetypes: dict[int, NoteType]
    decks: dict[int, str]  # id -> full name, levels joined by '::'
    notes: list[Note]
    cards: list[Card]
    reviews: list[Review]
    media: int  # media files in the package
    skipped: dict[str, int] = field(default_factory=dict)  # images left out, by reason
    images: dict[str, PackageImage] = field(default_factory=dict)  # by the name notes use


# --- the zip ----------------------------------------------------------------------------------


def read_package(data: bytes, limits: Limits) -> Collection:
    """The collection inside an Anki package.

    Raises:
        AnkiPackageRefused: the package cannot be imported (the message says why).
    """
    if len(data) > limits.max_bytes:
        raise AnkiPackageRefused(
            f"This Anki file is {len(data) / 1e6:.0f} MB; the largest accepted is "
            f"{limits.max_bytes / 1e6:.0f} MB."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise AnkiPackageRefused(
            "This is not an Anki package (.apkg or .colpkg): it is not a zip file."
        ) from e
    with archive:
        infos = archive.infolist()
        names = {i.filename for i in infos}
        if sum(i.file_size for i in infos) > limits.max_unpacked_bytes:
            raise AnkiPackageRefused(
                "This Anki package unpacks to more than "
                f"{limits.max_unpacked_bytes / 1e6:.0f} MB; it was not imported."
            )
        media = _media_count(names, limits)
        name = next((n for n in COLLECTION_NAMES if n in names), None)
        if name is None:
            raise AnkiPackageRefused(
                "This zip file holds no Anki collection (collection.anki2 or collection.anki21b)."
            )
        try:
            raw = archive.read(name)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise AnkiPackageRefused(
                "The Anki package is damaged: its collection could not be unpacked."
            ) from e
        current = name.endswith("b")
        if current:
            raw = _unzstd(raw, limits.max_unpacked_bytes)
        collection = _read_database(raw)
        found = read_images(
            archive,
            (src for note in collection.notes for f in note.fields for src in image_names(f)),
            current=current,
            max_image_bytes=limits.max_image_bytes,
            max_total_bytes=limits.max_unpacked_bytes,
        )
    return replace(collection, media=media, skipped=found.left_out, images=found.images)


def _unzstd(raw: bytes, limit: int) -> bytes:
    """Decompress, refusing more than `limit` bytes of output (a bomb) or a broken stream."""
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(raw) as reader:
            while chunk := reader.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise AnkiPackageRefused(
                        f"This Anki package unpacks to more than {limit / 1e6:.0f} MB; it "
                        "was not imported."
                    )
    except zstandard.ZstdError as e:
        raise AnkiPackageRefused(
            "The Anki package is damaged: its collection could not be decompressed."
        ) from e
    return bytes(out)


def _media_count(names: set[str], limits: Limits) -> int:
    """How many media files the package holds: its entries named by number (both layouts name
    media files "0", "1", ... and map those names to the real ones in `media`)."""
    numbered = sum(1 for n in names if n.isdigit())
    if numbered > limits.max_media_files:
        raise AnkiPackageRefused(
            f"This Anki package holds {numbered} media files; at most "
            f"{limits.max_media_files} are accepted."
        )
    return numbered


# --- the database ----------------------------------------------------------------------------


def _read_database(raw: bytes) -> Collection:
    fd, path = tempfile.mkstemp(suffix=".anki2")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _read_tables(con)
        except sqlite3.DatabaseError as e:
            raise AnkiPackageRefused(
                "The Anki collection is damaged: its database cannot be read."
            ) from e
        finally:
            con.close()
    finally:
        os.unlink(path)


def _read_tables(con: sqlite3.Connection) -> Collection:
    # The file is untrusted: no functions from its schema, and what is read must be plain
    # tables (a view could be made to compute forever).
    con.execute("PRAGMA trusted_schema = OFF")
    tables = {
        name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    check = con.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        raise AnkiPackageRefused(
            "The Anki collection is damaged: its database fails SQLite's check."
        )
    missing = {"col", "notes", "cards", "revlog"} - tables
    if missing:
        raise AnkiPackageRefused(
            "This is not an Anki collection: its database has no "
            f"{', '.join(sorted(missing))} table."
        )
    row = con.execute("SELECT ver FROM col").fetchone()
    schema = int(row[0]) if row else -1
    if schema == LEGACY_SCHEMA:
        notetypes, decks = _legacy_notetypes_and_decks(con)
    elif schema in TABLE_SCHEMAS:
        missing = {"notetypes", "fields", "templates", "decks"} - tables
        if missing:
            raise AnkiPackageRefused(
                "The Anki collection is damaged: its database has no "
                f"{', '.join(sorted(missing))} table."
            )
        notetypes, decks = _table_notetypes_and_decks(con)
    else:
        raise AnkiPackageRefused(
            f"This Anki collection has schema version {schema}, which Groundwork cannot read "
            f"(it reads {LEGACY_SCHEMA} and {TABLE_SCHEMAS.start}–{TABLE_SCHEMAS.stop - 1}). "
            "Export it again from a current Anki."
        )
    notes, cards, reviews = _read_notes_cards_reviews(con)
    return Collection(schema, notetypes, decks, notes, cards, reviews, 0)


def _read_notes_cards_reviews(
    con: sqlite3.Connection,
) -> tuple[list[Note], list[Card], list[Review]]:
    """The collection's notes (fields split), cards and review log, oldest first."""
    notes = [
        Note(
            int(i),
            str(g),
            int(m),
            tuple(str(f).split("\x1f")),
            tuple(t for t in str(tags).split() if t),
        )
        for i, g, m, f, tags in con.execute(
            "SELECT id, guid, mid, flds, tags FROM notes ORDER BY id"
        )
    ]
    cards = [
        Card(*map(int, r))
        for r in con.execute(
            "SELECT id, nid, did, ord, type, queue, ivl, factor, reps, lapses FROM cards "
            "ORDER BY id"
        )
    ]
    reviews = [
        Review(*map(int, r))
        for r in con.execute(
            "SELECT id, cid, ease, ivl, factor, time, type FROM revlog ORDER BY id"
        )
    ]
    return notes, cards, reviews


def _legacy_notetypes_and_decks(
    con: sqlite3.Connection,
) -> tuple[dict[int, NoteType], dict[int, str]]:
    models_json, decks_json = con.execute("SELECT models, decks FROM col").fetchone()
    try:
        models = json.loads(models_json)
        decks = json.loads(decks_json)
        notetypes = {}
        for key, m in models.items():
            fields = tuple(f["name"] for f in sorted(m["flds"], key=lambda f: f["ord"]))
            templates = tuple(
                (t["qfmt"], t["afmt"]) for t in sorted(m["tmpls"], key=lambda t: t["ord"])
            )
            notetypes[int(key)] = NoteType(
                int(key), str(m["name"]), int(m.get("type", 0)) == 1, fields, templates
            )
        deck_names = {int(k): str(d["name"]) for k, d in decks.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise AnkiPackageRefused(
            "The Anki collection is damaged: its note types or decks cannot be read."
        ) from e
    return notetypes, deck_names


def _table_notetypes_and_decks(
    con: sqlite3.Connection,
) -> tuple[dict[int, NoteType], dict[int, str]]:
    fields: dict[int, list[str]] = {}
    for ntid, _ord, name in con.execute("SELECT ntid, ord, name FROM fields ORDER BY ntid, ord"):
        fields.setdefault(int(ntid), []).append(str(name))
    templates: dict[int, list[tuple[str, str]]] = {}
    for ntid, _ord, config in con.execute(
        "SELECT ntid, ord, config FROM templates ORDER BY ntid, ord"
    ):
        values = proto_fields(bytes(config))
        templates.setdefault(int(ntid), []).append(
            (_text(values.get(1, [b""])[0]), _text(values.get(2, [b""])[0]))
        )
    notetypes = {}
    for ntid, name, config in con.execute("SELECT id, name, config FROM notetypes"):
        kind = proto_fields(bytes(config)).get(1, [0])[0]
        notetypes[int(ntid)] = NoteType(
            int(ntid),
            str(name),
            kind == 1,
            tuple(fields.get(int(ntid), [])),
            tuple(templates.get(int(ntid), [])),
        )
    decks = {
        int(i): str(n).replace("\x1f", "::") for i, n in con.execute("SELECT id, name FROM decks")
    }
    return notetypes, decks


def _text(value: object) -> str:
    if not isinstance(value, bytes):
        raise AnkiPackageRefused("The Anki collection is damaged: a card template cannot be read.")
    return value.decode("utf-8", "replace")
