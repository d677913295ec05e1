"""The offline generator: questions from the material's own sentences, no model needed.

Key terms (yake) of a material are embedded with the library's embedding model. Questions
come from candidate sentences (complete, self-contained body sentences; see `sentences`):
- term (mcq): a key term blanked, with distractors of the same kind nearest in embedding space;
- cloze: the same blank, typed;
- definition (mcq): "What is X?" with the source's defining sentence among neighbours' ones;
- statement (mcq): which of four statements matches the source, the others each with one
  term swapped for its nearest neighbour;
- list (cloze): several blanks over the items of a list;
- naming (mcq): term from definition, the source's description of a term among defined terms;
- flashcard (short, self-rated): the term on the front, its defining sentence on the back.
Difficulty comes from a signal in [0, 1]: term rarity, distractor closeness, sentence length.
Every draft goes through `engine.generation.lint`; broken ones are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from engine.domain import language as lang_
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionType
from engine.generation import lint as qlint
from engine.generation.drafts import Draft, Passage
from engine.generation.offline_common import (
    OFFLINE_VERSION,
    Batch,
    Candidate,
    difficulty_signal,
    level,
    shuffled,
)
from engine.generation.offline_forms import build_draft
from engine.generation.offline_keyterms import KeyTerm, key_terms
from engine.generation.offline_lists import list_items
from engine.generation.offline_notions import commonness, everyday
from engine.generation.offline_openings import cut_openings, opens_cut
from engine.generation.offline_rivals import distinctive, rivals
from engine.generation.offline_terms import (
    TermSpace,
    blankable,
    build_space,
    spread_sample,
)
from engine.generation.offline_text import (
    author_names,
    concept_score,
    defined_term,
    find_term,
    is_candidate,
    sentences,
)
from engine.generation.validation import normalise

# The package's face: the pieces callers use live in the modules beside this one.
__all__ = [
    "DEFINING_FORMS",
    "FORMS_BY_TYPE",
    "MIX_ORDER",
    "OFFLINE_TYPES",
    "OFFLINE_VERSION",
    "Batch",
    "Candidate",
    "KeyTerm",
    "TermSpace",
    "author_names",
    "blankable",
    "build_space",
    "concept_score",
    "cut_openings",
    "difficulty_signal",
    "generate",
    "is_candidate",
    "key_terms",
    "level",
    "rivals",
    "sentences",
    "shuffled",
    "spread_order",
    "spread_sample",
]

# The types the offline generator makes; a 'short' question only as a self-rated flashcard.
OFFLINE_TYPES = (QuestionType.MCQ, QuestionType.CLOZE, QuestionType.SHORT)
FORMS_BY_TYPE = {
    QuestionType.MCQ: ("term", "naming", "definition", "statement"),
    QuestionType.CLOZE: ("cloze", "list"),
    QuestionType.SHORT: (FLASHCARD_FORM,),
}
MIX_ORDER = ("term", "naming", "cloze", "flashcard", "statement", "definition", "list")
# Forms that need a defining sentence ("X is a ...").
DEFINING_FORMS = ("naming", "definition", FLASHCARD_FORM)


def passage_language(p: Passage, space: TermSpace) -> str:
    """The passage's own language where it differs from its material's (a page in another
    language), else its material's."""
    return lang_.page_language(p.text, space.language)


def _candidates(
    passages: Sequence[Passage], spaces: dict[int, TermSpace], difficulty: int, used: set[str]
) -> list[list[Candidate]]:
    """Per passage, its candidate (sentence, key term) pairs, best first: sentences that carry
    an idea and terms the document emphasises, near the wanted difficulty."""
    target = (difficulty - 1) / 4
    per_passage = []
    weights_of: dict[tuple[int, str], dict[str, float]] = {}  # per material and language
    for p in passages:
        space = spaces.get(p.material_id)
        if space is None or not space.terms:
            continue
        lang = passage_language(p, space)
        if not lang_.is_supported(lang):
            continue
        key = (p.material_id, lang)
        if key not in weights_of:
            weights_of[key] = _term_weights(space, lang)
        weights = weights_of[key]
        max_count = max(t.count for t in space.terms)
        found = []
        for s in sentences(p.text, lang):
            if normalise(s) in used or opens_cut(p.text, s, space.cut_openings):
                continue
            concept = concept_score(s, lang)
            # A defining sentence supports the forms that test understanding: ask it first.
            defines = defined_term(s, space.text, lang) is not None
            for t in space.terms:
                m = find_term(t.text, s)
                if t.text not in weights or not m or len(m.group(0)) > len(s) / 3:
                    continue
                if (lang == "de" or t.text.isupper()) and not _same_case(m, t.text):
                    continue  # "bestimmte" is not the noun "Bestimmte", "options" not "OPTIONS"
                if not blankable(t, s, m, space, lang):
                    continue
                pre = difficulty_signal(
                    count=t.count, max_count=max_count, closeness=0.4, words=len(s.split())
                )
                score = abs(pre - target) - 0.3 * concept - 0.4 * defines - weights[t.text]
                found.append((score, Candidate(p, s, t, pre, lang)))
        found.sort(key=lambda x: x[0])
        per_passage.append([c for _, c in found])
    return per_passage


def _same_case(m: re.Match[str], term: str) -> bool:
    """Whether a match is the term as written (German, or an acronym): case tells a noun from
    an adjective or a verb, an acronym from a word; only a sentence's first letter may differ."""
    found = m.group(0)
    return found == term or (m.start() == 0 and found[1:] == term[1:])


NOTION_WEIGHT = 0.25  # how much a term of the material's field outranks an everyday word


def _term_weights(space: TermSpace, lang: str) -> dict[str, float]:
    """Per key term, how much a question on it is worth asking (higher is better): terms the
    material emphasises (yake's rank), of its own (defined, named, fixed phrases) and of its
    field rather than everyday language ("side exit", not "programs"). An everyday word the
    material does not define ("call", "term"; not a name either) is left out: a blank on it
    asks for wording."""
    weights = {}
    for t in space.terms:
        # A term of the material's own (one it defines, a name: "Europe" is asked as a
        # fact) is asked about however common it is in general language.
        own = distinctive(t, space)
        if everyday(t.text, lang) and not own:
            continue
        salience = 1 - t.rank / max(1, len(space.terms))
        weights[t.text] = (
            0.2 * salience + 0.2 * own + NOTION_WEIGHT * (1 - commonness(t.text, lang))
        )
    return weights


def spread_order(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread evenly over the range (the van der
    Corput sequence: 0, n/2, n/4, 3n/4, n/8, ...), so the first questions of a batch come
    from all over a document."""
    order: list[int] = []
    seen: set[int] = set()
    m = 0
    while len(order) < n and m < 4 * n + 4:
        fraction, base, k = 0.0, 0.5, m
        while k:
            fraction += base * (k & 1)
            k >>= 1
            base /= 2
        i = int(fraction * n)
        if i not in seen:
            seen.add(i)
            order.append(i)
        m += 1
    return order + [i for i in range(n) if i not in seen]


def _spread(passages: Sequence[Passage]) -> list[Passage]:
    """The passages of each material in document order, visited in `spread_order`, the
    materials interleaved."""
    by_material: dict[int, list[Passage]] = {}
    for p in passages:
        by_material.setdefault(p.material_id, []).append(p)
    orders = []
    for group in by_material.values():
        group = sorted(group, key=lambda p: (p.page_start, p.chunk_id))
        orders.append([group[i] for i in spread_order(len(group))])
    out: list[Passage] = []
    for i in range(max((len(o) for o in orders), default=0)):
        out.extend(o[i] for o in orders if i < len(o))
    return out


def generate(
    passages: Sequence[Passage],
    spaces: dict[int, TermSpace],
    *,
    count: int,
    types: Sequence[str],
    difficulty: int,
    topic: str | None = None,
    used_sentences: set[str] | None = None,
    forms: Sequence[str] | None = None,
    on_reject: Callable[[str], None] | None = None,
) -> Iterator[Draft]:
    """Yield up to `count` drafts that pass the lint, spreading over the document and forms.

    Passages are visited so that any first part of the batch draws on the whole document
    (see `spread_order`), one question per passage per round. Within one call no wrong option
    or swapped-in statement is used twice.

    Args:
        passages: context passages.
        spaces: each material's `TermSpace` by material id.
        count: how many drafts at most.
        types: allowed types ('mcq' and/or 'cloze').
        difficulty: 1-5; picks candidates and distractor closeness to match.
        topic: recorded on the drafts.
        used_sentences: normalised sentences not to ask about again (updated).
        forms: the forms to use in turn (default: every form the types allow).
        on_reject: called with the reason of each dropped draft.
    """
    types = [t for t in types if t in OFFLINE_TYPES] or [QuestionType.CLOZE]
    allowed = [f for f in MIX_ORDER if any(f in FORMS_BY_TYPE[QuestionType(t)] for t in types)]
    order = [f for f in (forms or allowed) if f in allowed] or allowed
    used = used_sentences if used_sentences is not None else set()
    passages = _spread(passages)
    queues = _candidates(passages, spaces, difficulty, used)
    run = _Run(spaces, {p.chunk_id: p.text for p in passages}, difficulty, topic, on_reject)
    made = 0
    while made < count and any(queues):
        progressed = False
        for queue in queues:
            if made >= count:
                break
            while queue:
                c = queue.pop(0)
                if normalise(c.sentence) in used:
                    continue
                rotation = [order[(made + k) % len(order)] for k in range(len(order))]
                draft = run.draft_for(c, rotation)
                if draft is None:
                    continue
                used.add(normalise(c.sentence))
                made += 1
                progressed = True
                yield draft
                break
        if not progressed:
            break


@dataclass
class _Run:
    """One `generate` call's state: its batch, the forms made so far, where rejections go."""

    spaces: dict[int, TermSpace]
    sources: dict[int, str]
    difficulty: int
    topic: str | None
    on_reject: Callable[[str], None] | None
    batch: Batch = field(default_factory=Batch)
    made_forms: Counter[str] = field(default_factory=Counter)

    def rejected(self, reason: str) -> None:
        if self.on_reject:
            self.on_reject(reason)

    def draft_for(self, c: Candidate, rotation: list[str]) -> Draft | None:
        """The first form (the least made so far first) that makes a draft passing the lint
        from this candidate, committed to the batch; None when none does."""
        space = self.spaces[c.passage.material_id]
        # The forms made least so far first, so one that failed gets the next turn.
        rotation = sorted(rotation, key=lambda f: self.made_forms[f])
        for form in _rare_forms_first(rotation, c, space):
            draft = build_draft(
                form, c, space, difficulty=self.difficulty, topic=self.topic, batch=self.batch
            )
            for reason in self.batch.take_rejections():
                self.rejected(reason)
            if draft is None:
                continue
            broken = qlint.lint(draft, source=self.sources[c.passage.chunk_id], names=space.names)
            if broken:
                self.rejected(f"lint_{broken[0]}")
                continue
            self.batch.commit(draft)
            self.made_forms[form] += 1
            return draft
        return None


def _rare_forms_first(rotation: list[str], c: Candidate, space: TermSpace) -> list[str]:
    """Definitions and lists need a particular sentence: use one when it comes along."""
    defines = defined_term(c.sentence, space.text, c.language) is not None
    rare = [
        f
        for f in DEFINING_FORMS + ("list",)
        if f in rotation and (defines if f != "list" else list_items(c.sentence, space.text))
    ]
    return rare + [f for f in rotation if f not in rare]
