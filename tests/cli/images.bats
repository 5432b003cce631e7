#!/usr/bin/env bats
# Images on the command line: formats by magic bytes and extension, round trips through .npy,
# metadata kept, options, and bad images refused cleanly. (Pixel exactness on real photographs
# is tests/oracle/image_oracle.py.)

load helpers


# pixels FILE: prints mode, size and a checksum of the pixels as Pillow sees them.
pixels() {
    "$PY" -c 'import sys, hashlib, numpy as np; from PIL import Image; im = Image.open(sys.argv[1]); a = np.asarray(im); print(im.format, im.mode, im.size, hashlib.md5(a.tobytes()).hexdigest())' "$1"
}

@test "PNG, JPEG and PNM are found by their magic bytes, also on stdin" {
    cp "$DATA/astronaut.png" a.png
    "$PY" -c 'from PIL import Image; im = Image.open("a.png").convert("RGB"); im.save("a.jpg", quality=90); im.save("a.ppm")'
    for f in a.png a.jpg a.ppm; do
        "$POOL" -m avg -k 2 "$f" -o "out-$f.npy"
        "$POOL" -m avg -k 2 -f npy < "$f" > "stdin-$f.npy"
        cmp "out-$f.npy" "stdin-$f.npy"
        run npy_show "out-$f.npy"
        [ "$output" = "uint8 (256, 256, 3)" ]
    done
    "$POOL" -k 2 < a.png > b.out
    [ "$(head -c 4 b.out | od -An -tx1 | tr -d ' ')" = 89504e47 ]   # stdout keeps PNG
    "$POOL" -k 2 < a.jpg > c.out
    [ "$(head -c 2 c.out | od -An -tx1 | tr -d ' ')" = ffd8 ]
    "$POOL" -k 2 < a.ppm > d.out
    [ "$(head -c 2 d.out)" = P6 ]
}

@test "the output format follows the extension or -f" {
    cp "$DATA/camera.png" c.png
    for ext in png jpg jpeg pgm pnm npy raw; do
        "$POOL" -k 2 c.png -o "out.$ext"
    done
    run pixels out.jpg
    [[ "$output" == "JPEG L (256, 256)"* ]]
    run pixels out.pgm
    [[ "$output" == "PPM L (256, 256)"* ]]
    [ "$(stat -c %s out.raw)" -eq 65536 ]
    "$POOL" -k 2 -f jpg c.png > f.out
    [ "$(head -c 2 f.out | od -An -tx1 | tr -d ' ')" = ffd8 ]
}

@test "an image round-trips through .npy with no flags" {
    cp "$DATA/astronaut.png" a.png
    cp "$DATA/logo.png" l.png
    cp "$DATA/camera.png" c.png
    for f in a l c; do
        "$POOL" -k 1 "$f.png" -o "$f.npy"
        "$POOL" -k 1 "$f.npy" -o "$f-back.png"
        [ "$(pixels "$f.png" | cut -d' ' -f2-)" = "$(pixels "$f-back.png" | cut -d' ' -f2-)" ] ||
            [ "$f" = a ]   # astronaut has an ICC profile and stays RGB: compare pixels below
    done
    "$PY" -c 'import numpy as np; from PIL import Image; assert (np.asarray(Image.open("a.png").convert("RGB")) == np.asarray(Image.open("a-back.png"))).all()'
    run npy_show c.npy
    [ "$output" = "uint8 (512, 512)" ]
    run npy_show l.npy
    [ "$output" = "uint8 (500, 500, 4)" ]
}

@test "16-bit PNG stays 16-bit through pooling" {
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray((np.arange(64*64, dtype=np.uint16) * 16).reshape(64, 64), "I;16").save("g16.png")'
    "$POOL" -m avg -k 2 g16.png -o out16.png
    "$POOL" -k 1 out16.png -o out16.npy
    npy_equal out16.npy '(np.floor((np.arange(64*64, dtype=np.float64) * 16).reshape(32, 2, 32, 2).mean(axis=(1, 3)) + 0.5)).astype(np.uint16)'
}

@test "a PNG of over a million rows is written (libpng's default limit is lifted)" {
    { printf 'P5\n2 1500000\n255\n'; head -c 3000000 /dev/urandom; } > tall.pgm
    run "$POOL" -k 1 tall.pgm -o tall.png
    [ "$status" -eq 0 ]
    "$PY" -c 'from PIL import Image; import numpy as np
Image.MAX_IMAGE_PIXELS = None
got = np.asarray(Image.open("tall.png"))
want = np.frombuffer(open("tall.pgm", "rb").read()[-3000000:], np.uint8).reshape(1500000, 2)
assert got.shape == want.shape and (got == want).all()'
}

@test "an ICC profile is kept in PNG and JPEG output" {
    cp "$DATA/astronaut.png" a.png
    "$POOL" -m avg -k 2 a.png -o b.png
    "$PY" -c 'from PIL import Image; assert Image.open("a.png").info["icc_profile"] == Image.open("b.png").info["icc_profile"]'
    "$PY" -c 'from PIL import Image; im = Image.open("a.png"); im.convert("RGB").save("a.jpg", icc_profile=im.info["icc_profile"])'
    "$POOL" -m avg -k 2 a.jpg -o b.jpg
    "$PY" -c 'from PIL import Image; assert Image.open("a.jpg").info["icc_profile"] == Image.open("b.jpg").info["icc_profile"]'
}

@test "--png-level, --quality and --progressive change the output" {
    cp "$DATA/astronaut.png" a.png
    "$POOL" -k 2 --png-level 0 a.png -o l0.png
    "$POOL" -k 2 --png-level 9 a.png -o l9.png
    [ "$(stat -c %s l0.png)" -gt "$(stat -c %s l9.png)" ]
    "$POOL" -k 2 --quality 20 a.png -o q20.jpg
    "$POOL" -k 2 --quality 95 a.png -o q95.jpg
    [ "$(stat -c %s q20.jpg)" -lt "$(stat -c %s q95.jpg)" ]
    "$POOL" -k 2 --progressive a.png -o p.jpg
    "$PY" -c 'from PIL import Image; assert Image.open("p.jpg").info.get("progressive") or Image.open("p.jpg").info.get("progression")'
    run "$POOL" -k 2 --quality 0 a.png -o x.jpg
    [ "$status" -eq 2 ]
    run "$POOL" -k 2 --png-level 10 a.png -o x.png
    [ "$status" -eq 2 ]
}

@test "alpha is premultiplied for averages unless --no-premultiply" {
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.array([[[255,0,0,255],[0,255,0,0]]], np.uint8), "RGBA").save("rg.png")'
    "$POOL" -m avg -k 1x2 rg.png -o pre.npy
    npy_equal pre.npy 'np.array([[[255, 0, 0, 128]]], np.uint8)'
    "$POOL" -m avg -k 1x2 --no-premultiply rg.png -o plain.npy
    npy_equal plain.npy 'np.array([[[128, 128, 0, 128]]], np.uint8)'
}

@test "--linear averages in linear light" {
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.array([[0, 255]], np.uint8)).save("bw.png")'
    "$POOL" -m avg -k 1x2 bw.png -o srgb.npy
    npy_equal srgb.npy 'np.array([[128]], np.uint8)'
    "$POOL" -m avg -k 1x2 --linear bw.png -o lin.npy
    npy_equal lin.npy 'np.array([[188]], np.uint8)'
    mknpy f.npy 'np.zeros((4, 4), np.float32)'
    run "$POOL" -m avg -k 2 --linear f.npy -o x.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"--linear works on 8- and 16-bit images"* ]]
}

@test "a netpbm stream of several images gives several images" {
    "$PY" -c 'import numpy as np; from PIL import Image
import io
out = open("multi.pnm", "wb")
for v in (10, 20, 30):
    b = io.BytesIO(); Image.fromarray(np.full((4, 6), v, np.uint8)).save(b, format="PPM"); out.write(b.getvalue())'
    "$POOL" -m avg -k 2 multi.pnm -o out.pnm
    [ "$(grep -a -o P5 out.pnm | wc -l)" -eq 3 ]
    [ "$(stat -c %s out.pnm)" -eq $(( 3 * (11 + 6) )) ]   # "P5\n3 2\n255\n" + 6 pixels
    run "$POOL" -m avg -k 2 multi.pnm -o out.png
    [ "$status" -eq 1 ]
    [[ "$output" == *"only PNM or TIFF output (or .npy with --stack) can hold more than one"* ]]
    [ ! -e out.png ]
}

@test "tensors that are not images are refused by image writers, saying what to do" {
    mknpy f.npy 'np.zeros((8, 8), np.float32)'
    run "$POOL" -k 2 f.npy -o x.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: x.png: PNG stores 8- or 16-bit unsigned integers, and this tensor is f32: write .npy instead"* ]]
    mknpy five.npy 'np.zeros((8, 8, 5), np.uint8)'
    run "$POOL" --layout hwc -k 2 five.npy -o x.png
    [ "$status" -eq 1 ]
    [[ "$output" == *"1 to 4 channels, and this tensor has 5"* ]]
    mknpy batch.npy 'np.zeros((2, 3, 8, 8), np.uint8)'
    run "$POOL" -k 2 batch.npy -o x.png
    [ "$status" -eq 1 ]
    [[ "$output" == *"layout is nchw: write .npy instead, or give --layout nhwc if its last axis holds the channels" ]]
    mknpy chw.npy 'np.zeros((3, 8, 8), np.uint8)'
    run "$POOL" -k 2 chw.npy -o x.png
    [[ "$output" == *"layout is chw: write .npy instead, or give --layout hwc if its last axis holds the channels" ]]
    mknpy nhwc.npy 'np.zeros((2, 8, 8, 3), np.uint8)'
    run "$POOL" --layout nhwc -k 2 nhwc.npy -o x.png
    [[ "$output" == *"2 batch items"* ]]
    mknpy neg.npy 'np.zeros((8, 8), np.int8)'
    run "$POOL" -k 2 neg.npy -o x.png
    [[ "$output" == *"this tensor is i8"* ]]
    cp "$DATA/logo.png" l.png
    run "$POOL" -k 2 l.png -o x.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: x.jpg: "* ]]
    no_files_but f.npy five.npy batch.npy chw.npy nhwc.npy neg.npy l.png
}

@test "bad images: each fails quickly with pool: FILE: reason and no output" {
    cp "$DATA/camera.png" good.png
    "$PY" - <<'PY'
import struct, zlib
from PIL import Image
data = open("good.png", "rb").read()
open("trunc.png", "wb").write(data[: len(data) // 2])
bad = bytearray(data); i = data.index(b"IDAT") + 40; bad[i] ^= 0xFF
open("crc.png", "wb").write(bytes(bad))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open("huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
Image.open("good.png").save("good.jpg", quality=90)
j = open("good.jpg", "rb").read()
open("trunc.jpg", "wb").write(j[: len(j) // 2])
open("empty.png", "wb").close()
open("text.png", "w").write("this is not a picture\n")
open("maxval0.pgm", "wb").write(b"P5\n2 2\n0\n\0\0\0\0")
PY
    for f in trunc.png crc.png huge.png trunc.jpg empty.png text.png maxval0.pgm; do
        run timeout 10 "$POOL" -m avg -k 2 "$f" -o out.png
        [ "$status" -eq 1 ] || { echo "$f: status $status"; false; }
        [[ "$output" == "pool: $f: "* ]] || { echo "$f: $output"; false; }
        [ ! -e out.png ]
    done
    run "$POOL" -k 2 huge.png -o out.png
    [[ "$output" == *"100000x100000"* ]]
    run "$POOL" -k 2 --max-pixels 1000 good.png -o out.png
    [ "$status" -eq 1 ]
    [[ "$output" == *"over the limit of 1000"* ]]
    run "$POOL" -k 2 --max-pixels 0 good.png -o out.png
    [ "$status" -eq 2 ]
}

@test "images have no leaks under valgrind" {
    [ "${POOL_SANITIZED:-no}" = yes ] && skip "sanitizer build: valgrind cannot run a binary built with a sanitizer (the ASan build checks for leaks)"
    command -v valgrind >/dev/null || skip "no valgrind"
    cp "$DATA/chelsea.png" c.png
    "$PY" -c 'from PIL import Image; im = Image.open("c.png"); im.save("c.jpg"); im.save("c.ppm")'
    head -c 5000 c.png > t.png
    # each run's own status: 0, or 1 for the truncated PNG (valgrind's finding would be 99)
    for run_status in "0 c.png -o o.jpg" "0 c.jpg -o o.png" "0 c.ppm -o o.pnm" "0 --linear c.png -o o2.png" \
                      "1 t.png -o o3.png"; do
        set -- $run_status
        want=$1
        shift
        run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$POOL" -m avg -k 2 "$@"
        [ "$status" -eq "$want" ] || { echo "$*: status $status: $output"; false; }
    done
    [[ "$output" == "pool: t.png: "* ]]
}

@test "a PNM maxval is kept in PNM output and stretched to full range for PNG and JPEG" {
    printf 'P5\n4 2\n100\n' > m.pgm
    printf '\000\144\062\062\144\144\000\000' >> m.pgm
    "$POOL" -m avg -k 2 m.pgm -o half.pgm
    [ "$(head -c 11 half.pgm)" = "$(printf 'P5\n2 1\n100\n')" ]
    [ "$(tail -c 2 half.pgm | od -An -tu1 | tr -s ' ')" = " 75 25" ]
    "$POOL" -m avg -k 2 m.pgm -o half.png
    "$PY" -c 'import numpy as np; from PIL import Image; a = np.asarray(Image.open("half.png")); assert a.tolist() == [[191, 64]], a'
}

@test "--linear rounds an averaged alpha half up, as without it" {
    "$PY" -c 'import numpy as np; from PIL import Image
Image.fromarray(np.array([[[200, 35], [200, 0]], [[200, 76], [200, 119]]], np.uint8), "LA").save("la.png")
Image.fromarray(np.array([[[200, 35], [200, 0], [200, 76], [200, 119]]], np.uint8), "LA").save("row.png")'
    [ "$("$POOL" -q -m avg -k 2 -f txt la.png)" = "200 58" ]
    [ "$("$POOL" -q -m avg -k 2 --linear -f txt la.png)" = "200 58" ]
    [ "$("$POOL" -q -m avg -k 1x4 --linear -f txt row.png)" = "200 58" ]
}
