"""Reading pages without a usable text layer by OCR: render with pdfium, read with the PP-OCR
models that ship inside the `rapidocr` wheel, run on onnxruntime. Nothing is downloaded.

Used by the child process that reads PDFs (`pdf_worker.py`, run as a script with this folder on
sys.path, so this module imports nothing from `engine`); the pure parts (which pages need OCR,
reading order, the script check) are shared with the tests. The heavy imports happen only when a
page is actually read by OCR.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The models' languages: PP-OCRv6 reads Chinese and Latin script (English, and the accented
# letters of German, French, Spanish, ...). Other scripts come out as junk or nothing.
SUPPORTED_SCRIPTS = frozenset({"LATIN", "CJK"})
SUPPORTED_LANGUAGES = "Latin-script languages and Chinese"

_TEXT_PAGE_MIN_CHARS = 200  # a page with less text than this under a full-page image is a scan
_IMAGE_COVER = 0.6  # an image over this share of the page area covers it
_GUTTER_BAND = (0.3, 0.7)  # where a gutter may be, as a share of the page width
_MIN_COLUMN_LINES = 4
_SPANNING_SHARE = 0.3  # lines allowed to cross the gutter (a title block, headings, figures)
_MIN_COLUMN_SHARE = 0.2  # each column holds at least this share of the page's lines
_FULL_WIDTH = 0.6  # a line wider than this share of the page runs across both columns
_FULL_LINE = 0.8  # a line of running text fills at least this share of its column...
_FULL_SHARE = 0.5  # ...and at least this share of a column's lines do
# Detection input's longest side (px); larger pages are scaled down. 960 finds the lines of
# 9-point two-column text at 150 dpi as 1280 does, for ~10% less CPU per page (bench.ocr).
_DET_MAX_SIDE = 960


@dataclass(frozen=True)
class OcrLine:
    """One detected line: its box on the rendered page (pixels) and what was read."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    confidence: float


@dataclass(frozen=True)
class OcrPage:
    """A page read by OCR: its text in reading order and the mean confidence of its lines
    (weighted by their length); 0 when nothing was read."""

    text: str
    confidence: float
    lines: int


def needs_ocr(text: str, *, usable: bool, image_cover: float) -> bool:
    """Whether a page must be read by OCR: its text layer is empty or junk (`usable` False),
    or an image covers the page and the text layer holds next to nothing (a stamp, a page
    number) beside it."""
    if not usable:
        return True
    return image_cover >= _IMAGE_COVER and len(text.strip()) < _TEXT_PAGE_MIN_CHARS


def image_cover(pdf_page: Any) -> float:
    """The largest share of the page's area that one image on it covers (pdfium page)."""
    import pypdfium2.raw as pdfium_c

    width, height = pdf_page.get_size()
    area = width * height
    if area <= 0:
        return 0.0
    best = 0.0
    for obj in pdf_page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, bottom, right, top = obj.get_pos()
        w = max(0.0, min(right, width) - max(left, 0.0))
        h = max(0.0, min(top, height) - max(bottom, 0.0))
        best = max(best, w * h / area)
    return best


def dominant_script(texts: list[str]) -> str | None:
    """The script most letters of these texts are in ('LATIN', 'CJK', 'ARABIC', ...), or None
    when they hold no letters."""
    import unicodedata

    counts: Counter[str] = Counter()
    for text in texts:
        for ch in text:
            if not ch.isalpha():
                continue
            name = unicodedata.name(ch, "")
            first = name.split(" ", 1)[0]
            if first in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH"):
                # Japanese kana and Korean hangul are not read by the Chinese model.
                first = "CJK" if first in ("CJK", "IDEOGRAPHIC", "FULLWIDTH") else first
            counts[first] += 1
    return counts.most_common(1)[0][0] if counts else None


def script_supported(script: str | None) -> bool:
    """Whether the OCR model reads text in this script (None: unknown, so try)."""
    return script is None or script in SUPPORTED_SCRIPTS


# --- reading order --------------------------------------------------------------------------


def _rows(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Lines grouped into rows (boxes that overlap vertically by at least half), top down,
    each row left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda b: (b.y0 + b.y1) / 2):
        if rows:
            last = rows[-1]
            top, bottom = min(b.y0 for b in last), max(b.y1 for b in last)
            overlap = min(bottom, line.y1) - max(top, line.y0)
            if overlap >= 0.5 * min(bottom - top, line.y1 - line.y0):
                last.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda b: b.x0) for row in rows]


def _gutter(lines: list[OcrLine], width: float) -> float | None:
    """An x (pixels) in the middle of the page that (almost) no line crosses and with enough
    lines wholly on each side to be two columns, or None."""
    if len(lines) < 2 * _MIN_COLUMN_LINES or width <= 0:
        return None
    allowed = int(len(lines) * _SPANNING_SHARE)
    best: tuple[int, float] | None = None  # (lines on the smaller side, x)
    step = max(1.0, width / 200)
    x = width * _GUTTER_BAND[0]
    while x <= width * _GUTTER_BAND[1]:
        crossing = sum(1 for b in lines if b.x0 < x < b.x1)
        if crossing <= allowed:
            left = sum(1 for b in lines if b.x1 <= x)
            right = sum(1 for b in lines if b.x0 >= x)
            side = min(left, right)
            enough = max(_MIN_COLUMN_LINES, len(lines) * _MIN_COLUMN_SHARE)
            if side >= enough and (best is None or side > best[0]):
                best = (side, x)
        x += step
    return best[1] if best else None


def reading_order(lines: list[OcrLine], width: float) -> str:
    """The page's text from its detected lines: top to bottom, and on a page in two columns the
    left column, then the right, between lines that run across both (titles, headings).

    When the page as a whole shows no gutter (figures or code listings across the middle above
    two columns of text), it is cut into bands at lines wider than most of the page, and each
    band that is two columns of running text is read column by column."""
    gutter = _gutter(lines, width)
    if gutter is not None:
        return "\n".join(_columns(lines, gutter))
    out: list[str] = []
    band: list[OcrLine] = []
    for line in sorted(lines, key=lambda b: (b.y0, b.x0)):
        if width > 0 and line.x1 - line.x0 > _FULL_WIDTH * width:
            out.extend(_band(band, width))
            band = []
            out.append(line.text)
        else:
            band.append(line)
    out.extend(_band(band, width))
    return "\n".join(out)


def _band(lines: list[OcrLine], width: float) -> list[str]:
    """A band's lines in reading order: by columns if it is two columns of running text."""
    gutter = _gutter(lines, width)
    if gutter is not None and _running_text(lines, gutter):
        return _columns(lines, gutter)
    return [" ".join(b.text for b in row) for row in _rows(lines)]


def _running_text(lines: list[OcrLine], gutter: float) -> bool:
    """Whether most lines on each side fill their column (justified prose), not the short
    cells of a table or a listing beside its comments."""
    for side in ([b for b in lines if b.x1 <= gutter], [b for b in lines if b.x0 >= gutter]):
        left, right = min(b.x0 for b in side), max(b.x1 for b in side)
        full = sum(1 for b in side if b.x1 - b.x0 >= _FULL_LINE * (right - left))
        if full < _FULL_SHARE * len(side):
            return False
    return True


def _columns(lines: list[OcrLine], gutter: float) -> list[str]:
    """Left column, then right, section by section between lines across the gutter."""
    out: list[str] = []
    left: list[OcrLine] = []
    right: list[OcrLine] = []

    def flush() -> None:
        for column in (left, right):
            out.extend(" ".join(b.text for b in row) for row in _rows(column))
            column.clear()

    for line in sorted(lines, key=lambda b: (b.y0, b.x0)):
        if line.x0 < gutter < line.x1:  # across the gutter: ends the section above it
            flush()
            out.append(line.text)
        elif line.x1 <= gutter:
            left.append(line)
        else:
            right.append(line)
    flush()
    return out


def mean_confidence(lines: list[OcrLine]) -> float:
    """The lines' confidence weighted by their length; 0 when nothing was read."""
    total = sum(len(b.text) for b in lines)
    return sum(b.confidence * len(b.text) for b in lines) / total if total else 0.0


# --- the model ------------------------------------------------------------------------------


def model_files() -> dict[str, Path]:
    """The ONNX models inside the installed `rapidocr` wheel (detection, recognition).

    Raises:
        FileNotFoundError: the wheel does not hold them (a different version is installed).
    """
    import rapidocr

    folder = Path(rapidocr.__file__).parent / "models"
    files = {"det": folder / "PP-OCRv6_det_small.onnx", "rec": folder / "PP-OCRv6_rec_small.onnx"}
    for path in files.values():
        if not path.is_file():
            raise FileNotFoundError(f"OCR model missing from the rapidocr package: {path}")
    return files


class Reader:
    """The OCR model, loaded once per process on first use."""

    def __init__(self, *, threads: int = 1) -> None:
        self._engine: Any = None
        self._threads = threads

    def _load(self) -> Any:
        from rapidocr import RapidOCR

        files = model_files()
        # Model paths are set explicitly: rapidocr otherwise resolves models by name and
        # downloads any it does not find. No orientation classifier (pages are upright).
        return RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Global.model_root_dir": str(files["det"].parent),
                "Det.model_path": str(files["det"]),
                "Det.limit_type": "max",
                "Det.limit_side_len": _DET_MAX_SIDE,
                "Det.use_dilation": False,  # twice as fast here, same lines found
                "Rec.model_path": str(files["rec"]),
                "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def read(self, image: Any) -> list[OcrLine]:
        """The lines read on one page image (an RGB numpy array)."""
        if self._engine is None:
            self._engine = self._load()
        result = self._engine(image)
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            xs = [float(p[0]) for p in box]
            ys = [float(p[1]) for p in box]
            if text.strip():
                lines.append(
                    OcrLine(min(xs), min(ys), max(xs), max(ys), text.strip(), float(score))
                )
        return lines


def read_page(reader: Reader, pdf_page: Any, *, dpi: int) -> OcrPage:
    """Render one pdfium page at `dpi` and read it."""
    import numpy as np

    bitmap = pdf_page.render(scale=dpi / 72)
    image = np.asarray(bitmap.to_pil().convert("RGB"))
    lines = reader.read(image)
    return OcrPage(
        text=reading_order(lines, float(image.shape[1])),
        confidence=mean_confidence(lines),
        lines=len(lines),
    )
