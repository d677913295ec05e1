"""Mojibake detection: garbage from broken font encodings counts as no text; real text in any
script (including Japanese, Korean, Arabic, Hebrew) passes."""

from __future__ import annotations

import pytest

from engine.ingestion.quality import has_text, is_garbled

REAL = {
    "english": "Trace-based just-in-time compilation records frequently executed loop traces.",
    "french": "à À â Â ä Ä ç Ç é É è È ê Ê ë Ë — l'équation de la chaleur est résolue.",
    "japanese": "あのイーハトーヴォのすきとおった風、夏でも底に冷たさをもつ青いそら",
    "japanese mixed": "tracking 文字ツメ (mojitsume) kerning 日本語テスト",
    "korean": "대한민국은 민주공화국이다. 모든 권력은 국민으로부터 나온다.",
    "arabic": "حَبيبي habibi حَبيبي الطالب يدرس في المكتبة",
    "hebrew": "שלום עולם מה שלום כולם אני יורד מן החוטים",
    "russian": "Московский государственный университет имени Ломоносова",
    "greek": "Η φωτοσύνθεση μετατρέπει την ηλιακή ενέργεια σε χημική",
}

# What pypdf really extracts from files in the shared corpus whose fonts have broken encodings.
GARBLED = {
    "complex_ttf_font": "̽ଋҨ\x03ǥ\x03ƹ̽ୡȥ\x03ဎഁୡࣧҨ\x03ဌʾ\x03ဎಱ̽ೌ¢\x03܆ȥ¢\u09de¢\x03ਮΝ੧\x03\u0a45ͱʸ¢",
    "issue16538": "ඪ४ ϚʔέοτϞσϧ\u0378 2 ݩ࣍Ͱઆ໌͢Δ. ʮऔҾͰ͖ͳ͍\u098e\u0dbcʯ͕Ϛ\nΫϩࡁܦม\u0a3aͳͲ "
    "Ͱ͋ΔϞσϧΛߟ͑Δ͜ͱ\u0378Մ\u0cf3. ඇ\u05ecඋͷ\u09d4߹, ϦεΫ",
    "thuluth": "\x03\x03 ΰԔϸЇ ́Ψ\x03ߙ ϣÎg \x84ϙķϢʆ i\x99\n\x03 ΰԔϸЇ ́Ψ\x03ߙ ϣÎg",
    "private use": "\ue000\ue001\ue002 \ue003\ue004\ue005 \ue006\ue007 abc",
}


@pytest.mark.parametrize("name", REAL)
def test_real_text_in_any_script_is_text(name):
    assert not is_garbled(REAL[name])
    assert has_text(REAL[name])


@pytest.mark.parametrize("name", GARBLED)
def test_mojibake_is_no_text(name):
    assert is_garbled(GARBLED[name])
    assert not has_text(GARBLED[name])


@pytest.mark.parametrize("text", ["", "   \n ", "12", "- 3 -", "ii"])
def test_page_numbers_and_blanks_are_no_text(text):
    assert not has_text(text)


def test_short_cjk_text_counts():
    assert has_text("あいうえお")


def test_text_the_reader_warned_about_is_not_trusted():
    assert not has_text("컒쏇뚼쫇뫚쳥ퟖ", untrusted=True)
