#!/usr/bin/env bats
# EXIF orientation: each of the 8 orientations, in JPEG and PNG, pooled on the upright image
# as Pillow's ImageOps.exif_transpose followed by the same pooling (PyTorch), with and
# without --no-auto-orient; the tag dropped, the rest of the EXIF kept.

load helpers

# oriented PHOTO: o1..o8.png and .jpg, each storing the photo so that its orientation tag
# turns it back upright, with a camera make, a text tag and the pixel dimensions beside it.
oriented() {
    "$PY" - "$1" <<'PY'
import sys
from PIL import Image
up = Image.open(sys.argv[1]).convert("RGB")
# the inverse of each exif_transpose method: what a camera stores for that tag
store = {1: None, 2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
         5: Image.TRANSPOSE, 6: Image.ROTATE_90, 7: Image.TRANSVERSE, 8: Image.ROTATE_270}
for tag, method in store.items():
    im = up if method is None else up.transpose(method)
    ex = Image.Exif()
    ex[0x0112] = tag
    ex[0x010F] = "PoolCam"
    ex[0x010E] = f"orientation {tag}"
    ex[0x8769] = {0xA002: im.size[0], 0xA003: im.size[1]}  # PixelX/YDimension, as stored
    im.save(f"o{tag}.png", exif=ex.tobytes())
    im.save(f"o{tag}.jpg", exif=ex.tobytes(), quality=92)
PY
}

# check_upright SPEC...: every oNUMBER.{png,jpg} pooled with -P SPEC... equals pooling
# exif_transpose's upright image with PyTorch (max and avg, PyTorch's rules).
check_upright() {
    for tag in 1 2 3 4 5 6 7 8; do
        for ext in png jpg; do
            "$POOL" -q "$@" "o$tag.$ext" -o "out$tag$ext.npy"
        done
    done
    "$PY" - "$@" <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from PIL import Image, ImageOps
specs = [a for a in sys.argv[1:] if a != "-P"]
def pool(t, spec):
    mode, rest = (spec.split(":") + [""])[:2]
    parts = rest.split(",")
    k = int(parts[0]); kw = dict(p.split("=") for p in parts[1:])
    s, p, ceil = int(kw.get("s", k)), int(kw.get("p", 0)), kw.get("ceil") == "1"
    if mode == "max":
        return F.max_pool2d(t, k, s, p, ceil_mode=ceil)
    return F.avg_pool2d(t, k, s, p, ceil_mode=ceil)
for tag in range(1, 9):
    for ext in ("png", "jpg"):
        up = ImageOps.exif_transpose(Image.open(f"o{tag}.{ext}"))
        t = torch.from_numpy(np.asarray(up).astype(np.float64)).permute(2, 0, 1)[None]
        for spec in specs:
            t = pool(t, spec)
        want = np.floor(t[0].permute(1, 2, 0).numpy() + 0.5).astype(np.uint8)
        got = np.load(f"out{tag}{ext}.npy")
        assert got.shape == want.shape, (tag, ext, got.shape, want.shape)
        assert np.array_equal(got, want), (tag, ext, int(np.abs(got.astype(int) - want).max()))
PY
}

@test "orientation: all 8, JPEG and PNG, pooled upright as exif_transpose then PyTorch" {
    need_photos
    oriented "$DATA/chelsea.png"   # 451 x 300: remainders on both axes
    check_upright -P avg:2
    check_upright -P max:3,s=2,p=1 -P avg:2,ceil=1
    check_upright -P avg:3,s=2,p=1,ceil=1
}

@test "orientation: kernels that differ by axis follow the upright image" {
    need_photos
    oriented "$DATA/coffee.png"
    for tag in 1 5 6 7 8; do
        "$POOL" -q -m max -k 3x2 -s 2x1 "o$tag.png" -o "r$tag.npy"
    done
    "$PY" -c '
import numpy as np, torch, torch.nn.functional as F
from PIL import Image, ImageOps
for tag in (1, 5, 6, 7, 8):
    up = np.asarray(ImageOps.exif_transpose(Image.open(f"o{tag}.png"))).astype(np.float64)
    want = F.max_pool2d(torch.from_numpy(up).permute(2, 0, 1)[None], (3, 2), (2, 1))[0]
    want = want.permute(1, 2, 0).numpy().astype(np.uint8)
    assert np.array_equal(np.load(f"r{tag}.npy"), want), tag'
}

@test "orientation: mode, median and nearest on a rotated mask; --size on the upright size" {
    need_photos
    oriented "$DATA/chelsea.png"
    for tag in 1 6 7; do
        "$POOL" -q -m nearest -k 2 "o$tag.png" -o "n$tag.npy"
        "$POOL" -q -m avg --size 100x100 "o$tag.png" -o "s$tag.png"
    done
    "$PY" -c '
import numpy as np
from PIL import Image, ImageOps
for tag in (1, 6, 7):
    up = np.asarray(ImageOps.exif_transpose(Image.open(f"o{tag}.png")))
    assert np.array_equal(np.load(f"n{tag}.npy"), up[1::2, 1::2][:150, :225]), tag
    assert Image.open(f"s{tag}.png").size == (100, 67), Image.open(f"s{tag}.png").size'
}

@test "orientation: the output carries no orientation tag and keeps the rest; --no-auto-orient keeps all" {
    need_photos
    oriented "$DATA/chelsea.png"
    for ext in png jpg; do
        "$POOL" -q -m avg -k 2 "o6.$ext" -o "up.$ext"
        "$POOL" -q -m avg -k 2 --no-auto-orient "o6.$ext" -o "stored.$ext"
    done
    "$PY" -c '
from PIL import Image
for ext in ("png", "jpg"):
    up, stored = Image.open(f"up.{ext}"), Image.open(f"stored.{ext}")
    assert up.size == (225, 150) and stored.size == (150, 225), (up.size, stored.size)
    ex = up.getexif()
    assert 0x0112 not in ex and ex[0x010F] == "PoolCam" and ex[0x010E] == "orientation 6", dict(ex)
    dims = ex.get_ifd(0x8769)
    assert (dims[0xA002], dims[0xA003]) == up.size, (dict(dims), up.size)
    ex = stored.getexif()
    assert ex[0x0112] == 6 and ex[0x010F] == "PoolCam", dict(ex)'
    # --no-auto-orient pools the stored pixels: as Pillow pools them without turning
    "$POOL" -q -m max -k 2 --no-auto-orient o6.png -o st.npy
    "$PY" -c '
import numpy as np; from PIL import Image
a = np.asarray(Image.open("o6.png")).astype(int); H, W = a.shape[0] // 2, a.shape[1] // 2
want = a[:2 * H, :2 * W].reshape(H, 2, W, 2, 3).max(axis=(1, 3))
assert np.array_equal(np.load("st.npy"), want)'
}

@test "orientation: --edge replicate extends the upright image's right and bottom edges" {
    need_photos
    oriented "$DATA/chelsea.png"   # 451 x 300: by 4, remainders on both axes
    for tag in 1 2 3 4 5 6 7 8; do
        "$POOL" -q -m avg -k 4 --edge replicate "o$tag.png" -o "r$tag.npy"
    done
    "$PY" -c '
import numpy as np
from PIL import Image, ImageOps
for tag in range(1, 9):
    a = np.asarray(ImageOps.exif_transpose(Image.open(f"o{tag}.png"))).astype(np.int64)
    H, W = (a.shape[0] + 2) // 4, (a.shape[1] + 2) // 4   # round(L / 4), halves up
    e = np.pad(a, ((0, max(0, 4 * H - a.shape[0])), (0, max(0, 4 * W - a.shape[1])), (0, 0)),
               mode="edge")[:4 * H, :4 * W]
    want = (2 * e.reshape(H, 4, W, 4, 3).sum(axis=(1, 3)) + 16) // 32
    assert np.array_equal(np.load(f"r{tag}.npy"), want), tag'
}

@test "orientation: --stats describes the upright image: the same record as the upright file's" {
    need_photos
    oriented "$DATA/chelsea.png"
    for tag in 1 3 6 7; do
        "$POOL" -q -P max:3x2,s=2 -P avg:2 --stats --stats-format json "o$tag.png" -o "x$tag.png" 2> "s$tag.json"
    done
    "$PY" -c '
import json
def records(tag):
    out = []
    for line in open(f"s{tag}.json"):
        r = json.loads(line)
        for k in ("input", "seconds"):
            r.pop(k)
        out.append(r)
    return out
want = records(1)
assert want[0]["in_shape"] == [300, 451, 3] and want[0]["kernel"] == [3, 2], want[0]
for tag in (3, 6, 7):
    assert records(tag) == want, (tag, records(tag)[0], want[0])'
}

@test "orientation: --edge replicate in a stack: every tag's stack figures are the upright image's" {
    need_photos
    oriented "$DATA/chelsea.png"   # 451 x 300: copies at pass 1 (width) and pass 3 (height)
    for tag in 1 2 3 4 5 6 7 8; do
        "$POOL" -q -m avg -k 2 -r 3 --edge replicate --stats "o$tag.png" -o "x$tag.png" \
            2> "s$tag.json"
    done
    "$PY" -c '
import json
def stack(tag):
    return [(r["in_shape"], r["stack_mse"]) for r in map(json.loads, open(f"s{tag}.json"))]
want = stack(1)
assert [s for s, _ in want] == [[300, 452, 3], [150, 226, 3], [76, 114, 3]], want
for tag in range(2, 9):
    assert stack(tag) == want, (tag, stack(tag), want)'
}

@test "orientation: --plan of a turned photo describes what the run writes; a LONG tag counts" {
    need_photos
    oriented "$DATA/chelsea.png"
    run "$POOL" --plan o6.jpg -m avg -k 3x2
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ^in\ +451x300\  ]] # upright, width first
    [[ "${lines[2]}" =~ ^1\ +avg\ +225x100\  ]]
    "$POOL" -q -m avg -k 3x2 o6.jpg -o r.npy
    run npy_show r.npy
    [ "$output" = "uint8 (100, 225, 3)" ]
    run "$POOL" --plan o6.jpg -m avg --size 120
    [[ "${lines[2]}" =~ ^1\ +avg\ +120x80\  ]]
    # an orientation stored as LONG instead of SHORT (off the standard, but written)
    "$PY" -c '
from PIL import Image, TiffImagePlugin
info = TiffImagePlugin.ImageFileDirectory_v2()
info[0x0112] = 6
info.tagtype[0x0112] = 4   # LONG
tiff = b"II*\x00\x08\x00\x00\x00" + info.tobytes(8)
Image.open("o1.png").transpose(Image.ROTATE_90).save("long6.png", exif=b"Exif\x00\x00" + tiff)
assert Image.open("long6.png").getexif()[0x0112] == 6'

    "$POOL" -q -m max -k 1 long6.png -o l.npy
    run npy_show l.npy
    [ "$output" = "uint8 (300, 451, 3)" ]
}
