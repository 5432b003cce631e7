#!/usr/bin/env bats
# Pixel formats: --depth, --background and --output-dtype, each against an exact NumPy
# computation, and their refusals.

load helpers

@test "--depth 8 turns a 16-bit PNG into 8-bit samples, round(v * 255 / 65535) half up" {
    "$PY" -c '
import numpy as np; from PIL import Image
rng = np.random.default_rng(5)
a = rng.integers(0, 65536, (30, 40, 3)).astype(np.uint16)
a[0, 0] = [128, 385, 65535]   # 128/257 = 0.498 -> 0, 385/257 = 1.498 -> 1
a[0, 1] = [0, 65535, 1]
np.save("a.npy", a)'
    "$POOL" -q -m max -k 1 a.npy -o a.png   # a 16-bit PNG (the writer is checked against pypng elsewhere)
    "$POOL" -q -m max -k 1 --depth 8 a.png -o d.png
    "$POOL" -q -m avg -k 2 --depth 8 a.png -o avg.jpg
    "$PY" -c '
import numpy as np; from PIL import Image
a = np.load("a.npy").astype(np.int64)
d = np.asarray(Image.open("d.png"))
assert d.dtype == np.uint8 and np.array_equal(d, (2 * a + 257) // 514), "depth"
assert Image.open("avg.jpg").size == (20, 15)'
    # and back: 8 to 16 bits is v * 257
    "$POOL" -q -m max -k 1 --depth 16 d.png -o back.npy
    "$PY" -c '
import numpy as np; from PIL import Image
d = np.asarray(Image.open("d.png")).astype(np.uint16)
assert np.array_equal(np.load("back.npy"), d * 257)'
}

@test "--background composites alpha over a colour before pooling, exactly; JPEG then takes it" {
    "$PY" -c '
import numpy as np; from PIL import Image
rng = np.random.default_rng(7)
Image.fromarray(rng.integers(0, 256, (20, 30, 4)).astype(np.uint8), "RGBA").save("rgba.png")
Image.fromarray(rng.integers(0, 256, (20, 30, 2)).astype(np.uint8), "LA").save("la.png")'
    "$POOL" -q -m avg -k 2 --background '#0080ff' rgba.png -o flat.png
    "$POOL" -q -m avg -k 2 --background 10,20,30 la.png -o la_rgb.png
    "$POOL" -q -m avg -k 2 --background '#777' la.png -o la_gray.png
    "$POOL" -q -m avg -k 2 --background white rgba.png -o flat.jpg
    "$PY" -c '
import numpy as np; from PIL import Image
def flatten(c, a, bg):   # round((c a + bg (255 - a)) / 255), half up
    return (2 * (c * a + bg * (255 - a)) + 255) // 510
def avg2(x):             # 2x2 average, half up
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    s = x[:h:2, :w:2] + x[1:h:2, :w:2] + x[:h:2, 1:w:2] + x[1:h:2, 1:w:2]
    return (2 * s + 4) // 8
rgba = np.asarray(Image.open("rgba.png")).astype(np.int64)
want = avg2(flatten(rgba[..., :3], rgba[..., 3:], np.array([0, 128, 255])))
got = np.asarray(Image.open("flat.png"))
assert got.shape == want.shape and np.array_equal(got, want), "rgba"
la = np.asarray(Image.open("la.png")).astype(np.int64)
want = avg2(flatten(la[..., :1], la[..., 1:], np.array([10, 20, 30])))
assert np.array_equal(np.asarray(Image.open("la_rgb.png")), want), "gray+alpha over a colour: RGB"
want = avg2(flatten(la[..., 0], la[..., 1], 0x77))
got = np.asarray(Image.open("la_gray.png"))
assert got.ndim == 2 and np.array_equal(got, want), "gray+alpha over gray: gray"
assert Image.open("flat.jpg").mode == "RGB"'
    # an image without alpha is left as it is
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save("rgb.png")'
    "$POOL" -q -m avg -k 2 --background white rgb.png -o rgb_out.png
    "$POOL" -q -m avg -k 2 rgb.png -o rgb_plain.png
    cmp rgb_out.png rgb_plain.png
}

@test "--output-dtype f32 gives unrounded averages: exact float feature vectors in csv" {
    need_photos
    "$POOL" -q -P gavg --output-dtype f32 -f csv "$DATA/astronaut.png" "$DATA/coffee.png" > f.csv
    "$POOL" -q -P gavg -f csv "$DATA/astronaut.png" "$DATA/coffee.png" > u8.csv
    "$PY" - "$DATA" <<'PY'
import csv, sys, numpy as np
from PIL import Image
rows = list(csv.reader(open("f.csv")))[1:]
for row, name in zip(rows, ["astronaut.png", "coffee.png"]):
    a = np.asarray(Image.open(f"{sys.argv[1]}/{name}")).astype(np.float64)
    want = a.reshape(-1, a.shape[-1]).mean(axis=0).astype(np.float32)
    got = np.array([float(v) for v in row[1:]], np.float32)
    assert np.array_equal(got, want), (name, got, want)
    assert any(v != round(v) for v in got), "the figures are not integers"
ints = list(csv.reader(open("u8.csv")))[1:]
assert all(v == str(int(v)) for v in ints[0][1:]), ints[0]
PY
    # the .npy keeps the type
    "$POOL" -q -m avg -k 2 --output-dtype f64 "$DATA/camera.png" -o c.npy
    run npy_show c.npy
    [ "$output" = "float64 (256, 256)" ]
}

@test "--output-dtype to an integer type rounds half away from zero, clamps, NaN to 0" {
    "$PY" -c '
import numpy as np
np.save("f.npy", np.array([[0.5, 1.5, -0.5, -2.5, 300.0, -7.0, np.nan, 254.49999]], np.float32))'
    "$POOL" -q -m max -k 1 --layout hw --output-dtype u8 f.npy -o u8.npy
    "$POOL" -q -m max -k 1 --layout hw --output-dtype i8 f.npy -o i8.npy
    "$PY" -c '
import numpy as np
assert np.load("u8.npy").tolist() == [[1, 2, 0, 0, 255, 0, 0, 254]], np.load("u8.npy").tolist()
assert np.load("i8.npy").tolist() == [[1, 2, -1, -3, 127, -7, 0, 127]], np.load("i8.npy").tolist()
assert np.load("i8.npy").dtype == np.int8'
}

@test "pixel-format options refuse what they cannot do, naming the option" {
    "$PY" -c 'import numpy as np; np.save("f.npy", np.zeros((4, 4), np.float32))'
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.zeros((4, 4), np.uint8)).save("c.png")'
    run "$POOL" -k 2 --depth 8 f.npy -o x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: f.npy: "*"--depth converts 8- and 16-bit samples, and these are f32"* ]]
    [ ! -e x.npy ]
    run "$POOL" -k 2 --depth 8 --output-dtype f32 c.png -o x.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --depth and --output-dtype both set the output's type: give one" ]
    run "$POOL" -m avg -k 2 --linear --output-dtype f32 c.png -o x.npy
    [ "$status" -eq 2 ]
    run "$POOL" -k 2 --depth 12 c.png -o x.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --depth 12: give 8 or 16 (bits a sample)" ]
    run "$POOL" -k 2 --background tomato c.png -o x.png
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --background tomato: give a colour as"* ]]
    run "$POOL" -k 2 --background 1,2,300 c.png -o x.png
    [ "$status" -eq 2 ]
    # float data to PNG names --output-dtype
    run "$POOL" -k 2 f.npy -o x.png
    [ "$status" -eq 1 ]
    [[ "$output" == *"or give --output-dtype u8 (or u16)" ]]
}

@test "--background on PNM codes below a maxval stretches them first; gray over gray is 2-D" {
    # an 8-bit PAM, maxval 100, gray+alpha: values 20 and 100, alpha 100 (opaque) and 50
    printf 'P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 100\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n\x14\x64\x64\x32' > a.pam
    "$POOL" -q -m max -k 1 --background black a.pam -o b.npy
    "$POOL" -q -m max -k 1 --background white a.pam -o w.npy
    "$PY" -c '
import numpy as np
# stretched to 0-255 first: 20 -> 51, 100 -> 255, alpha 100 -> 255, 50 -> 128 (half up)
c, a = np.array([51, 255]), np.array([255, 128])
for f, bg in (("b.npy", 0), ("w.npy", 255)):
    got = np.load(f)
    want = (2 * (c * a + bg * (255 - a)) + 255) // 510
    assert got.shape == (1, 2) and got.tolist() == [want.tolist()], (f, got.tolist(), want)'
}

@test "pixel-format options on palettes and mismatched types: refused or warned, never silent" {
    "$PY" -c 'import numpy as np; from PIL import Image
im = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P"); im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0]); im.save("p.png")'
    run "$POOL" -m mode -k 2 --depth 16 p.png -o x.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: p.png: --depth would change the palette indices"*"--palette expand"* ]]
    [ ! -e x.png ]
    run "$POOL" -m mode -k 2 --output-dtype u16 p.png -o x.png
    [ "$status" -eq 1 ]
    "$POOL" -q -m mode -k 2 --depth 16 --palette expand p.png -o x.png
    # u8 <-> u16 with --output-dtype on an image: a warning naming --depth
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.full((4, 4), 200, np.uint8)).save("g.png")'
    run "$POOL" -m avg -k 2 --output-dtype u16 g.png -o x16.png
    [ "$status" -eq 0 ]
    [ "$output" = "pool: g.png: warning: --output-dtype u16 keeps this u8 image's sample values (clamped), so its pixels come out far too dark: --depth 16 rescales samples" ]
    run "$POOL" -m avg -k 2 --depth 16 g.png -o x.jpg
    [ "$status" -eq 2 ]
    [ "$output" = "pool: x.jpg: --depth 16 asks for 16-bit samples, and JPEG holds 8: write PNG or TIFF, or give --depth 8" ]
}
