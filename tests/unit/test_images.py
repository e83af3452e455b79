"""Decoding of every supported format and mode, hostile input, EXIF orientation, encoders."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.engine.images import (
    DecodedImage,
    decode_image,
    encode_jpeg,
    encode_png,
    load_image_file,
    sniff_media_type,
    thumbnail,
)
from app.errors import ImageError

# Pillow warns (UserWarning) about the corrupt metadata these tests feed it on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

RNG = np.random.default_rng(20240611)
NOISE = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def assert_valid(decoded: DecodedImage, width: int, height: int) -> None:
    assert decoded.rgb.shape == (height, width, 3)
    assert decoded.rgb.dtype == np.uint8
    assert decoded.rgb.flags["C_CONTIGUOUS"]
    assert (decoded.width, decoded.height) == (width, height)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


# --------------------------------------------------------------------------------------------
# Formats and modes


@pytest.mark.parametrize(
    ("fmt", "options", "media_type", "lossless"),
    [
        ("JPEG", {"quality": 95}, "image/jpeg", False),
        ("PNG", {}, "image/png", True),
        ("BMP", {}, "image/bmp", True),
        ("TIFF", {}, "image/tiff", True),
        ("TIFF", {"compression": "tiff_lzw"}, "image/tiff", True),
        ("WEBP", {"lossless": True}, "image/webp", True),
        ("WEBP", {"quality": 90}, "image/webp", False),
    ],
)
def test_rgb_formats_decode_to_the_same_pixels(
    fmt: str, options: dict[str, object], media_type: str, lossless: bool
) -> None:
    data = encoded(Image.fromarray(NOISE), fmt, **options)
    decoded = decode_image(data)
    assert_valid(decoded, 30, 20)
    assert decoded.format == fmt
    assert decoded.media_type == media_type == sniff_media_type(data)
    assert decoded.orientation_applied == 1
    assert decoded.notes == ()
    if lossless:
        assert np.array_equal(decoded.rgb, NOISE)
    else:
        smooth = np.zeros((20, 30, 3), dtype=np.uint8) + np.array([200, 40, 90], dtype=np.uint8)
        again = decode_image(encoded(Image.fromarray(smooth), fmt, **options))
        assert np.abs(again.rgb.astype(int) - smooth).max() <= 6


def test_greyscale_becomes_three_equal_channels() -> None:
    grey = NOISE[:, :, 0]
    decoded = decode_image(encoded(Image.fromarray(grey, "L"), "PNG"))
    assert np.array_equal(decoded.rgb, np.repeat(grey[:, :, None], 3, axis=2))
    assert decoded.notes == ()


def test_one_bit_image_expands_to_black_and_white() -> None:
    bits = Image.fromarray(NOISE[:, :, 0] > 127)
    decoded = decode_image(encoded(bits, "PNG"))
    assert set(np.unique(decoded.rgb)) == {0, 255}
    assert np.array_equal(decoded.rgb[:, :, 0] == 255, NOISE[:, :, 0] > 127)
    assert any("1-bit" in note for note in decoded.notes)


def test_alpha_is_flattened_on_white() -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red channel
    rgba[0, 0, 3] = 255  # opaque
    rgba[0, 1, 3] = 0  # fully transparent -> white
    rgba[0, 2, 3] = 128  # half -> between
    decoded = decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(decoded.rgb[0, 0]) == (200, 0, 0)
    assert tuple(decoded.rgb[0, 1]) == (255, 255, 255)
    red, green, _ = decoded.rgb[0, 2]
    assert 220 <= red <= 235 and 120 <= green <= 135
    assert "transparency flattened on white" in decoded.notes


def test_opaque_alpha_channel_adds_no_note() -> None:
    rgba = np.dstack([NOISE, np.full((20, 30), 255, dtype=np.uint8)])
    decoded = decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert np.array_equal(decoded.rgb, NOISE)
    assert decoded.notes == ()


def test_grey_with_alpha_is_flattened() -> None:
    la = np.zeros((3, 3, 2), dtype=np.uint8)
    la[..., 0] = 50
    la[1, 1, 1] = 255
    decoded = decode_image(encoded(Image.fromarray(la, "LA"), "PNG"))
    assert tuple(decoded.rgb[1, 1]) == (50, 50, 50)
    assert tuple(decoded.rgb[0, 0]) == (255, 255, 255)
    assert "transparency flattened on white" in decoded.notes


def test_palette_png_with_transparent_index() -> None:
    palette_image = Image.new("P", (4, 2), 1)
    palette_image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette_image.putpixel((0, 0), 0)
    decoded = decode_image(encoded(palette_image, "PNG", transparency=0))
    assert tuple(decoded.rgb[0, 0]) == (255, 255, 255)
    assert tuple(decoded.rgb[1, 3]) == (10, 20, 30)
    assert "transparency flattened on white" in decoded.notes


def test_palette_gif_uses_its_palette() -> None:
    palette_image = Image.new("P", (5, 3), 2)
    palette_image.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    decoded = decode_image(encoded(palette_image, "GIF"))
    assert decoded.format == "GIF" and decoded.media_type == "image/gif"
    assert tuple(decoded.rgb[2, 4]) == (0, 0, 255)


def test_animated_gif_uses_first_frame() -> None:
    colours = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
    frames = [Image.new("RGB", (8, 6), colour) for colour in colours]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_image(data)
    assert_valid(decoded, 8, 6)
    assert tuple(decoded.rgb[3, 3]) == (255, 0, 0)
    assert "first frame of an animated GIF used" in decoded.notes


@pytest.mark.parametrize(
    ("fmt", "options", "note"),
    [
        ("PNG", {}, "first frame of an animated PNG used"),
        ("WEBP", {"lossless": True}, "first frame of an animated WEBP used"),
        ("MPO", {}, "first picture of a multi-picture JPEG used"),
    ],
)
def test_other_multi_frame_files_use_their_first_picture(
    fmt: str, options: dict[str, object], note: str
) -> None:
    first, second = Image.new("RGB", (8, 8), (250, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 250))
    decoded = decode_image(encoded(first, fmt, save_all=True, append_images=[second], **options))
    assert close(corner_colour(decoded.rgb, "top-left"), (250, 0, 0))
    assert decoded.notes == (note,)


def test_multi_page_tiff_uses_first_page() -> None:
    first, second = Image.new("RGB", (4, 4), (9, 9, 9)), Image.new("RGB", (4, 4), (99, 0, 0))
    data = encoded(first, "TIFF", save_all=True, append_images=[second])
    decoded = decode_image(data)
    assert tuple(decoded.rgb[0, 0]) == (9, 9, 9)
    assert "first page of a multi-page TIFF used" in decoded.notes


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_greyscale_is_scaled_not_clipped(fmt: str) -> None:
    wide = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    decoded = decode_image(encoded(Image.fromarray(wide), fmt))
    assert decoded.rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert np.array_equal(decoded.rgb[..., 0], decoded.rgb[..., 2])
    assert "16-bit image reduced to 8 bits" in decoded.notes


def test_16_bit_rgb_png_is_noted() -> None:
    # Pillow cannot write 16-bit RGB PNG: build it by hand (two pixels, big-endian samples).
    header = struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0)
    raw = b"\x00" + struct.pack(">6H", 65535, 0, 0, 0, 32896, 65535)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )
    decoded = decode_image(data)
    assert decoded.rgb[0].tolist() == [[255, 0, 0], [0, 128, 255]]
    assert "16-bit image reduced to 8 bits" in decoded.notes


def test_float_tiff_in_unit_range_is_scaled_to_8_bits() -> None:
    values = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    decoded = decode_image(encoded(Image.fromarray(values, "F"), "TIFF"))
    assert decoded.rgb[0, :, 1].tolist() == [0, 128, 255]
    assert any("floating-point" in note for note in decoded.notes)


def test_32_bit_integer_tiff_outside_16_bits_is_stretched() -> None:
    values = np.array([[-1000, 0, 99000]], dtype=np.int32)
    decoded = decode_image(encoded(Image.fromarray(values, "I"), "TIFF"))
    assert decoded.rgb[0, :, 0].tolist() == [0, 3, 255]


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_without_profile_is_converted(fmt: str) -> None:
    cmyk = Image.new("CMYK", (6, 4), (0, 255, 255, 0))  # pure red ink mix
    decoded = decode_image(encoded(cmyk, fmt))
    red, green, blue = (int(v) for v in decoded.rgb[2, 3])
    assert red > 230 and green < 25 and blue < 25
    assert "CMYK converted to RGB" in decoded.notes


def cmyk_profile_swapping_cyan_and_yellow() -> bytes:
    """A minimal ICC v2 CMYK printer profile (lut16, XYZ PCS) where cyan ink absorbs blue.

    A plain CMYK->RGB conversion turns magenta+yellow ink red; this profile turns it blue, so the
    decoded colour shows which conversion was used.
    """
    srgb_to_d50_xyz = np.array(
        [
            [0.4360747, 0.3850649, 0.1430804],
            [0.2225045, 0.7168786, 0.0606169],
            [0.0139322, 0.0971045, 0.7141733],
        ]
    )
    clut = b""
    for c in (0, 1):  # grid order: first channel varies slowest
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    linear_rgb = np.array([(1 - y) * (1 - k), (1 - m) * (1 - k), (1 - c) * (1 - k)])
                    xyz = srgb_to_d50_xyz @ linear_rgb
                    clut += struct.pack(">3H", *(min(65535, round(v * 32768)) for v in xyz))
    identity_curve = struct.pack(">2H", 0, 65535)
    matrix = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536)
    lut = (
        b"mft2"
        + bytes(4)
        + bytes([4, 3, 2, 0])
        + matrix
        + struct.pack(">HH", 2, 2)
        + identity_curve * 4
        + clut
        + identity_curve * 3
    )
    d50_white = struct.pack(">3i", 63190, 65536, 54061)
    text = b"test CMYK\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    tags = [(b"desc", desc), (b"wtpt", b"XYZ " + bytes(4) + d50_white), (b"A2B0", lut)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, payload in tags:
        payload += bytes(-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"prtrCMYKXYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + d50_white
    )
    return header + bytes(128 - len(header)) + table + body


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_with_icc_profile_is_converted_through_the_profile(fmt: str) -> None:
    cmyk = Image.new("CMYK", (6, 4), (0, 255, 255, 0))
    data = encoded(cmyk, fmt, icc_profile=cmyk_profile_swapping_cyan_and_yellow())
    decoded = decode_image(data)
    red, green, blue = (int(v) for v in decoded.rgb[2, 3])
    assert blue > 230 and red < 25 and green < 25
    assert "CMYK converted to RGB using the embedded colour profile" in decoded.notes


def test_cmyk_with_unusable_profile_falls_back_with_a_note() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cmyk = Image.new("CMYK", (6, 4), (0, 255, 255, 0))
    for profile in (srgb, b"not a profile at all"):  # wrong colour space; not ICC at all
        decoded = decode_image(encoded(cmyk, "TIFF", icc_profile=profile))
        assert_valid(decoded, 6, 4)
        assert decoded.notes == ("CMYK converted to RGB (the embedded colour profile is unusable)",)
        assert decoded.rgb[2, 3, 0] > 230 and decoded.rgb[2, 3, 2] < 25


def test_one_by_one_pixel_images_decode() -> None:
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        decoded = decode_image(encoded(Image.new("RGB", (1, 1), (10, 200, 30)), fmt))
        assert_valid(decoded, 1, 1)


# --------------------------------------------------------------------------------------------
# Content, not name


def test_mislabelled_png_named_jpg_decodes_as_png(tmp_path: Path) -> None:
    path = tmp_path / "suspect.jpg"
    path.write_bytes(encoded(Image.fromarray(NOISE), "PNG"))
    original, decoded = load_image_file(path)
    assert original == path.read_bytes()
    assert decoded.format == "PNG" and decoded.media_type == "image/png"
    assert np.array_equal(decoded.rgb, NOISE)


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"Suspect description: male, 30s, red jacket.\n" * 4, "a text file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "a ZIP archive"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a HEIC picture"),
        (b"<!DOCTYPE html><html><body>", "a web page"),
    ],
)
def test_non_pictures_are_refused_saying_what_they_look_like(data: bytes, looks_like: str) -> None:
    with pytest.raises(ImageError) as caught:
        decode_image(data, name="x.jpg")
    message = str(caught.value)
    assert message.startswith("The file 'x.jpg' is not a picture the workstation can read")
    assert f"it looks like {looks_like}" in message
    assert sniff_media_type(data) is None


def test_random_garbage_is_refused() -> None:
    garbage = bytes(RNG.integers(0, 256, 4000, dtype=np.uint8))
    garbage = b"\x01" + garbage[1:]  # not by chance a picture signature
    with pytest.raises(ImageError, match="not a picture the workstation can read"):
        decode_image(garbage)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"The file 'empty.png' is empty"):
        load_image_file(path)


def test_missing_file_and_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist") as caught:
        load_image_file(tmp_path / "gone.jpg")
    assert "gone.jpg" in str(caught.value)
    with pytest.raises(ImageError, match="is a folder"):
        load_image_file(tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "WEBP"])
def test_truncated_pictures_are_reported_as_truncated(fmt: str) -> None:
    data = encoded(Image.fromarray(NOISE), fmt)
    with pytest.raises(ImageError) as caught:
        decode_image(data[: len(data) * 2 // 3], name="cut.img")
    assert str(caught.value) == (
        "The image 'cut.img' is truncated: the file ends before the picture data does."
    )


def test_corrupt_png_data_is_reported_as_damaged() -> None:
    data = bytearray(encoded(Image.fromarray(NOISE), "PNG"))
    start = data.index(b"IDAT") + 8
    data[start : start + 40] = bytes(40)  # zeroes inside the compressed stream
    with pytest.raises(ImageError, match=r"damaged|truncated"):
        decode_image(bytes(data))


# --------------------------------------------------------------------------------------------
# Decompression bombs and the pixel limit


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny data stream (never allocated)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def bomb_jpeg(width: int, height: int) -> bytes:
    """A real JPEG whose frame header is rewritten to claim width x height."""
    data = bytearray(encoded(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bomb_gif_frame() -> bytes:
    """A 1x1 GIF screen whose first frame claims 60000 x 60000 (Pillow would grow the canvas)."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 1, 1, 0, 0, 0)
        + b","
        + struct.pack("<HHHHB", 0, 0, 60000, 60000, 0)
        + b"\x02\x02\x44\x01\x00;"
    )


@pytest.mark.parametrize(
    ("data", "dimensions"),
    [
        (bomb_png(100_000, 100_000), "100000 x 100000"),
        (bomb_jpeg(65_000, 65_000), "65000 x 65000"),
        (bomb_gif_frame(), "60000 x 60000"),
    ],
)
def test_decompression_bombs_are_refused_from_the_header(data: bytes, dimensions: str) -> None:
    with pytest.raises(ImageError) as caught:
        decode_image(data, name="bomb")
    message = str(caught.value)
    assert dimensions in message and "80,000,000" in message
    assert "decompression bomb" in message


def test_pixel_limit_just_under_and_just_over() -> None:
    data = encoded(Image.new("RGB", (50, 40), (1, 2, 3)), "PNG")
    assert_valid(decode_image(data, max_pixels=2000), 50, 40)
    with pytest.raises(ImageError, match=r"50 x 40 pixels \(2,000 pixels\).*limit of 1,999"):
        decode_image(data, max_pixels=1999)


def test_bomb_beyond_pillows_own_limit_gives_our_message_not_pillows() -> None:
    with pytest.raises(ImageError, match="200000 x 200000"):
        decode_image(bomb_png(200_000, 200_000), max_pixels=10**12 // 10**3)


def test_pillow_never_gets_to_warn_about_a_bomb() -> None:
    import warnings

    # 95 million pixels: above Pillow's own warning threshold (~89M), below its error threshold.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match="10000 x 9500"):
            decode_image(bomb_png(10_000, 9_500))


def test_zero_sized_png_is_refused() -> None:
    with pytest.raises(ImageError):
        decode_image(bomb_png(0, 10))


# --------------------------------------------------------------------------------------------
# EXIF orientation

# Where the stored picture's top-left and top-right corners appear once upright (EXIF spec).
CORNERS_AFTER = {
    1: ("top-left", "top-right"),
    2: ("top-right", "top-left"),
    3: ("bottom-right", "bottom-left"),
    4: ("bottom-left", "bottom-right"),
    5: ("top-left", "bottom-left"),
    6: ("top-right", "bottom-right"),
    7: ("bottom-right", "top-right"),
    8: ("bottom-left", "top-left"),
}
RED, GREEN = (230, 20, 20), (20, 230, 20)


def marked_picture() -> Image.Image:
    """40 x 24 grey picture with a red block top-left and a green block top-right."""
    pixels = np.full((24, 40, 3), 128, dtype=np.uint8)
    pixels[:8, :8] = RED
    pixels[:8, -8:] = GREEN
    return Image.fromarray(pixels)


def corner_colour(rgb: npt.NDArray[np.uint8], corner: str) -> tuple[int, ...]:
    height, width = rgb.shape[:2]
    row = 3 if corner.startswith("top") else height - 4
    column = 3 if corner.endswith("left") else width - 4
    return tuple(int(v) for v in rgb[row, column])


def close(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return max(abs(a - b) for a, b in zip(colour, expected, strict=True)) <= 12


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_exif_orientations_put_the_corners_where_the_spec_says(orientation: int) -> None:
    data = encoded(marked_picture(), "JPEG", quality=95, exif=exif_bytes(orientation))
    decoded = decode_image(data)
    assert decoded.orientation_applied == orientation
    if orientation >= 5:
        assert_valid(decoded, 24, 40)
    else:
        assert_valid(decoded, 40, 24)
    red_corner, green_corner = CORNERS_AFTER[orientation]
    assert close(corner_colour(decoded.rgb, red_corner), RED)
    assert close(corner_colour(decoded.rgb, green_corner), GREEN)
    assert decoded.notes == ()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_orientation_is_read_from_png_webp_and_tiff_too(fmt: str) -> None:
    options: dict[str, object] = {"exif": exif_bytes(6)}
    if fmt == "WEBP":
        options["lossless"] = True
    if fmt == "TIFF":
        options = {"tiffinfo": {0x0112: 6}}
    decoded = decode_image(encoded(marked_picture(), fmt, **options))
    assert decoded.orientation_applied == 6
    assert_valid(decoded, 24, 40)
    assert corner_colour(decoded.rgb, "top-right") == RED
    assert corner_colour(decoded.rgb, "bottom-right") == GREEN


def jpeg_with_app1(payload: bytes) -> bytes:
    """A valid small JPEG with ``payload`` inserted as an APP1 segment."""
    base = encoded(marked_picture(), "JPEG", quality=95)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return base[:2] + segment + base[2:]


def exif_ifd(*entries: tuple[int, int, int, bytes]) -> bytes:
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + body + struct.pack("<I", 0)


@pytest.mark.parametrize(
    ("payload", "note"),
    [
        (exif_ifd((0x0112, 3, 1, struct.pack("<HH", 9999, 0))), "EXIF orientation value 9999"),
        (exif_ifd((0x0112, 3, 1, struct.pack("<HH", 0, 0))), "EXIF orientation value 0"),
        (exif_ifd((0x0112, 2, 4, b"six\x00")), "EXIF orientation value 'six'"),
        (exif_ifd((0x0112, 4, 1, struct.pack("<I", 2**32 - 1))), "4294967295"),
        # An entry count of 65535 in a block of maximal size: Pillow gives up on the IFD.
        (
            b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 0xFFFF) + bytes(65_000),
            "EXIF data unreadable",
        ),
        # The orientation's value lies far outside the block.
        (exif_ifd((0x0112, 3, 1000, struct.pack("<I", 0x7FFFFFFF))), "EXIF data unreadable"),
        (b"Exif\x00\x00XX*\x00" + bytes(40), "EXIF data unreadable"),
    ],
)
def test_hostile_exif_is_ignored_with_a_note(payload: bytes, note: str) -> None:
    decoded = decode_image(jpeg_with_app1(payload))
    assert decoded.orientation_applied == 1
    assert_valid(decoded, 40, 24)
    assert any(note in text and "orientation ignored" in text for text in decoded.notes)
    assert close(corner_colour(decoded.rgb, "top-left"), RED)


def test_self_referencing_exif_sub_ifd_does_not_hang() -> None:
    payload = exif_ifd((0x8769, 4, 1, struct.pack("<I", 8)), (0x0112, 3, 1, b"\x06\x00\x00\x00"))
    decoded = decode_image(jpeg_with_app1(payload))
    assert decoded.orientation_applied == 6


# --------------------------------------------------------------------------------------------
# Encoders and thumbnails


def test_png_round_trip_is_exact_and_deterministic() -> None:
    first, second = encode_png(NOISE), encode_png(NOISE.copy())
    assert first == second
    assert np.array_equal(decode_image(first).rgb, NOISE)


def test_jpeg_encoding_is_close_and_checks_quality() -> None:
    smooth = np.full((16, 16, 3), (30, 140, 220), dtype=np.uint8)
    decoded = decode_image(encode_jpeg(smooth, quality=95))
    assert decoded.format == "JPEG"
    assert np.abs(decoded.rgb.astype(int) - smooth).max() <= 4
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(smooth, quality=0)


def test_encoders_refuse_arrays_that_are_not_rgb() -> None:
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 3), dtype=np.float32))


def test_thumbnail_keeps_aspect_and_never_enlarges() -> None:
    wide = np.zeros((100, 400, 3), dtype=np.uint8)
    assert thumbnail(wide, 200).shape == (50, 200, 3)
    tall = np.zeros((300, 30, 3), dtype=np.uint8)
    assert thumbnail(tall, 100).shape == (100, 10, 3)
    small = NOISE.copy()
    kept = thumbnail(small, 500)
    assert np.array_equal(kept, small) and kept is not small
    assert thumbnail(np.zeros((1, 1000, 3), dtype=np.uint8), 10).shape == (1, 10, 3)


# --------------------------------------------------------------------------------------------
# Real photographs


def test_lfw_jpegs_decode(lfw_dir: Path) -> None:
    people = sorted(path for path in lfw_dir.iterdir() if path.is_dir())[:12]
    assert people
    for person in people:
        photo = sorted(person.glob("*.jpg"))[0]
        original, decoded = load_image_file(photo)
        assert original == photo.read_bytes()
        assert decoded.format == "JPEG"
        assert_valid(decoded, 250, 250)
        assert decoded.rgb.std() > 10  # a real photograph, not a blank


def test_yale_files_without_extension_decode_as_gif(yale_dir: Path) -> None:
    files = sorted(yale_dir.glob("subject*"))
    assert len(files) >= 150
    for path in files:
        assert path.suffix.lstrip(".") not in {"gif", "jpg", "png"}
        _, decoded = load_image_file(path)
        assert decoded.format == "GIF"
        assert_valid(decoded, 320, 243)
        assert np.array_equal(decoded.rgb[..., 0], decoded.rgb[..., 1])  # greyscale


# --------------------------------------------------------------------------------------------
# Property: decode_image returns a valid picture or raises ImageError, never anything else


def check_outcome(data: bytes) -> None:
    try:
        decoded = decode_image(data, max_pixels=1_000_000)
    except ImageError as error:
        assert str(error)
        return
    assert decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.flags["C_CONTIGUOUS"]
    assert decoded.rgb.shape[:2] == (decoded.height, decoded.width)
    assert decoded.width * decoded.height <= 1_000_000
    assert 1 <= decoded.orientation_applied <= 8


def seed_pictures() -> list[bytes]:
    small = Image.fromarray(NOISE[:8, :12])
    palette = small.convert("P")
    return [
        encoded(small, "JPEG", exif=exif_bytes(6)),
        encoded(small, "PNG"),
        encoded(palette, "GIF", save_all=True, append_images=[palette.rotate(90)]),
        encoded(small, "BMP"),
        encoded(small, "TIFF"),
        encoded(small, "WEBP"),
        encoded(Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)), "PNG"),
        encoded(small.convert("CMYK"), "JPEG"),
        encoded(small.convert("RGBA"), "PNG"),
    ]


SEEDS = seed_pictures()
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


SIGNATURES = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM"]


@FAST
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.tuples(st.sampled_from(SIGNATURES), st.binary(max_size=2048)).map(b"".join),
        st.binary(max_size=2048).map(lambda tail: b"RIFF\x00\x10\x00\x00WEBPVP8 " + tail),
    )
)
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    check_outcome(data)


@FAST
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 7)), max_size=6),
)
def test_mutated_pictures_never_escape_as_other_errors(
    seed: bytes, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(seed)
    for where, bit in flips:
        data[min(len(data) - 1, int(where * len(data)))] ^= 1 << bit
    check_outcome(bytes(data[: max(1, int(cut * len(data) * 1.2))]))


MUTATORS: list[Callable[[bytes], bytes]] = [
    lambda data: data[: len(data) // 2],
    lambda data: data[: len(data) // 3] + bytes(len(data) - len(data) // 3),
    lambda data: data + data,
    lambda data: data[:20] + data[40:],
]


@pytest.mark.parametrize("mutate", MUTATORS)
def test_systematic_mutations_of_every_seed(mutate: Callable[[bytes], bytes]) -> None:
    for seed in SEEDS:
        check_outcome(mutate(seed))
