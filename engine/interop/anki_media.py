"""The images an Anki package's notes show: read from the package, checked, kept as bytes.

Only images a note's field references (`<img src="name">`) are read, by their name in the
package's media map (legacy: JSON `{"0": "name"}`; current: a zstd-compressed protobuf list
whose n-th entry is the zip entry "n", itself zstd-compressed).

An image is kept only when its first bytes are those of a PNG, JPEG, GIF or WebP file and its
header reads as that format with at most `MAX_PIXELS` pixels; SVG, HTML and anything else is
not (so nothing a browser would run or parse as markup is ever stored or served). An image over
the per-image size limit is left out too; each left-out image is counted by reason. Images
whose contents unpack to more than the package's unpacked limit in total refuse the whole
package (a compression bomb).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

import zstandard
from PIL import Image as PILImage, UnidentifiedImageError

from engine.interop.anki_proto import AnkiPackageRefused, proto_fields

MAX_PIXELS = 40_000_000
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"GIF87a", "image/gif", "GIF"),
    (b"GIF89a", "image/gif", "GIF"),
)
MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class PackageImage:
    media_type: str  # one of MEDIA_TYPES
    data: bytes


@dataclass(frozen=True)
class PackageImages:
    images: dict[str, PackageImage]  # by the name notes use
    left_out: dict[str, int]  # reason -> count


class _ImageSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            src = dict(attrs).get("src") or ""
            # A file in the package, not a web address or an inline data URL.
            if src and "/" not in src and "\\" not in src and ":" not in src:
                self.names.append(src.strip())


def image_names(field: str) -> list[str]:
    """The package files a note field's `<img>` tags show, in order (no web addresses)."""
    if "<img" not in field.lower():
        return []
    parser = _ImageSources()
    parser.feed(field)
    parser.close()
    return [n for n in parser.names if n]


def sniff(data: bytes) -> str | None:
    """The image type that `data` really is (PNG, JPEG, GIF or WebP, by its magic bytes and
    a header that reads as that format), or None."""
    expected = next(((m, f) for magic, m, f in MAGIC if data.startswith(magic)), None)
    if expected is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        expected = ("image/webp", "WEBP")
    if expected is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=[expected[1]]) as image:
                width, height = image.size
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ):
        return None
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        return None
    return expected[0]


def media_map(archive: zipfile.ZipFile, *, current: bool, limit: int) -> dict[str, str]:
    """Media file name -> its zip entry. A map that cannot be read means no media (the notes'
    text is still imported).

    Raises:
        AnkiPackageRefused: the map unpacks to more than `limit` (a bomb).
    """
    try:
        raw = archive.read("media")
    except (KeyError, zipfile.BadZipFile, OSError, EOFError):
        return {}
    if current:
        unpacked, _ = _unzstd(raw, limit)
        if unpacked is None:
            raise AnkiPackageRefused(_bomb(limit))
        return _current_map(unpacked)
    try:
        mapping = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(mapping, dict):
        return {}
    return {str(name): str(entry) for entry, name in mapping.items()}


def _current_map(raw: bytes) -> dict[str, str]:
    # MediaEntries { repeated MediaEntry entries = 1 }; MediaEntry { string name = 1; ... };
    # the n-th entry's file is the zip entry "n".
    out: dict[str, str] = {}
    try:
        entries = proto_fields(raw).get(1, [])
        for index, entry in enumerate(entries):
            if isinstance(entry, bytes):
                name = proto_fields(entry).get(1, [b""])[0]
                if isinstance(name, bytes) and name:
                    out[name.decode("utf-8", "replace")] = str(index)
    except AnkiPackageRefused:
        return {}
    return out


def _bomb(limit: int) -> str:
    return (
        f"The media in this Anki package unpack to more than {limit / 1e6:.0f} MB; it was "
        "not imported."
    )


def read_images(
    archive: zipfile.ZipFile,
    names: Iterable[str],
    *,
    current: bool,
    max_image_bytes: int,
    max_total_bytes: int,
) -> PackageImages:
    """The referenced images the package holds, checked (see the module's docstring).

    Raises:
        AnkiPackageRefused: the media unpack to more than `max_total_bytes` (a bomb).
    """
    mapping = media_map(archive, current=current, limit=max_total_bytes)
    entries = {i.filename: i for i in archive.infolist()}
    images: dict[str, PackageImage] = {}
    left_out: Counter[str] = Counter()
    total = 0
    for name in sorted(set(names)):
        info = entries.get(mapping.get(name, ""))
        if info is None:
            left_out["image_missing"] += 1
            continue
        data, unpacked = _entry(archive, info, current=current, limit=max_image_bytes)
        total += unpacked
        if total > max_total_bytes:
            raise AnkiPackageRefused(_bomb(max_total_bytes))
        media_type = sniff(data) if data is not None else None
        if data is None:
            left_out["image_too_large"] += 1
        elif media_type is None:
            left_out["not_an_image"] += 1
        else:
            images[name] = PackageImage(media_type, data)
    return PackageImages(images, dict(left_out))


def _entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, current: bool, limit: int
) -> tuple[bytes | None, int]:
    """The entry's bytes (zstd-decompressed in the current layout; None over `limit`) and
    how many bytes were unpacked to find out."""
    if not current and info.file_size > limit:
        return None, 0
    try:
        raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError):
        return b"", 0
    if not current:
        return raw, len(raw)
    return _unzstd(raw, limit)


def _unzstd(raw: bytes, limit: int) -> tuple[bytes | None, int]:
    """Decompressed `raw` (b"" when it is not zstd; None when over `limit`, where it stops)
    and how many bytes were unpacked."""
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(raw) as reader:
            while chunk := reader.read(1 << 16):
                out += chunk
                if len(out) > limit:
                    return None, len(out)
    except zstandard.ZstdError:
        return b"", len(out)
    return bytes(out), len(out)
