"""How well the schedulers predict recall on a real review log, replayed in time order.

    python -m bench.scheduler --revlog ../shared/data/revlog/reviews.csv [--skip-optimise]

The log has columns card_id, review_rating (1 Again .. 4 Easy), review_time (ISO-8601),
review_duration (ms). Predictions are scored for every review made at least one whole day after
the card's previous review, with states built from every review in time order:

* SM-2 (engine.scheduling.sm2) with Again->q1, Hard->q3, Good->q4, Easy->q5 and predicted
  recall 0.9 ** (t / I), t = days since the last review, I = the scheduled interval
  (srs-benchmark's adaptation: recall is 90% when a card is reviewed on its due date);
* FSRS-6 (engine.scheduling.fsrs6, the `fsrs` package) with default parameters;
* FSRS-6 optimised with the `fsrs` optimiser on the first 70% of reviews (time split);
* the scheduler the product would choose: FSRS-6 whose parameters come from
  engine.scheduling.optimise.choose_parameters on the same first 70% (fit on its earlier
  part, adopt only if better on its held-back later part; otherwise the defaults).

Metrics: log loss, RMSE over 20 equal-width probability bins, AUC. Printed beside the
published srs-benchmark figures and those measured on this log (../shared/data/README.md).
Ends with `RESULT sm2_logloss=... fsrs_default_logloss=... fsrs_opt_logloss=...
chosen_logloss=...`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from pathlib import Path

from engine.scheduling import fsrs6
from engine.scheduling.evaluate import Metrics, metrics
from engine.scheduling.optimise import choose_parameters, fit_parameters
from engine.scheduling.replay import Review, replay_fsrs, replay_sm2, sorted_reviews

DEFAULT_REVLOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "revlog" / "reviews.csv"

# log loss / RMSE(bins) / AUC
PUBLISHED = [
    ("srs-benchmark FSRS-6", 0.3214, 0.0462, 0.7060),
    ("srs-benchmark FSRS-6 default parameters", 0.3393, 0.0716, 0.6891),
    ("srs-benchmark Anki-SM-2", 0.490, 0.1278, 0.5973),
    ("srs-benchmark SM-2", 0.547, 0.1484, 0.6005),
]
MEASURED_ALL = [
    ("SM-2 (shared/data README)", 0.585, 0.120, 0.608),
    ("FSRS-6 default (shared/data README)", 0.459, 0.050, 0.714),
]
MEASURED_SPLIT = [
    ("SM-2 (shared/data README)", 0.548, 0.117, 0.502),
    ("FSRS-6 default (shared/data README)", 0.431, 0.048, 0.635),
    ("FSRS-6 optimised (shared/data README)", 0.432, 0.042, 0.625),
]


def load(path: Path) -> list[Review]:
    with path.open(encoding="utf-8") as f:
        return sorted_reviews(
            Review(
                card_id=int(row["card_id"]),
                rating=int(row["review_rating"]),
                reviewed_at=dt.datetime.fromisoformat(row["review_time"]).astimezone(dt.UTC),
            )
            for row in csv.DictReader(f)
        )


def row(name: str, m: Metrics | tuple[float, float, float], n: int | str = "") -> str:
    ll, rmse, auc = (m.log_loss, m.rmse_bins, m.auc) if isinstance(m, Metrics) else m
    return f"  {name:<46} {ll:>8.4f} {rmse:>10.4f} {auc:>7.4f} {n!s:>7}"


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'scheduler':<46} {'log loss':>8} {'RMSE(bins)':>10} {'AUC':>7} {'n':>7}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--revlog", type=Path, default=DEFAULT_REVLOG)
    ap.add_argument("--train-fraction", type=float, default=0.7)
    ap.add_argument(
        "--skip-optimise",
        action="store_true",
        help="leave out the two fits (about two minutes on two cores)",
    )
    args = ap.parse_args(argv)
    if not args.revlog.is_file():
        print(
            f"review log not found: {args.revlog} (the shared data folder is needed)",
            file=sys.stderr,
        )
        return 2
    reviews = load(args.revlog)
    print(
        f"{len(reviews):,} reviews of {len({r.card_id for r in reviews}):,} cards, "
        f"{reviews[0].reviewed_at:%Y-%m-%d} to {reviews[-1].reviewed_at:%Y-%m-%d}"
    )

    header("All reviews a day or more after the previous one (states from every review)")
    sm2_all = replay_sm2(reviews)
    fsrs_all = replay_fsrs(reviews)
    print(
        row("SM-2 (this run)", metrics(sm2_all.predicted, sm2_all.recalled), len(sm2_all.predicted))
    )
    print(
        row(
            "FSRS-6 default (this run)",
            metrics(fsrs_all.predicted, fsrs_all.recalled),
            len(fsrs_all.predicted),
        )
    )
    for name, *m in MEASURED_ALL:
        print(row(name, tuple(m), 5329))

    cut = int(len(reviews) * args.train_fraction)
    train, score_from = reviews[:cut], reviews[cut].reviewed_at
    header(
        f"Time split: fit on the first {args.train_fraction:.0%} ({cut:,} reviews), score "
        f"the later ones"
    )

    def split(preds) -> Metrics:
        return metrics(preds.predicted, preds.recalled)

    sm2_m = split(replay_sm2(reviews, score_from=score_from))
    default_m = split(replay_fsrs(reviews, score_from=score_from))
    n_split = default_m.n
    print(row("SM-2 (this run)", sm2_m, sm2_m.n))
    print(row("FSRS-6 default (this run)", default_m, n_split))
    opt_m = chosen_m = default_m
    chosen_note = "FSRS-6 default (fits skipped)"
    if not args.skip_optimise:
        t0 = time.perf_counter()
        fitted = fit_parameters(train)
        fit_s = time.perf_counter() - t0
        opt_m = split(
            replay_fsrs(reviews, score_from=score_from, params=fsrs6.FSRSParams(parameters=fitted))
        )
        print(row(f"FSRS-6 optimised on the first part ({fit_s:.0f} s)", opt_m, n_split))
        t0 = time.perf_counter()
        choice = choose_parameters(train, min_reviews=400)
        chosen_m = split(
            replay_fsrs(
                reviews,
                score_from=score_from,
                params=fsrs6.FSRSParams(parameters=choice.parameters),
            )
        )
        chosen_note = (
            "FSRS-6 with its own fitted parameters"
            if choice.adopted
            else "FSRS-6 default (the fit did not win on held-back history)"
        )
        print(row(f"Chosen: {chosen_note} ({time.perf_counter() - t0:.0f} s)", chosen_m, n_split))
        print(f"    choice: {choice.message}")
    for name, *m in MEASURED_SPLIT:
        print(row(name, tuple(m), 2097))

    header("Published srs-benchmark figures (~10k Anki collections, weighted by reviews)")
    for name, *m in PUBLISHED:
        print(row(name, tuple(m)))

    gap = sm2_m.log_loss - chosen_m.log_loss
    print(
        f"\nChosen scheduler: {chosen_note}; log loss {gap:.3f} below SM-2 on the held-back "
        f"reviews (target >= 0.1: {'met' if gap >= 0.1 else 'NOT met'})."
    )
    print(
        f"RESULT sm2_logloss={sm2_m.log_loss:.4f} fsrs_default_logloss={default_m.log_loss:.4f} "
        f"fsrs_opt_logloss={opt_m.log_loss:.4f} chosen_logloss={chosen_m.log_loss:.4f} "
        f"sm2_auc={sm2_m.auc:.4f} fsrs_default_auc={default_m.auc:.4f} "
        f"chosen_auc={chosen_m.auc:.4f} n_heldout={n_split}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
