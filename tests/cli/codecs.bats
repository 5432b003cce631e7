#!/usr/bin/env bats
# What every build of pool must do whatever codecs it has (configure --without-tiff,
# --without-webp): conversions decided by what a format stores (codec.c's table), format
# options refused for other formats, and a file in a format left out refused naming its
# library.

load helpers

# built FORMAT: whether this pool has the codec ("tiff (libtiff)" in pool --version).
built() {
    "$POOL" --version | grep -q "[ ,]$1 (lib$1)"
}

@test "a 16-bit image to JPEG becomes 8-bit as --depth 8 would: round(v*255/65535), half up" {
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
v = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21 % 65536).astype(np.uint16)
Image.fromarray(v).save("g16.png")
PY
    run "$POOL" -m max -k 2 g16.png -o out.jpg --quality 100
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
v = np.asarray(Image.open("g16.png")).astype(np.int64)
pooled = v.reshape(24, 2, 32, 2).max(axis=(1, 3))
want = (pooled * 255 * 2 + 65535) // (65535 * 2)   # v*255/65535 rounded half up
got = np.asarray(Image.open("out.jpg")).astype(np.int64)
assert got.shape == want.shape, got.shape
# JPEG at quality 100 is near-lossless on this smooth ramp: the 8-bit values came through
assert np.abs(got - want).max() <= 3, np.abs(got - want).max()
PY
    # PNM and PNG hold 16 bits: no conversion there
    "$POOL" -m max -k 2 g16.png -o out.png
    "$PY" -c 'from PIL import Image; import numpy as np; a = np.asarray(Image.open("out.png")); assert a.dtype == np.uint16 or Image.open("out.png").mode.startswith("I"), a.dtype'
}

@test "a float tensor to an 8-bit image format is refused with what to do" {
    mknpy f.npy 'np.zeros((8, 8), np.float32)'
    run "$POOL" -k 2 f.npy -o x.jpg
    [ "$status" -eq 1 ]
    [ "$output" = "pool: x.jpg: JPEG stores 8-bit unsigned integers, and this tensor is f32: write .npy instead, or give --output-dtype u8" ]
    [ ! -e x.jpg ]
}

@test "--compression is TIFF's and --lossless WebP's: refused for other outputs, before reading" {
    mknpy a.npy 'np.zeros((1, 1, 4, 4), np.float32)'
    run "$POOL" -k 2 --compression lzw a.npy -o x.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: x.npy: --compression chooses TIFF's: give -o FILE.tif or -f tiff" ]
    run "$POOL" -k 2 --lossless a.npy -o x.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: x.png: --lossless asks for lossless WebP (PNG, TIFF and PNM are always lossless): give -o FILE.webp or -f webp" ]
    run "$POOL" -k 2 --compression lz77 a.npy -o x.tif
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --compression lz77: give deflate, lzw, packbits or none" ]
    [ ! -e x.npy ] && [ ! -e x.png ] && [ ! -e x.tif ]
}

@test "an output name without a known extension lists the extensions this build knows" {
    mknpy a.npy 'np.zeros((4, 4), np.float32)'
    run "$POOL" -k 2 a.npy -o out.gif
    [ "$status" -eq 2 ]
    [ "$output" = "pool: out.gif: cannot tell the output format from the file name: use an extension (.npy .raw .png .jpg .pnm .tif .webp .txt .csv) or -f" ]
}

@test "a TIFF or WebP file in a build without its codec is refused naming the library; with it, read" {
    # the smallest TIFF and WebP files Pillow writes, 4x4 gray and RGB
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16).save("g.tif")
Image.fromarray(np.full((4, 4, 3), 200, np.uint8)).save("c.webp", lossless=True)
PY
    for f in tiff:g.tif webp:c.webp; do
        codec=${f%%:*} file=${f#*:}
        run "$POOL" -m max -k 2 "$file" -o out.npy
        if built "$codec"; then
            [ "$status" -eq 0 ]
            [ -s out.npy ]
        else
            label=$([ "$codec" = tiff ] && echo TIFF || echo WebP)
            [ "$status" -eq 1 ]
            [ "$output" = "pool: $file: a $label file, and this pool was built without $label support: it needs lib$codec (Debian: lib$codec-dev; then build again)" ]
            mknpy src.npy 'np.zeros((4, 4), np.uint8)'
            run "$POOL" -m max -k 2 src.npy -o "x.$codec"
            [ "$status" -ne 0 ]
            [[ "$output" == *"writing $label needs lib$codec, which this pool was built without (Debian: lib$codec-dev; then build again)" ]]
            [ ! -e "x.$codec" ]
        fi
        rm -f out.npy
    done
}

@test "a label mode written to a lossy format is warned of: its class ids would not survive" {
    "$PY" -c '
import numpy as np
from PIL import Image
Image.fromarray((np.arange(64 * 64) % 5).reshape(64, 64).astype(np.uint8)).save("lab.png")'
    run "$POOL" -m mode -k 2 lab.png -o l.jpg
    [ "$status" -eq 0 ]
    [ "$output" = "pool: lab.png: warning: JPEG is lossy, and changes the values a label mode kept (class ids do not survive): write PNG or TIFF" ]
    # the values did change: JPEG's decode is not the mode's (NumPy's, on 2x2 blocks of 5 ids)
    "$PY" -c '
import numpy as np
from PIL import Image
a = np.asarray(Image.open("lab.png")).reshape(32, 2, 32, 2).transpose(0, 2, 1, 3).reshape(32, 32, 4)
want = np.array([[np.bincount(w, minlength=5).argmax() for w in row] for row in a])
assert (np.asarray(Image.open("l.jpg")) != want).any()'
    run "$POOL" -m max -k 2 lab.png -o m.jpg   # not a label mode: no warning
    [ -z "$output" ]
    if built webp; then
        run "$POOL" -m mode -k 2 lab.png -o l.webp
        [ "$output" = "pool: lab.png: warning: WebP is lossy, and changes the values a label mode kept (class ids do not survive): write PNG or TIFF, or give --lossless" ]
        run "$POOL" -m mode -k 2 --lossless lab.png -o l.webp
        [ "$status" -eq 0 ] && [ -z "$output" ]
    fi
}

@test "several inputs into one TIFF on standard output are refused before anything is written" {
    built tiff || skip "built without TIFF (configure --without-tiff)"
    mknpy a.npy 'np.zeros((4, 4), np.uint8)'
    run bash -c '"$POOL" -k 2 a.npy a.npy -f tiff | cat > out.tif'
    [ "$status" -eq 0 ]   # cat's
    [ "$output" = "pool: <stdout>: several inputs make a multi-page TIFF, which libtiff seeks in as it writes, and standard output holds one page: give -o FILE.tif" ]
    [ ! -s out.tif ]
    run "$POOL" -k 2 a.npy a.npy -o pages.tif
    [ "$status" -eq 0 ]
    [ "$(tiffinfo pages.tif 2>/dev/null | grep -c 'TIFF Directory')" -eq 2 ]
}
