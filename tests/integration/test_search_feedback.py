"""Search with pseudo-relevance feedback (the default) against real PostgreSQL and Chroma: the
feedback reorders passages but never changes the score a passage is shown with (the tutor's
refusal and the topic filter compare it with fixed thresholds), stays inside the learner's own
library and the chosen materials, and can be turned off."""

from __future__ import annotations

from engine import library
from engine.search import search_in
from tests.support.library_pdfs import text_pdf

PAGES = [
    "The boundary layer is the thin layer of air next to the wing surface where viscosity "
    "slows the flow. A laminar boundary layer becomes turbulent at transition.",
    "Transition to turbulence depends on the Reynolds number, surface roughness and the "
    "pressure gradient along the chord of the aerofoil.",
    "Shock waves form when the flow over a wedge becomes supersonic; behind an oblique shock "
    "the pressure and temperature rise abruptly.",
    "Heat transfer from a hot plate into a laminar layer of fluid is described by the Nusselt "
    "number, which grows with the Reynolds number.",
    "Skin friction drag comes from shear stress in the boundary layer and is larger once the "
    "layer is turbulent.",
    "Supersonic inlets slow the air through a series of oblique shocks before a final normal "
    "shock.",
]
QUERY = "why does the boundary layer become turbulent"


def _ingest(runtime, user: int, pages: list[str], name: str) -> int:
    return library.ingest_pdf(
        runtime, user_id=user, data=text_pdf(pages), filename=name
    ).material.id


def test_feedback_reorders_but_keeps_each_passages_own_score(runtime, make_user):
    user = make_user()
    _ingest(runtime, user, PAGES[:3], "a.pdf")
    _ingest(runtime, user, PAGES[3:], "b.pdf")
    plain_rt = runtime.with_settings(runtime.settings.replace(retrieval_feedback_passages=0))
    with runtime.session_factory() as s:
        with_feedback = search_in(runtime, s, user_id=user, query=QUERY, k=6)
        plain = search_in(plain_rt, s, user_id=user, query=QUERY, k=50)
        asked_without = search_in(runtime, s, user_id=user, query=QUERY, k=50, feedback=False)
        without = {p.chunk_id: p.score for p in plain}
    # Asking without feedback (as the tutor does) is the search with feedback turned off.
    assert [p.chunk_id for p in asked_without] == [p.chunk_id for p in plain]
    assert with_feedback
    for passage in with_feedback:
        assert passage.score == without[passage.chunk_id]
    assert max(p.score for p in with_feedback) == max(without.values())


def test_feedback_stays_in_the_learners_library_and_chosen_materials(runtime, make_user):
    alice, bob = make_user(), make_user()
    first = _ingest(runtime, alice, PAGES[:3], "a.pdf")
    second = _ingest(runtime, alice, PAGES[3:], "b.pdf")
    bobs = _ingest(runtime, bob, PAGES, "bob.pdf")
    with runtime.session_factory() as s:
        hits = search_in(runtime, s, user_id=alice, query=QUERY, k=20)
        only_second = search_in(runtime, s, user_id=alice, query=QUERY, k=20, material_ids=[second])
        bob_hits = search_in(runtime, s, user_id=bob, query=QUERY, k=20)
    assert {h.material_id for h in hits} == {first, second}
    assert only_second and {h.material_id for h in only_second} == {second}
    assert bob_hits and {h.material_id for h in bob_hits} == {bobs}
