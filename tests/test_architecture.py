"""Boundaries: lstm_core never imports streamlit; nothing unpickles or uses unsafe YAML."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _sources(folder: str):
    """The folder's Python files, its subpackages' too (changepoints/, interpret/...); the
    repository root's own files only for "."."""
    base = ROOT / folder
    return sorted(base.glob("*.py") if folder == "." else base.rglob("*.py"))


def test_lstm_core_never_imports_streamlit():
    for path in _sources("lstm_core"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+streamlit", text, re.M), path.name


def test_no_unpickling_or_unsafe_yaml_anywhere():
    for folder in ("lstm_core", "pages", "ui", "benchmarks", "tools", "."):
        for path in _sources(folder):
            text = path.read_text()
            assert not re.search(r"pickle\.loads?\(", text), path
            assert not re.search(r"yaml\.(load|unsafe_load)\(", text), path
            for m in re.finditer(r"(?<!safetensors\.)torch\.load\(([^)]*)\)", text):
                assert "weights_only=True" in m.group(1), path


def test_pages_stay_thin():
    """Pages call lstm_core and ui; arrays, tensors and their maths live in lstm_core."""
    for path in _sources("pages"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(torch|numpy)", text, re.M), path.name
        assert text.count("\n") <= 150, f"{path.name} has grown past a thin page"
