"""Issue #20 (1): the one image gate. Unit tests of ``backend.images``' limits and of ``ui.inputs``.

* Pillow's process-wide guard equals our pixel limit (it raises at the limit, not at twice it) and follows
  the setting; text chunks, truncated files and formats outside the list are refused with sentences.
* The page's image inputs hand uploads over undecoded: a 30000x30000 PNG bomb goes through ``preprocess``
  as a path in milliseconds; ``data:`` URLs become bytes; the editor's blob route is bounded.
The bombs through the live server are ``tests/test_api_bombs.py``.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from unittest import mock

import gradio as gr
import numpy as np
import pytest
from gradio.components.image_editor import AcceptBlobs, EditorData
from gradio.data_classes import FileData, ImageData
from PIL import Image

from backend.errors import InputError
from backend.images import load_image, load_mask
from tests.bombs import BOMBS, EXPECTED, png_bomb


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_every_bomb_is_refused_with_a_sentence(bomb):
    data = BOMBS[bomb][0]()
    for load in (load_image, load_mask):
        with pytest.raises(InputError, match=EXPECTED[bomb]):
            load(data)


def test_pillow_itself_refuses_above_our_limit(settings_env):
    import backend.images  # noqa: F401 - sets Pillow's limits

    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_bomb(7000)))  # 49 MP: above 40 MP (Pillow's own default would only warn)
    settings_env(HARMONYLAB_MAX_PIXELS="1000")
    with pytest.raises(InputError, match="above the limit of 0 MP"):
        load_image(png_bomb(40))
    with pytest.raises(Image.DecompressionBombError):  # the setting reached Pillow too
        Image.open(io.BytesIO(png_bomb(40)))
    assert load_image(png_bomb(30)).shape == (30, 30, 3)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_text_after_the_pixels_and_too_much_text_in_all_are_refused():
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG")
    png = buffer.getvalue()
    end = png.rindex(b"IEND") - 4
    late = png[:end] + _chunk(b"zTXt", b"c\x00\x00" + zlib.compress(b"A" * 5_000_000)) + png[end:]
    with pytest.raises(InputError, match="more text metadata than accepted"):
        load_image(late)
    many = png[:33] + b"".join(_chunk(b"tEXt", b"k\x00" + b"B" * 900_000) for _ in range(10)) + png[33:]
    with pytest.raises(InputError, match="more text metadata than accepted"):
        load_image(many)


def test_only_the_listed_formats_are_parsed(tmp_path):
    for format_name, suffix in (("ICO", ".ico"), ("PCX", ".pcx"), ("TGA", ".tga"), ("EPS", ".eps")):
        path = tmp_path / f"x{suffix}"
        try:
            Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, format=format_name)
        except (OSError, KeyError):  # no writer here (EPS needs nothing to write; keep going anyway)
            continue
        with pytest.raises(InputError, match=f"'x{suffix}' is not an image Pillow can read"):
            load_image(path)
    for format_name in ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF"):
        buffer = io.BytesIO()
        Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buffer, format=format_name)
        assert load_image(buffer.getvalue()).shape == (16, 16, 3)


def test_messages_name_files_not_server_paths(tmp_path):
    folder = tmp_path / "deep" / "server" / "folder"
    folder.mkdir(parents=True)
    (folder / "broken.png").write_bytes(BOMBS["truncated"][0]())
    for source in (folder / "missing.png", folder, folder / "broken.png"):
        with pytest.raises(InputError) as caught:
            load_image(source)
        assert str(tmp_path) not in str(caught.value)


def test_editor_background_with_transparency_is_shown_on_white():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, :] = (255, 0, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    image = load_image({"background": buffer.getvalue(), "layers": [], "composite": None})
    assert image[0, 0].tolist() == [255, 0, 0] and image[7, 7].tolist() == [255, 255, 255]


# ------------------------------------------------------------------------------------------ ui.inputs


@pytest.fixture(scope="module")
def bomb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gate") / "bomb.png"
    path.write_bytes(png_bomb())
    return str(path)


def test_inputs_hand_uploads_over_undecoded(bomb_file):
    with mock.patch("PIL.Image.open", side_effect=AssertionError("an input opened the upload")):
        check_undecoded_handover(bomb_file)
    with pytest.raises(InputError, match="900.0 MP"):
        load_mask({"background": bomb_file, "layers": [bomb_file], "composite": None})


def check_undecoded_handover(bomb_file):
    """The three inputs give the uploaded paths back as they are (Pillow patched to fail if anything opens them)."""
    from ui.inputs import ImageEditorInput, ImageInput, ImageSliderInput

    assert ImageInput(type="filepath").preprocess(ImageData(path=bomb_file, orig_name="bomb.png")) == bomb_file
    slider = ImageSliderInput(type="filepath").preprocess(
        ImageSliderInput().data_model.model_validate([{"path": bomb_file}, {"path": bomb_file}]))
    assert slider == (bomb_file, bomb_file)
    editor = ImageEditorInput(type="filepath").preprocess(
        EditorData(background=FileData(path=bomb_file), layers=[FileData(path=bomb_file)], composite=None))
    assert editor == {"background": bomb_file, "layers": [bomb_file], "composite": None}
    data = png_bomb(64)
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert ImageInput().preprocess(ImageData(url=url)) == data
    with pytest.raises(gr.Error, match="not valid base64"):
        ImageInput().preprocess(ImageData(url="data:image/png;base64,@@@"))


def test_editor_blob_route_is_bounded():
    from ui.inputs import MAX_LAYERS, MAX_PENDING_EDITS, ImageEditorInput

    editor = ImageEditorInput(type="filepath")

    def blob(edit: str, kind: str, index):
        return AcceptBlobs(data={"type": kind, "index": index, "id": edit, "file": b""}, files=[("f", b"png")])

    with pytest.raises(gr.Error, match=f"At most {MAX_LAYERS} painted layers"):
        editor.accept_blobs(blob("e", "layer", str(10**9)))  # Gradio's own route made a list of 10**9 Nones
    for k in range(MAX_PENDING_EDITS + 20):
        editor.accept_blobs(blob(f"edit-{k}", "background", None))
        editor.accept_blobs(blob(f"edit-{k}", "layer", "1"))
    assert len(editor.blob_storage) == MAX_PENDING_EDITS and "edit-0" not in editor.blob_storage
    value = editor.preprocess(EditorData(id=f"edit-{MAX_PENDING_EDITS + 19}"))
    assert value == {"background": b"png", "layers": [b"png"], "composite": None}
    assert f"edit-{MAX_PENDING_EDITS + 19}" not in editor.blob_storage
