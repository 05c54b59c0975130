"""Tiny real PNG files with the standard library (stand-in helper, not an upstream module)."""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path: str, width: int, height: int, rgb: tuple) -> None:
    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)
