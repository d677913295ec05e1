"""Cohort item analysis on a simulated class (seeded): does it find the planted flawed items,
does the service compute exactly what the raw answers say, how fast is the page's data for a
big course, and how many model calls does a shared course save?

    python -m bench.cohort [--learners 300] [--questions 100] [--seed 7]
                           [--big-learners 1000] [--big-questions 300] [--big-answers 2000000]

The class: learner abilities theta ~ N(0, 1); four-option items with 2PL parameters: a learner
knows the answer with P = 1 / (1 + exp(-a (theta - b))) and otherwise picks a wrong option at
random. Good items have a in [1.2, 2.0] and b in [-0.8, 0.8]. Planted flaws (10% each):
miskeyed (the key names a wrong option), too easy (b in [-4, -2.5]), too hard (b in [2.5, 4]),
and a non-functioning distractor (one wrong option nobody picks). Every learner answers every
question once (the first answer), then reviews it 0-2 times; miskeyed items are flagged more.

The class of `--learners` goes through the engine, as people would: the teacher's questions are
added to a course and published (`engine.courses`), every learner registers and joins with the
code, and answers their own copies (`engine.practice.submit.submit_answer`, in the simulated
order and times; a flagged answer is followed by the learner's flag, `flag_question`). The
statistics are then recomputed with numpy from the answers the engine accepted. The big course
for the page-data timing (2 M answers) is bulk-inserted (COPY) into courses / course_members /
course_questions / course_question_versions / course_responses directly, with anonymous
members (user_id NULL, as for learners who left): answering 2 M times would take hours.

Model calls: a learner generating alone makes ceil(questions / generation_max_count) generation
calls (one preview batch per call, GROUNDWORK_GENERATION_MAX_COUNT questions at most); in a
shared course the teacher makes those calls once for the whole class, so each of the 100
learners costs 1/100 of them. Multiple-choice answers are graded without a model, so answering
adds no calls in either case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import time
import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text, update

from bench._library import bench_runtime, bench_user
from engine import courses
from engine.accounts import register_user
from engine.courses.item_stats import CourseItemStats, course_item_stats
from engine.db.models import CourseQuestion, Question, User
from engine.errors import QuestionUnavailable
from engine.practice.flags import flag_question
from engine.practice.submit import submit_answer
from engine.runtime import Runtime

OPTIONS = 4
FLAWS = ("miskeyed", "too_easy", "too_hard", "dead_distractor")
CLASS_SIZE = 100
TOLERANCE = 1e-9
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class Simulation:
    """The generated class: items, and every answer (first answers first)."""

    keys: np.ndarray  # keyed option per item
    flaw: list[str]  # '' for a good item
    question: np.ndarray  # per answer: item index
    learner: np.ndarray
    chosen: np.ndarray
    first: np.ndarray
    seconds: np.ndarray
    flagged: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return self.chosen == self.keys[self.question]


def _items(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Discrimination a, difficulty b and planted flaw of each item."""
    a = rng.uniform(1.2, 2.0, n)
    b = rng.uniform(-0.8, 0.8, n)
    flaw = [""] * n
    planted = rng.permutation(n)[: int(0.4 * n)]
    for i, item in enumerate(planted):
        kind = FLAWS[i % len(FLAWS)]
        flaw[item] = kind
        if kind == "too_easy":
            b[item] = rng.uniform(-4.0, -2.5)
        elif kind == "too_hard":
            b[item] = rng.uniform(2.5, 4.0)
    return a, b, flaw


def simulate(learners: int, questions: int, seed: int, reviews: float = 1.0) -> Simulation:
    """A class answering; `reviews` is the mean number of later answers per first answer."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, learners)
    a, b, flaw = _items(rng, questions)
    right = rng.integers(0, OPTIONS, questions)  # the option that is really right
    dead = np.array([f == "dead_distractor" for f in flaw])
    dead_option = (right + 1 + rng.integers(0, OPTIONS - 1, questions)) % OPTIONS
    keys = right.copy()
    miskeyed = np.array([f == "miskeyed" for f in flaw])
    keys[miskeyed] = (right[miskeyed] + 1) % OPTIONS
    # First answers: learner x item.
    p = 1.0 / (1.0 + np.exp(-a[None, :] * (theta[:, None] - b[None, :])))
    knows = rng.random((learners, questions)) < p
    wrong = _wrong_pick(rng, right, dead, dead_option, (learners, questions))
    chosen = np.where(knows, right[None, :], wrong)
    lq = np.indices((learners, questions)).reshape(2, -1)
    first = (lq[0], lq[1], chosen.reshape(-1))
    # Later answers: each (learner, item) reviewed Poisson(reviews) times, right more often.
    repeats = rng.poisson(reviews, learners * questions)
    rl, rq = np.repeat(lq[0], repeats), np.repeat(lq[1], repeats)
    rknows = rng.random(rl.size) < np.minimum(1.0, p[rl, rq] + 0.3)
    rwrong = _wrong_pick(rng, right[rq], dead[rq], dead_option[rq], rl.size)
    rchosen = np.where(rknows, right[rq], rwrong)
    question = np.concatenate([first[1], rq])
    flag_p = np.where(miskeyed[question], 0.2, 0.01)
    total = question.size
    return Simulation(
        keys=keys,
        flaw=flaw,
        question=question,
        learner=np.concatenate([first[0], rl]),
        chosen=np.concatenate([first[2], rchosen]),
        first=np.concatenate([np.ones(first[0].size, bool), np.zeros(rl.size, bool)]),
        seconds=np.clip(rng.lognormal(3.3, 0.5, total).astype(int), 1, 3600),
        flagged=rng.random(total) < flag_p,
    )


def _wrong_pick(rng, right, dead, dead_option, shape) -> np.ndarray:
    """A wrong option at random (never the dead distractor of a 'dead_distractor' item)."""
    right = np.broadcast_to(right, shape)
    dead = np.broadcast_to(dead, shape)
    dead_option = np.broadcast_to(dead_option, shape)
    pick = rng.integers(1, OPTIONS, shape)
    choice = (right + pick) % OPTIONS
    redo = dead & (choice == dead_option)
    # the dead option's place goes to the next wrong option that is not the right one
    alt = (choice + 1) % OPTIONS
    alt = np.where(alt == right, (alt + 1) % OPTIONS, alt)
    return np.where(redo, alt, choice)


def store(rt: Runtime, sim: Simulation, learners: int) -> int:
    """The simulated course in the database; returns its id."""
    teacher = bench_user(rt, "teacher")
    raw = rt.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET LOCAL statement_timeout = 0")  # the bulk COPY takes a while
        cur.execute("UPDATE users SET role = 'teacher' WHERE id = %s", (teacher,))
        cur.execute(
            "INSERT INTO courses (teacher_id, title, join_code) VALUES (%s, %s, %s) RETURNING id",
            (teacher, "Simulated class", f"SIM{teacher:08d}"),
        )
        course = cur.fetchone()[0]
        qids = [_add_question(cur, course, teacher, i, int(k)) for i, k in enumerate(sim.keys)]
        cur.execute(
            "INSERT INTO course_members (course_id, member_key) "
            "SELECT %s, 'sim-' || %s || '-' || g FROM generate_series(1, %s) g RETURNING id",
            (course, course, learners),
        )
        members = np.array(sorted(r[0] for r in cur.fetchall()))
        _copy_responses(cur, sim, np.array(qids), members)
        raw.commit()
    finally:
        raw.close()
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE course_responses"))
    return course


def enrol_and_answer(rt: Runtime, sim: Simulation, learners: int) -> tuple[int, np.ndarray]:
    """The simulated class through the engine; returns the course id and which of the
    simulated answers were recorded (a review of a copy the learner's own flags took out of
    the queues is refused, as in the app)."""
    teacher = bench_user(rt, "teacher")
    with rt.session_factory.begin() as session:
        session.execute(update(User).where(User.id == teacher).values(role="teacher"))
    masters = _teacher_questions(rt, teacher, sim.keys)
    course = courses.create_course(rt, teacher_id=teacher, title="Simulated class")
    courses.add_questions(rt, teacher_id=teacher, course_id=course, question_ids=masters)
    courses.publish_questions(rt, teacher_id=teacher, course_id=course)
    code = next(c.join_code for c in courses.list_teaching(rt, teacher_id=teacher))
    uids = []
    for i in range(learners):
        info = register_user(
            rt, email=f"sim-{course}-{i}@example.com", password="benchmark password 123",
            display_name=f"Learner {i}", by_admin=True,
        )  # fmt: skip
        courses.join_course(rt, user_id=info.user_id, code=code)
        uids.append(info.user_id)
    copy = _copy_ids(rt, uids, masters)
    recorded = np.ones(sim.question.size, bool)
    reviews: dict[tuple[int, int], int] = {}
    t0 = time.perf_counter()
    for n in range(sim.question.size):
        who, item = int(sim.learner[n]), int(sim.question[n])
        done = reviews.get((who, item), 0)
        qid = copy[(who, item)]
        try:
            result = submit_answer(
                rt, user_id=uids[who], question_id=qid, token=uuid.uuid4().hex,
                response=int(sim.chosen[n]), confidence=3, seconds=float(sim.seconds[n]),
                expected_reviews=done, now=START + dt.timedelta(seconds=n),
            )  # fmt: skip
        except QuestionUnavailable:
            recorded[n] = False
            continue
        reviews[(who, item)] = done + 1
        if sim.flagged[n]:
            flag_question(
                rt, user_id=uids[who], question_id=qid, reason="unclear",
                attempt_id=result.attempt_id,
            )  # fmt: skip
    took = time.perf_counter() - t0
    print(f"answered through the engine: {int(recorded.sum())} answers in {took:.0f} s")
    return course, recorded


def _teacher_questions(rt: Runtime, teacher: int, keys: np.ndarray) -> list[int]:
    """The teacher's own bank: one four-option question per item, keyed as simulated."""
    ids = []
    with rt.session_factory.begin() as session:
        for i, key in enumerate(keys):
            options = [f"option {k} of item {i}" for k in range(OPTIONS)]
            q = Question(
                user_id=teacher, type="mcq", stem=f"Item {i}?", options=options,
                correct_index=int(key), answer=options[int(key)], excerpt="simulated",
                page_start=1, page_end=1, material_title="Simulated", generator="llm",
            )  # fmt: skip
            session.add(q)
            session.flush()
            ids.append(q.id)
    return ids


def _copy_ids(rt: Runtime, uids: list[int], masters: list[int]) -> dict[tuple[int, int], int]:
    """(learner index, item index) -> the learner's copy of that item."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(Question.user_id, CourseQuestion.question_id, Question.id)
            .join(CourseQuestion, CourseQuestion.id == Question.course_question_id)
            .where(Question.user_id.in_(uids))
        ).all()
    learner = {u: i for i, u in enumerate(uids)}
    item = {m: i for i, m in enumerate(masters)}
    return {(learner[r[0]], item[r[1]]): r[2] for r in rows}


def _add_question(cur, course: int, teacher: int, i: int, key: int) -> int:
    options = [f"option {k} of item {i}" for k in range(OPTIONS)]
    cur.execute(
        "INSERT INTO questions (user_id, type, stem, options, correct_index, answer, excerpt,"
        " page_start, page_end, material_title, generator) VALUES"
        " (%s, 'mcq', %s, %s::jsonb, %s, %s, 'simulated', 1, 1, 'Simulated', 'llm') RETURNING id",
        (teacher, f"Item {i}?", _json(options), key, options[key]),
    )
    qid = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO course_questions (course_id, question_id, status, published_at)"
        " VALUES (%s, %s, 'published', now()) RETURNING id",
        (course, qid),
    )
    cq = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO course_question_versions (course_question_id, version, stem, options,"
        " correct_index, answer, change) VALUES (%s, 1, %s, %s::jsonb, %s, %s, 'created')",
        (cq, f"Item {i}?", _json(options), key, options[key]),
    )
    return cq


def _json(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _copy_responses(cur, sim: Simulation, qids: np.ndarray, members: np.ndarray) -> None:
    cols = np.column_stack(
        [
            qids[sim.question],
            members[sim.learner],
            sim.first.astype(int),
            sim.chosen,
            sim.correct.astype(int),
            sim.seconds,
            sim.flagged.astype(int),
        ]
    )
    step = 500_000
    with cur.copy(
        "COPY course_responses (course_question_id, member_id, first_attempt, chosen_index,"
        " correct, seconds, flagged, version, answered_at) FROM STDIN"
    ) as copy:
        for start in range(0, len(cols), step):
            buf = io.StringIO()
            np.savetxt(buf, cols[start : start + step], fmt="%d", delimiter="\t")
            # booleans as 1/0 (PostgreSQL reads both); then version 1 and a fixed time
            copy.write(buf.getvalue().replace("\n", "\t1\t2026-11-02 09:00:00+00\n"))


def recompute(sim: Simulation, learners: int, questions: int) -> dict[int, dict]:
    """The statistics straight from the simulated answers with numpy (independent of the
    service's SQL): per item, learners, answers, difficulty, the corrected point-biserial,
    option shares and discriminations, flag share and median first-answer seconds."""
    f = sim.first
    x = np.zeros((learners, questions))
    x[sim.learner[f], sim.question[f]] = sim.correct[f]
    chosen = np.zeros((learners, questions), int)
    chosen[sim.learner[f], sim.question[f]] = sim.chosen[f]
    secs = np.zeros((learners, questions))
    secs[sim.learner[f], sim.question[f]] = sim.seconds[f]
    total = x.sum(axis=1)
    out: dict[int, dict] = {}
    for i in range(questions):
        rest = (total - x[:, i]) / (questions - 1)
        mine = sim.question == i
        out[i] = {
            "learners": learners,
            "answers": int(mine.sum()),
            "difficulty": x[:, i].mean(),
            "discrimination": _corr(x[:, i], rest),
            "shares": [float((chosen[:, i] == k).mean()) for k in range(OPTIONS)],
            "option_disc": [_corr((chosen[:, i] == k).astype(float), rest) for k in range(OPTIONS)],
            "flag_share": float(sim.flagged[mine].mean()),
            "median_seconds": float(np.median(secs[:, i])),
        }
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def stats_match(stats: CourseItemStats, expected: dict[int, dict]) -> tuple[bool, int]:
    """Whether every item's service statistics equal the recomputation; and mismatches."""
    bad = 0
    for i, row in enumerate(stats.items):
        e, s = expected[i], row.stats
        same = (
            (s.learners, s.answers) == (e["learners"], e["answers"])
            and _close(s.difficulty, e["difficulty"])
            and _close(s.discrimination, e["discrimination"])
            and all(_close(o.share, v) for o, v in zip(s.options, e["shares"], strict=True))
            and all(
                _close(o.discrimination, v)
                for o, v in zip(s.options, e["option_disc"], strict=True)
            )
            and _close(s.flag_share, e["flag_share"])
            and _close(s.median_seconds, e["median_seconds"])
        )
        bad += not same
    return bad == 0, bad


def flag_scores(stats: CourseItemStats, flaw: list[str]) -> tuple[float, float, dict[str, str]]:
    """Precision and recall of 'flagged' against the planted flaws, and recall per flaw."""
    flagged = [row.flagged for row in stats.items]
    planted = [bool(f) for f in flaw]
    tp = sum(f and p for f, p in zip(flagged, planted, strict=True))
    precision = tp / sum(flagged) if any(flagged) else 0.0
    recall = tp / sum(planted) if any(planted) else 1.0
    per_kind = {}
    for kind in FLAWS:
        hits = [f for f, k in zip(flagged, flaw, strict=True) if k == kind]
        per_kind[kind] = f"{sum(hits)}/{len(hits)}"
    return precision, recall, per_kind


def _only(sim: Simulation, recorded: np.ndarray) -> Simulation:
    return Simulation(
        keys=sim.keys, flaw=sim.flaw, question=sim.question[recorded],
        learner=sim.learner[recorded], chosen=sim.chosen[recorded], first=sim.first[recorded],
        seconds=sim.seconds[recorded], flagged=sim.flagged[recorded],
    )  # fmt: skip


def accuracy(rt: Runtime, learners: int, questions: int, seed: int) -> tuple[float, float, int]:
    sim = simulate(learners, questions, seed)
    course, recorded = enrol_and_answer(rt, sim, learners)
    sim = _only(sim, recorded)
    stats = course_item_stats(rt, actor_id=None, course_id=course)
    exact, mismatched = stats_match(stats, recompute(sim, learners, questions))
    precision, recall, per_kind = flag_scores(stats, sim.flaw)
    print(f"class: {learners} learners x {questions} questions, {sim.question.size} answers")
    print(f"flag precision {precision:.3f}  recall {recall:.3f}  found per flaw {per_kind}")
    print(f"stats_exact {int(exact)} ({mismatched} items differ from the numpy recomputation)")
    return precision, recall, int(exact)


def page_p95(rt: Runtime, learners: int, questions: int, answers: int, seed: int) -> float:
    """p95 of the item-analysis page's data for a big course (ms)."""
    reviews = answers / (learners * questions) - 1
    sim = simulate(learners, questions, seed + 1, reviews=reviews)
    t0 = time.perf_counter()
    course = store(rt, sim, learners)
    print(f"big course: {sim.question.size} answers stored in {time.perf_counter() - t0:.1f} s")
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        course_item_stats(rt, actor_id=None, course_id=course)
        times.append((time.perf_counter() - t0) * 1000)
    p95 = float(np.percentile(times, 95))
    print(f"page data: median {np.median(times):.0f} ms, p95 {p95:.0f} ms over 20 loads")
    return p95


def model_calls(rt: Runtime, questions: int) -> tuple[float, float]:
    per_call = rt.settings.generation.max_count
    calls = math.ceil(questions / per_call)
    print(
        f"model calls for {questions} questions at {per_call} per call: alone {calls} per "
        f"learner; shared by a class of {CLASS_SIZE}: {calls} in all"
    )
    return calls / CLASS_SIZE, float(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--big-learners", type=int, default=1000)
    parser.add_argument("--big-questions", type=int, default=300)
    parser.add_argument("--big-answers", type=int, default=2_000_000)
    args = parser.parse_args()
    rt = bench_runtime()
    precision, recall, exact = accuracy(rt, args.learners, args.questions, args.seed)
    p95 = page_p95(rt, args.big_learners, args.big_questions, args.big_answers, args.seed)
    shared, alone = model_calls(rt, args.big_questions)
    print(
        f"RESULT learners={args.learners} flag_precision={precision:.3f} "
        f"flag_recall={recall:.3f} stats_exact={exact} page_p95_ms={p95:.0f} "
        f"calls_per_learner_shared={shared:.2f} calls_per_learner_alone={alone:.0f}"
    )


if __name__ == "__main__":
    main()
