"""Anki's refusal error and the little of protobuf its current format needs (settings and
the media map)."""

from __future__ import annotations

from collections.abc import Iterator

from engine.errors import InvalidInput


class AnkiPackageRefused(InvalidInput):
    """An Anki package that cannot be imported; the message says why."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data) or shift > 63:
            raise AnkiPackageRefused("The Anki collection is damaged: a setting cannot be read.")
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def _proto_items(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            yield number, value
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise AnkiPackageRefused(
                    "The Anki collection is damaged: a setting cannot be read."
                )
            yield number, data[i : i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise AnkiPackageRefused("The Anki collection is damaged: a setting cannot be read.")


def proto_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """A protobuf message's fields by number (varints as ints, length-delimited as bytes)."""
    out: dict[int, list[int | bytes]] = {}
    for number, value in _proto_items(data):
        out.setdefault(number, []).append(value)
    return out
