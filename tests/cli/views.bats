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
    [ "$output" = "pool: s.png: a contact sheet shows images: one 2-D plane of 1 to 4 channels of 8 or 16 bits" ]
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
    [[ "$output" == "pool: sheet.png: a contact sheet of a CMYK image is not supported"* ]]
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
