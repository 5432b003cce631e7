#!/usr/bin/env bats
# WebP (libwebp): what pool reads is Pillow's decode of the same file (both through
# libwebp), lossy and lossless, with alpha, an animation's first frame; what it writes,
# Pillow reads back as NumPy's pooling of the input (exactly when lossless, above 30 dB
# when lossy); ICC and EXIF carried, EXIF orientation applied; the size limit, the memory
# budget and broken files refused cleanly. Inputs come from cwebp, img2webp and Pillow.

load helpers

need_webp() { "$POOL" --version | grep -q 'webp (libwebp)' || skip "built without WebP (configure --without-webp)"; }

need_tool() { command -v "$1" >/dev/null || skip "no $1 (Debian: webp)"; }

# random_png FILE H W C [SEED]: random 8-bit pixels, C = 1 (L), 3 (RGB) or 4 (RGBA, a third
# of the pixels fully transparent, so that RGB under alpha 0 is tested too).
random_png() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
path, h, w, c = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(int(sys.argv[5]) if len(sys.argv) > 5 else 0)
a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
if c == 4:
    a[..., 3][rng.random((h, w)) < 1 / 3] = 0
Image.fromarray(a[..., 0] if c == 1 else a, {1: "L", 3: "RGB", 4: "RGBA"}[c]).save(path)
PY
}

# same_as_pillow NPY IMAGE [K]: NPY holds IMAGE as Pillow decodes it, max-pooled K x K by
# NumPy (K = 1: the decode itself).
same_as_pillow() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
got = np.load(sys.argv[1])
im = Image.open(sys.argv[2])
want = np.asarray(im)
k = int(sys.argv[3]) if len(sys.argv) > 3 else 1
h, w = want.shape[0] // k * k, want.shape[1] // k * k
want = want[:h, :w].reshape(h // k, k, w // k, k, -1).max(axis=(1, 3)).squeeze()
assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, im.mode)
assert np.array_equal(got, want), int(np.abs(got.astype(int) - want).max())
PY
}

@test "webp: the build says it has the WebP codec" {
    need_webp
    run "$POOL" --version
    [ "$status" -eq 0 ]
    [[ "$output" == *"webp (libwebp)"* ]]
}

@test "webp: a lossless WebP (cwebp) reads as Pillow decodes it, RGB and RGBA" {
    need_webp
    need_tool cwebp
    random_png rgb.png 37 51 3
    random_png rgba.png 29 40 4 1
    cwebp -quiet -lossless -exact rgb.png -o rgb.webp
    cwebp -quiet -lossless -exact rgba.png -o rgba.webp
    for f in rgb rgba; do
        "$POOL" -q -k 1 $f.webp -o $f.npy
        same_as_pillow $f.npy $f.webp
        # lossless: the PNG's own pixels, RGB under alpha 0 kept by -exact
        same_as_pillow $f.npy $f.png
        "$POOL" -q -k 2 $f.webp -o ${f}2.npy
        same_as_pillow ${f}2.npy $f.png 2
    done
}

@test "webp: a lossless WebP saved by Pillow reads back as its pixels" {
    need_webp
    need_photos
    "$PY" -c 'import sys; from PIL import Image; Image.open(sys.argv[1]).save("a.webp", lossless=True)' \
        "$DATA/coffee.png"
    "$POOL" -q -k 3 a.webp -o a.npy
    same_as_pillow a.npy "$DATA/coffee.png" 3
}

@test "webp: a lossy WebP reads as Pillow decodes it, with and without alpha" {
    need_webp
    need_tool cwebp
    need_photos
    cwebp -quiet -q 80 "$DATA/astronaut.png" -o photo.webp
    random_png rgba.png 45 33 4 2
    cwebp -quiet -q 60 -alpha_q 40 rgba.png -o rgba.webp
    for f in photo rgba; do
        "$POOL" -q -k 1 $f.webp -o $f.npy
        same_as_pillow $f.npy $f.webp
        "$POOL" -q -k 2 $f.webp -o ${f}2.npy
        same_as_pillow ${f}2.npy $f.webp 2
    done
    [ "$(npy_show rgba.npy)" = "uint8 (45, 33, 4)" ]
}

@test "webp: an animated WebP is read as its first frame, with a warning" {
    need_webp
    need_tool img2webp
    for i in 0 1 2; do random_png f$i.png 20 30 3 $i; done
    img2webp -lossless f0.png -lossy f1.png f2.png -o anim.webp 2>/dev/null
    run "$POOL" -k 1 anim.webp -o anim.npy
    [ "$status" -eq 0 ]
    [[ "$output" == *"anim.webp: warning: an animated WebP (3 frames): only its first frame is read"* ]]
    same_as_pillow anim.npy anim.webp # Pillow's frame 0
    same_as_pillow anim.npy f0.png    # lossless: the first frame's own pixels
}

# check_written OUT.webp REF.npy CHANNELS: Pillow reads OUT back as REF exactly (gray REF
# as RGB with three equal channels).
check_written() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1])
got = np.asarray(im)
want = np.load(sys.argv[2])
if want.ndim == 2:
    want = np.repeat(want[..., None], 3, axis=2)
assert im.mode == {3: "RGB", 4: "RGBA"}[int(sys.argv[3])], im.mode
assert got.shape == want.shape, (got.shape, want.shape)
assert np.array_equal(got, want), int(np.abs(got.astype(int) - want).max())
PY
}

@test "webp: --lossless writes the pooled values exactly: RGB, RGBA (under alpha 0 too), gray as RGB, gray+alpha as RGBA" {
    need_webp
    random_png rgb.png 41 57 3
    random_png rgba.png 30 22 4 3
    random_png gray.png 33 19 1 4
    mknpy ga.npy 'np.random.default_rng(5).integers(0, 256, (16, 14, 2), dtype=np.uint8)'
    for f in rgb rgba gray; do
        "$POOL" -q -m avg -k 2 $f.png --lossless -o $f.webp
        "$POOL" -q -m avg -k 2 $f.png -o $f.npy # the reference: pool's own avg is tested
        # against PyTorch elsewhere; here it is only what the WebP must hold
    done
    # the reference itself, against NumPy: round half up, as PyTorch's avg and a cast
    "$PY" -c '
import numpy as np; from PIL import Image
a = np.asarray(Image.open("rgb.png")).astype(np.float64)[:40, :56]
want = np.floor(a.reshape(20, 2, 28, 2, 3).mean(axis=(1, 3)) + 0.5).astype(np.uint8)
assert np.array_equal(np.load("rgb.npy"), want)'
    check_written rgb.webp rgb.npy 3
    check_written rgba.webp rgba.npy 4
    check_written gray.webp gray.npy 3
    "$POOL" -q -k 1 --layout hwc ga.npy --lossless -o ga.webp
    "$PY" -c '
import numpy as np; from PIL import Image
ga = np.load("ga.npy"); im = Image.open("ga.webp"); got = np.asarray(im)
assert im.mode == "RGBA", im.mode
want = np.concatenate([np.repeat(ga[..., :1], 3, axis=2), ga[..., 1:]], axis=2)
assert np.array_equal(got, want)'
}

@test "webp: lossy output is close to the pooled values, and smaller at a lower --quality" {
    need_webp
    need_photos
    "$POOL" -q -k 2 "$DATA/astronaut.png" -o ref.npy
    "$POOL" -q -k 2 "$DATA/astronaut.png" -o q90.webp
    "$POOL" -q -k 2 "$DATA/astronaut.png" --quality 95 -o q95.webp
    "$POOL" -q -k 2 "$DATA/astronaut.png" --quality 20 -o q20.webp
    same_as_pillow ref.npy "$DATA/astronaut.png" 2
    "$PY" - <<'PY'
import os, numpy as np
from PIL import Image
ref = np.load("ref.npy").astype(np.float64)
im = Image.open("q90.webp")
assert im.mode == "RGB" and im.size == (256, 256), (im.mode, im.size)
mse = ((np.asarray(im).astype(np.float64) - ref) ** 2).mean()
psnr = 10 * np.log10(255 ** 2 / mse)
assert psnr > 30, psnr
assert os.path.getsize("q20.webp") < os.path.getsize("q90.webp") < os.path.getsize("q95.webp")
PY
}

@test "webp: lossy output with alpha keeps the alpha exactly" {
    need_webp
    random_png rgba.png 40 40 4 6
    "$POOL" -q -k 2 rgba.png -o rgba.webp
    "$POOL" -q -k 2 rgba.png -o rgba.npy
    same_as_pillow rgba.npy rgba.png 2
    "$PY" -c '
import numpy as np; from PIL import Image
im = Image.open("rgba.webp"); assert im.mode == "RGBA", im.mode
assert np.array_equal(np.asarray(im)[..., 3], np.load("rgba.npy")[..., 3])'
}

@test "webp: the ICC profile and the EXIF are read and carried over (WebP to WebP, WebP to PNG, PNG to WebP)" {
    need_webp
    random_png rgb.png 30 40 3
    "$PY" - <<'PY'
from PIL import Image, ImageCms
im = Image.open("rgb.png")
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ex = Image.Exif()
ex[0x010F] = "PoolCam"
ex[0x0110] = "WebP test"
im.save("meta.webp", lossless=True, icc_profile=icc, exif=ex.tobytes())
im.save("meta.png", icc_profile=icc, exif=ex.tobytes())
open("icc.bin", "wb").write(icc)
PY
    "$POOL" -q -k 2 meta.webp --lossless -o out.webp
    "$POOL" -q -k 2 meta.webp -o out.png
    "$POOL" -q -k 2 meta.png -o out2.webp
    for f in out.webp out.png out2.webp; do
        "$PY" - "$f" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1])
assert im.info.get("icc_profile") == open("icc.bin", "rb").read(), sys.argv[1]
ex = im.getexif()
assert ex.get(0x010F) == "PoolCam" and ex.get(0x0110) == "WebP test", dict(ex)
assert im.size == (20, 15), im.size
PY
    done
}

@test "webp: an EXIF-rotated WebP comes out upright, as the same JPEG does" {
    need_webp
    random_png rgb.png 40 60 3 7
    "$PY" - <<'PY'
from PIL import Image
im = Image.open("rgb.png")
for tag, method in {6: Image.ROTATE_90, 3: Image.ROTATE_180, 5: Image.TRANSPOSE}.items():
    ex = Image.Exif()
    ex[0x0112] = tag
    ex[0x010F] = "PoolCam"
    stored = im.transpose(method)
    stored.save(f"o{tag}.webp", lossless=True, exif=ex.tobytes())
    stored.save(f"o{tag}.jpg", quality=95, exif=ex.tobytes())
PY
    for tag in 6 3 5; do
        "$POOL" -q -k 2 o$tag.webp -o w$tag.npy
        "$POOL" -q -k 2 o$tag.jpg -o j$tag.npy
        "$POOL" -q -k 2 o$tag.webp --lossless -o w$tag.webp
        "$PY" - $tag <<'PY'
import sys, numpy as np
from PIL import Image, ImageOps
tag = sys.argv[1]
up = np.asarray(ImageOps.exif_transpose(Image.open(f"o{tag}.webp")))
want = up.reshape(up.shape[0] // 2, 2, up.shape[1] // 2, 2, 3).max(axis=(1, 3))
got = np.load(f"w{tag}.npy")
assert np.array_equal(got, want), tag
assert np.load(f"j{tag}.npy").shape == got.shape == (20, 30, 3)  # the JPEG, upright too
out = Image.open(f"w{tag}.webp")
assert np.array_equal(np.asarray(out), want)
ex = out.getexif()
assert 0x0112 not in ex and ex.get(0x010F) == "PoolCam", dict(ex)  # tag dropped, rest kept
PY
    done
}

@test "webp: an output over 16383 pixels a side is refused, and nothing is left" {
    need_webp
    mknpy tall.npy 'np.zeros((16384, 4, 3), np.uint8)'
    run "$POOL" -k 1 tall.npy -o tall.webp
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: tall.webp: WebP stores at most 16383 pixels a side, and this image is 4x16384"* ]]
    no_files_but tall.npy
}

@test "webp: a truncated or corrupt WebP is an error naming the file, and leaves no output" {
    need_webp
    need_tool cwebp
    random_png rgb.png 64 64 3
    cwebp -quiet -q 80 rgb.png -o lossy.webp
    cwebp -quiet -lossless rgb.png -o lossless.webp
    head -c 100 lossy.webp > cut.webp
    head -c 16 lossy.webp > head.webp
    "$PY" - <<'PY'
import struct
lossy = open("lossy.webp", "rb").read()
def spoil(name, data, at, new):
    b = bytearray(data)
    b[at:at + len(new)] = new
    open(name, "wb").write(b)
spoil("start.webp", lossy, 23, b"\0\0\0")                    # VP8's start code
spoil("size.webp", lossy, 16, struct.pack("<I", len(lossy)))  # the VP8 chunk past the file
spoil("name.webp", lossy, 12, b"XXXX")                        # no image chunk
spoil("data.webp", open("lossless.webp", "rb").read(), 30, b"\xff" * 30)  # VP8L's codes
PY
    rm rgb.png
    run "$POOL" -k 2 cut.webp -o out.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: cut.webp: truncated WebP data: the RIFF header declares"*"and the file has 100" ]]
    run "$POOL" -k 2 head.webp -o out.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: head.webp: truncated WebP data: the RIFF header declares"*"and the file has 16" ]]
    for f in start size name data; do
        run "$POOL" -k 2 $f.webp -o out.png
        [ "$status" -eq 1 ]
        [[ "$output" == "pool: $f.webp: bad WebP data ("* ]]
    done
    no_files_but lossy.webp lossless.webp cut.webp head.webp start.webp size.webp name.webp data.webp
}

@test "webp: a file over the memory budget is refused before it is decoded" {
    need_webp
    mknpy big.npy 'np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)'
    "$POOL" -q -k 1 big.npy --lossless -o big.webp
    run "$POOL" -k 2 --max-memory 1M big.webp -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: big.webp: a WebP"*"more than the memory budget of 1 MiB (--max-memory)" ]]
    run "$POOL" -k 1 --max-pixels 1000 big.webp -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"700x700 pixels, over the limit of 1000 (--max-pixels)" ]]
    "$POOL" -q -k 1 --max-memory 4M big.webp -o out.npy
    npy_equal out.npy 'np.load("big.npy")'
}

@test "webp: a WebP on stdin" {
    need_webp
    need_tool cwebp
    random_png rgba.png 24 26 4 8
    cwebp -quiet -q 75 rgba.png -o in.webp
    "$POOL" -q -k 2 -o out.npy < in.webp
    same_as_pillow out.npy in.webp 2
    head -c 200 in.webp > cut.webp
    run "$POOL" -k 2 -o cut.npy - < cut.webp
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: truncated WebP data"* ]]
}

@test "webp: a folder of PNG and WebP becomes all PNG in one batch" {
    need_webp
    need_tool cwebp
    mkdir in
    random_png in/a.png 20 22 3
    random_png b.png 18 30 4 9
    cwebp -quiet -lossless -exact b.png -o in/b.webp
    "$POOL" -q -k 2 -O out -f png in/a.png in/b.webp
    [ -f out/a.png ] && [ -f out/b.png ]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
for name, src in (("a", "in/a.png"), ("b", "b.png")):
    a = np.asarray(Image.open(src))
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    want = a[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).max(axis=(1, 3))
    got = np.asarray(Image.open(f"out/{name}.png"))
    assert np.array_equal(got, want), name
PY
}

@test "webp: every allocation failing in turn: a clean error or the same output, nothing left, no leak" {
    need_webp
    FAILALLOC=${POOL_FAILALLOC:-$BATS_TEST_DIRNAME/../../build/tests/alloc/pool-failalloc}
    [ -x "$FAILALLOC" ] || skip "no $FAILALLOC: run through make check"
    export FAILALLOC
    random_png rgba.png 20 24 4 10
    "$PY" - <<'PY'
from PIL import Image, ImageCms
im = Image.open("rgba.png")
ex = Image.Exif()
ex[0x0112] = 6
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
im.save("in.webp", lossless=True, exif=ex.tobytes(), icc_profile=icc)
PY
    # tests/alloc/each-fails.sh (see tests/cli/alloc.bats) runs in a folder beside the inputs
    run bash "$BATS_TEST_DIRNAME/../alloc/each-fails.sh" -k 2 ../in.webp -o out.webp
    echo "$output"
    [ "$status" -eq 0 ]
    run bash "$BATS_TEST_DIRNAME/../alloc/each-fails.sh" -k 2 ../in.webp ../rgba.png -O out -f webp --lossless
    echo "$output"
    [ "$status" -eq 0 ]
}
