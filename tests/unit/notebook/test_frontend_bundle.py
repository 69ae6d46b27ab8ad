"""The built stylesheet carries KaTeX's fonts itself: anywidget injects widget.css into the page as text, so a
relative font URL could not resolve, and nothing may be fetched from a CDN."""

from __future__ import annotations

import re

import pytest

from kaito_widget.frontend import STATIC

CSS = STATIC / "widget.css"

pytestmark = [pytest.mark.unit, pytest.mark.skipif(not CSS.exists(), reason="frontend not built: cd js && npm ci && npm run build")]


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


def test_each_output_carries_the_loader_only_and_the_frontend_goes_once_on_request(fake) -> None:
    """Ten chats' synced state stays small (the notebook saved with widget state grows by little per chat); a page
    without the lab extension asks once and gets the module and its stylesheet as binary buffers."""
    import json

    from kaito_widget import ChatWidget
    from kaito_widget.frontend import frontend_files

    chats = [ChatWidget(base_url=fake.base_url, history="fresh") for _ in range(10)]
    try:
        state = sum(len(json.dumps(c.get_state(), default=str)) for c in chats)
        assert state < 2_000_000 / 10, f"ten chats' synced state is {state} bytes"  # was ~9.8 MB (982 kB each)
        assert len(chats[0]._esm) < 4_000 and chats[0]._css == ""
        sent: list = []
        chats[0].comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
        chats[0]._handle_custom_msg({"type": "frontend_request"}, [])
        [(data, buffers)] = [(d, b) for d, b in sent if isinstance(d, dict) and d.get("method") == "custom"]
        assert data["content"] == {"type": "frontend"}
        js, css = frontend_files()
        assert [bytes(b) for b in buffers] == [js, css] and len(js) > 100_000 and b"KaTeX_Main" in css
    finally:
        for c in chats:
            c.close()
