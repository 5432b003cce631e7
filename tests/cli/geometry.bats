#!/usr/bin/env bats
# --size and --edge against the tools they follow: ImageMagick's geometry sizes, PyTorch's
# adaptive pooling at the computed size, Pillow's reduce, vips shrink, and PyTorch's floor
# and ceil modes, on real photographs.

load helpers

# size_of FILE: "W H" as Pillow reads it
size_of() {
    "$PY" -c 'import sys; from PIL import Image; print(*Image.open(sys.argv[1]).size)' "$1"
}

@test "--size: every geometry form gives ImageMagick's size, pooled as adaptive_avg_pool2d" {
    need_photos
    command -v convert >/dev/null || skip "no ImageMagick convert (Debian: imagemagick)"
    for f in chelsea.png coffee.png camera.png; do
        for g in 256 x100 200x200 '200x200^' '300x100!' 120x500 '90x90^' 1000x1000 '1000x10!'; do
            "$POOL" -q -m avg --size "$g" "$DATA/$f" -o out.png
            convert "$DATA/$f" -resize "$g" im.png
            read -r w h < <(size_of im.png)
            read -r pw ph < <(size_of out.png)
            read -r iw ih < <(size_of "$DATA/$f")
            # ImageMagick enlarges; pool never does
            [ "$pw" -eq $((w < iw ? w : iw)) ] && [ "$ph" -eq $((h < ih ? h : ih)) ] ||
                { echo "$f $g: pool ${pw}x$ph, ImageMagick ${w}x$h, image ${iw}x$ih"; return 1; }
            "$PY" - "$DATA/$f" out.png <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from PIL import Image
a = np.asarray(Image.open(sys.argv[1])).astype(np.float64)
got = np.asarray(Image.open(sys.argv[2]))
t = torch.from_numpy(a if a.ndim == 3 else a[..., None]).permute(2, 0, 1)[None]
want = F.adaptive_avg_pool2d(t, got.shape[:2])[0].permute(1, 2, 0).numpy()
want = np.floor(want + 0.5).astype(np.uint8).reshape(got.shape)  # pool rounds half up
assert np.array_equal(want, got), np.abs(want.astype(int) - got).max()
PY
        done
    done
}

@test "--size: an image already within is written at its own size and said so; --plan shows the size" {
    need_photos
    run "$POOL" -m mode --size 1000 "$DATA/chelsea.png" -o out.png
    [ "$status" -eq 0 ]
    [ "$output" = "pool: $DATA/chelsea.png: warning: already within --size 1000 (451x300, width x height): written at its own size (kernel 1)" ]
    "$PY" -c 'import sys, numpy as np; from PIL import Image; assert np.array_equal(np.asarray(Image.open(sys.argv[1])), np.asarray(Image.open("out.png")))' "$DATA/chelsea.png"
    run "$POOL" --plan "$DATA/chelsea.png" -m avg --size '200x200^'
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^1\ +avg\ +301x200\  ]] # width first
    # a photo and its mask given the same geometry come out the same size
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray((np.arange(300 * 451).reshape(300, 451) % 5).astype(np.uint8)).save("mask.png")'
    "$POOL" -q -m avg --size 256 "$DATA/chelsea.png" -o photo_small.png
    "$POOL" -q -m mode --size 256 mask.png -o mask_small.png
    [ "$(size_of photo_small.png)" = "$(size_of mask_small.png)" ]
}

@test "--size refuses what it cannot size" {
    "$PY" -c 'import numpy as np; np.save("l.npy", np.zeros(10, np.float32))'
    run "$POOL" --size 5 -k 2 l.npy -o x.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --size chooses the windows"* ]]
    run "$POOL" --size 5 -P max:2 l.npy -o x.npy
    [ "$status" -eq 2 ]
    run "$POOL" --size 5 l.npy -o x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"--size fits height and width, and this tensor has one spatial axis"* ]]
    for g in 0 x 10x 10x0 'x10^' 12y 10x10x; do
        run "$POOL" --size "$g" l.npy -o x.npy
        [ "$status" -eq 2 ] || { echo "$g: $status"; return 1; }
        [[ "$output" == "pool: --size $g: a geometry is"* ]]
    done
}

@test "--edge partial is Pillow's reduce, exactly; floor and ceil equal PyTorch's modes" {
    need_photos
    for f in chelsea.png coffee.png; do
        for k in 2 3 4; do
            "$POOL" -q -m avg -k "$k" --edge partial "$DATA/$f" -o partial.npy
            "$POOL" -q -m avg -k "$k" --edge floor "$DATA/$f" -o floor.npy
            "$POOL" -q -m max -k "$k" --edge ceil "$DATA/$f" -o ceil.npy
            "$PY" - "$DATA/$f" "$k" <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from PIL import Image
im, k = Image.open(sys.argv[1]), int(sys.argv[2])
a, got = np.asarray(im).astype(np.int64), np.load("partial.npy").astype(np.int64)
H, W = -(-a.shape[0] // k), -(-a.shape[1] // k)   # the last windows partial
want = np.zeros((H, W, a.shape[2]), np.int64)
for i in range(H):
    for j in range(W):
        win = a[i * k:(i + 1) * k, j * k:(j + 1) * k].reshape(-1, a.shape[2])
        want[i, j] = (2 * win.sum(axis=0) + len(win)) // (2 * len(win))   # real pixels, half up
assert np.array_equal(got, want), "partial: exact averages of the real pixels"
pillow = np.asarray(im.reduce(k)).astype(np.int64)
assert pillow.shape == got.shape
# Pillow divides by a fixed-point reciprocal: exact for k = 2, within 1 otherwise
assert np.abs(pillow - got).max() <= (0 if k == 2 else 1), np.abs(pillow - got).max()
t = torch.from_numpy(np.asarray(im).astype(np.float64)).permute(2, 0, 1)[None]
fl = F.avg_pool2d(t, k)[0].permute(1, 2, 0).numpy()
assert np.array_equal(np.load("floor.npy"), np.floor(fl + 0.5).astype(np.uint8)), "floor"
ce = F.max_pool2d(t, k, ceil_mode=True)[0].permute(1, 2, 0).numpy().astype(np.uint8)
assert np.array_equal(np.load("ceil.npy"), ce), "ceil"
PY
        done
    done
}

@test "--edge replicate: vips shrink's sizes, edge copies in the last windows, exact averages" {
    need_photos
    command -v vips >/dev/null || skip "no vips (Debian: libvips-tools)"
    for f in chelsea.png coffee.png; do
        for k in 2 3 4; do
            "$POOL" -q -m avg -k "$k" --edge replicate "$DATA/$f" -o rep.png
            vips shrink "$DATA/$f" vips.png "$k" "$k"
            "$PY" - "$DATA/$f" "$k" <<'PY'
import sys, numpy as np
from PIL import Image
a, k = np.asarray(Image.open(sys.argv[1])).astype(np.int64), int(sys.argv[2])
got = np.asarray(Image.open("rep.png")).astype(np.int64)
vips = np.asarray(Image.open("vips.png")).astype(np.int64)
assert got.shape == vips.shape, (got.shape, vips.shape)
# the exact reference: extend right and bottom by copies of the edge, average, half up
H, W = got.shape[:2]
e = np.pad(a, ((0, max(0, H * k - a.shape[0])), (0, max(0, W * k - a.shape[1])), (0, 0)), mode="edge")
s = e[:H * k, :W * k].reshape(H, k, W, k, -1).sum(axis=(1, 3))
assert np.array_equal(got, (2 * s + k * k) // (2 * k * k)), "exact"
# vips rounds after each axis: within 1 of the exact average
assert np.abs(got - vips).max() <= 1, np.abs(got - vips).max()
PY
        done
    done
    run "$POOL" -m avg -k 2 --edge replicate --shift-test "$DATA/chelsea.png" -o x.png
    [ "$status" -eq 2 ]
    run "$POOL" -m avg -k 2 --edge middle "$DATA/chelsea.png" -o x.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --edge middle: give floor, ceil, partial or replicate" ]
}

@test "--edge replicate on images smaller than the kernel gives vips shrink's sizes" {
    command -v vips >/dev/null || skip "no vips (Debian: libvips-tools)"
    "$PY" -c '
import numpy as np; from PIL import Image
Image.fromarray(np.full((1, 1, 3), 77, np.uint8)).save("one.png")
Image.fromarray(np.arange(45, dtype=np.uint8).reshape(3, 5, 3)).save("small.png")'
    for spec in "one.png 2" "small.png 4" "small.png 3"; do
        set -- $spec
        "$POOL" -q -m avg -k "$2" --edge replicate "$1" -o p.png
        vips shrink "$1" v.png "$2" "$2"
        [ "$(size_of p.png)" = "$(size_of v.png)" ] || { echo "$spec: $(size_of p.png) vs $(size_of v.png)"; return 1; }
    done
    "$POOL" -q -m avg -k 2 --edge replicate one.png -o one.npy
    "$PY" -c 'import numpy as np; assert np.load("one.npy").tolist() == [[[77, 77, 77]]]'
}

@test "--edge on passes with no windows is a usage error; --edge overrides --ceil" {
    "$PY" -c 'import numpy as np; np.save("a.npy", np.arange(7, dtype=np.float32))'
    run "$POOL" --output-size 3 --edge ceil a.npy -o x.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --edge decides the last windows of windowed passes"* ]]
    "$POOL" -q -k 2 --ceil --edge floor a.npy -o f.npy
    "$PY" -c 'import numpy as np; assert np.load("f.npy").shape == (3,)'
    # -d 1 (no dilation) is accepted by avg, whose windows have none
    "$POOL" -q -m avg -k 2 -d 1 a.npy -o d.npy
}
