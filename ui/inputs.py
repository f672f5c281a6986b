"""Image inputs that Gradio never decodes: every uploaded image reaches ``backend.images`` first.

Gradio's own ``gr.Image`` / ``gr.ImageEditor`` / ``gr.ImageSlider`` open and convert an upload in their
``preprocess`` -- before the handler runs, so before any check of ours (a 109 KB PNG of 30000x30000 pixels
became 900 MB there; issue #20). These subclasses keep the same widgets in the page and the same API
signatures, but hand the handler the upload *undecoded* -- the cached file's path, or the bytes of a
``data:`` URL or an editor blob -- so the handler's ``backend.images.load_image`` / ``load_mask`` is the
one place it is decoded, after the pixel limit and the other checks (``backend/images.py``), and after any
password check the handler does first. (Pillow's process-wide limit, set by ``backend.images``, still
guards any other decode.)

``ImageEditorInput`` also bounds what its browser upload route (``accept_blobs``) keeps in memory: at most
:data:`MAX_LAYERS` layers per edit and :data:`MAX_PENDING_EDITS` edits waiting for their event.

They are Gradio "template" components (``is_template``), so the page uses the stock front-end widgets.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

import gradio as gr
from gradio.components.base import server
from gradio.components.image_editor import AcceptBlobs, EditorDataBlobs

MAX_LAYERS = 8
MAX_PENDING_EDITS = 64
MAX_DATA_URL_CHARS = 200_000_000  # a data: URL beyond this is refused before base64-decoding it
_blob_lock = threading.Lock()  # the editors' pending blobs are changed by concurrent requests


def _undecoded(payload: Any, what: str) -> str | bytes | None:
    """The path of an uploaded image (as Gradio cached it), or the bytes of a ``data:`` URL; never opened."""
    if payload is None:
        return None
    url = getattr(payload, "url", None)
    if isinstance(url, str) and url.startswith("data:"):
        if len(url) > MAX_DATA_URL_CHARS:
            raise gr.Error(f"The {what} sent as a data URL is too large; upload it as a file.", print_exception=False)
        try:
            return base64.b64decode(url.partition(",")[2], validate=True)
        except (binascii.Error, ValueError):
            raise gr.Error(f"The {what} sent as a data URL is not valid base64; upload it as a file.",
                           print_exception=False) from None
    path = getattr(payload, "path", None)
    if path is None:
        raise gr.Error(f"The {what} arrived without a file; upload it again.", print_exception=False)
    return str(path)


class ImageInput(gr.Image):
    """``gr.Image`` whose value is the upload's path (or ``data:`` URL bytes), never a decoded image."""

    is_template = True

    def preprocess(self, payload):
        return _undecoded(payload, "image")


class ImageSliderInput(gr.ImageSlider):
    """``gr.ImageSlider`` whose value is a pair of paths (or bytes), never decoded images."""

    is_template = True

    def preprocess(self, payload):
        if payload is None or payload.root is None:
            return None
        first, second = payload.root
        return _undecoded(first, "first slider image"), _undecoded(second, "second slider image")


class ImageEditorInput(gr.ImageEditor):
    """``gr.ImageEditor`` whose value is ``{"background", "layers", "composite"}`` of paths or bytes (the
    browser's canvas exports), never decoded images; ``backend.images`` reads this value as it is."""

    is_template = True

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.id is not None:
            with _blob_lock:
                blobs = self.blob_storage.pop(payload.id, None)
            if blobs is None:
                return {"background": None, "layers": [], "composite": None}
            return {"background": blobs.background, "layers": [layer for layer in blobs.layers if layer is not None],
                    "composite": blobs.composite}
        return {"background": _undecoded(payload.background, "composite"),
                "layers": [_undecoded(layer, "painted layer") for layer in payload.layers if layer is not None],
                "composite": _undecoded(payload.composite, "edited image")}

    @server
    def accept_blobs(self, data: AcceptBlobs):
        """The page uploads the canvas (background, layers, composite) here before the event; kept bounded."""
        kind = data.data["type"]
        raw_index = data.data["index"]
        try:
            index = int(raw_index) if raw_index not in (None, "", "null") else None
        except (TypeError, ValueError):
            raise gr.Error("The painted layer has no usable index.", print_exception=False) from None
        if kind == "layer" and (index is None or not 0 <= index < MAX_LAYERS):
            raise gr.Error(f"At most {MAX_LAYERS} painted layers are accepted.", print_exception=False)
        if not data.files:
            raise gr.Error("No image was uploaded from the editor.", print_exception=False)
        edit_id = str(data.data["id"])[:100]
        file = data.files[0][1]
        with _blob_lock:
            current = self.blob_storage.pop(edit_id, None) or EditorDataBlobs(background=None, layers=[], composite=None)
            if kind == "layer":
                current.layers.extend([None] * (index + 1 - len(current.layers)))
                current.layers[index] = file
            elif kind == "background":
                current.background = file
            elif kind == "composite":
                current.composite = file
            self.blob_storage[edit_id] = current  # newest last: the oldest pending edits are dropped first
            while len(self.blob_storage) > MAX_PENDING_EDITS:
                self.blob_storage.pop(next(iter(self.blob_storage)))
