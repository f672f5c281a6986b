"""backend/images.py: every accepted input kind and every bad input of the foundation issue."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.errors import InputError
from backend.images import content_hash, load_image, load_image_and_alpha_mask, load_mask


@pytest.fixture
def rgb():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=params.pop("format", "PNG"), **params)
    return buffer.getvalue()


def test_path_bytes_pil_and_array_agree(rgb, tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(rgb).save(path)
    for source in (path, str(path), path.read_bytes(), Image.fromarray(rgb), rgb, {"path": str(path)}):
        out = load_image(source)
        assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
        np.testing.assert_array_equal(out, rgb)


def test_exif_orientation_is_applied(rgb):
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    data = png_bytes(image, format="JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(data)
    assert out.shape == (60, 40, 3)


def test_rgba_alpha_dropped_or_used_as_mask(rgb):
    alpha = np.zeros(rgb.shape[:2], dtype=np.uint8)
    alpha[10:30, 20:40] = 255
    rgba = np.dstack([rgb, alpha])
    data = png_bytes(Image.fromarray(rgba, mode="RGBA"))
    np.testing.assert_array_equal(load_image(data), rgb)
    image, mask = load_image_and_alpha_mask(data)
    np.testing.assert_array_equal(image, rgb)
    assert mask.sum() == 20 * 20 and mask[10, 20] and not mask[0, 0]
    assert load_image_and_alpha_mask(png_bytes(Image.fromarray(rgb)))[1] is None


def test_grayscale_palette_16bit_cmyk(rgb):
    gray = rgb[:, :, 0]
    out = load_image(png_bytes(Image.fromarray(gray, mode="L")))
    assert out.shape == (40, 60, 3) and np.array_equal(out[:, :, 1], gray)

    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    np.testing.assert_array_equal(load_image(png_bytes(palette)), np.asarray(palette.convert("RGB")))

    sixteen = (gray.astype(np.uint16) * 257)
    out16 = load_image(png_bytes(Image.fromarray(sixteen)))  # saved as a 16-bit grayscale PNG
    np.testing.assert_array_equal(out16[:, :, 0], gray)
    np.testing.assert_array_equal(load_image(sixteen)[:, :, 2], gray)

    cmyk = Image.fromarray(rgb).convert("CMYK")
    out_cmyk = load_image(png_bytes(cmyk, format="JPEG", quality=100))
    assert out_cmyk.shape == (40, 60, 3)
    assert np.abs(out_cmyk.astype(int) - np.asarray(cmyk.convert("RGB")).astype(int)).mean() < 8


def test_float_and_bool_arrays():
    ramp = np.linspace(0, 1, 12).reshape(3, 4)
    np.testing.assert_array_equal(load_image(ramp)[:, :, 0], np.rint(ramp * 255).astype(np.uint8))
    assert load_image(np.ones((3, 4), dtype=bool)).max() == 255
    with pytest.raises(InputError, match="NaN"):
        load_image(np.full((3, 4), np.nan))


@pytest.mark.parametrize(
    "source, message",
    [
        (b"this is plain text, not a picture", "not an image"),
        (b"", "empty"),
        (np.zeros((0, 10, 3), dtype=np.uint8), "empty"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "shape"),
        (12345, "unsupported type"),
        (None, "No image"),
    ],
)
def test_bad_images_raise_input_error(source, message):
    with pytest.raises(InputError, match=message):
        load_image(source)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(InputError, match="'notes.png' is not an image"):
        load_image(text)


def test_truncated_file(rgb):
    data = png_bytes(Image.fromarray(rgb))
    with pytest.raises(InputError, match="truncated or corrupt|could not be read"):
        load_image(data[: len(data) // 2])


def test_pixel_limit_checked_from_header_before_decoding(monkeypatch, settings_env):
    # A 20000 x 20000 PNG header over a tiny payload: refused from its declared size, never decoded.
    bomb = Image.new("L", (20000, 20000))
    data = png_bytes(bomb, optimize=True)
    assert len(data) < 2_000_000
    with pytest.raises(InputError, match="400.0 MP, above the limit of 40 MP"):
        load_image(data)
    settings_env(HARMONYLAB_MAX_PIXELS="1000")
    with pytest.raises(InputError, match="above the limit"):
        load_image(np.zeros((40, 40, 3), dtype=np.uint8))
    assert load_image(np.zeros((10, 10, 3), dtype=np.uint8), limit=10_000).shape == (10, 10, 3)


def test_mask_threshold_and_formats(tmp_path):
    values = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(load_mask(values), [[False, False, True, True]])
    np.testing.assert_array_equal(load_mask(np.array([[0, 1, 1, 0]], dtype=np.uint8)), [[False, True, True, False]])
    np.testing.assert_array_equal(load_mask(np.array([[0.2, 0.5, 0.9, 0.0]])), [[False, True, True, False]])
    sixteen = np.array([[0, 32767, 32768, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(load_mask(sixteen), [[False, False, True, True]])
    # a mask file with transparency: the alpha is the mask, whatever the colour
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[:2, :, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    assert load_mask(path).sum() == 8
    gray_path = tmp_path / "gray.png"
    Image.fromarray(np.array([[0, 200], [255, 10]], dtype=np.uint8)).save(gray_path)
    np.testing.assert_array_equal(load_mask(gray_path), [[False, True], [True, False]])


def test_mask_errors():
    mask = np.zeros((10, 20), dtype=bool)
    mask[2:5, 2:5] = True
    with pytest.raises(InputError, match="mask is 20x10 pixels but the image is 30x10"):
        load_mask(mask, shape=(10, 30))
    with pytest.raises(InputError, match="empty"):
        load_mask(np.zeros((10, 20), dtype=bool))
    with pytest.raises(InputError, match="covers the whole image"):
        load_mask(np.ones((10, 20), dtype=bool))
    assert load_mask(np.zeros((10, 20), dtype=bool), allow_empty=True).sum() == 0


def test_image_editor_value(rgb):
    layer = np.zeros((40, 60, 4), dtype=np.uint8)
    layer[5:15, 10:30] = (255, 0, 0, 200)  # painted strokes
    other = np.zeros((40, 60, 4), dtype=np.uint8)
    other[30:35, 50:55, 3] = 80
    value = {"background": np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), "layers": [layer, other],
             "composite": None}
    np.testing.assert_array_equal(load_image(value), rgb)
    mask = load_mask(value, shape=rgb.shape[:2])
    assert mask.sum() == 10 * 20 + 5 * 5
    with pytest.raises(InputError, match="No mask was painted"):
        load_mask({"background": rgb, "layers": [], "composite": rgb})
    with pytest.raises(InputError, match="empty"):
        load_mask({"background": rgb, "layers": [np.zeros((40, 60, 4), np.uint8)], "composite": rgb})


def test_content_hash_depends_on_content_and_shape(rgb):
    assert content_hash(rgb) == content_hash(rgb.copy())
    changed = rgb.copy()
    changed[0, 0, 0] ^= 1
    assert content_hash(changed) != content_hash(rgb)
    assert content_hash(rgb.reshape(60, 40, 3)) != content_hash(rgb)
