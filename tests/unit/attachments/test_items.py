"""What may be attached and how it is made ready: images checked by their bytes, downscaled, stripped of metadata;
text files and tables as text; everything else refused with a message that names the fix."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from kaito_widget.attachments import prepare
from kaito_widget.attachments.items import MAX_ATTACHMENTS, from_upload

pytestmark = pytest.mark.unit


def png(w: int = 64, h: int = 48, colour: tuple[int, int, int] = (10, 120, 200), text: dict[str, str] | None = None
        ) -> bytes:
    buf = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    Image.new("RGB", (w, h), colour).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def jpeg(w: int, h: int, exif: bool = False) -> bytes:
    buf = io.BytesIO()
    img = Image.effect_noise((w, h), 40).convert("RGB")
    kwargs = {}
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "CameraMaker"  # Make
        kwargs["exif"] = ex.tobytes()
    img.save(buf, format="JPEG", quality=85, **kwargs)
    return buf.getvalue()


def decoded(a: dict) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(a["data"])))


def test_a_clean_small_png_goes_unchanged(tmp_path: Path) -> None:
    data = png()
    (tmp_path / "plot.png").write_bytes(data)
    [a] = prepare([tmp_path / "plot.png"])
    assert a == {"name": "plot.png", "kind": "image", "mime": "image/png", "bytes": len(data), "width": 64,
                 "height": 48, "data": base64.b64encode(data).decode()}


def test_a_big_photo_is_downscaled_to_1024_aspect_kept_and_image_max_px_changes_it(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg(4000, 3000))
    [a] = prepare(str(path))
    assert (a["width"], a["height"], a["mime"]) == (1024, 768, "image/jpeg")
    assert decoded(a).size == (1024, 768) and a["bytes"] < path.stat().st_size
    [small] = prepare([path], image_max_px=256)
    assert (small["width"], small["height"]) == (256, 192)
    with pytest.raises(ValueError, match="image_max_px must be a whole number of pixels from 32 to 8192"):
        prepare([path], image_max_px=0)


def test_metadata_is_never_sent_a_png_with_script_in_its_text_is_re_encoded(tmp_path: Path) -> None:
    data = png(text={"Comment": "<script>alert(1)</script>", "Author": "someone"})
    assert b"<script>" in data
    [a] = prepare([("evil.png", data)])
    sent = base64.b64decode(a["data"])
    assert b"<script>" not in sent and b"someone" not in sent
    assert decoded(a).size == (64, 48) and not getattr(decoded(a), "text", {})
    [photo] = prepare([jpeg(200, 100, exif=True)])  # a camera's EXIF (here its maker; often its GPS) is left out
    assert b"CameraMaker" not in base64.b64decode(photo["data"]) and photo["name"] == "image.jpg"


def test_figures_pil_images_and_arrays() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([1, 2, 3], [3, 1, 2])
    [f] = prepare(fig)
    assert f["kind"] == "image" and f["mime"] == "image/png" and f["name"].startswith("figure")
    assert 300 <= f["width"] <= 420 and 200 <= f["height"] <= 320
    plt.close(fig)

    [p] = prepare(Image.new("RGBA", (2048, 512), (0, 0, 0, 128)))
    assert (p["width"], p["height"], p["mime"], p["name"]) == (1024, 256, "image/png", "image.png")
    assert decoded(p).mode == "RGBA"

    grey, rgb, rgba = np.zeros((20, 30), np.uint8), np.ones((20, 30, 3)) * 0.5, np.zeros((20, 30, 4), np.uint8)
    shapes = [(a["width"], a["height"], decoded(a).mode) for a in prepare([grey, rgb, rgba])]
    assert shapes == [(30, 20, "L"), (30, 20, "RGB"), (30, 20, "RGBA")]
    assert decoded(prepare([rgb])[0]).getpixel((0, 0)) == (128, 128, 128)
    with pytest.raises(ValueError, match="values in 0–1"):
        prepare([np.full((4, 4), 2.0)])
    with pytest.raises(ValueError, match=r"H×W, H×W×3 or H×W×4; got shape \(4, 4, 2\)"):
        prepare([np.zeros((4, 4, 2), np.uint8)])
    with pytest.raises(ValueError, match="uint8"):
        prepare([np.zeros((4, 4), np.int64)])


def test_text_files_and_dataframes_go_as_text(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "notes.md").write_text("# Notes\nKaito ✓\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    notes, data = prepare([tmp_path / "notes.md", tmp_path / "data.csv"])
    assert (notes["kind"], notes["mime"], notes["text"]) == ("text", "text/markdown", "# Notes\nKaito ✓\n")
    assert data["mime"] == "text/csv" and data["text"] == "a,b\n1,2\n"

    df = pd.DataFrame({"region": [f"r{i}" for i in range(500)], "revenue": range(500)})
    [t] = prepare([("sales", df)])
    assert (t["kind"], t["name"], t["rows"], t["columns"]) == ("table", "sales", 500, 2)
    assert "r0" in t["text"] and "r499" in t["text"] and "r250" not in t["text"]  # head and tail
    assert t["note"] == "rows 31–470 of 500 left out"
    [small] = prepare([pd.DataFrame({"x": [1, 2]})])
    assert small["note"] is None and small["name"] == "DataFrame"


@pytest.mark.parametrize("name, data, message", [
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG image, which can carry script"),
    ("logo.png", b'<?xml version="1.0"?><svg onload="alert(1)"></svg>', "SVG image, which can carry script"),
    ("cat.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "named like an image but its bytes are an "
                                                                           "HTML document"),
    ("cat.jpg", b"GIF89a" + b"\x00" * 20, "could not be read as an image"),
    ("cat.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be read as an image"),
    ("tool.bin", bytes(range(256)) * 4, "binary file, not an image or UTF-8 text"),
    ("latin1.txt", "café".encode("latin-1") * 10, "binary file"),
])
def test_refused_with_the_reason(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_upload(name, data)


def test_bad_items_and_caps(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such file to attach: .*missing.png"):
        prepare([tmp_path / "missing.png"])
    with pytest.raises(IsADirectoryError, match="not a file"):
        prepare([tmp_path])
    with pytest.raises(ValueError, match="A dict to attach must be an attachment"):
        prepare([{"a": 1}])
    with pytest.raises(ValueError, match="Bytes to attach must be a PNG, JPEG, WebP or GIF"):
        prepare([b"hello"])
    with pytest.raises(ValueError, match=f"more than {MAX_ATTACHMENTS} per message"):
        prepare([png()] * (MAX_ATTACHMENTS + 1))
    big = tmp_path / "big.txt"
    big.write_text("x" * (600 * 1024))
    with pytest.raises(ValueError, match="over the 512 kB a text attachment may be"):
        prepare([big])
    assert prepare(None) == [] and prepare([]) == []


def test_names_are_file_names_without_paths_or_control_characters() -> None:
    a = from_upload("../../etc/\x1b[31mnotes.txt", b"hello")
    assert a["name"] == "[31mnotes.txt" and a["text"] == "hello"
