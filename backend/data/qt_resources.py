"""Read Qt's binary resource files (``.rcc``) -- the container GCompris ships its photos in.

No maintained Python reader of this format exists offline (PyPI's Qt bindings *write* rcc files with
``pyside6-rcc``/``pyrcc5`` but read them only inside a running Qt application), so this module parses the
documented layout of ``QResourceRoot`` (Qt's ``src/corelib/io/qresource.cpp``, written by
``src/tools/rcc/rcc.cpp``):

* header: ``b"qres"``, then big-endian uint32 ``version`` (1, 2 or 3), ``tree_offset``, ``data_offset``,
  ``names_offset`` and, from version 3, ``overall_flags``;
* tree: fixed-size nodes (14 bytes in version 1, 22 from version 2, which adds a uint64 modification time),
  node 0 is the root. A node starts with uint32 ``name_offset`` and uint16 ``flags``
  (``0x1`` zlib-compressed, ``0x2`` directory, ``0x4`` zstd-compressed); a directory continues with uint32
  ``child_count`` and uint32 ``first_child`` (children are consecutive nodes), a file with uint16 country,
  uint16 language and uint32 ``data_offset``;
* names: uint16 length (in UTF-16 code units), uint32 hash, then the name in UTF-16 big-endian;
* data: uint32 size, then the bytes; zlib-compressed payloads are ``qCompress`` output (a big-endian uint32
  of the uncompressed size, then a zlib stream).

:func:`read_resources` returns every file as ``{"/path/in/resource": bytes}`` (zstd payloads are refused:
GCompris's files use zlib or none). The tests build small rcc files of each version to check the reader.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from backend.errors import InputError

MAGIC = b"qres"
COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 0x1, 0x2, 0x4


def _node_size(version: int) -> int:
    return 14 if version == 1 else 22


def read_resources(path: str | Path, suffixes: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """Every file of the rcc file at ``path`` (optionally only names ending in ``suffixes``, any case),
    keyed by its path inside the resource (``/a/b.webp``)."""
    data = Path(path).read_bytes()
    name = Path(path).name
    if len(data) < 20 or data[:4] != MAGIC:
        raise InputError(f"'{name}' is not a Qt resource file (no 'qres' header).")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    if version not in (1, 2, 3):
        raise InputError(f"'{name}' is a Qt resource file of version {version}; this reader knows versions 1-3.")
    size = _node_size(version)
    wanted = tuple(s.lower() for s in suffixes) if suffixes else None
    files: dict[str, bytes] = {}

    def unpack(fmt: str, offset: int):
        end = offset + struct.calcsize(fmt)
        if offset < 0 or end > len(data):
            raise InputError(f"'{name}' is truncated or damaged (an offset points past its end).")
        return struct.unpack(fmt, data[offset:end])

    def node_name(offset: int) -> str:
        (length,) = unpack(">H", names + offset)
        start = names + offset + 6
        return data[start:start + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str, depth: int) -> None:
        if depth > 64:
            raise InputError(f"'{name}' nests folders deeper than 64 levels; it is damaged.")
        node = tree + index * size
        name_offset, flags = unpack(">IH", node)
        label = node_name(name_offset) if index else ""
        if flags & DIRECTORY:
            count, first = unpack(">II", node + 6)
            folder = f"{prefix}{label}/" if index else "/"
            for child in range(first, first + count):
                walk(child, folder, depth + 1)
            return
        full = prefix + label
        if wanted and not full.lower().endswith(wanted):
            return
        _, _, offset = unpack(">HHI", node + 6)
        (length,) = unpack(">I", payload + offset)
        blob = data[payload + offset + 4: payload + offset + 4 + length]
        if flags & COMPRESSED_ZSTD:
            raise InputError(f"'{full}' in '{name}' is zstd-compressed; this reader handles zlib only.")
        if flags & COMPRESSED:
            blob = zlib.decompress(blob[4:])
        files[full] = blob

    walk(0, "", 0)
    return files


def write_resources(files: dict[str, bytes], version: int = 3, compress: bool = True) -> bytes:
    """An rcc file holding ``files`` (``{"a/b.png": bytes}``) -- the inverse of :func:`read_resources`, for
    tests and fixtures (Qt's own rcc tool is not needed). Names are hashed with 0 (readers here ignore it)."""
    tree: dict = {}
    for key, blob in files.items():
        parts = [p for p in key.strip("/").split("/") if p]
        folder = tree
        for part in parts[:-1]:
            folder = folder.setdefault(part, {})
        folder[parts[-1]] = blob
    names, name_offsets = bytearray(), {}
    payload = bytearray()
    nodes: list[bytes] = []

    def name_offset(label: str) -> int:
        if label not in name_offsets:
            name_offsets[label] = len(names)
            encoded = label.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(encoded) // 2, 0) + encoded)
        return name_offsets[label]

    extra = b"" if version == 1 else struct.pack(">Q", 0)
    # breadth-first numbering: a folder's children are consecutive nodes
    queue: list[tuple[str, object]] = [("", tree)]
    index = 0
    while index < len(queue):
        label, value = queue[index]
        offset = name_offset(label) if index else 0
        if isinstance(value, dict):
            first = len(queue)
            children = sorted(value.items())
            queue.extend(children)
            nodes.append(struct.pack(">IHII", offset, DIRECTORY, len(children), first) + extra)
        else:
            blob = bytes(value)
            flags = 0
            if compress:
                blob, flags = struct.pack(">I", len(blob)) + zlib.compress(blob), COMPRESSED
            nodes.append(struct.pack(">IHHHI", offset, flags, 0, 0, len(payload)) + extra)
            payload.extend(struct.pack(">I", len(blob)) + blob)
        index += 1
    header_size = 20 + (4 if version >= 3 else 0)
    data_offset = header_size
    names_offset = data_offset + len(payload)
    tree_offset = names_offset + len(names)
    header = MAGIC + struct.pack(">IIII", version, tree_offset, data_offset, names_offset)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + bytes(payload) + bytes(names) + b"".join(nodes)
