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
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from engine.process import prepare_process

prepare_process()

from engine import accounts  # noqa: E402
from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.embedded import start_embedded_postgres  # noqa: E402
from engine.interop.anki_import import import_anki  # noqa: E402
from engine.practice.preferences import optimise_fsrs, review_history  # noqa: E402
from engine.scheduling.evaluate import log_loss  # noqa: E402
from engine.scheduling.replay import replay_sm2, sorted_reviews  # noqa: E402
from tests.support.anki_decks import simulated_package  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--reviews-per-card", type=int, default=10)
    parser.add_argument("--skip-fit", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    package, n_reviews = simulated_package(args.notes, args.reviews_per_card)
    print(
        f"generated {args.notes:,} notes, {n_reviews:,} reviews "
        f"({len(package) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    url = os.environ.get("DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="groundwork-bench-anki-"))
    if not url:
        url = start_embedded_postgres(data_dir / "pg", cleanup_mode="delete")
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        log_level="WARNING",
        db_statement_timeout_ms=3_600_000,
        db_slow_query_ms=3_600_000,
    )
    rt = create_runtime(settings)
    logging.getLogger().setLevel(logging.WARNING)
    user = accounts.register_user(
        rt, email="bench@example.com", password="a long bench password 42", display_name="Bench"
    )

    t0 = time.perf_counter()
    summary = import_anki(rt, user_id=user.user_id, data=package)
    import_s = time.perf_counter() - t0
    print(
        f"imported {summary.notes:,} notes, {summary.questions:,} questions, "
        f"{summary.reviews:,} reviews in {import_s:.1f} s "
        f"({summary.reviews / import_s:,.0f} reviews/s); skipped {summary.skipped}",
        flush=True,
    )

    fields = [f"import_s={import_s:.1f}", f"notes={summary.notes}", f"reviews={summary.reviews}"]
    if not args.skip_fit:
        t0 = time.perf_counter()
        result = optimise_fsrs(rt, user_id=user.user_id)
        print(f"FSRS fit in {time.perf_counter() - t0:.1f} s: {result.message}")
        with rt.session_factory() as session:
            history = sorted_reviews(review_history(session, user.user_id))
        cut = int(len(history) * (1 - settings.scheduling.fsrs_holdout_fraction))
        sm2 = replay_sm2(history, score_from=history[cut].reviewed_at)
        sm2_loss = log_loss(sm2.predicted, sm2.recalled)
        print(
            f"held-back later 20% ({result.n_holdout_scored:,} scored reviews): log loss "
            f"SM-2 {sm2_loss:.4f}, FSRS default {result.current_log_loss:.4f}, FSRS fitted "
            f"on the imported history {result.candidate_log_loss:.4f}"
        )
        fields += [
            f"fsrs_default_logloss={result.current_log_loss:.4f}",
            f"fsrs_fitted_logloss={result.candidate_log_loss:.4f}",
            f"sm2_logloss={sm2_loss:.4f}",
        ]
    rt.close()
    shutil.rmtree(data_dir, ignore_errors=True)  # the embedded server has removed its own
    print("RESULT " + " ".join(fields))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
