"""From an attempt to the grade the schedulers use: SM-2 quality 0-5 and FSRS rating 1-4.

One function, `grade_attempt`, decides both. The table (confidence 1-5 as the learner stated it;
"slow" means more than `slow_after_s` seconds):

    correct  hint/slow  confidence  SM-2 quality  FSRS rating
    no       any        4-5         0             1 Again   (confidently wrong: lowest)
    no       any        3           1             1 Again
    no       any        1-2         2             1 Again   (knew they did not know)
    yes      hint       any         3             2 Hard
    yes      -          1-2         3             2 Hard    (a guess that happened to be right)
    yes      -          3           4             3 Good
    yes      slow       3           3             2 Hard
    yes      -          4-5         5             4 Easy
    yes      slow       4-5         4             3 Good

A disputed answer that is accepted counts as correct (the caller passes `correct=True`).
SM-2 quality maps to the FSRS rating as 0-2 -> Again, 3 -> Hard, 4 -> Good, 5 -> Easy, so the
two schedulers always agree on whether a review passed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grade:
    quality: int  # SM-2, 0-5
    rating: int  # FSRS, 1 Again .. 4 Easy


@dataclass(frozen=True)
class RatingParams:
    slow_after_s: float = 60.0


def rating_for_quality(quality: int) -> int:
    """FSRS rating for an SM-2 quality: 0-2 Again, 3 Hard, 4 Good, 5 Easy."""
    if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 5:
        raise ValueError(f"quality must be an integer 0-5, got {quality!r}")
    return 1 if quality < 3 else quality - 1


def grade_attempt(
    *,
    correct: bool,
    confidence: int,
    seconds: float,
    hinted: bool = False,
    params: RatingParams | None = None,
) -> Grade:
    """The SM-2 quality and FSRS rating for one attempt (see the module table).

    Raises:
        ValueError: every problem with the input, in one message.
    """
    params = params or RatingParams()
    problems: list[str] = []
    if not isinstance(correct, bool):
        problems.append(f"correct must be a bool, got {correct!r}")
    if not isinstance(confidence, int) or isinstance(confidence, bool) or not 1 <= confidence <= 5:
        problems.append(f"confidence must be an integer 1-5, got {confidence!r}")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds >= 0:
        problems.append(f"seconds must be a non-negative number, got {seconds!r}")
    if params.slow_after_s <= 0:
        problems.append(f"slow_after_s must be positive, got {params.slow_after_s}")
    if problems:
        raise ValueError("; ".join(problems))

    if not correct:
        quality = 0 if confidence >= 4 else 1 if confidence == 3 else 2
    elif hinted or confidence <= 2:
        quality = 3
    else:
        quality = 4 if confidence == 3 else 5
        if seconds > params.slow_after_s:
            quality -= 1
    return Grade(quality=quality, rating=rating_for_quality(quality))
