"""The built stylesheet carries KaTeX's fonts itself: anywidget injects widget.css into the page as text, so a
relative font URL could not resolve, and nothing may be fetched from a CDN."""

from __future__ import annotations

import re

import pytest

from kaito_widget.notebook.face import STATIC

CSS = STATIC / "widget.css"

pytestmark = pytest.mark.skipif(not CSS.exists(), reason="frontend not built: cd js && npm ci && npm run build")


def test_katex_fonts_are_inlined_as_woff2_data_urls() -> None:
    css = CSS.read_text(encoding="utf-8")
    urls = re.findall(r"url\(([^)]*)\)", css)
    assert urls, "KaTeX's @font-face rules are missing from widget.css"
    assert all(u.strip("'\"").startswith("data:font/woff2;base64,") for u in urls), [u[:60] for u in urls]
    faces = re.findall(r"@font-face\{[^}]*font-family:(KaTeX_\w+)", css)
    assert {"KaTeX_Main", "KaTeX_Math", "KaTeX_AMS", "KaTeX_Size1", "KaTeX_Size4"} <= set(faces)
    assert len(faces) == len(urls) == 20  # one woff2 per face, no .woff/.ttf fallbacks


def test_stylesheet_stays_a_sane_size() -> None:
    assert CSS.stat().st_size < 450_000  # 20 woff2 fonts in base64 (~350 kB) plus KaTeX's and our rules
