"""Memory-map the arrays of an uncompressed ``.npz`` file (numpy only maps plain ``.npy``).

An ``.npz`` written by `numpy.savez` is a zip archive whose members are stored, not
compressed: each member's ``.npy`` data lies as is at a known offset of the file, so it can
be mapped with `numpy.memmap` there. Every process that maps the same bundle file shares its
pages through the page cache, and a reload maps the new file without copying it.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["mmap_npz"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip local file header (30 bytes)


def mmap_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``path``, each a read-only memory map; None when a member is compressed
    or holds objects (then load it the ordinary way)."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                return None
            fh.seek(info.header_offset)
            header = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
            name_len, extra_len = header[10], header[11]
            fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
            if dtype.hasobject:
                return None
            offset = fh.tell()
            name = info.filename[:-4]
            if int(np.prod(shape)) == 0 or dtype.itemsize == 0:
                out[name] = np.zeros(shape, dtype=dtype)
            else:
                out[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                                      order="F" if fortran else "C")
    return out
