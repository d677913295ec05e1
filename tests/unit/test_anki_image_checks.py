"""Which files of an Anki package count as pictures: real PNG, JPEG, GIF or WebP only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from engine.interop.anki_media import image_names, sniff
from tests.support.anki_decks import image


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_real_images_are_recognised_by_their_bytes(fmt, media_type):
    assert sniff(image(fmt)) == media_type


def _huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # 48 million pixels, a few kB
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<html><body><img src=x onerror=alert(1)></body></html>",
        b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 4,  # PNG magic, no PNG
        image("PNG")[:20],  # cut short
        b"GIF89a<svg onload=alert(1)>",
        b"RIFF\x00\x00\x00\x00WEBPnot really",
        image("BMP"),  # a real image, but not a type a browser is sent
        b"",
    ],
)
def test_anything_else_is_not_a_picture(data):
    assert sniff(data) is None


def test_a_picture_of_too_many_pixels_is_refused():
    assert sniff(_huge_png()) is None


def test_a_decompression_bomb_picture_is_refused_without_a_warning():
    out = io.BytesIO()
    Image.new("1", (12000, 10000)).save(out, format="PNG")  # over PIL's own bomb limit
    assert sniff(out.getvalue()) is None


def test_image_names_are_package_files_only():
    field = (
        '<img src="a b.png"> <IMG SRC=c.jpg> <img src="https://example.com/x.png">'
        '<img src="data:image/png;base64,AAAA"> <img src="../etc/passwd"> <img src="">'
        '<img src="x&amp;y.gif"> <img alt="no source">'
    )
    assert image_names(field) == ["a b.png", "c.jpg", "x&y.gif"]
    assert image_names("no pictures here") == []
