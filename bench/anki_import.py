"""Importing a large Anki collection, and what the imported history is worth to the schedulers.

    python -m bench.anki_import [--notes 10000] [--reviews-per-card 10] [--skip-fit]

Generates a legacy Anki package (`collection.anki2`: Basic notes, their cards in review and a
review log) whose answers come from a simulated learner: each card has its own difficulty;
its memory stability grows with each successful review and shrinks on a lapse; recall after
`t` days with stability `S` is the power forgetting curve (1 + t / (9 S)) ** -1; the review
intervals are SM-2's (Anki's ease and interval, so the log looks like an SM-2 learner's).
Note: the learner follows an FSRS-like memory model, so FSRS is expected to fit it better
than SM-2; the figures show that the imported history reaches the fit, not which scheduler is
right for real people (bench.scheduler does that on a real log).

Then, in an embedded PostgreSQL (or DATABASE_URL): imports it for one learner (timed), fits
personal FSRS parameters on the imported history (engine.practice.preferences.optimise_fsrs:
fit on the earlier 80% by time, compared on the later 20%) and scores SM-2 on the same later
20%. Ends with `RESULT import_s=... notes=... reviews=... fsrs_default_logloss=...
fsrs_fitted_logloss=... sm2_logloss=...`.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import random
import sqlite3
import tempfile
import time
import zipfile
from pathlib import Path

from engine.process import prepare_process

prepare_process()

from engine import accounts
from engine.config import Settings
from engine.db.embedded import start_embedded_postgres
from engine.interop.anki_import import import_anki
from engine.practice.preferences import optimise_fsrs, review_history
from engine.runtime import create_runtime
from engine.scheduling.evaluate import log_loss
from engine.scheduling.replay import replay_sm2, sorted_reviews

DAY_MS = 86_400_000
START_MS = 1_735_689_600_000  # 2025-01-01 UTC
MODEL_ID, DECK_ID = 1_400_000_000_001, 1_400_000_000_002


def simulate_card(rng: random.Random, reviews: int, start_ms: int,
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
                growth = 1 + math.exp(1.2) * (11 - difficulty) / 10 * s ** -0.2 * (
                    math.exp((1 - recall) * 1.6) - 1) * {2: 0.6, 3: 1.0, 4: 1.5}[rating]
                s *= growth
            else:
                rating = 1
                s = max(0.2, s * 0.25)
        # SM-2 as Anki applies it.
        if rating == 1:
            ease, interval = max(1300, ease - 200), 1
        else:
            ease = max(1300, ease + {2: -150, 3: 0, 4: 150}[rating])
            interval = 1 if interval == 0 else (6 if interval == 1 else
                                                 round(interval * ease / 1000))
        out.append((at, rating, interval, ease, int(rng.uniform(2000, 20000))))
        at += rng.randint(60_000, 3_600_000)
    return out, interval, ease


def build_package(notes: int, reviews_per_card: int, seed: int = 7) -> tuple[bytes, int]:
    rng = random.Random(seed)
    model = {"id": MODEL_ID, "name": "Basic", "type": 0,
             "flds": [{"name": "Front", "ord": 0}, {"name": "Back", "ord": 1}],
             "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
                        "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}]}
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
    con.execute("INSERT INTO col VALUES (1, 11, ?, ?)",
                (json.dumps({str(MODEL_ID): model}), json.dumps(decks)))
    total = 0
    used: set[int] = set()
    for i in range(notes):
        nid = cid = 1_600_000_000_000 + i
        con.execute("INSERT INTO notes VALUES (?, ?, ?, '', ?)",
                    (nid, f"bench-{i}", MODEL_ID, f"word {i}\x1fmeaning <b>{i}</b>"))
        start = START_MS + rng.randint(0, 200) * DAY_MS + rng.randint(0, DAY_MS)
        history, interval, ease = simulate_card(rng, reviews_per_card, start)
        lapses = sum(1 for h in history[1:] if h[1] == 1)
        con.execute("INSERT INTO cards VALUES (?, ?, ?, 0, 2, 2, ?, ?, ?, ?)",
                    (cid, nid, DECK_ID, interval, ease, len(history), lapses))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--reviews-per-card", type=int, default=10)
    parser.add_argument("--skip-fit", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    package, n_reviews = build_package(args.notes, args.reviews_per_card)
    print(f"generated {args.notes:,} notes, {n_reviews:,} reviews "
          f"({len(package) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)

    url = os.environ.get("DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="groundwork-bench-anki-"))
    if not url:
        url = start_embedded_postgres(data_dir / "pg", cleanup_mode="delete")
    settings = Settings(data_dir=data_dir, database_url=url, log_level="WARNING",
                        db_statement_timeout_ms=3_600_000, db_slow_query_ms=3_600_000)
    rt = create_runtime(settings)
    logging.getLogger().setLevel(logging.WARNING)
    user = accounts.register_user(rt, email="bench@example.com",
                                  password="a long bench password 42", display_name="Bench")

    t0 = time.perf_counter()
    summary = import_anki(rt, user_id=user.user_id, data=package)
    import_s = time.perf_counter() - t0
    print(f"imported {summary.notes:,} notes, {summary.questions:,} questions, "
          f"{summary.reviews:,} reviews in {import_s:.1f} s "
          f"({summary.reviews / import_s:,.0f} reviews/s); skipped {summary.skipped}",
          flush=True)

    fields = [f"import_s={import_s:.1f}", f"notes={summary.notes}",
              f"reviews={summary.reviews}"]
    if not args.skip_fit:
        t0 = time.perf_counter()
        result = optimise_fsrs(rt, user_id=user.user_id)
        print(f"FSRS fit in {time.perf_counter() - t0:.1f} s: {result.message}")
        with rt.session_factory() as session:
            history = sorted_reviews(review_history(session, user.user_id))
        cut = int(len(history) * (1 - settings.scheduling.fsrs_holdout_fraction))
        sm2 = replay_sm2(history, score_from=history[cut].reviewed_at)
        sm2_loss = log_loss(sm2.predicted, sm2.recalled)
        print(f"held-back later 20% ({result.n_holdout_scored:,} scored reviews): log loss "
              f"SM-2 {sm2_loss:.4f}, FSRS default {result.current_log_loss:.4f}, FSRS fitted "
              f"on the imported history {result.candidate_log_loss:.4f}")
        fields += [f"fsrs_default_logloss={result.current_log_loss:.4f}",
                   f"fsrs_fitted_logloss={result.candidate_log_loss:.4f}",
                   f"sm2_logloss={sm2_loss:.4f}"]
    rt.close()
    print("RESULT " + " ".join(fields))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
