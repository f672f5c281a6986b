"""Hostile image files for the image-gate tests, built in memory (never committed, never decoded here).

* :func:`png_bomb` -- a 1-bit PNG of 30000x30000 whose IDAT is 112 MB of zeros compressed to ~110 KB
  (written row by row with zlib, so building it costs no memory);
* :func:`jpeg_bomb` -- a real 16x16 JPEG whose SOF header is patched to 16000x16000;
* :func:`text_chunk_bomb` -- a small valid PNG with a zTXt chunk that inflates to 64 MB, before IDAT;
* :func:`truncated_png` -- a valid 256x256 PNG cut in half.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_bomb(side: int = 30000) -> bytes:
    """A 1-bit grey PNG of side x side pixels, all black (~110 KB for 30000)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    return _png(side, side, 1, 0, b"".join(parts))


def jpeg_bomb(side: int = 16000) -> bytes:
    """A 16x16 JPEG whose frame header (SOF0) claims side x side pixels."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buffer, format="JPEG", quality=90)
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, side, side)  # marker, length (2), precision (1), height, width
    return bytes(data)


def text_chunk_bomb(megabytes: int = 64) -> bytes:
    """A 32x32 RGB PNG carrying a zTXt chunk that inflates to ``megabytes`` MB (before the image data)."""
    compressor = zlib.compressobj(9)
    block = b"A" * 1_000_000
    text = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + text)
    rows = b"".join(b"\x00" + bytes(range(96)) for _ in range(32))
    return _png(32, 32, 8, 2, zlib.compress(rows), extra=ztxt)


def truncated_png() -> bytes:
    """A valid 256x256 noise PNG cut in half (the header reads, the pixels do not)."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


BOMBS = {"png-30000": (png_bomb, ".png"), "jpeg-16000": (jpeg_bomb, ".jpg"),
         "text-chunk": (text_chunk_bomb, ".png"), "truncated": (truncated_png, ".png")}
EXPECTED = {"png-30000": "900.0 MP, above the limit", "jpeg-16000": "256.0 MP, above the limit",
            "text-chunk": "more text metadata than accepted", "truncated": "truncated or corrupt"}


def write_bombs(folder) -> dict[str, str]:
    """Every bomb as a file in ``folder``: name -> path."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (build, suffix) in BOMBS.items():
        path = folder / f"{name}{suffix}"
        path.write_bytes(build())
        paths[name] = str(path)
    return paths
