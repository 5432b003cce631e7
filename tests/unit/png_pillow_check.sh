#!/bin/sh
# Cross-checks the PNG reader against Pillow: Pillow saves every mode it writes (1, L, LA,
# P with and without transparency, 4-bit P, L and RGB with a tRNS colour key, RGB, RGBA,
# I;16, one with an ICC profile). Pillow cannot write interlaced PNGs, so a few Adam7 files
# are written by the small encoder below. For each NAME.png, Pillow decodes it again into
# NAME.raw (the pixels as our reader hands them out: 8-bit samples, or 16-bit little-endian;
# palettes as RGB or RGBA, a colour key as an alpha channel), and manifest.txt lists
# "NAME.png width height channels bytes_per_sample icc_file|-". The unit test reads each
# file with PNG_FIXTURE_DIR pointing at them and compares.
#
# Usage: tests/unit/png_pillow_check.sh [TEST_COMMAND]   (default $TEST_PNG, else
# /tmp/test_png; may have words, e.g. "valgrind -q --error-exitcode=1 /tmp/test_png")
# Needs Debian's /usr/bin/python3 with Pillow and numpy (python3-pil, python3-numpy); the
# python3 on PATH may be another one.
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
set -eu

test_command=${1:-${TEST_PNG:-/tmp/test_png}}
python=${ORACLE_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import PIL, numpy' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "png_pillow_check: $python has no Pillow or numpy"
fi

dir=$(mktemp -d /tmp/png_fixtures.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$python" - "$dir" <<'EOF'
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageCms

out = sys.argv[1]
manifest = []
rng = np.random.default_rng(1234)


def noise(shape, high=256, dtype=np.uint8):
    return rng.integers(0, high, size=shape, dtype=np.int64).astype(dtype)


def record(name, reference, want=None, icc=None):
    """Writes NAME.raw from Pillow's decoding (converted to the mode our reader gives)."""
    a = np.asarray(reference)
    if want is not None:
        assert np.array_equal(a, want), name + ": Pillow's decoding is not what was saved"
    a16 = a.dtype.itemsize > 1
    raw = a.astype("<u2") if a16 else a.astype(np.uint8)
    with open(os.path.join(out, name + ".raw"), "wb") as f:
        f.write(raw.tobytes())
    channels = a.shape[2] if a.ndim == 3 else 1
    icc_name = "-"
    if icc is not None:
        icc_name = name + ".icc"
        with open(os.path.join(out, icc_name), "wb") as f:
            f.write(icc)
    manifest.append("%s.png %d %d %d %d %s" % (name, a.shape[1], a.shape[0], channels,
                                               2 if a16 else 1, icc_name))


def save(name, image, convert_to=None, want=None, **options):
    path = os.path.join(out, name + ".png")
    image.save(path, **options)
    back = Image.open(path)
    back.load()
    record(name, back.convert(convert_to) if convert_to else back, want,
           options.get("icc_profile"))


gray = noise((23, 17))
rgb = noise((19, 21, 3))
save("mode_1", Image.fromarray(gray > 127), "L", (gray > 127).astype(np.uint8) * 255)
save("mode_L", Image.fromarray(gray), want=gray)
save("mode_LA", Image.fromarray(noise((9, 11, 2)), "LA"))
save("mode_RGB", Image.fromarray(rgb), want=rgb)
save("mode_RGBA", Image.fromarray(noise((13, 7, 4)), "RGBA"))
save("mode_RGB_big", Image.fromarray(noise((200, 300, 3))))
gray16 = noise((15, 13), 65536, np.uint16)
save("mode_I16", Image.fromarray(gray16), want=gray16)

# Palettes: 8-bit without and with transparency, and 4-bit (16 colours).
indices = noise((12, 10), 200)
palette = list(noise(768))
p = Image.fromarray(indices, "P")
p.putpalette(palette)
save("mode_P", p, "RGB")
save("mode_P_trns", p, "RGBA", transparency=bytes(noise(150)))
p16 = Image.fromarray(noise((9, 14), 16), "P")
p16.putpalette(palette[:48])
save("mode_P_4bit", p16, "RGB", bits=4)

# Colour keys (tRNS on L and RGB): an alpha channel, 0 where the key matches.
keyed = gray.copy()
keyed[::3, ::2] = 77
save("mode_L_trns", Image.fromarray(keyed), "LA", transparency=77,
     want=np.dstack([keyed, np.where(keyed == 77, 0, 255).astype(np.uint8)]))
rgb_keyed = rgb.copy()
rgb_keyed[::2, ::3] = (1, 2, 3)
hit = np.all(rgb_keyed == (1, 2, 3), axis=2)
save("mode_RGB_trns", Image.fromarray(rgb_keyed), "RGBA", transparency=(1, 2, 3),
     want=np.dstack([rgb_keyed, np.where(hit, 0, 255).astype(np.uint8)]))

icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
save("mode_RGB_icc", Image.fromarray(rgb), want=rgb, icc_profile=icc)


# Adam7 interlaced files, which Pillow reads but cannot write.
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_interlaced(name, pixels, color_type, depth):
    """pixels: (h, w) or (h, w, c) of uint8 or uint16; samples big-endian in the file."""
    h, w = pixels.shape[:2]
    big = pixels.astype(">u2") if depth == 16 else pixels
    scanlines = b""
    for x0, y0, dx, dy in ADAM7:
        sub = big[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            for row in sub:
                scanlines += b"\0" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(scanlines)) + chunk(b"IEND", b""))
    with open(os.path.join(out, name + ".png"), "wb") as f:
        f.write(data)
    back = Image.open(os.path.join(out, name + ".png"))
    back.load()
    record(name, back, pixels)


write_interlaced("adam7_RGB", noise((37, 29, 3)), 2, 8)
write_interlaced("adam7_I16", noise((11, 6), 65536, np.uint16), 0, 16)
write_interlaced("adam7_tiny", noise((3, 2)), 0, 8)

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
EOF

# Unquoted on purpose: the command may be a wrapper with its arguments.
PNG_FIXTURE_DIR=$dir $test_command
