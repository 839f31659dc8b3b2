"""The OCR engine (tracker/services/intake/ocr.py): offline models, and lines in reading order.

Reading real pages is tested through ``read_document`` in test_intake_documents.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import rapidocr_onnxruntime
import rapidocr_onnxruntime.utils.infer_engine as infer_engine

from tracker.services.intake import ocr
from tracker.services.intake.ocr import Line, reading_order


def test_the_models_are_the_ones_inside_the_installed_package(monkeypatch):
    """A fresh engine loads its three models from the wheel's own folder and opens no connection."""
    loaded = []
    real = infer_engine.InferenceSession

    def spy(path, *args, **kwargs):
        loaded.append(Path(path).resolve())
        return real(path, *args, **kwargs)

    def no_network(*args, **kwargs):
        raise AssertionError("the OCR engine tried to open a connection")

    monkeypatch.setattr(infer_engine, "InferenceSession", spy)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(ocr, "_engine", None)

    engine = ocr.engine()

    assert ocr.engine() is engine  # built once
    models = Path(rapidocr_onnxruntime.__file__).resolve().parent / "models"
    assert all(p.is_file() and p.is_relative_to(models) for p in loaded)
    assert sorted(p.name for p in loaded) == [
        "ch_PP-OCRv4_det_infer.onnx",
        "ch_PP-OCRv4_rec_infer.onnx",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    ]


def box(x0, y0, x1, y1, text, score=0.99):
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], text, score]


def test_boxes_on_one_line_are_joined_left_to_right_and_lines_run_top_to_bottom():
    result = [
        box(220, 102, 600, 132, "区财政局配合"),  # line 2, right
        box(100, 50, 165, 80, "一、关"),  # line 1 starts with its number, found as a box of its own
        box(152, 52, 500, 82, "关于老旧小区改造。"),  # ... overlapping the next, both reading 关
        box(530, 50, 700, 81, "区住建局牵头"),  # a gap narrower than a character: no space
        box(100, 100, 180, 130, "区水务局", 0.6),  # line 2, left; a gap wider than a character
    ]
    assert reading_order(result) == [
        Line("一、关于老旧小区改造。区住建局牵头", 0.99),
        Line("区水务局 区财政局配合", 0.6),
    ]


def test_a_slightly_skewed_line_stays_one_line():
    result = [box(100, 60, 400, 90, "二、关于安全生产", 0.9), box(410, 70, 700, 100, "检查整治", 0.95)]
    assert reading_order(result) == [Line("二、关于安全生产检查整治", 0.9)]


def test_nothing_found_is_no_lines():
    assert reading_order([]) == []
