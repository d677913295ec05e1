"""Anki fields to safe plain text, and cards to questions (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.interop.anki_media import PackageImage
from engine.interop.anki_notes import convert, sanitise
from engine.interop.anki_package import Card, Collection, Note, NoteType

BASIC = NoteType(
    1, "Basic", False, ("Front", "Back"), (("{{Front}}", "{{FrontSide}}<hr id=answer>{{Back}}"),)
)
CLOZE = NoteType(
    2,
    "Cloze",
    True,
    ("Text", "Back Extra"),
    (("{{cloze:Text}}", "{{cloze:Text}}<br>{{Back Extra}}"),),
)


@pytest.mark.parametrize(
    ("field", "text", "media"),
    [
        ("<div>one</div><div>two&nbsp;three</div>", "one\ntwo three", 0),
        ("<ol><li>a</li><li><b>b</b></li></ol>", "- a\n- b", 0),
        ("x<script>alert('no')</script><style>p{}</style>y", "xy", 0),
        # Images go apart (anki_media.image_names); a sound is a dropped media reference.
        ('<img src="a.png" onerror="alert(1)">caption[sound:a.mp3]', "caption", 1),
        (
            "&lt;b&gt;literal&lt;/b&gt; [link](javascript:x)",
            "<b>literal</b> [link](javascript:x)",
            0,
        ),
        ("tab\there\x00\x07 end", "tab here end", 0),
    ],
)
def test_sanitise_keeps_text_and_structure_only(field, text, media):
    assert sanitise(field) == (text, media)


def collection(notes, cards, decks=None) -> Collection:
    return Collection(
        11, {1: BASIC, 2: CLOZE}, decks or {1: "Default", 7: "Bio::Cells"}, notes, cards, [], 0
    )


def card(cid, nid, ord_=0, deck=7) -> Card:
    return Card(cid, nid, deck, ord_, 0, 0, 0, 0, 0, 0)


def test_topics_come_from_the_deck_or_in_default_from_the_first_tag():
    got = convert(
        collection(
            [
                Note(1, "g1", 1, ("front", "back"), ("tag::one", "two")),
                Note(2, "g2", 1, ("front2", "back2"), ("tagged",)),
            ],
            [card(10, 1, deck=1), card(20, 2, deck=7)],
        )
    )
    assert [(q.key, q.topic) for q in got.questions] == [
        ("anki:g1:0", "tag::one"),
        ("anki:g2:0", "Bio::Cells"),
    ]


def test_every_tag_of_a_note_goes_with_each_of_its_questions():
    """Paths kept, control characters removed, each tag once (Anki's tags ignore case); the
    topic rule is unchanged (deck path; in Default the first tag)."""
    tags = ("Lang::Spanish::Verbs", "exam\x07", "EXAM", "lang::spanish::verbs", "x" * 250)
    got = convert(
        collection(
            [
                Note(1, "g1", 2, ("{{c1::hablar}} means {{c2::to speak}}", ""), tags),
                Note(2, "g2", 1, ("front", "back"), tags),
                Note(3, "g3", 1, ("front3", "back3"), ()),
            ],
            [card(10, 1), card(11, 1, ord_=1), card(20, 2, deck=1), card(30, 3)],
        )
    )
    kept = ("Lang::Spanish::Verbs", "exam", "x" * 200)
    assert [(q.key, q.topic, q.tags) for q in got.questions] == [
        ("anki:g1:0", "Bio::Cells", kept),
        ("anki:g1:1", "Bio::Cells", kept),
        ("anki:g2:0", "Lang::Spanish::Verbs", kept),
        ("anki:g3:0", "Bio::Cells", ()),
    ]


def test_cloze_hints_and_repeated_numbers():
    text = "{{c1::Paris::city}} on the {{c2::Seine}}, {{c1::France}}"
    got = convert(
        collection([Note(1, "c", 2, (text, ""), ())], [card(1, 1, 0), card(2, 1, 1), card(3, 1, 4)])
    )
    assert [(q.stem, q.answer) for q in got.questions] == [
        ("_____ on the Seine, _____", "Paris; France"),
        ("Paris on the _____, France", "Seine"),
    ]
    assert got.skipped == {"empty_card": 1}  # card 5 has no deletion c5


def test_a_card_with_an_empty_side_is_skipped():
    got = convert(collection([Note(1, "g", 1, ("<img src=a.png>", "back"), ())], [card(1, 1)]))
    # The picture is not in the package (or failed its checks): the front is empty.
    assert got.questions == [] and got.skipped == {"empty_card": 1}


def test_pictures_go_with_the_side_whose_field_shows_them():
    png = PackageImage("image/png", b"")
    notes = [
        Note(1, "g", 1, ('<img src="front.png">', 'Mitochondrion <img src="back.png">'), ()),
        Note(2, "c", 2, ("The {{c1::cell}} <img src=front.png>", "<img src='back.png'>"), ()),
    ]
    base = collection(notes, [card(1, 1), card(2, 2)])
    got = convert(replace(base, images={"front.png": png, "back.png": png}))
    assert [(q.stem, q.answer, q.images) for q in got.questions] == [
        ("(picture)", "Mitochondrion", (("question", "front.png"), ("answer", "back.png"))),
        ("The _____", "cell", (("question", "front.png"), ("answer", "back.png"))),
    ]
    assert got.skipped == {}
