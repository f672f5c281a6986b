"""Decoding and validation of every image and mask that enters HarmonyLab.

This is the one place where user inputs become arrays (DESIGN.md conventions): images become RGB ``uint8``
arrays of shape HxWx3, masks become ``bool`` arrays of shape HxW. Anything that cannot be used raises
:class:`backend.errors.InputError` with a sentence the user can act on.

Accepted sources: a path (``str`` / ``pathlib.Path``), ``bytes``, a file-like object, a ``PIL.Image``, a
numpy array, a Gradio file dict (``{"path": ...}``) and Gradio's ``ImageEditor`` value
(``{"background", "layers", "composite"}``, whose parts are any of these; the page's inputs hand them over
undecoded, see ``ui/inputs.py``). An editor background with transparency is composited over white, as the
editor shows it.

Conversions
- EXIF orientation is applied (``PIL.ImageOps.exif_transpose``).
- RGBA / LA / palette with transparency: the alpha channel is dropped (the colour values are kept as they
  are); :func:`load_image_and_alpha_mask` returns the alpha as a mask instead, where that is asked for.
- Grayscale (L, 1, I;16, I, F) is replicated to three channels; CMYK and YCbCr go through Pillow's
  conversion to RGB.
- 16-bit data (``I;16`` images, ``uint16`` arrays) is scaled to 8 bits by ``round(v / 257)``; 32-bit integer
  images are read as 16-bit data when their maximum fits, otherwise scaled by their maximum; float arrays
  are read as 0..1 when their maximum is at most 1, else as 0..255 (clipped).

Mask threshold (documented contract): a pixel is foreground when its value is at least half of the
full range -- 128 of 255 for 8-bit masks, 32768 of 65535 for 16-bit, 0.5 for float masks. A mask whose
only values are 0 and 1 (a "0/1 mask" saved as 8-bit) is read as such. For a mask file with transparency,
the alpha channel is the mask; otherwise its luminance is. ``bool`` arrays are taken as they are.

Limits (the one image gate of every entry point: Gradio inputs, the REST API, the CLI, the store)
- ``HARMONYLAB_MAX_PIXELS`` (default 40 000 000) caps width x height; it is checked from the header, before
  any pixel is decoded, so decompression bombs are refused without being expanded. Pillow's own guard is set
  to the same limit for the whole process (:func:`apply_pillow_limits`): ``Image.open`` anywhere in the
  process raises ``DecompressionBombError`` above it (Pillow raises at twice ``MAX_IMAGE_PIXELS`` and only
  warns between one and two times it, so ``MAX_IMAGE_PIXELS`` is half the limit and the warning is muted).
- Only the formats of :data:`FORMATS` are parsed (no EPS, PSD, ICNS, ... parsers reachable from an upload).
- PNG text chunks: at most :data:`MAX_TEXT_CHUNK` bytes each once decompressed and :data:`MAX_TEXT_MEMORY`
  in all; a larger one is refused with a sentence (Pillow's ``ValueError`` never escapes).
- Truncated files are refused (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays off), as is any file a decoder
  fails on, with a sentence naming the file by its name only (never a server path).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

from backend import settings
from backend.errors import InputError

DEFAULT_MAX_PIXELS = 40_000_000
MASK_THRESHOLD_FRACTION = 0.5
FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")  # the JPEG opener also gives multi-frame (MPO) photos
SUPPORTED_FORMATS_SENTENCE = "PNG, JPEG, WebP, TIFF, BMP or GIF"
MAX_TEXT_CHUNK = 1_000_000  # decompressed bytes of one PNG text (or ICC) chunk
MAX_TEXT_MEMORY = 8_000_000  # text bytes of one PNG in all
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def apply_pillow_limits(limit: int | None = None) -> None:
    """Set Pillow's process-wide guards to our limits (module docstring): any ``Image.open`` in the process
    (Gradio's included) raises ``DecompressionBombError`` above ``limit`` pixels (default: the setting)."""
    limit = max_pixels() if limit is None else int(limit)
    threshold = limit // 2 if limit % 2 == 0 else limit / 2  # Pillow raises above 2 x MAX_IMAGE_PIXELS
    if Image.MAX_IMAGE_PIXELS != threshold:
        Image.MAX_IMAGE_PIXELS = threshold
    PngImagePlugin.MAX_TEXT_CHUNK = MAX_TEXT_CHUNK
    PngImagePlugin.MAX_TEXT_MEMORY = MAX_TEXT_MEMORY
    ImageFile.LOAD_TRUNCATED_IMAGES = False


Image.init()  # register every plugin, so that ``formats=FORMATS`` finds them all (WebP is not preloaded)
# Pillow warns from half our limit up (see apply_pillow_limits); only its error and our own check count.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
apply_pillow_limits(DEFAULT_MAX_PIXELS)  # until the settings are read (every decode re-applies them)


def max_pixels() -> int:
    """The configured pixel limit (the setting ``HARMONYLAB_MAX_PIXELS``)."""
    return settings.current().max_pixels


def _too_large(name: str, pixels: int, limit: int, size: str = "") -> InputError:
    return InputError(
        f"The {name} is {size}{pixels / 1e6:.1f} MP, above the limit of {limit / 1e6:.0f} MP this server accepts; "
        "downscale it and upload it again."
    )


def _check_size(width: int, height: int, name: str, limit: int | None) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"The {name} is empty ({width}x{height} pixels); upload an image with content.")
    limit = max_pixels() if limit is None else limit
    if width * height > limit:
        raise _too_large(name, width * height, limit, f"{width}x{height} = ")


# --------------------------------------------------------------------------------------------- opening


def _describe(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return f"'{Path(source).name}'"
    return "the upload"


def _text_chunk_error(error: BaseException) -> bool:
    return isinstance(error, ValueError) and "MAX_TEXT" in str(error)


def _metadata_refused(name: str) -> InputError:
    return InputError(
        f"The {name} carries more text metadata than accepted ({MAX_TEXT_CHUNK // 1_000_000} MB per PNG text "
        f"chunk, {MAX_TEXT_MEMORY // 1_000_000} MB in all); save it again without the metadata."
    )


def _open_pil(source: Any, name: str) -> Image.Image:
    """Open ``source`` lazily with Pillow (header only); raise InputError for anything unreadable."""
    if isinstance(source, Mapping) and "path" in source:  # Gradio FileData dict
        source = source["path"]
    if hasattr(source, "path") and not isinstance(source, (str, Path)) and isinstance(source.path, str):
        source = source.path  # Gradio FileData object or similar
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"The {name} file '{path.name}' does not exist; check the path.")
        if path.is_dir():
            raise InputError(f"'{path.name}' is a folder, not an image file; give an image file.")
        if path.stat().st_size == 0:
            raise InputError(f"The {name} file '{path.name}' is empty (0 bytes); upload the image again.")
        opener: Any = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError(f"The {name} is empty (0 bytes); upload the image again.")
        opener = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        opener = source
    else:
        raise InputError(
            f"The {name} has an unsupported type ({type(source).__name__}); give an image file, bytes, "
            "a PIL image or a numpy array."
        )
    limit = max_pixels()
    apply_pillow_limits(limit)
    try:
        return Image.open(opener, formats=FORMATS)
    except UnidentifiedImageError as error:
        raise InputError(
            f"{_describe(source).capitalize()} is not an image Pillow can read; upload a "
            f"{SUPPORTED_FORMATS_SENTENCE} file."
        ) from error
    except Image.DecompressionBombError as error:
        found = _BOMB_PIXELS.search(str(error))
        if found:
            raise _too_large(name, int(found.group(1)), limit) from error
        raise InputError(f"The {name} declares an enormous size and was refused as a decompression bomb.") from error
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a parser raises on a malformed header is one sentence
        if _text_chunk_error(error):
            raise _metadata_refused(name) from error
        raise InputError(f"The {name} could not be read (a damaged {SUPPORTED_FORMATS_SENTENCE} file?); "
                         "upload it again.") from error


def _decode(image: Image.Image, name: str, limit: int | None) -> Image.Image:
    """Check the header size, then decode pixels and apply the EXIF orientation."""
    _check_size(image.width, image.height, name, limit)
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as error:
        raise InputError(f"The {name} declares an enormous size and was refused as a decompression bomb.") from error
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - OSError (truncated), ValueError, SyntaxError, struct.error, ...
        if _text_chunk_error(error):
            raise _metadata_refused(name) from error
        raise InputError(f"The {name} file is truncated or corrupt; upload it again.") from error


# ------------------------------------------------------------------------------------- array conversion


def _scale_to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    """Scale an integer/float/bool array of any depth to uint8 (rules in the module docstring)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError(f"The {name} contains NaN or infinite values; give finite pixel values.")
        peak = float(array.max()) if array.size else 0.0
        scaled = array * 255.0 if peak <= 1.0 else array
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        wide = array.astype(np.int64)
        if wide.size and wide.min() < 0:
            raise InputError(f"The {name} has negative pixel values; give values in 0..255 or 0..65535.")
        peak = int(wide.max()) if wide.size else 0
        if array.dtype == np.uint16 or peak > 255:
            divisor = 257.0 if peak <= 65535 else peak / 255.0
            return np.clip(np.rint(wide / divisor), 0, 255).astype(np.uint8)
        return wide.astype(np.uint8)
    raise InputError(f"The {name} has an unsupported pixel type ({array.dtype}); give an 8- or 16-bit image.")


def _array_to_rgb(array: np.ndarray, name: str, limit: int | None) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(
            f"The {name} array has shape {array.shape}; give HxW (grayscale), HxWx3 (RGB) or HxWx4 (RGBA)."
        )
    _check_size(array.shape[1], array.shape[0], name, limit)
    array = _scale_to_uint8(array, name)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _array_to_rgb(np.asarray(image), name, None)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _alpha_of(image: Image.Image) -> np.ndarray | None:
    """The alpha channel as uint8, or None when the image has no transparency."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return np.asarray(image.getchannel("A"), dtype=np.uint8)
    if "transparency" in image.info and image.mode in ("L", "RGB"):
        return np.asarray(image.convert("RGBA").getchannel("A"), dtype=np.uint8)
    return None


def _flatten_on_white(image: Image.Image) -> Image.Image:
    """An image with transparency composited over white (the editor canvas stores RGB 0 under alpha 0, so
    dropping the alpha would turn transparent areas black); other images unchanged."""
    if "A" not in image.getbands() and "transparency" not in image.info:
        return image
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")


def _pil_from_source(source: Any, name: str, limit: int | None) -> Image.Image:
    if isinstance(source, Image.Image):
        return _decode(source, name, limit)
    return _decode(_open_pil(source, name), name, limit)


def _is_editor_value(source: Any) -> bool:
    return isinstance(source, Mapping) and "background" in source and "layers" in source


# ---------------------------------------------------------------------------------------- public API


def load_image(source: Any, *, name: str = "image", limit: int | None = None) -> np.ndarray:
    """Decode any accepted source into an RGB ``uint8`` array of shape HxWx3.

    ``limit`` overrides the pixel limit for this call. For an ImageEditor value, the background (the
    uploaded photo, without the painted strokes) is the image.
    """
    if source is None:
        raise InputError(f"No {name} was given; upload an image.")
    if _is_editor_value(source):
        background = source.get("background")
        if background is None:
            background = source.get("composite")
        if background is None:
            raise InputError(f"No {name} was given; upload an image into the editor first.")
        if isinstance(background, np.ndarray):
            return load_image(background, name=name, limit=limit)
        return _pil_to_rgb(_flatten_on_white(_pil_from_source(background, name, limit)), name)
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, name, limit)
    return _pil_to_rgb(_pil_from_source(source, name, limit), name)


def check_image_file(source: Any, *, name: str = "image", decode: bool = False) -> tuple[int, int]:
    """Check an upload at once, before anything is done with it: readable as an image of an accepted format,
    within the pixel limit (from its header); with ``decode`` also fully decodable (catches a truncated file).
    Returns its (width, height); raises InputError with the sentence to show otherwise."""
    pil = _open_pil(source, name)
    _check_size(pil.width, pil.height, name, None)
    if decode:
        _decode(pil, name, None)
    return pil.width, pil.height


def working_size(width: int, height: int, max_pixels: int, max_side: int | None = None) -> tuple[int, int]:
    """The size an image of ``width`` x ``height`` is processed at: itself when it has at most ``max_pixels``
    pixels (and no side above ``max_side``), else scaled down, keeping its aspect ratio, until it has."""
    scale = min(1.0, (max_pixels / (width * height)) ** 0.5)
    if max_side is not None:
        scale = min(scale, max_side / max(width, height))
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB array (or bool mask) resized to ``size`` (width, height) by area averaging (masks: half covered)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    if image.dtype == bool:
        return np.asarray(Image.fromarray(image.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)) >= 128
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def load_image_fit(source: Any, *, name: str = "image", max_pixels: int,
                   max_side: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode like :func:`load_image`, at most at the working size (:func:`working_size`); returns the pixels
    and the image's own (width, height). A JPEG larger than the working size is decoded at a reduced scale
    directly (Pillow's ``draft``), so a 36 MP photo costs a fraction of its full decode."""
    if source is None or isinstance(source, (np.ndarray, Image.Image)) or _is_editor_value(source):
        full = load_image(source, name=name)
        size = (full.shape[1], full.shape[0])
        return shrink(full, working_size(*size, max_pixels, max_side)), size
    pil = _open_pil(source, name)
    _check_size(pil.width, pil.height, name, None)
    try:  # PNG keeps EXIF after the pixels: reading it may decode the file
        transposed = pil.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception as error:  # noqa: BLE001 - the same refusals as a full decode
        if isinstance(error, MemoryError):
            raise
        _decode(pil, name, None)  # raises the decode's sentence
        raise InputError(f"The {name} file is truncated or corrupt; upload it again.") from error
    size = (pil.height, pil.width) if transposed else (pil.width, pil.height)
    target = working_size(*size, max_pixels, max_side)
    if target != size and pil.format == "JPEG":
        pil.draft(pil.mode, (target[1], target[0]) if transposed else target)
    pixels = _pil_to_rgb(_decode(pil, name, None), name)
    return shrink(pixels, target), size


def _mask_values_to_bool(values: np.ndarray, name: str) -> np.ndarray:
    if values.dtype == bool:
        return values
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)):
            raise InputError(f"The {name} contains NaN or infinite values; give a binary mask.")
        return values >= MASK_THRESHOLD_FRACTION
    if not np.issubdtype(values.dtype, np.integer):
        raise InputError(f"The {name} has an unsupported type ({values.dtype}); give a binary mask image.")
    peak = int(values.max()) if values.size else 0
    if peak <= 1:  # a 0/1 mask
        return values >= 1
    full_range = 65535 if (values.dtype == np.uint16 or peak > 255) else 255
    return values >= np.ceil(full_range * MASK_THRESHOLD_FRACTION)


def _mask_from_array(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3]
        if alpha.min() < alpha.max():  # transparency present: the alpha channel is the mask
            return _mask_values_to_bool(alpha, name)
        array = array[:, :, :3]
    if array.ndim == 3 and array.shape[2] in (1, 3):
        array = array.max(axis=2) if array.dtype == bool else array.mean(axis=2).round().astype(array.dtype)
    if array.ndim != 2:
        raise InputError(f"The {name} array has shape {array.shape}; give an HxW mask.")
    return _mask_values_to_bool(array, name)


def _mask_from_editor(value: Mapping, name: str) -> np.ndarray:
    """The union of the painted layers' alpha (any paint counts) in an ImageEditor value."""
    layers = [layer for layer in (value.get("layers") or []) if layer is not None]
    if not layers:
        raise InputError(f"No {name} was painted; paint the foreground on the composite or upload a mask.")
    painted = None
    for layer in layers:
        pil = layer if isinstance(layer, Image.Image) else None
        if isinstance(layer, np.ndarray):
            rgba = layer
            alpha = rgba[:, :, 3] if rgba.ndim == 3 and rgba.shape[2] == 4 else None
            strokes = alpha > 0 if alpha is not None else _mask_from_array(rgba, name)
        else:
            pil = pil or _pil_from_source(layer, name, None)
            alpha = _alpha_of(pil)
            strokes = alpha > 0 if alpha is not None else _mask_from_array(np.asarray(pil), name)
        painted = strokes if painted is None else (painted | strokes if painted.shape == strokes.shape else painted)
    return painted


def load_mask(
    source: Any,
    *,
    shape: tuple[int, int] | None = None,
    name: str = "mask",
    allow_empty: bool = False,
    allow_full: bool = False,
) -> np.ndarray:
    """Decode a mask into a ``bool`` HxW array (threshold in the module docstring).

    ``shape`` is the (height, width) of the image the mask belongs to; a different size is an error.
    Empty and full masks are errors unless allowed: harmonization needs both a foreground and a background.
    For an ImageEditor value, the mask is what was painted on the layers.
    """
    if source is None:
        raise InputError(f"No {name} was given; paint the foreground or upload a mask image.")
    if _is_editor_value(source):
        mask = _mask_from_editor(source, name)
    elif isinstance(source, np.ndarray):
        _check_size(source.shape[1] if source.ndim >= 2 else 0, source.shape[0] if source.ndim >= 1 else 0, name, None)
        mask = _mask_from_array(source, name)
    else:
        pil = _pil_from_source(source, name, None)
        alpha = _alpha_of(pil)
        if alpha is not None and alpha.min() < alpha.max():
            mask = _mask_values_to_bool(alpha, name)
        else:
            gray = pil if pil.mode in ("L", "1", "I;16", "I;16B", "I;16L", "I", "F") else pil.convert("L")
            mask = _mask_values_to_bool(np.asarray(gray), name)
    return check_mask(mask, shape=shape, name=name, allow_empty=allow_empty, allow_full=allow_full)


def check_mask(
    mask: np.ndarray,
    *,
    shape: tuple[int, int] | None = None,
    name: str = "mask",
    allow_empty: bool = False,
    allow_full: bool = False,
) -> np.ndarray:
    """Validate a boolean mask's size and coverage; return it as a contiguous bool array."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    if shape is not None and tuple(mask.shape[:2]) != tuple(shape[:2]):
        raise InputError(
            f"The {name} is {mask.shape[1]}x{mask.shape[0]} pixels but the image is {shape[1]}x{shape[0]}; "
            f"give a {name} of the same size as the image."
        )
    if not allow_empty and not mask.any():
        raise InputError(f"The {name} is empty; mark the foreground region (white on black).")
    if not allow_full and mask.all():
        raise InputError(
            f"The {name} covers the whole image, so there is no background to compare with; "
            "mark only the foreground."
        )
    return mask


def load_image_and_alpha_mask(source: Any, *, name: str = "image") -> tuple[np.ndarray, np.ndarray | None]:
    """Decode an image and, when it has transparency, its alpha channel as the foreground mask.

    Used where a transparent PNG (e.g. a cut-out object) carries its own mask; returns ``(rgb, None)``
    when there is no alpha.
    """
    if isinstance(source, np.ndarray):
        rgb = load_image(source, name=name)
        if source.ndim == 3 and source.shape[2] == 4:
            return rgb, _mask_values_to_bool(source[:, :, 3], name)
        return rgb, None
    pil = _pil_from_source(source, name, None)
    alpha = _alpha_of(pil)
    rgb = _pil_to_rgb(pil, name)
    return rgb, (None if alpha is None else _mask_values_to_bool(alpha, name))


def content_hash(array: np.ndarray) -> str:
    """A short content address of an array (shape, dtype and bytes) for caches and stores."""
    digest = hashlib.sha256()
    digest.update(f"{array.shape}|{array.dtype}|".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:32]


def to_pil(image: np.ndarray) -> Image.Image:
    """An RGB uint8 array (or bool mask) as a PIL image, for saving and display."""
    if image.dtype == bool:
        return Image.fromarray(image.astype(np.uint8) * 255, mode="L")
    return Image.fromarray(image)


def save_png(image: np.ndarray, path: str | Path, compress_level: int = 6) -> Path:
    """Write an RGB array (or bool mask) as PNG; ``compress_level`` 1 writes several times faster (larger files),
    for results shown once on the page."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(image).save(path, format="PNG", compress_level=compress_level)
    return path
