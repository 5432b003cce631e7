#!/usr/bin/env bats
# Documented behaviours that no other test pinned down: atomic replacement when a write fails
# part-way, integer Lp rounding, NaN through row and slab combination and on every channel of
# a channels-last tensor, csv column names, several inputs into one PNM stream, .pam and .ppm
# output, cip=0/cip=1 in -P, the -r limit, and --save-passes with --linear. Every result is
# checked against an independent computation (PyTorch, NumPy, Pillow, or exact integers).

load helpers

# limited CMD...: runs CMD with files limited to 20 blocks of 512 bytes (10 KiB) and SIGXFSZ
# ignored, so that a write past that size fails with EFBIG instead of killing CMD.
limited() {
    sh -c 'trap "" XFSZ; ulimit -f 20; exec "$0" "$@"' "$@"
}

# read_pnm: a Python function (pasted into the scripts below) that splits a PNM stream of P5,
# P6 and P7 images into (magic, header fields, array) with NumPy, 16-bit samples big-endian.
PNM_PARSER='
import numpy as np
def read_pnm(data):
    images, pos = [], 0
    while pos < len(data):
        magic = data[pos:pos + 2]
        pos += 2
        if magic in (b"P5", b"P6"):
            fields = []
            while len(fields) < 3:
                while data[pos:pos + 1].isspace():
                    pos += 1
                start = pos
                while not data[pos:pos + 1].isspace():
                    pos += 1
                fields.append(int(data[start:pos]))
            pos += 1   # the single whitespace before the samples
            w, h, maxval = fields
            head = {"WIDTH": w, "HEIGHT": h, "MAXVAL": maxval, "DEPTH": 1 if magic == b"P5" else 3}
        elif magic == b"P7":
            end = data.index(b"\nENDHDR\n", pos) + len(b"\nENDHDR\n")
            head = {}
            for line in data[pos:end].decode("ascii").split("\n"):
                if line and line != "ENDHDR":
                    key, value = line.split(" ", 1)
                    head[key] = value if key == "TUPLTYPE" else int(value)
            pos = end
        else:
            raise SystemExit(f"not a P5, P6 or P7 image at byte {pos - 2}: {magic!r}")
        dt = np.dtype(">u2") if head["MAXVAL"] > 255 else np.dtype("u1")
        n = head["HEIGHT"] * head["WIDTH"] * head["DEPTH"]
        a = np.frombuffer(data, dt, n, pos).reshape(head["HEIGHT"], head["WIDTH"], head["DEPTH"])
        pos += n * dt.itemsize
        images.append((magic.decode(), head, a))
    return images
'

# ---- 1. atomic replacement when a write fails part-way ----

@test "a write that fails part-way (EFBIG) leaves the old .npy output byte for byte, and no temp file" {
    mknpy a.npy 'np.random.default_rng(1).standard_normal((64, 256))'   # 128 KiB of f64
    mknpy out.npy 'np.arange(10, dtype=np.int16)'
    cp out.npy old.npy
    run limited "$POOL" -q -k 1 a.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: out.npy: write failed: File too large" ]
    cmp out.npy old.npy
    no_files_but a.npy out.npy old.npy
    # with no file there before, none appears
    run limited "$POOL" -q -k 1 a.npy -o new.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: new.npy: write failed: File too large" ]
    no_files_but a.npy out.npy old.npy
    # the same run without the limit succeeds, so the limit is what failed it
    "$POOL" -q -k 1 a.npy -o out.npy
    npy_equal out.npy 'np.load("a.npy")'
}

@test "a write that fails part-way leaves the old PNG and PNM outputs byte for byte, and no temp file" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(2).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save("in.png")
Image.fromarray(np.full((3, 3), 7, np.uint8)).save("out.png")
Image.fromarray(np.full((3, 3), 9, np.uint8)).save("out.ppm")'
    cp out.png old.png
    cp out.ppm old.ppm
    run limited "$POOL" -q -k 1 in.png -o out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: out.png: write failed: File too large" ]
    run limited "$POOL" -q -k 1 in.png -o out.ppm
    [ "$status" -eq 1 ]
    [ "$output" = "pool: out.ppm: write failed: File too large" ]
    cmp out.png old.png
    cmp out.ppm old.ppm
    no_files_but in.png out.png old.png out.ppm old.ppm
}

# ---- 2. integer Lp rounds half away from zero (half up for non-negative results) ----

@test "integer Lp rounds half up (away from zero) exactly, and saturates: u8, u16, i32 against exact integers" {
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
# 5x5 with kernel 3, stride 3, ceil: windows of 3x3, 3x2, 2x3 and 2x2 cells, the partial ones
# scaled by 9/6 and 9/4: sum(x) = 1 on the 3x2 window gives 1.5, sum(x^2) = 9 on the 2x2
# window gives sqrt(81/4) = 4.5, both exactly.
h = np.zeros((5, 5), np.int64)
h[3:5, 3:5] = [[1, 2], [2, 0]]
h[0:3, 3:5] = [[1, 0], [0, 0], [0, 0]]
np.save("u8_half.npy", h.astype(np.uint8))
np.save("u16_half.npy", h.astype(np.uint16))
np.save("i32_half.npy", h.astype(np.int32))
np.save("i32_neg.npy", (-h).astype(np.int32))
np.save("u8_rand.npy", rng.integers(0, 90, (7, 11)).astype(np.uint8))
np.save("u8_big.npy", rng.integers(100, 256, (7, 11)).astype(np.uint8))     # saturates
np.save("u16_rand.npy", rng.integers(0, 20000, (7, 11)).astype(np.uint16))
np.save("i32_rand.npy", rng.integers(-5000, 5000, (7, 11)).astype(np.int32))
PY
    for f in u8_half u16_half i32_half i32_neg u8_rand u8_big u16_rand i32_rand; do
        for P in 1 2; do
            "$POOL" -q -P "lp:3,s=3,ceil,norm=$P" "$f.npy" -o "${f}_p${P}_k3.npy"
            "$POOL" -q -P "lp:2x3,s=2,ceil,norm=$P" "$f.npy" -o "${f}_p${P}_k2x3.npy"
        done
    done
    "$PY" - <<'PY'
import glob
from fractions import Fraction
from math import isqrt
import numpy as np

def out_len(L, k, s):       # ceil mode, no padding
    o = (L - k + s - 1) // s + 1
    return o - 1 if (o - 1) * s >= L else o

def round_half_away(q):
    r = int(abs(q) + Fraction(1, 2))   # floor(|q| + 1/2)
    return -r if q < 0 else r

def round_sqrt(q):              # sqrt(q) rounded half up, exactly, for a rational q >= 0
    a, b = q.numerator, q.denominator
    r = isqrt(a * b) // b       # floor(sqrt(a / b))
    return r + 1 if (2 * r + 1) ** 2 * b <= 4 * a else r

def lp(x, k, s, P):
    x = x.astype(object)
    H, W = x.shape
    oh, ow = out_len(H, k[0], s[0]), out_len(W, k[1], s[1])
    out = np.zeros((oh, ow), dtype=object)
    halves = 0
    for i in range(oh):
        for j in range(ow):
            win = x[i * s[0]:min(i * s[0] + k[0], H), j * s[1]:min(j * s[1] + k[1], W)]
            q = Fraction(k[0] * k[1] * int(sum(int(v) ** P for v in win.flat)), win.size)
            if P == 1:
                out[i, j] = round_half_away(q)
                halves += q.denominator == 2
            else:
                out[i, j] = round_sqrt(q)
                halves += round_sqrt(q) ** 2 != q and (2 * round_sqrt(q) - 1) ** 2 == 4 * q
    return out, halves

specs = {"k3": ((3, 3), (3, 3)), "k2x3": ((2, 3), (2, 2))}
bad, halves_seen = [], {}
for f in sorted(glob.glob("*_p*_k*.npy")):
    name, p, kname = f[:-4].rsplit("_", 2)
    P = int(p[1:])
    x = np.load(name + ".npy")
    want, halves = lp(x, *specs[kname], P)
    info = np.iinfo(x.dtype)
    want = np.clip(want, info.min, info.max).astype(x.dtype)
    got = np.load(f)
    halves_seen[x.dtype.name] = halves_seen.get(x.dtype.name, 0) + halves
    if got.dtype != want.dtype or got.shape != want.shape or not (got == want).all():
        bad.append(f"{f}: got\n{got}\nwant\n{want}")
assert not bad, "\n".join(bad)
# the data must hold exact halves, where rounding down and half up differ, for every type
assert all(halves_seen[t] > 0 for t in ("uint8", "uint16", "int32")), halves_seen
PY
    # worked by hand: P=1: 9/6 * 1 = 1.5 -> 2 (-1.5 -> -2), 9/4 * 5 = 11.25 -> 11;
    # P=2: sqrt(9/6 * 1) = 1.22 -> 1, sqrt(9/4 * 9) = 4.5 -> 5
    [ "$("$POOL" -q -P lp:3,s=3,ceil,norm=1 -f txt u8_half.npy)" = "0 2 0 11" ]
    [ "$("$POOL" -q -P lp:3,s=3,ceil,norm=2 -f txt u8_half.npy)" = "0 1 0 5" ]
    [ "$("$POOL" -q -P lp:3,s=3,ceil,norm=2 -f txt u16_half.npy)" = "0 1 0 5" ]
    [ "$("$POOL" -q -P lp:3,s=3,ceil,norm=1 -f txt i32_neg.npy)" = "0 -2 0 -11" ]
    [ "$("$POOL" -q -P lp:3,s=3,ceil,norm=2 -f txt i32_neg.npy)" = "0 1 0 5" ]
}

# ---- 3. NaN through the combination of rows, slabs and channels ----

# check_nan_against_torch LAYOUT SPEC...: every out_<spec>_<file> made from nan_*.npy equals
# PyTorch's result (max_pool, -max_pool(-x) for min, avg_pool without padding), NaN for NaN.
check_nan_against_torch() {
    "$PY" - "$@" <<'PY'
import glob, sys
import numpy as np, torch
import torch.nn.functional as F
layout, specs = sys.argv[1], sys.argv[2:]

def sizes(text, nd):
    v = [int(t) for t in text.split("x")]
    return v * nd if len(v) == 1 else v

def ref(x, spec):
    chan_last = layout == "hwc"
    t = torch.from_numpy(x.astype(np.float64))    # pool averages in double, rounds once
    t = t.permute(2, 0, 1)[None] if chan_last else t[None, None]
    nd = t.dim() - 2
    mode, rest = spec.split(":")
    kernel, *keys = rest.split(",")
    keys = dict(k.split("=") for k in keys)
    k = sizes(kernel, nd)
    s = sizes(keys.get("s", kernel), nd)
    p = sizes(keys.get("p", "0"), nd)
    mp = F.max_pool2d if nd == 2 else F.max_pool3d
    ap = F.avg_pool2d if nd == 2 else F.avg_pool3d
    if mode == "max":
        y = mp(t, k, s, p)
    elif mode == "min":
        y = -mp(-t, k, s, p)
    else:
        y = ap(t, k, s, p, count_include_pad=False)
    y = y[0].permute(1, 2, 0) if chan_last else y[0, 0]
    return y.numpy().astype(x.dtype)

bad, checked, nans = [], 0, 0
for f in sorted(glob.glob("nan_*.npy")):
    x = np.load(f)
    for spec in specs:
        got, want = np.load(f"out_{spec}_{f}"), ref(x, spec)
        checked += 1
        nans += int(np.isnan(want).sum())
        if got.shape != want.shape or got.dtype != want.dtype or \
           not np.array_equal(got, want, equal_nan=True):
            bad.append(f"{f} {spec}: got\n{got}\nwant\n{want}")
assert not bad, "\n".join(bad[:5]) + f"\n({len(bad)} of {checked} differ)"
assert checked > 0 and nans > 0, (checked, nans)
PY
}

@test "NaN in the second or third row of a height window gives NaN, as PyTorch (max, min, avg; f32, f64)" {
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(11)
for dt in ("float32", "float64"):
    base = rng.integers(-50, 50, (7, 8)).astype(dt)
    for r, c in [(0, 1), (1, 3), (2, 2), (2, 5), (4, 4), (6, 6)]:
        a = base.copy()
        a[r, c] = np.nan
        np.save(f"nan_{dt}_{r}_{c}.npy", a)
PY
    specs="max:2 min:2 avg:2 max:3,s=1 min:3,s=1 avg:3,s=1 max:3,s=2,p=1 min:3,s=2,p=1 max:3x1 min:3x1 avg:3x1 max:2x3,s=1"
    for f in nan_*.npy; do
        for s in $specs; do
            "$POOL" -q -P "$s" "$f" -o "out_${s}_$f"
        done
    done
    check_nan_against_torch hw $specs
}

@test "NaN in a later slab of a depth window gives NaN, as PyTorch (3-D max, min, avg)" {
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(12)
base = rng.integers(-50, 50, (6, 5, 5)).astype(np.float32)
for d, h, w in [(0, 1, 1), (1, 0, 0), (1, 2, 3), (2, 1, 4), (2, 4, 2), (4, 3, 3), (5, 0, 4)]:
    a = base.copy()
    a[d, h, w] = np.nan
    np.save(f"nan_{d}_{h}_{w}.npy", a)
PY
    specs="max:2 min:2 avg:2 max:3,s=1 min:3,s=1 avg:3,s=1 max:3x1x1 min:3x1x1 avg:3x1x1 max:2x1x1,s=1 avg:2x1x1,s=1 max:3,s=2,p=1"
    for f in nan_*.npy; do
        for s in $specs; do
            "$POOL" -q --layout dhw -P "$s" "$f" -o "out_${s}_$f"
        done
    done
    check_nan_against_torch dhw $specs
}

@test "NaN on any channel of a channels-last (hwc) tensor gives NaN on that channel only, as PyTorch" {
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(13)
for C in (2, 3, 4, 5):
    base = rng.integers(-50, 50, (4, 6, C)).astype(np.float32)
    for ch in range(C):
        for r, c in [(0, 0), (1, 3)]:
            a = base.copy()
            a[r, c, ch] = np.nan
            np.save(f"nan_{C}_{ch}_{r}_{c}.npy", a)
PY
    specs="max:2 min:2 avg:2 max:3,s=1 min:3,s=1 avg:3,s=1"
    for f in nan_*.npy; do
        for s in $specs; do
            "$POOL" -q --layout hwc -P "$s" "$f" -o "out_${s}_$f"
        done
    done
    check_nan_against_torch hwc $specs
}

# ---- 4. csv column names ----

@test "csv names columns by their coordinates joined by underscores: 2-D (h, w) and 3-D (d, h, w)" {
    mknpy hw.npy 'np.arange(24, dtype=np.int16).reshape(4, 6) * 3 % 17'
    mknpy dhw.npy 'np.random.default_rng(3).standard_normal((4, 4, 6)).astype(np.float32)'
    mknpy cdhw.npy 'np.arange(2 * 4 * 4 * 2, dtype=np.int32).reshape(2, 4, 4, 2) * 7 % 23'
    "$POOL" -q -k 2 -f csv hw.npy -o hw.csv
    "$POOL" -q --layout dhw -k 2 -f csv dhw.npy -o dhw.csv
    "$POOL" -q --layout dhw -k 2x2x6 -f csv dhw.npy -o dh.csv        # w collapses to 1
    "$POOL" -q --layout cdhw -k 2 -f csv cdhw.npy -o cdhw.csv        # w collapses to 1
    # the header of the 2-D output, written out by hand
    [ "$(head -n 1 hw.csv)" = "file,h0_w0,h0_w1,h0_w2,h1_w0,h1_w1,h1_w2" ]
    [ "$(head -n 1 dh.csv)" = "file,d0_h0,d0_h1,d1_h0,d1_h1" ]
    "$PY" - <<'PY'
import csv, itertools
import numpy as np

def header(axes, shape):
    names = []
    for idx in itertools.product(*(range(n) for n in shape)):
        names.append("_".join(f"{a}{i}" for a, i, n in zip(axes, idx, shape) if n > 1) or "v0")
    return ["file"] + names

def maxpool(a, k):
    shape = []
    for n, kk in zip(a.shape, k):
        shape += [n // kk, kk]
    a = a[tuple(slice(0, (n // kk) * kk) for n, kk in zip(a.shape, k))]
    return a.reshape(shape).max(axis=tuple(range(1, 2 * len(k), 2)))

cases = [("hw.csv", "hw.npy", "hw", (2, 2)), ("dhw.csv", "dhw.npy", "dhw", (2, 2, 2)),
         ("dh.csv", "dhw.npy", "dhw", (2, 2, 6)), ("cdhw.csv", "cdhw.npy", "cdhw", (1, 2, 2, 2))]
for out, src, axes, k in cases:
    rows = list(csv.reader(open(out, newline="")))
    want = maxpool(np.load(src), k)
    assert rows[0] == header(axes, want.shape), (out, rows[0], header(axes, want.shape))
    assert len(rows) == 2 and rows[1][0] == src, (out, rows)
    got = np.array([float(v) for v in rows[1][1:]]).astype(want.dtype)   # 9 digits for f32
    assert (got == want.ravel()).all(), (out, got, want.ravel())
PY
    [ "$(head -n 1 dhw.csv)" = "file,d0_h0_w0,d0_h0_w1,d0_h0_w2,d0_h1_w0,d0_h1_w1,d0_h1_w2,d1_h0_w0,d1_h0_w1,d1_h0_w2,d1_h1_w0,d1_h1_w1,d1_h1_w2" ]
    [ "$(head -n 1 cdhw.csv)" = "file,c0_d0_h0,c0_d0_h1,c0_d1_h0,c0_d1_h1,c1_d0_h0,c1_d0_h1,c1_d1_h0,c1_d1_h1" ]
}

# ---- 5. several inputs into one PNM output ----

@test "several PGM inputs go into one PNM stream, each image pooled (8-bit, and 16-bit keeping its maxval)" {
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(3)
a = rng.integers(0, 256, (6, 8)).astype(np.uint8)
open("a.pgm", "wb").write(b"P5\n8 6\n255\n" + a.tobytes())
b = rng.integers(0, 1001, (4, 10)).astype(">u2")
open("b.pgm", "wb").write(b"P5\n10 4\n1000\n" + b.tobytes())
c = rng.integers(0, 256, (3, 5)).astype(np.uint8)
open("c.pgm", "wb").write(b"P5\n5 3\n255\n" + c.tobytes())
np.save("a.npy", a); np.save("b.npy", b.astype(np.uint16)); np.save("c.npy", c)
PY
    "$POOL" -q -m avg -k 2 -f pnm a.pgm b.pgm c.pgm > files.pnm
    cat a.pgm b.pgm c.pgm | "$POOL" -q -m avg -k 2 -f pnm > piped.pnm
    "$POOL" -q -k 2 a.pgm b.pgm c.pgm -o max.pgm
    "$PY" - <<PY
$PNM_PARSER
def avg2(x):    # 2x2 average, exact, half up; a trailing odd row or column is dropped
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    s = x[:h, :w].astype(np.int64).reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
    return (2 * s + 4) // 8
def max2(x):
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
srcs = [np.load(n) for n in ("a.npy", "b.npy", "c.npy")]
for out, op in (("files.pnm", avg2), ("piped.pnm", avg2), ("max.pgm", max2)):
    images = read_pnm(open(out, "rb").read())
    assert len(images) == 3, (out, len(images))
    for (magic, head, got), src, maxval in zip(images, srcs, (255, 1000, 255)):
        want = op(src)
        assert magic == "P5" and head["MAXVAL"] == maxval, (out, magic, head)
        assert got.shape == want.shape + (1,), (out, got.shape, want.shape)
        assert (got[:, :, 0] == want).all(), (out, got[:, :, 0], want)
PY
}

# ---- 6. .pam and .ppm output ----

@test "-o .pam writes P7 with DEPTH and TUPLTYPE for gray+alpha and RGBA; -o .ppm writes P6" {
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(4)
Image.fromarray(rng.integers(0, 256, (6, 8, 2), dtype=np.uint8), "LA").save("la.png")
Image.fromarray(rng.integers(0, 256, (6, 8, 4), dtype=np.uint8), "RGBA").save("rgba.png")
Image.fromarray(rng.integers(0, 256, (7, 9, 3), dtype=np.uint8), "RGB").save("rgb.png")
# 16-bit RGB: Pillow cannot write it, so as a PPM of maxval 65535
x = rng.integers(0, 65536, (4, 6, 3)).astype(">u2")
open("rgb16.ppm", "wb").write(b"P6\n6 4\n65535\n" + x.tobytes())
np.save("rgb16.npy", x.astype(np.uint16))
PY
    "$POOL" -q -k 2 la.png -o la.pam
    "$POOL" -q -m avg -k 2 la.png -o la_avg.pam
    "$POOL" -q -k 2 rgba.png -o rgba.pam
    "$POOL" -q -m avg -k 2 rgb.png -o rgb.ppm
    "$POOL" -q -m avg -k 2 rgb16.ppm -o rgb16_out.ppm
    "$PY" - <<PY
$PNM_PARSER
from PIL import Image
def blocks(x):
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].astype(np.int64).reshape(h // 2, 2, w // 2, 2, -1)
def one(path):
    images = read_pnm(open(path, "rb").read())
    assert len(images) == 1, (path, len(images))
    return images[0]

la = np.asarray(Image.open("la.png"))
rgba = np.asarray(Image.open("rgba.png"))
rgb = np.asarray(Image.open("rgb.png"))
rgb16 = np.load("rgb16.npy")

magic, head, got = one("la.pam")
assert magic == "P7" and head["TUPLTYPE"] == "GRAYSCALE_ALPHA" and head["DEPTH"] == 2, head
assert head["WIDTH"] == 4 and head["HEIGHT"] == 3 and head["MAXVAL"] == 255, head
assert (got == blocks(la).max(axis=(1, 3))).all(), got

# avg of gray+alpha: colour premultiplied by alpha, both rounded half up (see Alpha in pool(1))
magic, head, got = one("la_avg.pam")
assert magic == "P7" and head["TUPLTYPE"] == "GRAYSCALE_ALPHA" and head["DEPTH"] == 2, head
b = blocks(la)
ca, asum = (b[..., 0] * b[..., 1]).sum(axis=(1, 3)), b[..., 1].sum(axis=(1, 3))
colour = np.where(asum > 0, (2 * ca + asum) // np.maximum(2 * asum, 1), 0)
alpha = (2 * asum + 4) // 8
assert (got == np.stack([colour, alpha], -1)).all(), (got, colour, alpha)

magic, head, got = one("rgba.pam")
assert magic == "P7" and head["TUPLTYPE"] == "RGB_ALPHA" and head["DEPTH"] == 4, head
assert head["WIDTH"] == 4 and head["HEIGHT"] == 3 and head["MAXVAL"] == 255, head
assert (got == blocks(rgba).max(axis=(1, 3))).all(), got

magic, head, got = one("rgb.ppm")
assert magic == "P6" and head["WIDTH"] == 4 and head["HEIGHT"] == 3 and head["MAXVAL"] == 255, head
assert (got == (2 * blocks(rgb).sum(axis=(1, 3)) + 4) // 8).all(), got

magic, head, got = one("rgb16_out.ppm")
assert magic == "P6" and head["WIDTH"] == 3 and head["HEIGHT"] == 2 and head["MAXVAL"] == 65535, head
assert (got == (2 * blocks(rgb16).sum(axis=(1, 3)) + 4) // 8).all(), got
PY
    [ "$(head -c 3 rgb.ppm)" = "$(printf 'P6\n')" ]
    [ "$(head -c 3 la.pam)" = "$(printf 'P7\n')" ]
}

# ---- 7. cip=0 and cip=1 in -P ----

@test "-P avg with cip=0, cip=1, cip and the default (PyTorch's: on) match avg_pool2d's count_include_pad" {
    mknpy a.npy 'np.random.default_rng(5).integers(-20, 20, (1, 2, 7, 9)).astype(np.float64)'
    for spec in avg:3,s=2,p=1 avg:3,s=2,p=1,ceil avg:2,s=1,p=1; do
        "$POOL" -q -P "$spec,cip=0" a.npy -o "off_$spec.npy"
        "$POOL" -q -P "$spec,cip=1" a.npy -o "on_$spec.npy"
        "$POOL" -q -P "$spec,cip" a.npy -o "bare_$spec.npy"
        "$POOL" -q -P "$spec" a.npy -o "default_$spec.npy"
    done
    "$PY" - <<'PY'
import numpy as np, torch
import torch.nn.functional as F
x = torch.from_numpy(np.load("a.npy"))
for spec, k, s, p, ceil in [("avg:3,s=2,p=1", 3, 2, 1, False), ("avg:3,s=2,p=1,ceil", 3, 2, 1, True),
                            ("avg:2,s=1,p=1", 2, 1, 1, False)]:
    with_pad = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=True).numpy()
    without = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=False).numpy()
    assert not np.array_equal(with_pad, without), spec   # the case tells them apart
    for prefix, want in (("off", without), ("on", with_pad), ("bare", with_pad),
                         ("default", with_pad)):   # PyTorch's default: padding counts
        got = np.load(f"{prefix}_{spec}.npy")
        assert got.dtype == want.dtype and got.shape == want.shape, (prefix, spec, got.shape)
        assert np.array_equal(got, want), (prefix, spec, got, want)
PY
    # and the flag forms agree with cip=1 and cip=0
    "$POOL" -q -m avg -k 3 -s 2 -p 1 --count-include-pad a.npy -o flag.npy
    cmp flag.npy "on_avg:3,s=2,p=1.npy"
    "$POOL" -q -m avg -k 3 -s 2 -p 1 --no-count-include-pad a.npy -o noflag.npy
    cmp noflag.npy "off_avg:3,s=2,p=1.npy"
}

# ---- 8. the -r limit ----

@test "-r takes 1000 repeats (each pass really runs) and refuses 1001 as a usage error" {
    # 1000 passes of a 3-wide max with stride 1 and padding 1 spread one spike over 1000 cells
    # on each side: exactly indices 0..1000 become 1.
    mknpy a.npy 'np.eye(1, 2100, dtype=np.float32)[0]'
    "$POOL" -q -P max:3,s=1,p=1 -r 1000 a.npy -o r.npy
    npy_equal r.npy '(np.arange(2100) <= 1000).astype(np.float32)'
    "$POOL" -q -P max:3,s=1,p=1 --repeat 1000 a.npy -o long.npy
    cmp r.npy long.npy
    run "$POOL" -q -P max:3,s=1,p=1 -r 1001 a.npy -o x.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -r 1001: bad number '1001': expected a whole number from 1 to 1000" ]
    run "$POOL" -q -k 1 --repeat=1001 a.npy -o x.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -r 1001: bad number '1001': expected a whole number from 1 to 1000" ]
    no_files_but a.npy r.npy long.npy
}

# ---- 9. --save-passes with --linear ----

@test "--save-passes with --linear saves sRGB codes of linear-light averages, as NumPy computes them" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(6).integers(0, 256, (8, 12, 3), dtype=np.uint8), "RGB").save("photo.png")'
    "$POOL" -q -m avg -k 2 -r 2 --linear --save-passes passes photo.png -o small.png
    [ "$(ls passes | tr '\n' ' ')" = "photo.pass1.png photo.pass2.png " ]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image

def to_linear(code):    # IEC 61966-2-1, as pool(1) --linear decodes
    e = code / 255
    return np.where(e <= 0.04045, e / 12.92, ((e + 0.055) / 1.055) ** 2.4)

def to_codes(lin):      # encode back to the nearest code; no value may sit near a tie
    lin = np.clip(lin, 0, 1)
    s = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055) * 255 + 0.5
    frac = s - np.floor(s)
    assert (np.minimum(frac, 1 - frac) > 1e-6).all(), "test data too close to a rounding tie"
    return np.floor(s).astype(np.uint8)

def avg2(x):            # 2x2 mean, in double, of the unquantised linear values
    h, w = x.shape[0] // 2, x.shape[1] // 2
    return x.reshape(h, 2, w, 2, -1).sum(axis=(1, 3)) / 4

src = np.asarray(Image.open("photo.png"))
lin1 = avg2(to_linear(src.astype(np.float64)))
lin2 = avg2(lin1)
for path, want in (("passes/photo.pass1.png", to_codes(lin1)), ("passes/photo.pass2.png", to_codes(lin2)),
                   ("small.png", to_codes(lin2))):
    im = Image.open(path)
    got = np.asarray(im)
    assert im.mode == "RGB" and got.shape == want.shape, (path, im.mode, got.shape)
    assert (got == want).all(), (path, got, want)
# linear light matters here: averaging the codes themselves gives other pixels
plain = (2 * src.astype(np.int64).reshape(4, 2, 6, 2, 3).sum(axis=(1, 3)) + 4) // 8
assert (plain != np.asarray(Image.open("passes/photo.pass1.png"))).any()
PY
}

@test "a 4-D .npy that looks channels-last (NHWC) read as nchw is warned about, once" {
    "$PY" -c 'import numpy as np; np.save("f.npy", np.zeros((2, 32, 32, 3), np.float32)); np.save("g.npy", np.zeros((2, 64, 32, 32), np.float32))'
    run "$POOL" -m max -k 2 f.npy -o out.npy
    [ "$status" -eq 0 ]
    [ "$output" = "pool: f.npy: warning: 2x32x32x3 (NCHW): W is 3; if the last axis holds channels (NHWC), give --layout nhwc" ]
    # given a layout, or a shape that is plainly NCHW: nothing said
    run "$POOL" -m max -k 2 --layout nhwc f.npy -o out.npy
    [ -z "$output" ]
    run "$POOL" -m max -k 2 --layout nchw f.npy -o out.npy
    [ -z "$output" ]
    run "$POOL" -m max -k 2 g.npy -o out.npy
    [ -z "$output" ]
    # over a batch: one line for the kind
    mkdir in && cp f.npy in/a.npy && cp f.npy in/b.npy
    run "$POOL" -m max -k 2 -R in -O out
    [ "${lines[0]}" = "pool: 2 of 2 inputs: warning: a 4-D tensor whose last axis is 1 to 4 long is read as nchw (the last axis is width); if it holds channels, give --layout nhwc" ]
}
