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
