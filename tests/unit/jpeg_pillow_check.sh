#!/bin/sh
# Cross-checks the JPEG codec against Pillow, which uses the same libjpeg-turbo.
#  - Decoding: Pillow writes baseline and progressive files, 4:2:0, 4:2:2 and 4:4:4 chroma,
#    gray, CMYK, optimised Huffman tables, odd sizes, with and without an ICC profile, and
#    saves np.asarray(Image.open(f)) beside each as NAME.raw. The unit test decodes each file
#    and must get exactly those bytes (same libjpeg, ISLOW DCT, fancy upsampling) and the
#    same ICC profile.
#  - Shrinking: for each of those files and k = 2, 4, 8, Pillow's draft() decode (libjpeg's
#    DCT scaling, as --fast) cropped to floor(W/k) x floor(H/k), as NAME_sK.raw: pool's
#    decode shrunk by k must be exactly that.
#  - Encoding: the unit test writes pool_NAME.jpg from NAME.src pixels and its own decode of
#    it; afterwards Pillow must read the file (mode, size, ICC) to exactly the same pixels,
#    so CMYK polarity agrees both ways. Whether the bytes equal Pillow's own save() with the
#    same settings is reported too.
#
# Usage: tests/unit/jpeg_pillow_check.sh [TEST_COMMAND]   (default $TEST_JPEG, else
# /tmp/test_jpeg; may have words, e.g. "valgrind -q --error-exitcode=1 /tmp/test_jpeg")
# Needs Debian's /usr/bin/python3 with Pillow and numpy (apt-get install python3-pil
# python3-numpy); the python3 on PATH may be another one without them.
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
set -eu

test_command=${1:-${TEST_JPEG:-/tmp/test_jpeg}}
python=${ORACLE_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import numpy, PIL.Image' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "jpeg_pillow_check: $python has no Pillow or numpy"
fi

dir=$(mktemp -d /tmp/jpeg_fixtures.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$python" - "$dir" <<'EOF'
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.default_rng(7)


def pattern(h, w, c):
    """Gradients, waves, hard edges and some noise: every kind of block JPEG meets."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for k in range(c):
        v = 128 + 80 * np.sin(0.05 * x * (k + 1) + k) * np.cos(0.03 * y + 0.5 * k)
        v += np.where((x // 17 + y // 13 + k) % 2 == 0, 30, -30)
        v += rng.normal(0, 12, size=(h, w))
        planes.append(v)
    px = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return px[..., 0] if c == 1 else px


manifest = []
fake_icc = bytes((i * 7 + i // 251) % 256 for i in range(100000))   # over one APP2 marker


def save_for_decode(name, px, mode, **options):
    path = os.path.join(out, name + ".jpg")
    Image.fromarray(px, mode).save(path, format="JPEG", **options)
    with Image.open(path) as im:
        got = np.asarray(im)
        icc = im.info.get("icc_profile")
        color = {"L": "gray", "RGB": "rgb", "CMYK": "cmyk"}[im.mode]
    got.tofile(os.path.join(out, name + ".raw"))
    if icc:
        with open(os.path.join(out, name + ".icc"), "wb") as f:
            f.write(icc)
    h, w = got.shape[:2]
    c = 1 if got.ndim == 2 else got.shape[2]
    manifest.append("decode %s %d %d %d %s %d" % (name, h, w, c, color, 1 if icc else 0))


rgb = pattern(123, 201, 3)
gray = pattern(97, 61, 1)
cmyk = pattern(45, 77, 4)
for q in (90, 75, 100, 10):
    save_for_decode("rgb_420_q%d" % q, rgb, "RGB", quality=q)
save_for_decode("rgb_422", rgb, "RGB", quality=90, subsampling=1)
save_for_decode("rgb_444", rgb, "RGB", quality=90, subsampling=0)
save_for_decode("rgb_420_progressive", rgb, "RGB", quality=90, progressive=True)
save_for_decode("rgb_444_progressive", rgb, "RGB", quality=90, progressive=True, subsampling=0)
save_for_decode("rgb_optimized", rgb, "RGB", quality=90, optimize=True)
save_for_decode("rgb_icc", rgb, "RGB", quality=90, icc_profile=fake_icc)
save_for_decode("rgb_big", pattern(700, 1000, 3), "RGB", quality=90)
save_for_decode("rgb_1x1", pattern(1, 1, 3), "RGB", quality=90)
save_for_decode("rgb_17x9", pattern(17, 9, 3), "RGB", quality=90)
save_for_decode("rgb_420_37x59", pattern(37, 59, 3), "RGB", quality=85)
save_for_decode("rgb_422_45x31", pattern(45, 31, 3), "RGB", quality=85, subsampling=1)
save_for_decode("gray", gray, "L", quality=90)
save_for_decode("gray_progressive", gray, "L", quality=90, progressive=True)
save_for_decode("gray_icc", gray, "L", quality=90, icc_profile=fake_icc[:3000])
save_for_decode("cmyk", cmyk, "CMYK", quality=90)
save_for_decode("cmyk_progressive", cmyk, "CMYK", quality=90, progressive=True)
save_for_decode("cmyk_icc", cmyk, "CMYK", quality=95, icc_profile=fake_icc[:5000])

# The decoder's shrink (--fast): Pillow's draft() decodes with libjpeg's DCT scaling, as
# pool does; both crop to floor(W/k) x floor(H/k) (Pillow gives the ceiling).
for line in list(manifest):
    name, h, w = line.split()[1], int(line.split()[2]), int(line.split()[3])
    for k in (2, 4, 8):
        if h < k or w < k:
            continue
        with Image.open(os.path.join(out, name + ".jpg")) as im:
            im.draft(im.mode, (w // k, h // k))
            assert im.size == ((w + k - 1) // k, (h + k - 1) // k), (name, k, im.size)
            got = np.asarray(im)[: h // k, : w // k]
        np.ascontiguousarray(got).tofile(os.path.join(out, "%s_s%d.raw" % (name, k)))
        c = 1 if got.ndim == 2 else got.shape[2]
        manifest.append("shrink %s %d %d %d %d" % (name, k, h // k, w // k, c))

# Pixels for pool to encode, and Pillow's own save() of them with the same settings.
for name, px, mode, color in (("enc_rgb", rgb, "RGB", "rgb"), ("enc_gray", gray, "L", "gray"),
                              ("enc_cmyk", cmyk, "CMYK", "cmyk")):
    for quality, progressive in ((90, 0), (90, 1), (75, 0)):
        full = "%s_q%d%s" % (name, quality, "_progressive" if progressive else "")
        px.tofile(os.path.join(out, full + ".src"))
        h, w = px.shape[:2]
        c = 1 if px.ndim == 2 else px.shape[2]
        manifest.append("encode %s %d %d %d %s %d %d" % (full, h, w, c, color, quality,
                                                          progressive))
        Image.fromarray(px, mode).save(os.path.join(out, "pillow_" + full + ".jpg"),
                                       format="JPEG", quality=quality,
                                       progressive=bool(progressive))

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
EOF

# Unquoted on purpose: the command may be a wrapper with its arguments.
JPEG_FIXTURE_DIR=$dir $test_command

"$python" - "$dir" <<'EOF'
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
failed = 0
checked = 0
identical = []
# written.txt: "NAME H W C COLOR" for each pool_NAME.jpg the unit test wrote.
for line in open(os.path.join(out, "written.txt")):
    name, h, w, c, color = line.split()
    h, w, c = int(h), int(w), int(c)
    with Image.open(os.path.join(out, "pool_" + name + ".jpg")) as im:
        mode = im.mode
        got = np.asarray(im)
    want = np.fromfile(os.path.join(out, "pool_" + name + ".raw"), dtype=np.uint8)
    want = want.reshape((h, w) if c == 1 else (h, w, c))
    want_mode = {"gray": "L", "rgb": "RGB", "cmyk": "CMYK"}[color]
    checked += 1
    if mode != want_mode or got.shape != want.shape or not np.array_equal(got, want):
        diff = np.abs(got.astype(int) - want.astype(int)).max() if got.shape == want.shape else -1
        print("jpeg_pillow_check: %s: Pillow reads pool's file as %s %s, max difference %d"
              % (name, mode, got.shape, diff), file=sys.stderr)
        failed += 1
    theirs_path = os.path.join(out, "pillow_" + name + ".jpg")
    if not os.path.exists(theirs_path):
        continue
    with open(os.path.join(out, "pool_" + name + ".jpg"), "rb") as f:
        ours = f.read()
    with open(theirs_path, "rb") as f:
        theirs = f.read()
    identical.append(ours == theirs)
    if ours != theirs:
        print("jpeg_pillow_check: note: %s: pool's file (%d bytes) is not Pillow's save() "
              "(%d bytes)" % (name, len(ours), len(theirs)), file=sys.stderr)
print("Pillow read %d of pool's JPEGs to pool's pixels exactly (%d did not); %d of %d are "
      "byte for byte Pillow's save()" % (checked - failed, failed, sum(identical),
                                         len(identical)))
if checked == 0:
    failed = 1
sys.exit(1 if failed else 0)
EOF
