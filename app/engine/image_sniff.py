"""Recognise a file's kind from its first bytes (never from its name).

Used by :mod:`app.engine.images` to pick the decoder for the picture formats the workstation reads,
and to tell the examiner in plain words what a refused file seems to be ("a PDF document").
"""

from __future__ import annotations

from dataclasses import dataclass

_BMP_INFO_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


@dataclass(frozen=True)
class PictureFormat:
    """A picture format the workstation decodes."""

    name: str  # Pillow's format name, also what DecodedImage.format reports
    media_type: str


JPEG = PictureFormat("JPEG", "image/jpeg")
PNG = PictureFormat("PNG", "image/png")
GIF = PictureFormat("GIF", "image/gif")
BMP = PictureFormat("BMP", "image/bmp")
TIFF = PictureFormat("TIFF", "image/tiff")
WEBP = PictureFormat("WEBP", "image/webp")

SUPPORTED_FORMATS: tuple[PictureFormat, ...] = (JPEG, PNG, GIF, BMP, TIFF, WEBP)


def sniff_picture_format(data: bytes) -> PictureFormat | None:
    """The supported picture format whose signature ``data`` starts with, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return TIFF
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return WEBP
    # "BM" alone is too weak (a text file may start with it): also require a known header size.
    if len(data) >= 18 and data.startswith(b"BM"):
        info_size = int.from_bytes(data[14:18], "little")
        if info_size in _BMP_INFO_HEADER_SIZES:
            return BMP
    return None


def sniff_media_type(data: bytes) -> str | None:
    """Media type of a supported picture (``image/jpeg`` ...) judged by content, else None."""
    found = sniff_picture_format(data)
    return found.media_type if found is not None else None


_ISO_BMFF_BRANDS = {
    b"heic": "a HEIC picture (iPhone format)",
    b"heix": "a HEIC picture (iPhone format)",
    b"hevc": "a HEIC picture (iPhone format)",
    b"heim": "a HEIC picture (iPhone format)",
    b"heis": "a HEIC picture (iPhone format)",
    b"mif1": "a HEIF picture",
    b"msf1": "a HEIF picture",
    b"avif": "an AVIF picture",
    b"avis": "an AVIF picture",
    b"crx ": "a Canon raw camera file",
    b"qt  ": "a QuickTime video",
}

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an XZ-compressed file"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 picture"),
    (b"\xffO\xffQ", "a JPEG 2000 picture"),
    (b"\x00\x00\x01\x00", "a Windows icon"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio or video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1aE\xdf\xa3", "a Matroska or WebM video"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\x0a", "a JPEG XL picture"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL picture"),
    (b"P1", "a Netpbm picture"),
    (b"P2", "a Netpbm picture"),
    (b"P3", "a Netpbm picture"),
    (b"P4", "a Netpbm picture"),
    (b"P5", "a Netpbm picture"),
    (b"P6", "a Netpbm picture"),
)


def describe_content(data: bytes) -> str:
    """A short phrase for what ``data`` looks like ("a PDF document"), for refusal messages."""
    found = sniff_picture_format(data)
    if found is not None:
        return f"a {found.name} picture"
    if not data:
        return "an empty file"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return _ISO_BMFF_BRANDS.get(data[8:12], "a video or HEIF file")
    if len(data) >= 12 and data.startswith(b"RIFF"):
        kind = data[8:12]
        if kind == b"WAVE":
            return "a WAV audio file"
        if kind == b"AVI ":
            return "an AVI video"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "a DICOM medical image"
    for prefix, description in _PREFIXES:
        if data.startswith(prefix):
            # "P1".."P6" and "MZ" are plausible starts of text: trust them only when not text.
            if prefix[:1] == b"P" and len(prefix) == 2 and _looks_like_text(data):
                continue
            return description
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "an SVG drawing"
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    if head.startswith(b"<?xml"):
        return "an XML document"
    if _looks_like_text(data):
        return "a text file"
    return ""


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sample's end is still text.
        if error.start < len(sample) - 4:
            return False
        text = sample[: error.start].decode("utf-8")
    if not text:
        return False
    printable = sum(1 for char in text if char.isprintable() or char in "\t\r\n\f")
    return printable / len(text) > 0.95
