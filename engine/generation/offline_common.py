"""What the offline generator's steps share: a candidate (sentence, key term) to ask about,
the batch that keeps wrong options from being reused, difficulty and option order."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from engine.generation.drafts import Draft, Passage
from engine.generation.offline_keyterms import KeyTerm
from engine.generation.offline_text import WORDS_MIN
from engine.generation.validation import normalise

OFFLINE_VERSION = "offline-v2"


@dataclass(frozen=True)
class Candidate:
    """A sentence of a passage and the key term a question about it turns on."""

    passage: Passage
    sentence: str
    term: KeyTerm
    pre_signal: float
    language: str = "en"


@dataclass
class Batch:
    """What one generation call has used so far: wrong options and false statements are
    never reused within a batch. Forms propose (`propose`), `commit` records a kept draft."""

    used_options: set[str] = field(default_factory=set)
    used_sources: set[str] = field(default_factory=set)  # sentences behind false statements
    rejections: list[str] = field(default_factory=list)

    def free(self, option: str) -> bool:
        return normalise(option) not in self.used_options

    def commit(self, draft: Draft) -> None:
        if draft.options and draft.correct_index is not None:
            self.used_options |= {
                normalise(o) for i, o in enumerate(draft.options) if i != draft.correct_index
            }

    def reject(self, reason: str) -> None:
        self.rejections.append(reason)

    def take_rejections(self) -> list[str]:
        out, self.rejections = self.rejections, []
        return out


def difficulty_signal(*, count: int, max_count: int, closeness: float, words: int) -> float:
    """In [0, 1]: rarer terms, closer distractors and longer sentences are harder."""
    rarity = 1 - math.log1p(count) / math.log1p(max(max_count, 2))
    close = min(1.0, max(0.0, (closeness - 0.1) / 0.6))
    length = min(1.0, max(0.0, (words - WORDS_MIN) / 30))
    return round(0.4 * rarity + 0.4 * close + 0.2 * length, 3)


def level(signal: float) -> int:
    return 1 + min(4, int(signal * 5))


def shuffled(options: list[str], answer: str, seed: str) -> tuple[list[str], int]:
    rng = random.Random(seed)
    rng.shuffle(options)
    return options, options.index(answer)
