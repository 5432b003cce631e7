#!/usr/bin/env bats
# TIFF through libtiff (src/codec/tiff.c): what pool reads, checked against NumPy's pooling of
# the pixels Pillow or tifffile (a TIFF reader of its own, not libtiff) read from the same
# file, and what it writes, read back by Pillow, tifffile and libtiff's tiffinfo. Inputs come
# from Pillow, tifffile, libtiff's tiffcp (tiles, planes, compressions, BigTIFF, pages) and a
# baseline TIFF written byte by byte here (what no library writes: refused cases).

load helpers

need_tiff() { "$POOL" --version | grep -q 'tiff (libtiff)' || skip "built without TIFF (configure --without-tiff)"; }

# oracle: oracle.py in the test folder, what the Python snippets import.
oracle() {
    cat > oracle.py <<'PY'
import struct, sys
import numpy as np

def blocks(x, k):
    h, w = x.shape[0] // k * k, x.shape[1] // k * k
    x = x[:h, :w]
    return x.reshape(h // k, k, w // k, k, *x.shape[2:])

def pmax(x, k=2):
    return blocks(x, k).max(axis=(1, 3))

def pavg(x, k=2):
    """pool's avg: floats in double, cast back; integers rounded half away from zero."""
    b, n = blocks(x, k), k * k
    if x.dtype.kind == "f":
        return b.astype(np.float64).mean(axis=(1, 3)).astype(x.dtype)
    s = b.astype(np.int64).sum(axis=(1, 3))
    return (np.sign(s) * ((2 * np.abs(s) + n) // (2 * n))).astype(x.dtype)

def pmode(x, k=2):
    """The most frequent value of each window, ties to the smallest."""
    b = blocks(x, k)
    out = np.empty(b.shape[0:1] + b.shape[2:3], x.dtype)
    for i in range(b.shape[0]):
        for j in range(b.shape[2]):
            v, c = np.unique(b[i, :, j, :], return_counts=True)
            out[i, j] = v[np.argmax(c)]
    return out

def same(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(got, want, equal_nan=True):
        print(f"{what}: got {got.dtype} {got.shape}, want {want.dtype} {want.shape}")
        if got.shape == want.shape:
            d = np.argwhere(got != want)
            print("first differences at", d[:5].tolist(), got[tuple(d[0])] if len(d) else "", want[tuple(d[0])] if len(d) else "")
        sys.exit(1)

def mini_tiff(path, data, width, height, spp, bps, photometric, fmt=1, extras=(), compression=1):
    """A little-endian baseline TIFF of one uncompressed strip, written byte by byte."""
    tags = {256: (4, [width]), 257: (4, [height]), 258: (3, [bps] * spp), 259: (3, [compression]),
            262: (3, [photometric]), 273: (4, [0]), 277: (3, [spp]), 278: (4, [height]),
            279: (4, [len(data)]), 284: (3, [1]), 339: (3, [fmt] * spp)}
    if extras:
        tags[338] = (3, list(extras))
    pack = lambda t, v: struct.pack("<%d%s" % (len(v), "H" if t == 3 else "I"), *v)
    first_blob = 8 + 2 + 12 * len(tags) + 4
    tags[273] = (4, [first_blob + sum(len(pack(*tv)) for tv in tags.values() if len(pack(*tv)) > 4)])
    entries, blobs = b"", b""
    for tag in sorted(tags):
        t, v = tags[tag]
        raw = pack(t, v)
        field = raw.ljust(4, b"\0") if len(raw) <= 4 else struct.pack("<I", first_blob + len(blobs))
        if len(raw) > 4:
            blobs += raw
        entries += struct.pack("<HHI", tag, t, len(v)) + field
    with open(path, "wb") as f:
        f.write(b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + b"\0\0\0\0" + blobs + data)
PY
}

# peak_kb CMD...: the peak resident memory of CMD, in KiB (getrusage of the child).
peak_kb() {
    "$PY" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

@test "tiff: every sample type, avg and max 2x2 as NumPy pools what Pillow and tifffile read" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
rng = np.random.default_rng(1)
Image.fromarray(rng.integers(0, 256, (37, 53), dtype=np.uint8)).save("u8.tif")
Image.fromarray(rng.integers(0, 65536, (37, 53), dtype=np.uint16)).save("u16.tif", compression="tiff_lzw")
Image.fromarray(rng.random((37, 53), dtype=np.float32) * 100 - 50).save("f32.tif", compression="tiff_adobe_deflate")
for t, lo, hi in [("int8", -128, 128), ("int16", -32768, 32768), ("int32", -2**31, 2**31),
                  ("uint32", 0, 2**32), ("uint64", 0, 2**40), ("int64", -2**40, 2**40)]:
    tifffile.imwrite(f"{t}.tif", rng.integers(lo, hi, (37, 53)).astype(t))
tifffile.imwrite("float64.tif", rng.standard_normal((37, 53)) * 1e6)
tifffile.imwrite("float16.tif", (rng.standard_normal((37, 53)) * 10).astype(np.float16))
PY
    for f in u8 u16 f32 int8 int16 int32 uint32 uint64 int64 float64 float16; do
        "$POOL" -q -m avg -k 2 $f.tif -o $f.avg.npy
        "$POOL" -q -m max -k 2 $f.tif -o $f.max.npy
    done
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
from oracle import *
for f in ["u8", "u16", "f32"]:
    x = np.asarray(Image.open(f + ".tif"))
    same(np.load(f + ".avg.npy"), pavg(x), f + " avg")
    same(np.load(f + ".max.npy"), pmax(x), f + " max")
for f in ["int8", "int16", "int32", "uint32", "uint64", "int64", "float64", "float16"]:
    x = tifffile.imread(f + ".tif")
    assert x.dtype == np.dtype(f), (f, x.dtype)
    same(np.load(f + ".avg.npy"), pavg(x), f + " avg")
    same(np.load(f + ".max.npy"), pmax(x), f + " max")
PY
}

@test "tiff: gray, RGB, RGBA and 7-band multispectral images, contiguous and planar" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
from oracle import mini_tiff
rng = np.random.default_rng(2)
Image.fromarray(rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)).save("rgb.tif")
Image.fromarray(rng.integers(0, 256, (30, 41, 4), dtype=np.uint8), "RGBA").save("rgba.tif")
Image.fromarray(rng.integers(0, 256, (30, 41), dtype=np.uint8)).save("gray.tif")
bands = rng.integers(0, 65536, (30, 41, 7), dtype=np.uint16)
np.save("bands.npy", bands)
tifffile.imwrite("bands.tif", bands, photometric="minisblack", planarconfig="contig")
tifffile.imwrite("bands-planar.tif", np.moveaxis(bands, 2, 0), photometric="minisblack", planarconfig="separate")
# the same bands, written byte by byte: MinIsBlack and 6 extra samples of no stated meaning
mini_tiff("bands-mini.tif", bands.astype("<u2").tobytes(), 41, 30, 7, 16, 1, extras=[0] * 6)
PY
    for f in rgb gray bands bands-planar bands-mini; do
        "$POOL" -q -m avg -k 2 $f.tif -o $f.avg.npy
    done
    "$POOL" -q -m avg --no-premultiply -k 2 rgba.tif -o rgba.avg.npy
    "$POOL" -q -m max -k 3 bands-planar.tif -o bands.max.npy
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
from oracle import *
for f in ["rgb", "rgba", "gray"]:
    same(np.load(f + ".avg.npy"), pavg(np.asarray(Image.open(f + ".tif"))), f)
bands = np.load("bands.npy")
for f in ["bands", "bands-planar", "bands-mini"]:
    same(np.load(f + ".avg.npy"), pavg(bands), f)
same(np.load("bands.max.npy"), pmax(bands, 3), "bands max 3x3")
PY
    # the 7 bands are a tensor laid out hwc, and written back as one: MinIsBlack, 6 extra samples
    "$POOL" -q -m avg -k 2 bands-planar.tif -o bands-out.tif
    tiffinfo bands-out.tif | grep -q 'Extra Samples: 6<unspecified, unspecified, unspecified, unspecified, unspecified, unspecified>'
    tiffinfo bands-out.tif | grep -q 'Photometric Interpretation: min-is-black'
    "$PY" -c 'import numpy as np, tifffile, sys; sys.path.insert(0, "."); from oracle import *; same(tifffile.imread("bands-out.tif"), np.load("bands-planar.avg.npy"), "written bands")'
}

@test "tiff: strips and tiles, contiguous and planar, every compression, BigTIFF" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
y, x = np.mgrid[0:45, 0:67]
px = np.stack([(x * 3 + y * 2 + 40 * c) % 256 for c in range(3)], -1) + rng.integers(0, 8, (45, 67, 3))
Image.fromarray(px.clip(0, 255).astype(np.uint8)).save("base.tif")
PY
    # (JPEG's strips are multiples of 16 rows; tiffcp writes no planar JPEG)
    for c in none lzw zip packbits jpeg; do
        tiffcp -c $c -r 16 base.tif s-$c.tif
        tiffcp -c $c -t -w 16 -l 16 base.tif t-$c.tif
        [ $c = jpeg ] || tiffcp -c $c -p separate -r 16 base.tif sp-$c.tif
        [ $c = jpeg ] || tiffcp -c $c -p separate -t -w 32 -l 16 base.tif tp-$c.tif
    done
    tiffcp -8 -c zip -t -w 16 -l 16 base.tif big.tif
    tiffinfo t-zip.tif | grep -q 'Tile Width: 16 Tile Length: 16'
    tiffinfo sp-lzw.tif | grep -q 'Planar Configuration: separate image planes'
    tiffinfo s-jpeg.tif | grep -q 'Photometric Interpretation: YCbCr'
    [ "$(head -c 4 big.tif | od -An -tx1 | tr -d ' ')" = 49492b00 ]   # II, 43: BigTIFF
    for f in s-* t-* sp-* tp-* big; do
        f=${f%.tif}
        "$POOL" -q -m avg -k 2 $f.tif -o $f.npy
    done
    "$PY" - <<'PY'
import glob
import numpy as np
from PIL import Image
from oracle import *
for f in sorted(glob.glob("*-*.tif")) + ["big.tif"]:
    # JPEG is lossy: its pixels are those libjpeg decodes, as Pillow (libtiff too) decodes them
    x = np.asarray(Image.open(f if "jpeg" in f else "base.tif").convert("RGB"))
    same(np.load(f[:-4] + ".npy"), pavg(x), f)
PY
}

@test "tiff: MinIsWhite, 1-bit bilevel, CMYK, associated alpha" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
rng = np.random.default_rng(4)
g = rng.integers(0, 65536, (20, 31), dtype=np.uint16)
tifffile.imwrite("miniswhite.tif", g, photometric="miniswhite")
np.save("miniswhite.npy", 65535 - g)
b = rng.integers(0, 2, (21, 35)).astype(bool)
Image.fromarray(b).save("bilevel.tif")
Image.fromarray(b).save("bilevel-g4.tif", compression="group4")
Image.fromarray(rng.integers(0, 256, (20, 30, 4), dtype=np.uint8), "CMYK").save("cmyk.tif")
rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
tifffile.imwrite("assoc.tif", rgba, photometric="rgb", extrasamples=[1])
np.save("rgba.npy", rgba)
PY
    tiffcp -c g3 bilevel.tif bilevel-g3.tif
    tiffinfo miniswhite.tif | grep -q 'min-is-white'
    "$POOL" -q -m max -k 2 miniswhite.tif -o miniswhite.max.npy
    for f in bilevel bilevel-g4 bilevel-g3; do "$POOL" -q -m min -k 1 $f.tif -o $f.npy; done
    "$POOL" -q -m avg -k 2 cmyk.tif -o cmyk.npy
    "$POOL" -q -m max -k 1 assoc.tif -o assoc.npy
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
from oracle import *
same(np.load("miniswhite.max.npy"), pmax(np.load("miniswhite.npy")), "MinIsWhite, inverted")
# PBM's convention (pnm.c): black 0, white 255, as Pillow's "1" mode converted to "L"
want = np.asarray(Image.open("bilevel.tif").convert("L"))
assert set(np.unique(want)) <= {0, 255}
for f in ["bilevel", "bilevel-g4", "bilevel-g3"]:
    same(np.load(f + ".npy"), want, f)
same(np.load("cmyk.npy"), pavg(np.asarray(Image.open("cmyk.tif"))), "CMYK")
# premultiplied colours divided by alpha (rounded, 0 where alpha is 0), alpha kept
rgba = np.load("rgba.npy").astype(np.int64)
a = rgba[..., 3:]
want = rgba.copy()
want[..., :3] = np.where(a > 0, np.minimum(255, (rgba[..., :3] * 255 + a // 2) // np.maximum(a, 1)), 0)
same(np.load("assoc.npy"), want.astype(np.uint8), "associated alpha")
PY
    # CMYK stays Separated in a TIFF output; alpha is unassociated there
    "$POOL" -q -m avg -k 2 cmyk.tif -o cmyk-out.tif
    tiffinfo cmyk-out.tif | grep -q 'Photometric Interpretation: separated'
    tiffinfo cmyk-out.tif | grep -q 'InkSet: 1'
    "$POOL" -q -m max -k 2 assoc.tif -o assoc-out.tif
    tiffinfo assoc-out.tif | grep -q 'Extra Samples: 1<unassoc-alpha>'
}

@test "tiff: pages are images in turn; several pages or inputs make a multi-page TIFF" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(5)
Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save("a.tif")
Image.fromarray(rng.integers(0, 65536, (17, 9), dtype=np.uint16)).save("b.tif")
PY
    tiffcp a.tif b.tif pages.tif
    "$POOL" -q -m avg -k 2 pages.tif -o out.tif
    "$POOL" -q -m avg -k 2 a.tif b.tif -o both.tif
    "$POOL" -q -m avg -k 2 pages.tif -f pnm -o out.pnm
    # saved passes: each page with its own meta (RGB, then 16-bit gray)
    "$POOL" -q -P avg:2 -P max:1 --save-passes saved pages.tif -o out2.tif
    "$PY" - <<'PY'
import numpy as np
from PIL import Image, ImageSequence
from oracle import *
want = [pavg(np.asarray(Image.open(f))) for f in ("a.tif", "b.tif")]
for f in ["out.tif", "both.tif", "out2.tif", "saved/pages.pass1.tiff", "saved/pages.pass2.tiff"]:
    got = [np.asarray(p.copy()) for p in ImageSequence.Iterator(Image.open(f))]
    assert len(got) == 2, (f, len(got))
    for g, w in zip(got, want):
        same(g, w, f)
PY
    # "P6\n15 10\n255\n" and 15x10 RGB, then "P5\n4 8\n65535\n" and 4x8 16-bit gray
    [ "$(stat -c %s out.pnm)" -eq $(( 13 + 450 + 13 + 64 )) ]
    [ "$(tail -c +464 out.pnm | head -c 13)" = "$(printf 'P5\n4 8\n65535\n')" ]
    run "$POOL" -q -m avg -k 2 pages.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: out.npy: the input holds several images, and only PNM or TIFF output (or .npy with --stack) can hold more than one: use -f pnm or -f tiff, or split the stream" ]
    [ ! -e out.npy ]
    # a pipe cannot take a page back to link the next one
    run bash -c '"$0" -q -m avg -k 2 pages.tif -f tiff -o - | cat > piped.tif' "$POOL"
    [[ "$output" == "pool: <stdout>: several images make a multi-page TIFF, which is written to a file (-o FILE.tif), not to a pipe, a device or standard output"* ]]
}

@test "tiff: a reduced-resolution page is left out, with a note" {
    need_tiff
    "$PY" - <<'PY'
import numpy as np, tifffile
with tifffile.TiffWriter("pyramid.tif") as t:
    t.write(np.arange(64, dtype=np.uint8).reshape(8, 8))
    t.write(np.arange(16, dtype=np.uint8).reshape(4, 4), subfiletype=1)
PY
    run "$POOL" -m max -k 2 pyramid.tif -o out.npy
    [ "$status" -eq 0 ]
    [ "$output" = "pool: pyramid.tif: warning: 1 reduced-resolution page or mask (NewSubfileType) left out: pool reads the full-resolution pages" ]
    npy_equal out.npy 'np.arange(64, dtype=np.uint8).reshape(4, 2, 4, 2).max(axis=(1, 3))'
}

@test "tiff: what pool writes is what Pillow reads (u8, u16, f32), in every --compression" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(6)
np.save("u8.npy", rng.integers(0, 256, (33, 47, 3), dtype=np.uint8))
np.save("u16.npy", rng.integers(0, 65536, (33, 47), dtype=np.uint16))
np.save("f32.npy", (rng.standard_normal((33, 47)) * 1000).astype(np.float32))
PY
    for t in u8 u16 f32; do
        "$POOL" -q -m avg -k 2 $t.npy -o $t.tif
        for c in deflate lzw packbits none; do
            "$POOL" -q -m avg -k 2 --compression $c $t.npy -o $t-$c.tif
        done
    done
    tiffinfo u8.tif | grep -q 'Compression Scheme: AdobeDeflate'
    tiffinfo u8.tif | grep -q 'Predictor: horizontal differencing 2'
    tiffinfo f32.tif | grep -q 'Predictor: floating point predictor 3'
    tiffinfo f32.tif | grep -q 'Sample Format: IEEE floating point'
    tiffinfo u16-lzw.tif | grep -q 'Compression Scheme: LZW'
    tiffinfo u16-packbits.tif | grep -q 'Compression Scheme: PackBits'
    tiffinfo u16-none.tif | grep -q 'Compression Scheme: None'
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
from oracle import *
for t in ["u8", "u16", "f32"]:
    want = pavg(np.load(t + ".npy"))
    for f in [t] + [f"{t}-{c}" for c in ("deflate", "lzw", "packbits", "none")]:
        same(np.asarray(Image.open(f + ".tif")), want, f)
PY
    run "$POOL" -k 2 --compression zstd u8.npy -o x.tif
    [ "$status" -eq 2 ]
}

@test "tiff: the ICC profile is kept" {
    need_tiff
    "$PY" - <<'PY'
import numpy as np
from PIL import Image, ImageCms
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
Image.fromarray(np.arange(24 * 30 * 3, dtype=np.uint8).reshape(24, 30, 3)).save("icc.tif", icc_profile=icc)
PY
    "$POOL" -q -m avg -k 2 icc.tif -o icc-out.tif
    "$POOL" -q -m avg -k 2 icc.tif -o icc-out.png
    "$PY" -c 'from PIL import Image
icc = Image.open("icc.tif").info["icc_profile"]
assert Image.open("icc-out.tif").info["icc_profile"] == icc
assert Image.open("icc-out.png").info["icc_profile"] == icc'
}

# geotiff: geo.tif, 40x40 int16 in UTM 33N (30 m pixels, tie point at raster 0,0) and
# geo-matrix.tif, the same placed by a ModelTransformation (rotated), PixelIsPoint.
geotiff() {
    "$PY" - <<'PY'
import numpy as np, tifffile
x = np.arange(40 * 40, dtype=np.int16).reshape(40, 40)
keys = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633)
tifffile.imwrite("geo.tif", x, extratags=[(33550, "d", 3, (30.0, 30.0, 0.0), True),
                                          (33922, "d", 6, (0, 0, 0, 500000.0, 4000000.0, 0), True),
                                          (34735, "H", 16, keys, True),
                                          (34737, "s", 0, "WGS 84 / UTM zone 33N|", True)])
point = keys[:11] + (2,) + keys[12:]
m = (20.0, 5.0, 0, 300000.0, 5.0, -20.0, 0, 6000000.0, 0, 0, 0, 0, 0, 0, 0, 1)
tifffile.imwrite("geo-matrix.tif", x, extratags=[(34264, "d", 16, m, True), (34735, "H", 16, point, True)])
PY
}

@test "tiff: GeoTIFF georeferencing follows the passes: each output pixel where its cell of the input lies" {
    need_tiff
    geotiff
    "$POOL" -q -m avg -k 2 geo.tif -o k2.tif
    "$POOL" -q -P max:3,s=2,p=1 -P avg:2 geo.tif -o stack.tif
    "$POOL" -q -P max:3,s=2,p=1 -P avg:2 geo-matrix.tif -o stack-matrix.tif
    "$POOL" -q -m avg -k 2 -r 2 --save-passes saved geo.tif -o r2.tif
    "$PY" - <<'PY'
import numpy as np, tifffile

def tags(f):
    return {k: t.value for k, t in tifffile.TiffFile(f).pages[0].tags.items()}

def model(t, i, j):
    """The model (x, y) of raster point (i, j): a tie point and scale, or the matrix."""
    if 34264 in t:
        m = np.array(t[34264]).reshape(4, 4)
        return tuple((m @ [i, j, 0, 1])[:2])
    I, J, K, X, Y, Z = t[33922][:6]
    sx, sy = t[33550][:2]
    return X + (i - I) * sx, Y - (j - J) * sy

def check(src, out, origin, stride, point=False):
    """Output raster point (i, j) is input raster point origin + (i, j) * stride; for
    PixelIsPoint, centres: output centre i is the input's corner coordinate
    origin + (i + 1/2) stride, its centre coordinate that minus 1/2."""
    a, b = tags(src), tags(out)
    for k in (34735, 34737):
        assert b.get(k) == a.get(k), (k, b.get(k), a.get(k))
    for i, j in [(0, 0), (3, 5), (7, 2)]:
        if point:
            ii, jj = origin + (i + 0.5) * stride - 0.5, origin + (j + 0.5) * stride - 0.5
        else:
            ii, jj = origin + i * stride, origin + j * stride
        got, want = model(b, i, j), model(a, ii, jj)
        assert np.allclose(got, want, rtol=0, atol=1e-6), (out, i, j, got, want)

check("geo.tif", "k2.tif", 0, 2)
# max 3, stride 2, padding 1: window o spans [2o - 1, 2o + 2), its stride's cell centred on
# it [2o - 0.5, 2o + 1.5); then avg 2: cells of 4 from -0.5
check("geo.tif", "stack.tif", -0.5, 4)
check("geo-matrix.tif", "stack-matrix.tif", -0.5, 4, point=True)
check("geo.tif", "r2.tif", 0, 4)
check("geo.tif", "saved/geo.pass1.tiff", 0, 2)
check("geo.tif", "saved/geo.pass2.tiff", 0, 4)
PY
}

@test "tiff: GeoTIFF georeferencing that cannot follow the passes is dropped, with a warning" {
    need_tiff
    geotiff
    run "$POOL" -m avg --output-size 7 geo.tif -o adaptive.tif
    [ "$status" -eq 0 ]
    [ "$output" = "pool: geo.tif: warning: GeoTIFF georeferencing dropped: the output's pixels do not lie on a regular grid of the input's (an adaptive size that does not divide it)" ]
    "$PY" -c 'import tifffile
tags = tifffile.TiffFile("adaptive.tif").pages[0].tags
assert not any(t in tags for t in (33550, 33922, 34264, 34735, 34737)), list(tags.keys())'
    # an adaptive size that divides the image is a regular grid
    "$POOL" -q -m avg --output-size 10 geo.tif -o divides.tif
    "$PY" -c 'import tifffile; assert tifffile.TiffFile("divides.tif").pages[0].tags[33550].value == (120.0, 120.0, 0.0)'
    # tags in other types than GeoTIFF's (a pixel scale in FLOATs) are not guessed at
    "$PY" -c 'import numpy as np, tifffile
tifffile.imwrite("floats.tif", np.zeros((4, 4), np.uint8), extratags=[(33550, "f", 3, (30.0, 30.0, 0.0), True),
                 (33922, "d", 6, (0, 0, 0, 500000.0, 4000000.0, 0), True)])'
    run "$POOL" -m avg -k 2 floats.tif -o floats-out.tif
    [ "$status" -eq 0 ]
    [ "$output" = "pool: floats.tif: warning: GeoTIFF tags in other types or counts than GeoTIFF's: the georeferencing is left out" ]
    "$PY" -c 'import tifffile; tags = tifffile.TiffFile("floats-out.tif").pages[0].tags; assert 33550 not in tags and 33922 not in tags'
}

@test "tiff: a palette label map pooled by mode keeps its palette; by avg, its colours" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
idx = rng.integers(0, 5, (26, 34), dtype=np.uint8)
im = Image.fromarray(idx, "P")
im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 64, 32] + [0] * (251 * 3))
im.save("labels.tif", compression="tiff_lzw")
PY
    tiffinfo labels.tif | grep -q 'palette color'
    "$POOL" -q -m mode -k 2 labels.tif -o mode.tif
    tiffinfo mode.tif | grep -q 'Photometric Interpretation: palette color'
    run "$POOL" -m avg -k 2 labels.tif -o avg.tif
    [ "$status" -eq 0 ]
    [[ "$output" == "pool: labels.tif: warning: a palette image is averaged as its colours"* ]]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
from oracle import *
src = Image.open("labels.tif")
out = Image.open("mode.tif")
assert out.mode == "P", out.mode
# the colours come back exactly: Pillow writes 8-bit * 256, pool reads >> 8 and writes * 257
assert out.getpalette()[:15] == src.getpalette()[:15], (out.getpalette()[:15], src.getpalette()[:15])
same(np.asarray(out), pmode(np.asarray(src)), "mode of the class ids")
same(np.asarray(Image.open("avg.tif")), pavg(np.asarray(src.convert("RGB"))), "avg of the colours")
PY
}

@test "tiff: the Orientation tag turns the image upright" {
    need_tiff
    "$PY" - <<'PY'
import numpy as np, tifffile
tifffile.imwrite("turned.tif", np.arange(6 * 8, dtype=np.uint8).reshape(6, 8), extratags=[(274, "H", 1, 6, True)])
PY
    "$POOL" -q -m max -k 2 turned.tif -o upright.npy
    # orientation 6: the stored rows are the upright image's columns, turned clockwise to show
    npy_equal upright.npy 'np.rot90(np.arange(48, dtype=np.uint8).reshape(6, 8), -1).reshape(4, 2, 3, 2).max(axis=(1, 3))'
    "$POOL" -q -m max -k 2 turned.tif -o upright.tif
    ! tiffinfo upright.tif | grep -q Orientation
    "$POOL" -q --no-auto-orient -m max -k 2 turned.tif -o kept.tif
    tiffinfo kept.tif | grep -q 'Orientation: row 0 rhs, col 0 top'
}

@test "tiff: from standard input (held whole) and to a pipe" {
    need_tiff
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.arange(40 * 50, dtype=np.uint16).reshape(40, 50)).save("x.tif", compression="tiff_lzw")
Image.fromarray(np.zeros((1100, 1000), np.uint8)).save("big.tif")'
    "$POOL" -q -m avg -k 2 x.tif -o file.npy
    cat x.tif | "$POOL" -q -m avg -k 2 - -o stdin.npy
    cmp file.npy stdin.npy
    # stdin redirected from a file is a file: read where libtiff asks
    "$POOL" -q -m avg -k 2 - -o redirected.npy < x.tif
    cmp file.npy redirected.npy
    "$POOL" -q -m avg -k 2 x.tif -f tiff -o - | cat > piped.tif
    "$POOL" -q -m avg -k 2 x.tif -f tiff -o - > redirected.tif
    "$POOL" -q -m avg -k 2 x.tif -o direct.tif
    cmp piped.tif direct.tif
    cmp redirected.tif direct.tif
    # a pipe's TIFF over the memory budget is refused
    run bash -c 'cat big.tif | "$0" --max-memory 1M -m avg -k 2 - -o small.npy' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: a TIFF through a pipe is read whole (libtiff seeks), and this one is larger than the memory budget of 1 MiB (--max-memory): give it as a file" ]
    [ ! -e small.npy ]
    "$POOL" -q --max-memory 1M -m avg -k 2 big.tif -o small.npy
}

@test "tiff: cut or corrupt files, from a file or a pipe, fail cleanly and leave no output" {
    need_tiff
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
x = np.random.default_rng(9).integers(0, 256, (64, 80), dtype=np.uint8)
Image.fromarray(x).save("ifd-last.tif", compression="tiff_adobe_deflate")   # libtiff: IFD at the end
tifffile.imwrite("ifd-first.tif", x, rowsperstrip=8)                         # tifffile: IFD first
data = bytearray(open("ifd-last.tif", "rb").read())
for i in range(200, 400):
    data[i] ^= 0x5A
open("corrupt.tif", "wb").write(data)
PY
    head -c 3000 ifd-last.tif > cut-last.tif
    head -c 3000 ifd-first.tif > cut-first.tif
    printf 'II*\0\377\377\0\0' > bad-offset.tif
    printf 'II*\0\0\0\0\0' > no-ifd.tif
    run "$POOL" -m avg -k 2 cut-last.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: cut-last.tif: bad TIFF (header): Can not read TIFF directory count" ]
    run "$POOL" -m avg -k 2 cut-first.tif -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: cut-first.tif: bad TIFF (strip "*" of 8): "* ]]
    run "$POOL" -m avg -k 2 corrupt.tif -o out.tif
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: corrupt.tif: bad TIFF (strip 1 of "*"): "* ]]
    run "$POOL" -m avg -k 2 bad-offset.tif -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: bad-offset.tif: bad TIFF (header): "* ]]
    run "$POOL" -m avg -k 2 no-ifd.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: no-ifd.tif: bad TIFF (header): no image directory (its offset is 0)" ]
    for f in cut-last cut-first corrupt bad-offset; do
        run bash -c 'cat "$1" | "$0" -m avg -k 2 - -o out.png' "$POOL" $f.tif
        [ "$status" -eq 1 ]
        [[ "$output" == "pool: <stdin>: bad TIFF ("* ]]
    done
    [ ! -e out.npy ] && [ ! -e out.tif ] && [ ! -e out.png ]
    # JPEG-in-TIFF whose entropy data end early: refused as a JPEG is, unless --lenient
    "$PY" - <<'PY'
import numpy as np, tifffile
from PIL import Image
y, x = np.mgrid[0:48, 0:64]
Image.fromarray(((x * 4 + y * 3) % 256).astype(np.uint8)).save("gray.tif")
PY
    tiffcp -c jpeg -r 16 gray.tif jpeg.tif
    "$PY" - <<'PY'
import tifffile
page = tifffile.TiffFile("jpeg.tif").pages[0]
o, n = page.dataoffsets[1], page.databytecounts[1]
data = bytearray(open("jpeg.tif", "rb").read())
data[o + n // 2:o + n] = b"\xff\xd9" + bytes(n - n // 2 - 2)   # EOI halfway through strip 2
open("jpeg-cut.tif", "wb").write(data)
PY
    run "$POOL" -m avg -k 2 jpeg-cut.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: jpeg-cut.tif: bad TIFF (strip 2 of 3): libjpeg says \"Corrupt JPEG data: premature end of data segment\" (--lenient decodes it as far as it goes)" ]
    [ ! -e out.npy ]
    run "$POOL" --lenient -m avg -k 2 jpeg-cut.tif -o out.npy
    [ "$status" -eq 0 ]
    [ "$output" = "pool: jpeg-cut.tif: warning: corrupt JPEG data in a TIFF: libjpeg says \"Corrupt JPEG data: premature end of data segment\": decoded as far as it goes (--lenient)" ]
}

@test "tiff: a batch on worker threads: each file's libtiff messages stay its own" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
from oracle import mini_tiff
rng = np.random.default_rng(10)
for i in range(8):
    Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(f"good{i}.tif", compression="tiff_lzw")
    data = open(f"good{i}.tif", "rb").read()
    open(f"cut{i}.tif", "wb").write(data[:len(data) - 20])
    mini_tiff(f"nibble{i}.tif", bytes(8), 4, 4, 1, 4, 1)
PY
    run "$POOL" -j 4 -m avg -k 2 good*.tif cut*.tif nibble*.tif -O out
    [ "$status" -eq 1 ]
    for i in 0 1 2 3 4 5 6 7; do
        [[ "$output" == *"pool: cut$i.tif: bad TIFF (header): "* ]]
        [[ "$output" == *"pool: nibble$i.tif: this TIFF has 4-bit unsigned integer samples"* ]]
        "$POOL" -q -m avg -k 2 good$i.tif -o serial$i.tif
        cmp out/good$i.tif serial$i.tif
    done
    [ "${lines[-1]}" = "pool: 8 written, 16 failed, 0 skipped" ]
    [ "$(grep -c 'cut' <<<"$output")" -eq 8 ]
}

@test "tiff: what pool does not read is refused, saying what it is" {
    need_tiff
    oracle
    "$PY" - <<'PY'
import numpy as np
from oracle import mini_tiff
mini_tiff("4bit.tif", bytes(8), 4, 4, 1, 4, 1)
mini_tiff("12bit.tif", bytes(24), 4, 4, 1, 12, 1)
mini_tiff("ycbcr.tif", bytes(48), 4, 4, 3, 8, 6)
mini_tiff("lab.tif", bytes(48), 4, 4, 3, 8, 8)
mini_tiff("complex.tif", bytes(64), 4, 4, 1, 32, 1, fmt=5)
mini_tiff("white-float.tif", bytes(64), 4, 4, 1, 32, 0, fmt=3)
mini_tiff("ok.tif", bytes(range(16)), 4, 4, 1, 8, 1)
PY
    "$POOL" -q -m max -k 2 ok.tif -o ok.npy
    npy_equal ok.npy 'np.arange(16, dtype=np.uint8).reshape(2, 2, 2, 2).max(axis=(1, 3))'
    check() {
        run "$POOL" -m max -k 2 "$1" -o out.npy
        [ "$status" -eq 1 ]
        [ "$output" = "pool: $1: this TIFF has $2, which pool does not read" ] || { echo "$output"; false; }
    }
    check 4bit.tif "4-bit unsigned integer samples (pool reads 1-bit bilevel, 8-, 16-, 32- and 64-bit integers, 16-, 32- and 64-bit floats)"
    check 12bit.tif "12-bit unsigned integer samples (pool reads 1-bit bilevel, 8-, 16-, 32- and 64-bit integers, 16-, 32- and 64-bit floats)"
    check ycbcr.tif "YCbCr samples without JPEG compression (only JPEG's YCbCr is converted to RGB)"
    check lab.tif "CIELab samples"
    check complex.tif "32-bit complex integer samples (pool reads 1-bit bilevel, 8-, 16-, 32- and 64-bit integers, 16-, 32- and 64-bit floats)"
    check white-float.tif "MinIsWhite floating-point samples (white is said only for unsigned ones)"
    [ ! -e out.npy ]
}

@test "tiff: a strip or row of tiles over the memory budget is refused before it is decoded" {
    need_tiff
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.zeros((300, 4000), np.uint8)).save("x.tif", compression="tiff_adobe_deflate")'
    tiffcp -c zip -r 300 x.tif one-strip.tif
    tiffcp -c zip -t -w 1024 -l 512 x.tif big-tiles.tif
    run "$POOL" --max-memory 1M -m avg -k 2 one-strip.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: one-strip.tif: a TIFF strip of 300 rows, decoded, needs 1.1 MiB, more than the memory budget of 1 MiB (--max-memory)" ]
    run "$POOL" --max-memory 1M -m avg -k 2 big-tiles.tif -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: big-tiles.tif: a row of 1024x512 TIFF tiles, decoded, needs 2 MiB, more than the memory budget of 1 MiB (--max-memory)" ]
    [ ! -e out.npy ]
    "$POOL" -q --max-memory 1M -m avg -k 2 x.tif -o out.npy
}

@test "tiff: memory stays flat in the image's height, stripped and tiled" {
    need_tiff
    [ "${POOL_SANITIZED:-no}" = no ] || skip "sanitizer build: its allocator's quarantine makes peak memory meaningless"
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(8)
for h in (2000, 8000):
    y, x = np.mgrid[0:h, 0:4000]
    px = ((x * 7 + y * 3) % 256 + rng.integers(0, 16, (h, 4000))) % 256
    Image.fromarray(px.astype(np.uint8)).save(f"s{h}.tif", compression="tiff_adobe_deflate")
PY
    for h in 2000 8000; do tiffcp -c zip -t -w 256 -l 256 s$h.tif t$h.tif; done
    for f in s t; do
        small=$(peak_kb "$POOL" -q -m avg -k 2 ${f}2000.tif -o out.tif)
        tall=$(peak_kb "$POOL" -q -m avg -k 2 ${f}8000.tif -o out.tif)
        echo "$f: $small KiB for 2000 rows, $tall KiB for 8000"
        # the whole 8000 rows would be 31 MiB more
        [ "$tall" -le $(( small * 11 / 10 )) ]
    done
}
