#!/usr/bin/env bats
# --indices: where each max/min output came from, as PyTorch's return_indices, on photos and
# in the cases the option refuses. (Random 1-3-D tensors with ties, NaN, infinities and
# signed zeros against PyTorch: tests/oracle/torch_oracle.py.)

load helpers

# torch_indices IMAGE IDX.npy VALUES.npy SPEC: IDX and VALUES (HWC u8 of an image) equal
# max_pool2d(return_indices=True) of the image as a float NCHW tensor. SPEC: k s p ceil.
torch_indices() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from PIL import Image
img, idx, vals, k, s, p, ceil = sys.argv[1:8]
x = np.asarray(Image.open(img)).astype(np.float64)
x = x[..., None] if x.ndim == 2 else x
t = torch.from_numpy(x).permute(2, 0, 1)[None]
v, i = F.max_pool2d(t, int(k), int(s), int(p), ceil_mode=ceil == "1", return_indices=True)
want_i = i[0].permute(1, 2, 0).numpy()
want_v = v[0].permute(1, 2, 0).numpy().astype(np.uint8)
got_i, got_v = np.load(idx), np.load(vals)
got_v = got_v[..., None] if got_v.ndim == 2 else got_v
got_i = got_i[..., None] if got_i.ndim == 2 else got_i  # gray: HW, as the values
assert got_i.dtype == np.int64 and got_i.shape == want_i.shape, (got_i.dtype, got_i.shape)
assert np.array_equal(got_v, want_v), "values"
bad = np.argwhere(got_i != want_i)
assert len(bad) == 0, (len(bad), tuple(bad[0]), got_i[tuple(bad[0])], want_i[tuple(bad[0])])
# photos have many ties: the first maximum in window order must win
print("ties:", int(sum((x[..., c] == np.roll(x[..., c], 1, 1)).sum() for c in range(x.shape[2]))))
PY
}

@test "--indices of a photo equal max_pool2d's return_indices, first maximum among ties" {
    need_photos
    "$POOL" -q -m max -k 3 -s 2 -p 1 --indices i.npy "$DATA/astronaut.png" -o v.npy
    run torch_indices "$DATA/astronaut.png" i.npy v.npy 3 2 1 0
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [[ "$output" == "ties: "* ]] && [ "${output#ties: }" -gt 1000 ]
    # gray, ceil mode, the values written as PNG beside the indices
    "$POOL" -q -m max -k 2 --ceil --indices g.npy "$DATA/camera.png" -o g.png
    "$PY" -c 'import numpy as np; from PIL import Image; np.save("g_values.npy", np.asarray(Image.open("g.png")))'
    run torch_indices "$DATA/camera.png" g.npy g_values.npy 2 2 0 1
    [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--indices of min, adaptive and global passes; --flatten squeezes them as the values" {
    mknpy x.npy 'np.array([[[3, 1, 1, 5], [0, 7, 7, 0], [2, 2, 9, 9]]], dtype=np.float32)'
    "$POOL" -q --layout chw -m min -k 1x2 --indices i.npy x.npy -o v.npy
    npy_equal v.npy 'np.array([[[1, 1], [0, 0], [2, 9]]], dtype=np.float32)'
    npy_equal i.npy 'np.array([[[1, 2], [4, 7], [8, 10]]])'
    "$POOL" -q --layout chw -m max --output-size 1x2 --indices a.npy x.npy -o v.npy
    npy_equal a.npy 'np.array([[[5, 10]]])'
    "$POOL" -q --layout chw -m gmax --flatten --indices g.npy x.npy -o v.npy
    npy_equal g.npy 'np.array([10])'
    npy_equal v.npy 'np.array([9], dtype=np.float32)'
}

@test "--indices: a window of padding only points where PyTorch points, past the input" {
    mknpy e.npy 'np.array([[[1, 2]]], dtype=np.float32)'
    "$POOL" -q --layout ncl -m max -k 2 -s 1 -p 1 -d 3 --indices i.npy e.npy -o v.npy
    npy_equal v.npy 'np.array([[[-np.inf]]], dtype=np.float32)'
    npy_equal i.npy 'np.array([[[2]]])'
}

@test "--indices refuses what has no PyTorch indices, before reading, and leaves no file" {
    mknpy x.npy 'np.zeros((1, 4, 4), np.float32)'
    run "$POOL" -m avg -k 2 --indices i.npy x.npy -o v.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -m avg -k 2: indices (PyTorch's return_indices) come from max, min and fmax pooling only" ]
    run "$POOL" -P max:2 -P max:2 --indices i.npy x.npy -o v.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --indices gives where the values of one pass came from"* ]]
    run "$POOL" -k 2 -r 2 --indices i.npy x.npy -o v.npy
    [ "$status" -eq 2 ]
    run "$POOL" -k 2 --indices i.npy x.npy x.npy -O out
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --indices writes one .npy, for one input: give one" ]
    run "$POOL" -k 2 --edge replicate --indices i.npy x.npy -o v.npy
    [ "$status" -eq 2 ]
    run "$POOL" -k 2 --indices - x.npy -o v.npy
    [ "$status" -eq 2 ]
    run "$POOL" -k 2 --indices v.npy x.npy -o v.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"is also the output"* ]]
    no_files_but x.npy
}

@test "--indices: a failing input, a second image or an EXIF turn leave no file" {
    printf 'P5\n4 4\n255\n0123456789abcdef' > two.pgm
    printf 'P5\n4 4\n255\n0123456789abcdef' >> two.pgm
    run "$POOL" -k 2 --indices i.npy two.pgm -o v.pgm
    [ "$status" -eq 1 ]
    [ "$output" = "pool: two.pgm: --indices: the input holds more than one image, and one .npy of indices holds one: split the stream" ]
    printf 'P5\n4 4\n255\n0123' > cut.pgm
    run "$POOL" -k 2 --indices i.npy cut.pgm -o v.pgm
    [ "$status" -eq 1 ]
    "$PY" -c '
from PIL import Image
im = Image.new("L", (6, 4), 7); ex = Image.Exif(); ex[0x0112] = 6
im.save("turned.jpg", exif=ex.tobytes())'
    run "$POOL" -k 2 --indices i.npy turned.jpg -o v.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: turned.jpg: --indices point into the image as stored"*"--no-auto-orient" ]]
    no_files_but two.pgm cut.pgm turned.jpg
    "$POOL" -q -k 2 --no-auto-orient --indices i.npy turned.jpg -o v.npy
    [ "$(npy_show i.npy)" = "int64 (2, 3)" ]
}

@test "pool unpool puts a photo's maxima back where --indices says, zeros elsewhere, as max_unpool2d" {
    need_photos
    "$POOL" -q -m max -k 2 --indices i.npy "$DATA/coffee.png" -o v.png
    "$POOL" unpool --indices i.npy --output-size 400x600 v.png -o u.png
    # the default size from the pooling's kernel: (L - 1) s - 2 p + k
    "$POOL" unpool --indices i.npy -k 2 v.png -o d.png
    cmp u.png d.png
    # several bands (the inputs read once per band) give the same bytes
    POOL_UNPOOL_BAND_BYTES=5000 "$POOL" unpool --indices i.npy -k 2 v.png -o b.png
    cmp u.png b.png
    "$PY" - "$DATA/coffee.png" <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from PIL import Image
x = torch.from_numpy(np.asarray(Image.open(sys.argv[1])).astype(np.float32)).permute(2, 0, 1)[None]
v, i = F.max_pool2d(x, 2, return_indices=True)
want = F.max_unpool2d(v, i, 2)[0].permute(1, 2, 0).numpy().astype(np.uint8)
got = np.asarray(Image.open("u.png"))
assert got.shape == want.shape == (400, 600, 3), got.shape
assert np.array_equal(got, want)
assert (got == 0).mean() > 0.7   # three of four places are zeros
PY
}

@test "pool unpool refuses bad indices and mismatches, and leaves no output" {
    mknpy v.npy 'np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)'
    mknpy i.npy 'np.array([[[[0, 3], [9, 15]]]])'
    "$POOL" unpool --indices i.npy --output-size 4x4 v.npy -o u.npy
    npy_equal u.npy 'np.array([[[[1, 0, 0, 2], [0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 0, 4]]]], dtype=np.float32)'
    rm u.npy
    mknpy big.npy 'np.array([[[[0, 3], [9, 16]]]])'
    run "$POOL" unpool --indices big.npy --output-size 4x4 v.npy -o u.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: big.npy: index 16 (element 1 of row 1) lies outside its plane of the output, 4x4 (HxW) = 16 elements"* ]]
    mknpy neg.npy 'np.array([[[[0, -1], [9, 15]]]])'
    run "$POOL" unpool --indices neg.npy --output-size 4x4 v.npy -o u.npy
    [ "$status" -eq 1 ]
    mknpy i32.npy 'np.zeros((1, 1, 2, 2), np.int32)'
    run "$POOL" unpool --indices i32.npy --output-size 4x4 v.npy -o u.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: i32.npy: indices are int64 (as pool --indices and PyTorch write them), not i32" ]
    mknpy short.npy 'np.zeros((1, 1, 2, 1), np.int64)'
    run "$POOL" unpool --indices short.npy --output-size 4x4 v.npy -o u.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: short.npy: the indices are 1x1x2x1 (NCHW), the values 1x1x2x2 (NCHW)"* ]]
    run "$POOL" unpool --output-size 4x4 v.npy -o u.npy
    [ "$status" -eq 2 ]
    run "$POOL" unpool --indices i.npy v.npy -o u.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"--output-size SIZE, or the pooling's -k" ]]
    run "$POOL" unpool --indices i.npy --output-size 4x4x4 v.npy -o u.npy
    [ "$status" -eq 2 ]
    run "$POOL" unpool --indices - --output-size 4x4 - -o u.npy
    [ "$status" -eq 2 ]
    # from a pipe, an output of several bands cannot be made (it reads the inputs again)
    run sh -c 'cat v.npy | POOL_UNPOOL_BAND_BYTES=16 "$0" unpool --indices i.npy --output-size 4x4 - -o u.npy' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == *"give files, not a pipe" ]]
    cat v.npy | "$POOL" unpool --indices i.npy --output-size 4x4 - -o u.npy
    rm u.npy
    no_files_but v.npy i.npy big.npy neg.npy i32.npy short.npy
}

@test "fmax: a seed gives the same windows every run, another seed others; --indices of fmax" {
    need_photos
    "$POOL" -q -m fmax -k 2 --ratio 0.6 "$DATA/astronaut.png" -o a.png
    "$POOL" -q -m fmax -k 2 --ratio 0.6 --seed 0 "$DATA/astronaut.png" -o b.png
    cmp a.png b.png
    "$POOL" -q -P fmax:2,ratio=0.6,seed=9 "$DATA/astronaut.png" -o c.png
    run cmp -s a.png c.png
    [ "$status" -ne 0 ]
    "$POOL" -q -m fmax -k 2 --ratio 0.6 --seed 9 --indices i.npy "$DATA/astronaut.png" -o d.png
    cmp c.png d.png
    # every value is its window's maximum, the one the index points at, in each channel
    "$PY" - "$DATA/astronaut.png" <<'PY'
import sys, numpy as np
from PIL import Image
x = np.asarray(Image.open(sys.argv[1])).astype(np.int64)
y = np.asarray(Image.open("d.png")).astype(np.int64)
i = np.load("i.npy")
assert y.shape == i.shape == (307, 307, 3), (y.shape, i.shape)
for c in range(3):
    assert np.array_equal(x[..., c].reshape(-1)[i[..., c]], y[..., c]), c
# the channels draw their own offsets: their index maps differ
assert not np.array_equal(i[..., 0] // 512, i[..., 1] // 512)
PY
}

@test "fmax refuses what PyTorch's fractional pooling refuses, and mismatched samples" {
    mknpy x.npy 'np.zeros((1, 2, 6, 6), np.float32)'
    mknpy s.npy 'np.full((1, 2, 2), 0.5, np.float32)'
    "$POOL" -q -m fmax -k 2 --output-size 5 --samples s.npy x.npy -o y.npy
    run "$POOL" -m fmax -k 2 --output-size 6 x.npy -o y.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"fmax's 6 outputs of kernel 2 need an input of at least 7, not 6"* ]]
    run "$POOL" -m fmax -k 2 --ratio 1.5 x.npy -o y.npy
    [ "$status" -eq 2 ]
    run "$POOL" -m fmax -k 2 -s 2 --ratio 0.5 x.npy -o y.npy
    [ "$status" -eq 2 ]
    run "$POOL" -m fmax -k 2 --ratio 0.5 --output-size 3 x.npy -o y.npy
    [ "$status" -eq 2 ]
    run "$POOL" --layout ncl -m fmax -k 2 --ratio 0.5 s.npy -o y.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"fmax pools 2-D and 3-D inputs"* ]]
    mknpy s3.npy 'np.full((1, 3, 2), 0.5, np.float32)'
    run "$POOL" -m fmax -k 2 --ratio 0.5 --samples s3.npy x.npy -o y.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"the random samples are for 3 (batch, channel) planes, the input has 2"* ]]
    mknpy big.npy 'np.full((1, 2, 2), 1.0, np.float32)'
    run "$POOL" -m fmax -k 2 --ratio 0.5 --samples big.npy x.npy -o y.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: big.npy: sample 0 is 1: PyTorch's random samples lie in [0, 1)" ]]
    run "$POOL" -m max -k 2 --samples s.npy x.npy -o y.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"--samples gives the random offsets of one fmax pass"* ]]
    [ ! -e y.npy ] || [ "$(npy_show y.npy)" = "float32 (1, 2, 5, 5)" ]
}

@test "fmax in --stats and --plan: a spec that pools the same, its kernel and output size" {
    need_photos
    "$POOL" -q --stats=st.json -P fmax:3,ratio=0.3x0.7,seed=4 "$DATA/camera.png" -o a.png
    "$PY" - <<'PY'
import json
r = json.loads(open("st.json").read())
assert r["spec"] == "fmax:3,ratio=0.3x0.7,seed=4", r["spec"]
assert r["kernel"] == [3, 3] and r["stride"] is None and r["output_size"] == [153, 358], r
PY
    "$POOL" -q -P fmax:3,ratio=0.3x0.7,seed=4 "$DATA/camera.png" -o b.png
    cmp a.png b.png
    run "$POOL" --plan 512x512 -m fmax -k 2 --output-size 300
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" == "1     fmax    300x300"* ]]
}

@test "fmax places float32 windows in float arithmetic, as PyTorch (a case double would move)" {
    # L 29, kernel 2, 12 outputs, u = 0.33333299 (float32): window 7 starts at 18 in float
    # arithmetic and at 17 in double
    "$PY" - <<'PY'
import numpy as np, torch, torch.nn.functional as F
x = np.arange(29 * 29, dtype=np.float32).reshape(1, 1, 29, 29)
s = np.full((1, 1, 2), 0.33333298563957214, np.float32)
np.save("x.npy", x)
np.save("s.npy", s)
v, i = F.fractional_max_pool2d(torch.from_numpy(x), 2, output_size=12,
                               _random_samples=torch.from_numpy(s), return_indices=True)
np.save("want.npy", v.numpy())
np.save("want_i.npy", i.numpy())
assert int(i[0, 0, 0, 7]) % 29 == 19   # the start 18's second column
PY
    "$POOL" -q -m fmax -k 2 --output-size 12 --samples s.npy --indices i.npy x.npy -o y.npy
    "$PY" -c '
import numpy as np
for got, want in (("y.npy", "want.npy"), ("i.npy", "want_i.npy")):
    a, b = np.load(got), np.load(want)
    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), got'
}

@test "--indices and pool unpool never write over their own inputs" {
    mknpy g.npy 'np.arange(16, dtype=np.float32).reshape(1, 4, 4)'
    cp g.npy keep.npy
    run "$POOL" -k 2 --indices g.npy g.npy -o y.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: g.npy: --indices g.npy is the input itself: write it elsewhere" ]
    cmp g.npy keep.npy
    "$POOL" -q -k 2 --indices i.npy g.npy -o v.npy
    run "$POOL" unpool --indices i.npy -k 2 v.npy -o v.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: v.npy: the output v.npy is the values itself: write it elsewhere" ]
    run "$POOL" unpool --indices i.npy -k 2 v.npy -o i.npy
    [ "$status" -eq 2 ]
    [ "$(npy_show i.npy)" = "int64 (1, 2, 2)" ]
    # and the values may come from stdin, as pool reads them
    "$POOL" unpool --indices i.npy -k 2 < v.npy > u.npy
    npy_equal u.npy 'np.array([[[0, 0, 0, 0], [0, 5, 0, 7], [0, 0, 0, 0], [0, 13, 0, 15]]], dtype=np.float32)'
}

@test "--from-torch: a printed model, its lines alone, notes on stderr, and no files taken" {
    printf 'Net(\n  (features): Sequential(\n    (0): MaxPool2d(kernel_size=2, stride=2)\n    (1): AvgPool2d(kernel_size=3, stride=2, padding=1)\n  )\n  (gap): AdaptiveAvgPool2d(output_size=1)\n)' > net.txt
    run "$POOL" --from-torch "$(cat net.txt)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "max:2x2 avg:3x3,s=2,p=1 avg,out=1x1" ]
    [[ "$output" == *"note: a printed model's layers are taken in the order"* ]]
    [[ "$output" == *"note: print(model) does not show an AvgPool's count_include_pad"* ]]
    [ "$("$POOL" -q --from-torch "$(cat net.txt)")" = "max:2x2 avg:3x3,s=2,p=1 avg,out=1x1" ]
    run "$POOL" --from-torch 'nn.MaxPool1d(3, 2, 1)'
    [ "${lines[0]}" = "max:3,s=2,p=1" ]
    [[ "${lines[1]}" == *"--layout ncl"* ]]
    run "$POOL" --from-torch 'nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2))'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --from-torch: nn.Conv2d: not a pooling layer; give the pooling layers alone (column 15)" ]
    mknpy x.npy 'np.zeros((1, 4, 4), np.float32)'
    run "$POOL" --from-torch 'nn.MaxPool2d(2)' x.npy -o y.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"pools nothing"* ]]
    [ ! -e y.npy ]
}
