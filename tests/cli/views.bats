#!/usr/bin/env bats
# --save-passes and --contact-sheet.

load helpers


# A 4x4 PGM: values 0, 16, ..., 240 in C order.
pgm16() {
    { printf 'P5 4 4 255\n'; printf "$(printf '\\%03o' $(seq 0 16 240))"; } > "$1"
}

# png_pixels FILE: "WIDTHxHEIGHT MODE" and the pixel array, for assertions in Python.
png_check() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1]); a = np.asarray(im)
exec(sys.argv[2])
PY
}

@test "--save-passes writes every pass's output, equal to pooling with the passes so far" {
    pgm16 a.pgm
    "$POOL" -q -P max:2,s=1 -P avg:2 -P gmin --save-passes saved a.pgm -o out.pgm
    [ "$(ls saved | tr '\n' ' ')" = "a.pass1.pnm a.pass2.pnm a.pass3.pnm " ]
    "$POOL" -q -P max:2,s=1 a.pgm -o p1.pgm
    "$POOL" -q -P max:2,s=1 -P avg:2 a.pgm -o p2.pgm
    cmp saved/a.pass1.pnm p1.pgm
    cmp saved/a.pass2.pnm p2.pgm
    cmp saved/a.pass3.pnm out.pgm
}

@test "--save-passes: PNG and JPEG inputs give PNG, tensors .npy, stdin is named stdin" {
    need_photos
    "$POOL" -q -k 2 -r 2 --save-passes s "$DATA/astronaut.png" -o out.jpg
    "$POOL" -q -k 2 -r 2 "$DATA/astronaut.png" -o want.png
    [ "$(ls s | tr '\n' ' ')" = "astronaut.pass1.png astronaut.pass2.png " ]
    "$POOL" -q -k 1 s/astronaut.pass2.png -o got.npy
    "$POOL" -q -k 1 want.png -o want.npy
    cmp got.npy want.npy
    mknpy t.npy 'np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)'
    "$POOL" -q -m avg -k 2 --save-passes s - < t.npy > out.npy
    npy_equal s/stdin.pass1.npy "$(cat <<'EOF'
np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 4, 2, 4, 2).mean(axis=(3, 5))
EOF
)"
}

@test "--save-passes keeps every image of a PNM stream, and makes its folder" {
    pgm16 a.pgm
    cat a.pgm a.pgm > two.pgm
    run "$POOL" -q -k 2 --save-passes new/dir two.pgm -o out.pnm
    [ "$status" -eq 1 ]
    [ "$output" = "pool: new/dir: cannot create the folder: No such file or directory" ]
    [ ! -e new ] && [ ! -e out.pnm ]   # one level only: the parent must exist
    "$POOL" -q -k 2 --save-passes new two.pgm -o out.pnm
    [ "$(wc -c < new/two.pass1.pnm)" -eq $(( 2 * (11 + 4) )) ]
    cmp new/two.pass1.pnm out.pnm
}

@test "--save-passes into something that is not a folder fails, leaving nothing" {
    pgm16 a.pgm
    touch notdir
    run "$POOL" -q -k 2 --save-passes notdir a.pgm -o out.pgm
    [ "$status" -eq 1 ]
    [ "$output" = "pool: notdir: not a folder" ]
    no_files_but a.pgm notdir
}

@test "the contact sheet: panels expanded to the input's height, gaps, a caption band" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray((np.arange(96 * 64) % 251).astype(np.uint8).reshape(64, 96)).save("a.png")'
    "$POOL" -q -P max:2 -P avg:4,s=2 --contact-sheet sheet.png a.png -o out.png
    "$POOL" -q -P max:2 a.png -f npy -o p1.npy
    "$POOL" -q -P max:2 -P avg:4,s=2 a.png -f npy -o p2.npy
    # 64 rows: scale 1; panels 96 (input), 96 (48x32 -> x2), 90 (15x... see below); gaps 2
    png_check sheet.png '
src = np.asarray(Image.open("a.png"))
p1, p2 = np.load("p1.npy"), np.load("p2.npy")
assert p2.shape == (15, 23), p2.shape
w2 = round(23 * 64 / 15)  # 98
assert im.size == (96 + 2 + 96 + 2 + w2, 64 + 22) and im.mode == "L", (im.size, im.mode)
assert (a[:64, :96] == src).all()
assert (a[:64, 96:98] == 128).all(), a[:64, 96:98]
assert (a[:64, 98:194] == np.kron(p1, np.ones((2, 2), int))).all()
ys, xs = np.arange(64) * 15 // 64, np.arange(w2) * 23 // w2   # nearest: floor(y * out / in)
assert (a[:64, 196:] == p2[ys][:, xs]).all()
caption = a[64:]
assert set(np.unique(caption)) == {0, 255}, np.unique(caption)
for x0, x1 in ((0, 96), (98, 194), (196, 196 + w2)):   # text under each panel
    assert (caption[:, x0:x1] == 0).any(), (x0, x1)
'
}

@test "the contact sheet of a photograph: size, the input's pixels, a global pass's colour" {
    need_photos
    "$POOL" -q -P avg:4 -P gavg --contact-sheet sheet.png "$DATA/astronaut.png" -o out.png
    "$POOL" -q -P avg:4 -P gavg "$DATA/astronaut.png" -f txt -o mean.txt
    png_check sheet.png "
src = np.asarray(Image.open('$DATA/astronaut.png'))
# scale 2 for 512 rows: gaps of 4, two caption lines in 44 rows; panels 512 wide
assert im.size == (3 * 512 + 2 * 4, 512 + 44), im.size
assert (a[:512, :512] == src).all()
mean = np.array(open('mean.txt').read().split(), int)
assert (a[:512, 2 * 516:] == mean).all(), a[0, 2 * 516]
"
}

@test "the contact sheet refuses what is not an image, and several inputs" {
    mknpy t.npy 'np.zeros((2, 3, 8, 8), np.float32)'
    run "$POOL" -q -k 2 --contact-sheet s.png t.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: t.npy: a contact sheet shows images: one 2-D plane of 1 to 4 channels of 8 or 16 bits" ]
    no_files_but t.npy
    pgm16 a.pgm
    run "$POOL" -q -k 2 --contact-sheet s.png a.pgm a.pgm -f pnm
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --contact-sheet shows one image: give one input" ]
}

@test "a failing run leaves no saved passes and no contact sheet" {
    { printf 'P5 4 4 255\n'; printf 'abc'; } > short.pgm
    # through a pipe the short data is found mid-stream, after the views have begun
    run sh -c 'cat short.pgm | "$0" -q -k 2 --save-passes s --contact-sheet sheet.png -o out.pgm' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated PNM data (row 1 of 4)" ]
    [ -z "$(ls -A s)" ]
    no_files_but short.pgm s
    # from the file it is found at the header, before anything is made
    run "$POOL" -q -k 2 --save-passes s2 --contact-sheet sheet.png short.pgm -o out.pgm
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: short.pgm: truncated PNM data: the header declares 4x4 pixels"* ]]
    no_files_but short.pgm s
}

@test "the contact sheet of a PNM with a small maxval: panels stretched, margins untouched" {
    "$PY" -c 'import numpy as np
a = (np.arange(64 * 64).reshape(64, 64) % 101).astype(np.uint8)
open("m.pgm", "wb").write(b"P5 64 64 100\n" + a.tobytes())'
    "$POOL" -q -k 2 --contact-sheet sheet.png m.pgm -o out.pgm
    png_check sheet.png '
src = (np.arange(64 * 64).reshape(64, 64) % 101)
assert (a[:64, :64] == (src * 255 + 50) // 100).all()
assert (a[:64, 64:66] == 128).all(), a[:64, 64:66]
assert set(np.unique(a[64:])) == {0, 255}
'
}

@test "CMYK JPEG: passes are saved as .npy, and the contact sheet is refused" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(1).integers(0, 255, (32, 32, 4), dtype=np.uint8), "CMYK").save("c.jpg")'
    "$POOL" -q -k 2 --save-passes s c.jpg -o out.jpg
    [ "$(ls s)" = "c.pass1.npy" ]
    [ "$(npy_show s/c.pass1.npy)" = "uint8 (16, 16, 4)" ]
    run "$POOL" -q -k 2 --contact-sheet sheet.png c.jpg -o out2.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: c.jpg: a contact sheet of a CMYK image is not supported"* ]]
    [ ! -e out2.jpg ] && [ ! -e sheet.png ]
}

@test "empty names for the saved passes or the sheet are usage errors" {
    pgm16 a.pgm
    run "$POOL" -q -k 2 --contact-sheet= a.pgm -o out.pgm
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --contact-sheet: give a file name" ]
    run "$POOL" -q -k 2 --save-passes= a.pgm -o out.pgm
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --save-passes: give a folder" ]
    no_files_but a.pgm
}

@test "--save-passes refuses two inputs whose pass files would have the same names" {
    pgm16 a.pgm
    mkdir d
    cp a.pgm d/a.pgm
    run "$POOL" -q -k 2 --save-passes s -f pnm a.pgm d/a.pgm -o out.pnm
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --save-passes: a.pgm and d/a.pgm would both save as a.passN" ]
    no_files_but a.pgm d
    run "$POOL" -q -k 2 --save-passes s -f pnm a.pgm a.pgm -o out.pnm
    [ "$status" -eq 2 ]
    cp a.pgm b.pgm
    "$POOL" -q -k 2 --save-passes s -f pnm a.pgm b.pgm -o out.pnm
    [ "$(ls s | tr '\n' ' ')" = "a.pass1.pnm b.pass1.pnm " ]
}

# Python for sheet assertions: the caption band's height and the default panel height.
SHEET_PY='
def band(scale):
    return 22 * scale   # a margin, two lines of 7 + 2, a margin, in font pixels
def default_height(natural):
    """The tallest panels, not above natural, whose sheet with captions fits 2048 rows."""
    h = min(natural, 2048)
    while h + band(min(max(h // 256, 1), 8)) > 2048:
        h -= 1
    return h
'

@test "the contact sheet of a tall image stays within 2048 rows, sampled by nearest" {
    "$PY" -c 'import numpy as np; from PIL import Image
rng = np.random.default_rng(5)
Image.fromarray(rng.integers(0, 256, (2600, 300), dtype=np.uint8)).save("tall.png")'
    "$POOL" -q -P avg:2 --contact-sheet sheet.png tall.png -o out.png
    png_check sheet.png "$SHEET_PY"'
src, out = np.asarray(Image.open("tall.png")), np.asarray(Image.open("out.png"))
h = default_height(2600)
assert h == 1894 and im.size[1] == 2048, (h, im.size)   # scale 7: 1894 + 154
w0, w1 = round(300 * h / 2600), round(150 * h / 1300)
assert im.size[0] == w0 + 14 + w1, im.size
ys = np.arange(h)
assert (a[:h, :w0] == src[ys * 2600 // h][:, np.arange(w0) * 300 // w0]).all()
assert (a[:h, w0 + 14:] == out[ys * 1300 // h][:, np.arange(w1) * 150 // w1]).all()
'
    # a crop taller than the limit is sampled too: from its own rows and columns
    "$POOL" -q -P avg:2 --sheet-crop 50x2400+10+100 --contact-sheet crop.png tall.png -o out.png
    png_check crop.png "$SHEET_PY"'
src, out = np.asarray(Image.open("tall.png")), np.asarray(Image.open("out.png"))
h, w = 1894, round(50 * 1894 / 2400)
assert im.size == (2 * w + 14, 2048), im.size
ys, xs = 100 + np.arange(h) * 2400 // h, 10 + np.arange(w) * 50 // w
assert (a[:h, :w] == src[ys][:, xs]).all()
assert (a[:h, w + 14:] == out[ys * 1300 // 2600][:, xs * 150 // 300]).all()
'
}

@test "--sheet-height scales the panels down and up, by nearest" {
    need_photos
    "$POOL" -q -P max:3 --sheet-height 100 --contact-sheet small.png "$DATA/astronaut.png" -o out.png
    png_check small.png "
src, out = np.asarray(Image.open('$DATA/astronaut.png')), np.asarray(Image.open('out.png'))
assert out.shape[:2] == (170, 170)
assert im.size == (100 + 2 + 100, 100 + 22), im.size   # scale 1 below 256 rows
ys = np.arange(100)
assert (a[:100, :100] == src[ys * 512 // 100][:, ys * 512 // 100]).all()
assert (a[:100, 102:] == out[ys * 170 // 100][:, ys * 170 // 100]).all()
"
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray((np.arange(40 * 30) % 253).astype(np.uint8).reshape(30, 40)).save("a.png")'
    "$POOL" -q -P avg:2 --sheet-height 300 --contact-sheet big.png a.png -o out.png
    png_check big.png '
src, out = np.asarray(Image.open("a.png")), np.asarray(Image.open("out.png"))
assert im.size == (400 + 2 + 400, 300 + 22), im.size
assert (a[:300, :400] == np.kron(src, np.ones((10, 10), int))).all()
assert (a[:300, 402:] == np.kron(out, np.ones((20, 20), int))).all()
'
}

@test "--sheet-crop: the input's pixels 1:1, and every pass expanded back to the input's size" {
    need_photos
    "$POOL" -q -P avg:3 -P max:2,s=1 -P avg:5,s=4 --save-passes s --sheet-crop 100x60+250+140 \
        --contact-sheet sheet.png "$DATA/astronaut.png" -o out.png
    png_check sheet.png "
src = np.asarray(Image.open('$DATA/astronaut.png'))
outs = [np.asarray(Image.open(f's/astronaut.pass{k}.png')) for k in (1, 2)]
outs.append(np.asarray(Image.open('out.png')))
assert [o.shape[0] for o in outs] == [170, 169, 42]
assert im.size == (4 * 100 + 3 * 2, 60 + 22), im.size
assert (a[:60, :100] == src[140:200, 250:350]).all()
for k, o in enumerate(outs, 1):
    n = o.shape[0]
    i = np.arange(512) * n // 512            # input pixel i shows element floor(i * n / 512)
    want = o[i][:, i][140:200, 250:350]
    x0 = k * 102
    assert (a[:60, x0:x0 + 100] == want).all(), k
"
    # --sheet-height scales the crop; X and Y default to 0
    "$POOL" -q -P avg:3 --sheet-crop 40x30 --sheet-height 60 \
        --contact-sheet twice.png "$DATA/astronaut.png" -o out.png
    png_check twice.png "
src, out = np.asarray(Image.open('$DATA/astronaut.png')), np.asarray(Image.open('out.png'))
twice = lambda p: np.repeat(np.repeat(p, 2, axis=0), 2, axis=1)
assert im.size == (80 + 2 + 80, 60 + 22), im.size
assert (a[:60, :80] == twice(src[:30, :40])).all()
i = np.arange(512) * 170 // 512
assert (a[:60, 82:] == twice(out[i][:, i][:30, :40])).all()
"
}

@test "the contact sheet is upright, and a crop is in the upright image's pixels" {
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
up = Image.fromarray(np.random.default_rng(3).integers(0, 256, (90, 60, 3), dtype=np.uint8))
up.save("up.png")
store = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
         5: Image.TRANSPOSE, 6: Image.ROTATE_90, 7: Image.TRANSVERSE, 8: Image.ROTATE_270}
for tag, method in store.items():
    ex = Image.Exif()
    ex[0x0112] = tag
    up.transpose(method).save(f"o{tag}.png", exif=ex.tobytes())
PY
    for tag in 2 3 4 5 6 7 8; do
        "$POOL" -q -P avg:3 --contact-sheet "whole$tag.png" "o$tag.png" -o "out$tag.png"
        "$POOL" -q -P avg:3 --sheet-crop 40x30+10+50 --contact-sheet "crop$tag.png" "o$tag.png" \
            -o "out$tag.png"
    done
    png_check up.png '
up = a
for tag in range(2, 9):
    out = np.asarray(Image.open(f"out{tag}.png"))   # upright, as pool writes it
    assert out.shape == (30, 20, 3), (tag, out.shape)
    whole = np.asarray(Image.open(f"whole{tag}.png"))
    assert whole.shape == (90 + 22, 60 + 2 + 60, 3), (tag, whole.shape)
    assert (whole[:90, :60] == up).all(), tag
    assert (whole[:90, 62:] == np.repeat(np.repeat(out, 3, 0), 3, 1)).all(), tag
    crop = np.asarray(Image.open(f"crop{tag}.png"))
    assert crop.shape == (30 + 22, 40 + 2 + 40, 3), (tag, crop.shape)
    assert (crop[:30, :40] == up[50:80, 10:50]).all(), tag
    assert (crop[:30, 42:] == np.repeat(np.repeat(out, 3, 0), 3, 1)[50:80, 10:50]).all(), tag
'
    # 80 columns fit the 90x60 stored image, not the 60x90 upright one
    run "$POOL" -q -k 2 --sheet-crop 80x20 --contact-sheet s.png o6.png -o out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: o6.png: --sheet-crop 80x20 reaches past the 60x90 image (width x height)" ]
}

@test "captions: the pass's spec and its size, width first, under its own panel" {
    "$PY" -c 'import numpy as np; from PIL import Image
for w, h in ((96, 64), (48, 32), (32, 48)):
    Image.fromarray((np.arange(w * h) % 251).astype(np.uint8).reshape(h, w)).save(f"i{w}x{h}.png")'
    "$POOL" -q -P avg:2 --contact-sheet avg.png i96x64.png -o out.png
    "$POOL" -q -P max:2 --contact-sheet max.png i96x64.png -o out.png
    "$POOL" -q -P avg:2 --contact-sheet wide.png i48x32.png -o out.png
    "$POOL" -q -P avg:2 --contact-sheet tall.png i32x48.png -o out.png
    png_check avg.png '
load = lambda f: np.asarray(Image.open(f))
avg, mx, wide, tall = load("avg.png"), load("max.png"), load("wide.png"), load("tall.png")
line1 = lambda s, h, x0: s[h + 2:h + 9, x0 + 1:x0 + 43]     # scale 1: 7 characters of each line
line2 = lambda s, h, x0: s[h + 11:h + 18, x0 + 1:x0 + 43]
# the spec: "1 avg:2,s=2" and "1 max:2,s=2" differ, the input panels do not
assert (line1(avg, 64, 98) != line1(mx, 64, 98)).any()
assert (avg[64:, :96] == mx[64:, :96]).all()
# pass 1 of the 96x64 image is 48x32: its size line is the 48x32 input'"'"'s, not 32x48
assert (line2(avg, 64, 98) == line2(wide, 32, 0)).all() and (line2(wide, 32, 0) == 0).any()
assert (line2(wide, 32, 0) != line2(tall, 48, 0)).any()
# width first: "48x32" has its "2" fifth, where "1 avg:2,s=2" has one seventh
glyph = lambda line, i: line[:, 6 * i:6 * i + 5]
two = glyph(line1(avg, 64, 98), 6)
assert (glyph(line2(avg, 64, 98), 4) == two).all() and (glyph(line2(avg, 64, 98), 1) != two).any()
# the input panel says "input" on its first line, as every input does
assert (line1(avg, 64, 0) == line1(wide, 32, 0)).all() and (line1(avg, 64, 0) == 0).any()
'
}

@test "captions carry each pass's PSNR against the input, the stack's" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.full((64, 96), 90, np.uint8)).save("flat.png")
Image.fromarray(np.random.default_rng(4).integers(0, 256, (64, 96)).astype(np.uint8)).save("noise.png")'
    "$POOL" -q -P avg:2 -P avg:2 --contact-sheet flat_sheet.png --stats=flat.jsonl flat.png -o out.png
    "$POOL" -q -P avg:2 -P avg:2 --contact-sheet noise_sheet.png --stats=noise.jsonl noise.png -o out.png
    # the flat image loses nothing (inf: null), the noise much
    "$PY" -c 'import json
flat = [json.loads(l)["stack_psnr"] for l in open("flat.jsonl")]
noise = [json.loads(l)["stack_psnr"] for l in open("noise.jsonl")]
assert flat == [None, None] and all(10 < p < 20 for p in noise), (flat, noise)'
    png_check flat_sheet.png '
load = lambda f: np.asarray(Image.open(f))
flat, noise = load("flat_sheet.png"), load("noise_sheet.png")
size_and_psnr = lambda s, x0: s[64 + 11:64 + 18, x0 + 1:x0 + 13 * 6]
# the input panels and the spec lines agree; the size lines differ after "48x32  "
assert (flat[64:, :96] == noise[64:, :96]).all()
for x0 in (98, 98 + 96 + 2):
    a, b = size_and_psnr(flat, x0), size_and_psnr(noise, x0)
    assert (a[:, :42] == b[:, :42]).all() and (a[:, 42:] != b[:, 42:]).any(), x0
    assert (a[:, 42:] == 0).any() and (b[:, 42:] == 0).any(), x0    # a figure is drawn
'
    # the stack's figure, not the pass's own: pass 2 of max 2 twice writes what max 4 does,
    # and its caption says what max 4's says (its own PSNR, against pass 1's output, differs)
    "$POOL" -q -P max:2 -P max:2 --contact-sheet two.png --stats=two.jsonl noise.png -o two_out.png
    "$POOL" -q -P max:4 --contact-sheet one.png noise.png -o one_out.png
    cmp two_out.png one_out.png
    "$PY" -c 'import json
r = json.loads(open("two.jsonl").read().splitlines()[1])
assert "%.1f" % r["psnr"] != "%.1f" % r["stack_psnr"], r'
    png_check two.png '
two, one = np.asarray(Image.open("two.png")), np.asarray(Image.open("one.png"))
size_and_psnr = lambda s, x0: s[64 + 11:64 + 18, x0 + 1:x0 + 16 * 6]
assert (size_and_psnr(two, 2 * 98) == size_and_psnr(one, 98)).all()
assert (size_and_psnr(two, 98) != size_and_psnr(one, 98)).any()
'
}

@test "a palette label map's sheet shows its colours, not its indices as grays" {
    "$PY" -c 'import numpy as np; from PIL import Image
m = np.kron(np.random.default_rng(3).integers(0, 4, (6, 8)), np.ones((8, 8))).astype(np.uint8)
im = Image.fromarray(m, "P"); im.putpalette([0, 0, 0, 220, 40, 40, 40, 200, 60, 40, 80, 220]); im.save("mask.png")'
    "$POOL" -q -m mode -k 2 --contact-sheet sheet.png --sheet-crop 32x24+8+8 mask.png -o out.png
    png_check sheet.png '
rgb = np.asarray(Image.open("mask.png").convert("RGB"))
assert a.shape[2] == 3, a.shape
assert (a[:24, :32] == rgb[8:32, 8:40]).all()                 # the input, in its colours
out = np.asarray(Image.open("out.png").convert("RGB"))           # pass 1, expanded back
want = np.repeat(np.repeat(out, 2, axis=0), 2, axis=1)[8:32, 8:40]
x0 = 32 + 2
assert (a[:24, x0:x0 + 32] == want).all()
'
}

@test "--sheet-crop past the image, a malformed crop or height, and sheet flags alone" {
    need_photos
    cp "$DATA/astronaut.png" a.png
    run "$POOL" -q -k 2 --save-passes s --sheet-crop 300x200+400+0 --contact-sheet s.png a.png \
        -o out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: a.png: --sheet-crop 300x200+400+0 reaches past the 512x512 image (width x height)" ]
    [ -z "$(ls -A s)" ]
    no_files_but a.png s
    run "$POOL" -q -k 2 --sheet-crop 10x513 --contact-sheet s.png - -o out.png < a.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: --sheet-crop 10x513 reaches past the 512x512 image (width x height)" ]
    "$POOL" -q -k 2 --sheet-crop 512x512+0+0 --contact-sheet s.png a.png -o out.png
    for bad in 300 300x x200 0x10 10x0 10x10+5 10x10+5+ 10x10+a+1 -1x2 10x10+1+2junk \
        "10x10 " 10X10 10x10-1-1 99999999999999999999x1; do
        run "$POOL" -q -k 2 --sheet-crop "$bad" --contact-sheet s2.png a.png -o out2.png
        [ "$status" -eq 2 ] || { echo "accepted $bad"; false; }
        [ "$output" = "pool: --sheet-crop $bad: a crop is WxH or WxH+X+Y (width first, in the upright input's pixels; sides 1 to 2^40)" ]
    done
    run "$POOL" -q -k 2 --sheet-height 0 --contact-sheet s2.png a.png -o out2.png
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --sheet-height 0: bad number"* ]]
    run "$POOL" -q -k 2 --sheet-height 65536 --contact-sheet s2.png a.png -o out2.png
    [ "$status" -eq 2 ]
    run "$POOL" -q -k 2 --sheet-crop 10x10 a.png -o out2.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --sheet-crop shapes the contact sheet: give --contact-sheet FILE.png" ]
    run "$POOL" -q -k 2 --sheet-height 10 a.png -o out2.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --sheet-height shapes the contact sheet: give --contact-sheet FILE.png" ]
    no_files_but a.png s out.png s.png
}
