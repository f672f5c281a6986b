"""Content-addressed storage of the images annotators see.

Decision (documented contract): every image that enters a campaign is decoded and validated with
:func:`backend.images.load_image` (EXIF orientation applied, alpha dropped, 16-bit scaled, pixel limit
checked), re-encoded as PNG, and stored as ``<root>/<aa>/<bb>/<sha256>.png`` where ``sha256`` is the
hash of those PNG bytes. So

- what annotators see is exactly the RGB array the rest of HarmonyLab uses (no browser-dependent
  decoding of EXIF, colour profiles or formats a browser cannot show, such as TIFF or 16-bit PNG);
- the file name verifies the file (``sha256sum`` of the file equals its name), and the URL of an image
  reveals nothing about its method or source path;
- identical uploads are stored once. (The same pixels encoded by another Pillow/zlib version may hash
  differently; that only costs a second copy, never a wrong image.)

Files are written to a temporary name and renamed, so a crash never leaves a partial image under its
final name. Campaign creation stores its images as one :meth:`MediaStore.batch`: they are staged first
and moved into place only when every image was valid, so a refused campaign leaves the store unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backend.errors import InputError
from backend.images import load_image

SHA256_LENGTH = 64


def encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


class MediaStore:
    """Images by content hash under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def under(cls, data_dir: Path) -> MediaStore:
        """The media store of a data directory (``<data dir>/images``)."""
        return cls(Path(data_dir).resolve() / "images")

    def path(self, sha256: str) -> Path:
        if len(sha256) != SHA256_LENGTH or any(c not in "0123456789abcdef" for c in sha256):
            raise InputError(f"'{sha256}' is not an image hash; hashes are 64 lowercase hex digits.")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.png"

    def _write(self, data: bytes, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put(self, source: Any, name: str = "image") -> str:
        """Validate ``source`` (anything :func:`load_image` accepts), store it, return its hash."""
        data = encode_png(load_image(source, name=name))
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not (target.exists() and target.stat().st_size == len(data)):
            self._write(data, target)
        return sha256

    @contextlib.contextmanager
    def batch(self) -> Iterator[MediaStore]:
        """Stage images in a scratch store; move them into this one only if the block succeeds."""
        staging = MediaStore(self.root / f".staging-{uuid.uuid4().hex}")
        try:
            yield staging
            for staged in staging.root.rglob("*.png"):
                target = self.path(staged.stem)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, target)
        finally:
            shutil.rmtree(staging.root, ignore_errors=True)

    def file(self, sha256: str) -> str:
        """The stored file of ``sha256`` as a string path (what Gradio's image outputs take)."""
        path = self.path(sha256)
        if not path.exists():
            raise InputError(f"The image {sha256[:12]}... is missing from the data directory's image store; "
                             "re-create the campaign or restore the data directory.")  # no server path in replies
        return str(path)
