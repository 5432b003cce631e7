#!/usr/bin/env bats
# Label maps on the command line: mode, median and nearest keep class ids and colours where
# max and avg make new ones. (Every parameter against a NumPy reference is
# tests/oracle/select_oracle.py.)

load helpers

# voc_mask FILE: a 64x48 RGB mask in VOC colours, blocks of three classes and the 255
# "ignore" border colour, boundaries off the 2x2 grid so windows straddle them.
voc_mask() {
    "$PY" - "$1" <<'PY'
import sys, numpy as np
from PIL import Image
colours = np.array([[0, 0, 0], [128, 0, 0], [0, 128, 0], [224, 224, 192]], np.uint8)
ids = np.zeros((48, 64), np.uint8)
ids[5:31, 3:41] = 1
ids[17:45, 29:61] = 2
ids[:, 0] = ids[0, :] = 3
Image.fromarray(colours[ids]).save(sys.argv[1])
PY
}

# colours FILE: the distinct pixel colours of an image, one "r g b" a line, sorted.
colours() {
    "$PY" -c 'import sys, numpy as np; from PIL import Image; a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).reshape(-1, 3); print("\n".join(" ".join(map(str, c)) for c in np.unique(a, axis=0)))' "$1"
}

@test "labels: mode and nearest make no colour that is not in the mask; max does" {
    voc_mask m.png
    colours m.png > in.txt
    for mode in mode nearest; do
        "$POOL" -q -m "$mode" -k 2 m.png -o "$mode.png"
        colours "$mode.png" > "$mode.txt"
        # every output colour is an input colour
        [ -z "$(comm -23 "$mode.txt" in.txt)" ]
    done
    # max mixes channels of different pixels: (128,0,0) next to (0,128,0) gives (128,128,0)
    "$POOL" -q -m max -k 2 m.png -o max.png
    colours max.png > max.txt
    grep -qx "128 128 0" max.txt
    ! grep -qx "128 128 0" in.txt
}

@test "labels: mode of an RGB mask is the most frequent whole pixel, ties to the smallest" {
    voc_mask m.png
    "$POOL" -q -m mode -k 3 -s 2 -p 1 m.png -o out.npy
    "$PY" - m.png out.npy <<'PY'
import sys, numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1])).astype(np.int64)
got = np.load(sys.argv[2])
H, W = a.shape[:2]
want = np.zeros((H // 2, W // 2, 3), np.uint8)
for i in range(H // 2):
    for j in range(W // 2):
        win = a[max(2 * i - 1, 0):2 * i + 2, max(2 * j - 1, 0):2 * j + 2].reshape(-1, 3)
        u, n = np.unique(win, axis=0, return_counts=True)
        want[i, j] = u[np.argmax(n)]
assert got.shape == want.shape, (got.shape, want.shape)
assert np.array_equal(got, want), np.argwhere((got != want).any(axis=2))[:5]
PY
}

@test "labels: nearest with k = s equals Pillow's resize(NEAREST) on photographs" {
    need_photos
    for f in astronaut.png camera.png coffee.png; do
        for k in 2 3 4; do
            "$POOL" -q -m nearest -k "$k" "$DATA/$f" -o out.npy
            "$PY" - "$DATA/$f" out.npy "$k" <<'PY'
import sys, numpy as np
from PIL import Image
im, k = Image.open(sys.argv[1]), int(sys.argv[3])
got = np.load(sys.argv[2])
W, H = im.size
if W % k or H % k:   # Pillow stretches its grid over the remainder: compare where both agree
    im = im.crop((0, 0, W - W % k, H - H % k))
want = np.asarray(im.resize((W // k, H // k), Image.NEAREST))
assert np.array_equal(got, want), (sys.argv[1], k)
PY
        done
    done
}

@test "labels: a gray mask's classes survive mode; max grows the 255 ignore label" {
    "$PY" -c '
import numpy as np; from PIL import Image
rng = np.random.default_rng(1)
a = rng.integers(0, 4, (40, 60)).repeat(3, 0).repeat(3, 1).astype(np.uint8)
a[11:30, 7:50] = a[70:101, 95:151] = 255
Image.fromarray(a).save("g.png")'
    "$POOL" -q -m mode -k 2 g.png -o mode.png
    "$POOL" -q -m max -k 2 g.png -o max.png
    "$PY" -c '
import numpy as np; from PIL import Image
g, mo, mx = (np.asarray(Image.open(f)) for f in ("g.png", "mode.png", "max.png"))
assert set(np.unique(mo)) <= set(np.unique(g))
share = lambda a: (a == 255).mean()
assert share(mx) > 1.05 * share(g), (share(mx), share(g))
assert abs(share(mo) - share(g)) < 0.05 * share(g), (share(mo), share(g))'
}

@test "labels: the modes work in -P specs, --plan and --stats, and take dilation" {
    voc_mask m.png
    run "$POOL" --plan 3x48x64 -P mode:2 -P median:3,s=2,p=1 -P nearest:2,d=2
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^1\ +mode\ +3x24x32\  ]]
    [[ "${lines[3]}" =~ ^2\ +median\ +3x12x16\  ]]
    [[ "${lines[4]}" =~ ^3\ +nearest\ +3x5x7\  ]]
    "$POOL" -q -P mode:2 -P nearest:2 --stats --stats-format json m.png -o out.png 2> stats.json
    grep -q '"mode":"mode"' stats.json || grep -q '"mode": "mode"' stats.json
    run "$POOL" -m mode -k 2 --count-include-pad m.png -o x.png
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: "*"count-include-pad works with avg only"* ]]
    run "$POOL" -m median --norm 2 -k 2 m.png -o x.png
    [ "$status" -eq 2 ]
}

# voc_palette FILE [BITS]: the mask of voc_mask as a palette PNG of class ids (0, 1, 2 and
# 255 or, with BITS < 8, 3), index 0 transparent through tRNS.
voc_palette() {
    "$PY" - "$1" "${2:-8}" <<'PY'
import sys, numpy as np
from PIL import Image
bits = int(sys.argv[2])
border = 255 if bits == 8 else 3
ids = np.zeros((48, 64), np.uint8)
ids[5:31, 3:41] = 1
ids[17:45, 29:61] = 2
ids[:, 0] = ids[0, :] = border
im = Image.fromarray(ids, "P")
pal = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [7, 7, 7] * (border - 3) + [224, 224, 192]
im.putpalette(pal)
im.save(sys.argv[1], bits=bits, transparency=bytes([0] + [255] * border))
PY
}

# same_palette_mode IN OUT MODE K: OUT is a palette PNG with IN's palette and tRNS whose
# indices are MODE (max, mode, median, nearest) of IN's indices over K x K windows.
same_palette_mode() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
src, out, mode, k = Image.open(sys.argv[1]), Image.open(sys.argv[2]), sys.argv[3], int(sys.argv[4])
assert out.mode == "P", out.mode
assert out.getpalette() == src.getpalette(), "palette changed"
assert out.info.get("transparency") == src.info.get("transparency"), "tRNS changed"
a = np.asarray(src).astype(int)
H, W = a.shape[0] // k, a.shape[1] // k
win = a[:H * k, :W * k].reshape(H, k, W, k).transpose(0, 2, 1, 3).reshape(H, W, k * k)
if mode == "max":
    want = win.max(axis=2)
elif mode == "median":
    want = np.sort(win, axis=2)[:, :, (k * k - 1) // 2]
elif mode == "nearest":
    want = a[k // 2::k, k // 2::k][:H, :W]
else:
    want = np.array([[np.bincount(w).argmax() for w in row] for row in win])
got = np.asarray(out)
assert np.array_equal(got, want), np.argwhere(got != want)[:5]
PY
}

@test "palettes: max, mode, median and nearest pool the indices and keep the palette and tRNS" {
    voc_palette m.png
    for mode in max mode median nearest; do
        "$POOL" -q -m "$mode" -k 2 m.png -o "$mode.png"
        same_palette_mode m.png "$mode.png" "$mode" 2
    done
    "$POOL" -q -m mode -k 3 m.png -o k3.png
    same_palette_mode m.png k3.png mode 3
}

@test "palettes: 2-bit indices come out as indices (not scaled to 0-255)" {
    voc_palette m.png 2
    [ "$(file -b m.png)" = "PNG image data, 64 x 48, 2-bit colormap, non-interlaced" ]
    "$POOL" -q -m mode -k 2 m.png -o out.png
    same_palette_mode m.png out.png mode 2
    "$POOL" -q -m mode -k 2 m.png -o out.npy
    run npy_show out.npy
    [ "$output" = "uint8 (24, 32)" ]
    "$PY" -c 'import numpy as np; assert set(np.unique(np.load("out.npy"))) <= {0, 1, 2, 3}'
}

@test "palettes: avg and lp pool the colours, with one warning per kind over a batch" {
    voc_palette m.png
    run "$POOL" -m avg -k 2 --warn-psnr 0 m.png -o avg.png
    [ "$status" -eq 0 ]
    [ "$output" = "pool: m.png: warning: a palette image is averaged as its colours; for a label map, -m mode (or median, nearest) pools its class ids and keeps the palette" ]
    [ "$("$PY" -c 'from PIL import Image; print(Image.open("avg.png").mode)')" = RGBA ]
    mkdir in
    cp m.png in/a.png
    cp m.png in/b.png
    run "$POOL" -P lp:2 --warn-psnr 0 -R in -O out
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "pool: 2 of 2 inputs: warning: a palette image is averaged as its colours; for a label map, -m mode (or median, nearest) pools its class ids and keeps the palette" ]
    # -q, or --palette given, says nothing
    run "$POOL" -q -m avg -k 2 m.png -o q.png
    [ -z "$output" ]
    run "$POOL" --palette expand -m avg -k 2 --warn-psnr 0 m.png -o e.png
    [ -z "$output" ]
}

@test "palettes: --palette overrides the modes' choice" {
    voc_palette m.png
    # indices averaged on request: 0 and 1 around a window give 1 (half up), still indices
    "$POOL" -q --palette index -m avg -k 2 m.png -o avg.png
    "$PY" -c 'from PIL import Image; im = Image.open("avg.png"); assert im.mode == "P", im.mode'
    # colours pooled on request: mode over RGBA pixels
    "$POOL" -q --palette expand -m mode -k 2 m.png -o mode.png
    "$PY" -c 'from PIL import Image; im = Image.open("mode.png"); assert im.mode == "RGBA", im.mode'
    run "$POOL" --palette rgb -m mode -k 2 m.png -o x.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --palette rgb: give index or expand" ]
}

@test "palettes: JPEG output of indices is refused, naming --palette expand; nothing written" {
    voc_palette m.png
    run "$POOL" -m mode -k 2 m.png -o out.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: out.jpg: a palette image's indices"*"--palette expand"* ]]
    [ ! -e out.jpg ]
    run "$POOL" -q --palette expand -m mode -k 2 m.png -o out.jpg
    [[ "$output" == *"JPEG has no alpha channel"* ]]
}

@test "labels: the README's dataset recipe keeps photos and masks aligned, a turned photo too" {
    mkdir -p images/city masks/city
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
colours = np.array([[30, 30, 30], [200, 40, 40], [40, 180, 60], [50, 70, 220]], np.uint8)
palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0, 0, 0] * 252
for name, (h, w), tag in [("a", (240, 320), 1), ("b", (203, 301), 1), ("c", (240, 320), 6)]:
    ids = np.zeros((h, w), np.uint8)
    for c in (1, 2, 3):   # three blocks of known classes, off the pooling grid
        y, x = rng.integers(0, h - 60), rng.integers(0, w - 80)
        ids[y:y + 57, x:x + 77] = c
    photo = colours[ids].astype(np.int16) + rng.integers(-6, 7, (h, w, 3))
    photo = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    mask = Image.fromarray(ids, "P")
    mask.putpalette(palette)
    mask.save(f"masks/city/{name}.png")
    if tag == 6:   # a phone's portrait photo: stored sideways, the tag turns it back
        ex = Image.Exif()
        ex[0x0112] = 6
        photo.transpose(Image.ROTATE_90).save(f"images/city/{name}.jpg", exif=ex.tobytes(), quality=95)
    else:
        photo.save(f"images/city/{name}.jpg", quality=95)
PY
    "$POOL" -q -m avg --size 128 -R images/ -O small/images/
    "$POOL" -q -m mode --size 128 -R masks/ -O small/masks/
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
colours = np.array([[30, 30, 30], [200, 40, 40], [40, 180, 60], [50, 70, 220]])
for name in "abc":
    photo = Image.open(f"small/images/city/{name}.jpg")
    mask = Image.open(f"small/masks/city/{name}.png")
    src = Image.open(f"masks/city/{name}.png")
    assert photo.size == mask.size, (name, photo.size, mask.size)
    assert max(photo.size) == 128, photo.size
    assert mask.mode == "P" and mask.getpalette() == src.getpalette(), name
    ids, rgb = np.asarray(mask), np.asarray(photo).astype(int)
    assert set(np.unique(ids)) <= set(np.unique(np.asarray(src))), name
    # inside each class (2 pixels from its edges, past JPEG's chroma bleeding) the photo
    # has that class's colour; a photo out of line with its mask would not
    inner = np.ones_like(ids, bool)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            inner &= np.roll(np.roll(ids, dy, 0), dx, 1) == ids
    err = np.abs(rgb[inner] - colours[ids[inner]]).max()
    assert inner.mean() > 0.5 and err < 25, (name, inner.mean(), err)
PY
}

@test "palettes: an index past the palette is the input's error, whatever the output or mode" {
    "$PY" -c '
import png   # pypng writes a palette of 4 colours as given (Pillow pads it to 256)
w = png.Writer(2, 2, palette=[(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)], bitdepth=8)
with open("bad.png", "wb") as f:
    w.write(f, [[0, 1], [11, 2]])'
    for out in x.png x.npy; do
        run "$POOL" -m mode -k 2 bad.png -o "$out"
        [ "$status" -eq 1 ]
        [ "$output" = "pool: bad.png: bad PNG data: palette index 11, and the palette has 4 colours" ]
        [ ! -e "$out" ]
    done
    # expanded to colours too (libpng would make it black, Pillow another colour)
    for args in "-m avg" "--palette expand -m max"; do
        run "$POOL" -q $args -k 2 bad.png -o x.png
        [ "$status" -eq 1 ]
        [ "$output" = "pool: bad.png: bad PNG data: palette index 11, and the palette has 4 colours" ]
        [ ! -e x.png ]
    done
}
