"""Offline OCR of a page image: rapidocr-onnxruntime 1.4.4 and the PP-OCRv4 models in its wheel.

Nothing is downloaded: the default config names the package's own ``models/`` files, and a model
other than the default would be fetched on first use, which fails offline (shared/PITFALLS.md,
"OCR offline"); tests/test_intake_ocr.py checks the files loaded and that no connection is opened.
One engine per process, built on first use; one recognition at a time, since onnxruntime already
spreads one over every core. cv2, onnxruntime and numpy load with the engine (about a second),
not when the app starts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PIL import Image

DOUBTFUL_SCORE = 0.8  # a line recognised below this is worth a second look

_LOCK = threading.Lock()
_engine = None


@dataclass(frozen=True)
class Line:
    text: str
    score: float  # the lowest of its boxes', 0..1


def engine():
    """The process's engine, built on first use."""
    global _engine
    with _LOCK:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()  # the default config: the models inside the package
        return _engine


def recognise(image: Image.Image) -> list[Line]:
    """The lines of text on an RGB image, in reading order (see ``reading_order``)."""
    import numpy as np

    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])  # OpenCV's channel order
    ocr = engine()
    with _LOCK:
        result, _ = ocr(bgr)
    return reading_order(result or [])


def reading_order(result: list) -> list[Line]:
    """Lines rebuilt from the engine's boxes ``[corners, text, score]``: boxes that overlap
    vertically by half their height form a line, read left to right, so that an item's number
    (一、) found as a box of its own stays at the start of its line; lines run top to bottom.
    A gap wider than a character becomes a space; a character read twice where two boxes overlap
    is kept once."""
    boxes = []
    for corners, text, score in result:
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        boxes.append((min(ys), max(ys), min(xs), max(xs), text, float(score)))
    boxes.sort(key=lambda b: (b[0] + b[1]) / 2)
    lines: list[list[tuple]] = []
    for box in boxes:
        if lines:
            line = lines[-1]
            top, bottom = min(b[0] for b in line), max(b[1] for b in line)
            overlap = min(bottom, box[1]) - max(top, box[0])
            if overlap >= 0.5 * min(bottom - top, box[1] - box[0]):
                line.append(box)
                continue
        lines.append([box])
    out = []
    for line in lines:
        line.sort(key=lambda b: b[2])
        height = max(b[1] - b[0] for b in line)
        text = line[0][4]
        for prev, box in zip(line, line[1:]):
            gap = box[2] - prev[3]
            if gap < 0 and box[4] and text.endswith(box[4][0]):
                text += box[4][1:]  # overlapping boxes both read the character at the seam
            else:
                text += (" " if gap > height else "") + box[4]
        out.append(Line(text, min(b[5] for b in line)))
    return out
