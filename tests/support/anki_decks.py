"""Anki packages built by the tests: a legacy `.apkg` written with genanki (its review log and
card states added to the database afterwards, as Anki would have them), and a current-format
package (`collection.anki21b`, zstd, schema 18 tables, protobuf settings and media map)
written directly."""

from __future__ import annotations

import io
import json
import math
import os
import random
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Sequence

import genanki
import zstandard

DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, in ms

SPANISH = "Lang::Spanish"
FRONT_HTML = "<b>hola</b> &amp; <i>adiós</i><script>alert(1)</script>"
BACK_HTML = (
    "hello<br>greeting<ul><li>informal</li><li>any time</li></ul>"
    '<img src="wave.png">[sound:hola.mp3]'
)


def _sqlite_bytes(build: Callable[[sqlite3.Connection], None]) -> bytes:
    fd, path = tempfile.mkstemp(suffix=".db")
    os.close(fd)
    try:
        con = sqlite3.connect(path)
        build(con)
        con.commit()
        con.close()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _edit_sqlite(raw: bytes, edit: Callable[[sqlite3.Connection], None]) -> bytes:
    fd, path = tempfile.mkstemp(suffix=".db")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        con = sqlite3.connect(path)
        edit(con)
        con.commit()
        con.close()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _rezip(package: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, replace.get(name, src.read(name)))
        for name, data in replace.items():
            if name not in src.namelist():
                dst.writestr(name, data)
    return out.getvalue()


def legacy_deck(
    *, back: str = BACK_HTML, reviews: bool = True, tags: Sequence[str] = ("greetings",)
) -> bytes:
    """Deck "Lang::Spanish": a Basic note (with `tags`), a Basic-and-reversed note, a Cloze
    note with two deletions (c2 twice); the Basic card reviewed three times (Good, Again,
    Easy)."""
    deck = genanki.Deck(2_059_400_110, SPANISH)
    deck.add_note(
        genanki.Note(
            model=genanki.BASIC_MODEL,
            fields=[FRONT_HTML, back],
            guid="basic-guid",
            tags=list(tags),
        )
    )
    deck.add_note(
        genanki.Note(
            model=genanki.BASIC_AND_REVERSED_CARD_MODEL,
            fields=["perro", "dog"],
            guid="reversed-guid",
        )
    )
    deck.add_note(
        genanki.Note(
            model=genanki.CLOZE_MODEL,
            guid="cloze-guid",
            fields=[
                ("{{c1::Madrid}} is the capital; {{c2::Spanish}} and {{c2::Catalan}} are spoken"),
                "Extra <i>note</i>",
            ],
        )
    )
    buffer = io.BytesIO()
    genanki.Package(deck).write_to_file(buffer)
    package = buffer.getvalue()
    if not reviews:
        return package
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        raw = z.read("collection.anki2")

    def add_history(con: sqlite3.Connection) -> None:
        (cid,) = con.execute(
            "SELECT c.id FROM cards c JOIN notes n ON n.id = c.nid WHERE n.guid = 'basic-guid'"
        ).fetchone()
        con.execute(
            "UPDATE cards SET type = 2, queue = 2, ivl = 12, factor = 2350, reps = 3, "
            "lapses = 1 WHERE id = ?",
            (cid,),
        )
        rows = [
            (T0, cid, 3, 1, 0, 2500, 8000, 0),
            (T0 + 2 * DAY_MS, cid, 1, -600, 1, 2300, 12_500, 1),
            (T0 + 3 * DAY_MS, cid, 4, 12, -600, 2350, 5_000_000, 2),
            (T0 + 4 * DAY_MS, cid, 0, 20, 12, 2350, 0, 4),
        ]  # a manual reschedule
        con.executemany(
            "INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, "
            "type) VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    return _rezip(package, {"collection.anki2": _edit_sqlite(raw, add_history)})


# --- the current format ------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb_str(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _pb_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _schema18(
    con: sqlite3.Connection,
    *,
    version: int,
    basic_back: str = "The <b>mitochondrion</b>",
    basic_tags: str = " bio ",
) -> None:
    con.executescript("""
        CREATE TABLE col (id integer primary key, crt integer not null, mod integer not null,
            scm integer not null, ver integer not null, dty integer not null,
            usn integer not null, ls integer not null, conf text not null,
            models text not null, decks text not null, dconf text not null, tags text not null);
        CREATE TABLE notes (id integer primary key, guid text not null, mid integer not null,
            mod integer not null, usn integer not null, tags text not null,
            flds text not null, sfld integer not null, csum integer not null,
            flags integer not null, data text not null);
        CREATE TABLE cards (id integer primary key, nid integer not null, did integer not null,
            ord integer not null, mod integer not null, usn integer not null,
            type integer not null, queue integer not null, due integer not null,
            ivl integer not null, factor integer not null, reps integer not null,
            lapses integer not null, left integer not null, odue integer not null,
            odid integer not null, flags integer not null, data text not null);
        CREATE TABLE revlog (id integer primary key, cid integer not null, usn integer not null,
            ease integer not null, ivl integer not null, lastIvl integer not null,
            factor integer not null, time integer not null, type integer not null);
        CREATE TABLE notetypes (id integer not null primary key, name text not null,
            mtime_secs integer not null, usn integer not null, config blob not null);
        CREATE TABLE fields (ntid integer not null, ord integer not null, name text not null,
            config blob not null, primary key (ntid, ord));
        CREATE TABLE templates (ntid integer not null, ord integer not null,
            name text not null, mtime_secs integer not null, usn integer not null,
            config blob not null, primary key (ntid, ord));
        CREATE TABLE decks (id integer primary key not null, name text not null,
            mtime_secs integer not null, usn integer not null, common blob not null,
            kind blob not null);
    """)
    con.execute("INSERT INTO col VALUES (1, 0, 0, 0, ?, 0, 0, 0, '', '', '', '', '')", (version,))
    # Basic (kind 0, omitted) and Cloze (kind 1).
    con.execute("INSERT INTO notetypes VALUES (10, 'Basic', 0, 0, ?)", (_pb_int(2, 0),))
    con.execute("INSERT INTO notetypes VALUES (20, 'Cloze', 0, 0, ?)", (_pb_int(1, 1),))
    con.executemany(
        "INSERT INTO fields VALUES (?, ?, ?, x'')",
        [(10, 0, "Front"), (10, 1, "Back"), (20, 0, "Text"), (20, 1, "Back Extra")],
    )
    con.executemany(
        "INSERT INTO templates VALUES (?, ?, ?, 0, 0, ?)",
        [
            (10, 0, "Card 1", _pb_str(1, b"{{Front}}") + _pb_str(2, b"{{FrontSide}}<hr>{{Back}}")),
            (
                20,
                0,
                "Cloze",
                _pb_str(1, b"{{cloze:Text}}") + _pb_str(2, b"{{cloze:Text}}<br>{{Back Extra}}"),
            ),
        ],
    )
    con.executemany(
        "INSERT INTO decks VALUES (?, ?, 0, 0, x'', x'')", [(1, "Default"), (5, "Bio\x1fCells")]
    )
    con.executemany(
        "INSERT INTO notes VALUES (?, ?, ?, 0, 0, ?, ?, '', 0, 0, '')",
        [
            (100, "new-basic", 10, basic_tags, "What makes ATP?\x1f" + basic_back),
            (200, "new-cloze", 20, "", "ATP stands for {{c1::adenosine triphosphate}}\x1f"),
        ],
    )
    con.executemany(
        "INSERT INTO cards VALUES (?, ?, 5, ?, 0, 0, ?, ?, 0, ?, ?, ?, 0, 0, 0, 0, 0, '')",
        [(1000, 100, 0, 2, 2, 30, 2600, 2), (2000, 200, 0, 0, 0, 0, 0, 0)],
    )
    con.executemany(
        "INSERT INTO revlog VALUES (?, 1000, -1, ?, ?, 0, 2500, 6000, ?)",
        [(T0, 3, 1, 0), (T0 + DAY_MS, 3, 4, 1), (T0 + 5 * DAY_MS, 3, 30, 1)],
    )


def current_deck(
    *,
    version: int = 18,
    media: Sequence[tuple[str, bytes]] = (),
    collection: bytes | None = None,
    basic_back: str = "The <b>mitochondrion</b>",
    basic_tags: str = " bio ",
) -> bytes:
    """A package as current Anki exports it: zstd `collection.anki21b`, a stub
    `collection.anki2` holding only the "please update" note, `meta`, and the media map.
    `basic_back` is the Basic note's back field (the one with history), `basic_tags` its
    tags column (space-separated, as Anki stores them)."""
    cctx = zstandard.ZstdCompressor()
    body = (
        collection
        if collection is not None
        else _sqlite_bytes(
            lambda con: _schema18(
                con, version=version, basic_back=basic_back, basic_tags=basic_tags
            )
        )
    )
    stub_deck = genanki.Deck(1, "Default")
    stub_deck.add_note(
        genanki.Note(
            model=genanki.BASIC_MODEL,
            fields=[
                (
                    "Please update to the latest Anki version, then import the .colpkg/.apkg file "
                    "again."
                ),
                "",
            ],
        )
    )
    stub = io.BytesIO()
    genanki.Package(stub_deck).write_to_file(stub)
    with zipfile.ZipFile(stub) as z:
        stub_collection = z.read("collection.anki2")
    entries = b"".join(
        _pb_str(1, _pb_str(1, name.encode()) + _pb_int(2, len(data))) for name, data in media
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("collection.anki2", stub_collection)
        z.writestr("collection.anki21b", cctx.compress(body))
        z.writestr("meta", _pb_int(1, 3))
        z.writestr("media", cctx.compress(entries))
        for i, (_name, data) in enumerate(media):
            z.writestr(str(i), cctx.compress(data))
    return out.getvalue()


def with_legacy_media(package: bytes, files: Sequence[tuple[str, bytes]]) -> bytes:
    """A legacy package with these media files added, as Anki writes them: entries "0",
    "1", ... and the JSON map `media` from those entries to the files' names."""
    mapping = {str(i): name for i, (name, _) in enumerate(files)}
    entries = {str(i): data for i, (_, data) in enumerate(files)}
    return _rezip(package, {"media": json.dumps(mapping).encode(), **entries})


def image(fmt: str = "PNG", size: tuple[int, int] = (4, 3)) -> bytes:
    """A real image file of `fmt` (PNG, JPEG, GIF, WEBP)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, format=fmt)
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def legacy_collection(package: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return z.read("collection.anki2")


def with_schema(package: bytes, version: int) -> bytes:
    raw = legacy_collection(package)
    return _rezip(
        package,
        {
            "collection.anki2": _edit_sqlite(
                raw, lambda con: con.execute("UPDATE col SET ver = ?", (version,))
            )
        },
    )


def view_instead_of_notes() -> bytes:
    """A legacy collection whose `notes` is a view that would count forever."""

    def build(con: sqlite3.Connection) -> None:
        con.executescript("""
            CREATE TABLE col (id integer primary key, ver integer, models text, decks text);
            INSERT INTO col VALUES (1, 11, '{}', '{}');
            CREATE TABLE cards (id integer primary key);
            CREATE TABLE revlog (id integer primary key);
            CREATE VIEW notes AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1
                FROM n) SELECT x AS id, '' AS guid, 0 AS mid, '' AS flds, '' AS tags FROM n;
        """)

    return _sqlite_bytes(build)


def media_map_json(n: int) -> bytes:
    return json.dumps({str(i): f"f{i}.png" for i in range(n)}).encode()


# --- a large simulated collection (bench.anki_import, the FSRS fit test) -----------------

START_MS = 1_735_689_600_000  # 2025-01-01 UTC
MODEL_ID, DECK_ID = 1_400_000_000_001, 1_400_000_000_002


def simulate_card(
    rng: random.Random,
    reviews: int,
    start_ms: int,
) -> tuple[list[tuple[int, int, int, int, int]], int, int]:
    """(time ms, rating, interval, factor, duration ms) per review; final interval, factor."""
    difficulty = rng.uniform(1, 10)
    stability = {1: 0.4, 2: 1.2, 3: 3.0, 4: 8.0}
    s = 0.0
    ease, interval, at = 2500, 0, start_ms
    out = []
    for n in range(reviews):
        if n == 0:
            rating = rng.choices([1, 2, 3, 4], weights=[20, 15, 50, 15])[0]
            s = stability[rating] * (1.5 - difficulty / 20)
        else:
            elapsed = max(interval, 1) * rng.uniform(0.9, 1.4)
            at += int(elapsed * DAY_MS)
            recall = (1 + elapsed / (9 * s)) ** -1
            if rng.random() < recall:
                rating = rng.choices([2, 3, 4], weights=[15, 70, 15])[0]
                growth = (
                    1
                    + math.exp(1.2)
                    * (11 - difficulty)
                    / 10
                    * s**-0.2
                    * (math.exp((1 - recall) * 1.6) - 1)
                    * {2: 0.6, 3: 1.0, 4: 1.5}[rating]
                )
                s *= growth
            else:
                rating = 1
                s = max(0.2, s * 0.25)
        # SM-2 as Anki applies it.
        if rating == 1:
            ease, interval = max(1300, ease - 200), 1
        else:
            ease = max(1300, ease + {2: -150, 3: 0, 4: 150}[rating])
            interval = (
                1 if interval == 0 else (6 if interval == 1 else round(interval * ease / 1000))
            )
        out.append((at, rating, interval, ease, int(rng.uniform(2000, 20000))))
        at += rng.randint(60_000, 3_600_000)
    return out, interval, ease


def simulated_package(notes: int, reviews_per_card: int, seed: int = 7) -> tuple[bytes, int]:
    """A legacy package of Basic notes in deck "Bench::Vocabulary", each card reviewed
    `reviews_per_card` times by the simulated learner (see bench.anki_import); returns the
    package and the number of reviews."""
    rng = random.Random(seed)
    model = {
        "id": MODEL_ID,
        "name": "Basic",
        "type": 0,
        "flds": [{"name": "Front", "ord": 0}, {"name": "Back", "ord": 1}],
        "tmpls": [
            {
                "name": "Card 1",
                "ord": 0,
                "qfmt": "{{Front}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}",
            }
        ],
    }
    decks = {str(DECK_ID): {"id": DECK_ID, "name": "Bench::Vocabulary"}}
    fd, path = tempfile.mkstemp(suffix=".anki2")
    os.close(fd)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE col (id integer primary key, ver integer, models text, decks text);
        CREATE TABLE notes (id integer primary key, guid text, mid integer, tags text,
                            flds text);
        CREATE TABLE cards (id integer primary key, nid integer, did integer, ord integer,
                            type integer, queue integer, ivl integer, factor integer,
                            reps integer, lapses integer);
        CREATE TABLE revlog (id integer primary key, cid integer, ease integer, ivl integer,
                             factor integer, time integer, type integer);
    """)
    con.execute(
        "INSERT INTO col VALUES (1, 11, ?, ?)",
        (json.dumps({str(MODEL_ID): model}), json.dumps(decks)),
    )
    total = 0
    used: set[int] = set()
    for i in range(notes):
        nid = cid = 1_600_000_000_000 + i
        con.execute(
            "INSERT INTO notes VALUES (?, ?, ?, '', ?)",
            (nid, f"bench-{i}", MODEL_ID, f"word {i}\x1fmeaning <b>{i}</b>"),
        )
        start = START_MS + rng.randint(0, 200) * DAY_MS + rng.randint(0, DAY_MS)
        history, interval, ease = simulate_card(rng, reviews_per_card, start)
        lapses = sum(1 for h in history[1:] if h[1] == 1)
        con.execute(
            "INSERT INTO cards VALUES (?, ?, ?, 0, 2, 2, ?, ?, ?, ?)",
            (cid, nid, DECK_ID, interval, ease, len(history), lapses),
        )
        rows = []
        for at, rating, ivl, factor, ms in history:
            while at in used:  # revlog ids are unique milliseconds
                at += 1
            used.add(at)
            rows.append((at, cid, rating, ivl, factor, ms, 0 if len(rows) == 0 else 1))
        con.executemany("INSERT INTO revlog VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        total += len(rows)
    con.commit()
    con.close()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "collection.anki2")
        z.writestr("media", "{}")
    os.unlink(path)
    return buffer.getvalue(), total
