#!/bin/sh
# Cross-checks the PNM reader against Pillow: Pillow writes PBM (P4, a width that is not a
# multiple of 8), PGM (P5, 8-bit and 16-bit from mode I) and PPM (P6) files and a stream of
# several of them; plain P1-P3 files and ones with other maxvals are written by hand here, and
# Pillow must read each of them as the samples they hold (scaled as Pillow scales them to its
# modes). Then the unit test reads every file, with PNM_FIXTURE_DIR pointing at them, and
# compares its pixels with the samples dumped in native byte order (manifest.txt lists them).
#
# Usage: tests/unit/pnm_pillow_check.sh [TEST_COMMAND]   (default $TEST_PNM, else
# /tmp/test_pnm; may have words, e.g. "valgrind -q --error-exitcode=1 /tmp/test_pnm")
# Needs Debian's /usr/bin/python3 with Pillow and numpy (apt-get install python3-pil
# python3-numpy).
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
set -eu

test_command=${1:-${TEST_PNM:-/tmp/test_pnm}}
python=${ORACLE_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import numpy, PIL' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "pnm_pillow_check: $python has no Pillow or numpy"
fi

dir=$(mktemp -d /tmp/pnm_fixtures.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$python" - "$dir" <<'EOF'
import io
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.default_rng(7)
manifest = []


def pillow_bytes(im):
    b = io.BytesIO()
    im.save(b, format="PPM")
    return b.getvalue()


def pillow_reads(data):
    """What Pillow decodes: bitmaps as 0/255, the rest as its mode holds them."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(im.convert("L") if im.mode == "1" else im)


def pillow_scale(samples, maxval, pillow_max):
    """Pillow scales samples to its mode's range (PpmImagePlugin): round(v / maxval * max)."""
    if maxval == pillow_max:
        return samples
    return np.vectorize(lambda v: min(pillow_max, round(v / maxval * pillow_max)))(samples)


def add(name, data, images):
    """images: (samples, maxval, Pillow's range for it) for each image of the stream."""
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    for index, (samples, maxval, pillow_max) in enumerate(images):
        if index == 0:   # Pillow reads the first image of a stream only
            got = pillow_reads(data)
            want = pillow_scale(samples, maxval, pillow_max)
            assert got.shape == want.shape and (got == want).all(), name
        h, w = samples.shape[:2]
        c = 1 if samples.ndim == 2 else samples.shape[2]
        wide = maxval > 255
        raw = "%s.%d.raw" % (name, index)
        dtype = "=u2" if wide else "u1"
        with open(os.path.join(out, raw), "wb") as f:
            f.write(samples.astype(dtype).tobytes())
        meta_maxval = 0 if maxval in (255, 65535) else maxval
        manifest.append("%s %d %d %d %d %d %d %s" % (name, index, h, w, c, 2 if wide else 1,
                                                     meta_maxval, raw))


def plain(magic, samples, maxval):
    h, w = samples.shape[:2]
    head = b"%s\n# written by hand\n%d %d\n" % (magic, w, h)
    if maxval is not None:
        head += b"%d\n" % maxval
    rows = [b" ".join(b"%d" % v for v in row.reshape(-1)) for row in samples]
    return head + b"\n".join(rows) + b"\n"


gray = rng.integers(0, 256, (17, 23), dtype=np.uint8)
rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
bits = rng.integers(0, 2, (7, 13), dtype=np.uint8) * 255          # 0 black, 255 white
wide = rng.integers(0, 65536, (9, 11), dtype=np.int64)
wide[0, :2] = (0, 65535)

# Written by Pillow.
pgm = pillow_bytes(Image.fromarray(gray))
ppm = pillow_bytes(Image.fromarray(rgb))
pbm = pillow_bytes(Image.fromarray(bits).convert("1"))
assert pbm[:2] == b"P4" and pgm[:2] == b"P5" and ppm[:2] == b"P6"
add("gray.pgm", pgm, [(gray, 255, 255)])
add("rgb.ppm", ppm, [(rgb, 255, 255)])
add("bits.pbm", pbm, [(bits, 255, 255)])
add("wide.pgm", pillow_bytes(Image.fromarray(wide.astype(np.int32), "I")),
    [(wide, 65535, 65535)])
add("stream.pnm", ppm + b"\n" + pgm + pbm, [(rgb, 255, 255), (gray, 255, 255),
                                           (bits, 255, 255)])

# Written by hand, read by Pillow too.
ones = (bits == 0).astype(np.uint8)                                # PBM: 1 is black
add("plain.pbm", plain(b"P1", ones, None), [(bits, 255, 255)])
add("plain.pgm", plain(b"P2", gray, 255), [(gray, 255, 255)])
add("plain.ppm", plain(b"P3", rgb, 255), [(rgb, 255, 255)])
low = gray % 101
add("plain100.pgm", plain(b"P2", low, 100), [(low, 100, 255)])
add("raw100.pgm", b"P5\n23 17\n100\n" + low.astype("u1").tobytes(), [(low, 100, 255)])
thousand = wide % 1001
add("raw1000.pgm", b"P5 11 9 1000\n" + thousand.astype(">u2").tobytes(),
    [(thousand, 1000, 65535)])
rgb16 = rng.integers(0, 65536, (5, 7, 3), dtype=np.int64)
add("rgb16.ppm", b"P6\n7 5\n65535\n" + rgb16.astype(">u2").tobytes(), [(rgb16, 65535, 255)])

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
EOF

# Unquoted on purpose: the command may be a wrapper with its arguments.
PNM_FIXTURE_DIR=$dir $test_command
