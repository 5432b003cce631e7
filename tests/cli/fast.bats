#!/usr/bin/env bats
# --fast: a JPEG whose pass 1 averages 2x2, 4x4 or 8x8 blocks is decoded that much smaller
# by libjpeg's DCT scaling instead. Checked against NumPy block means of Pillow's decode
# (the exact result, computed here without pool) and Pillow's own draft() decode (the same
# DCT scaling); everywhere else the exact path runs, byte for byte as without --fast.

load helpers

# The man page's promise: PSNR against the exact result on photographs, in dB.
FAST_MIN_PSNR=40

# jpegs: JPEGs of real photographs and of odd sizes, quality 90 (as a camera would): RGB
# 4:2:0 (odd: 451x300, 37x53), 4:4:4, progressive, gray.
jpegs() {
    need_photos
    "$PY" - "$DATA" <<'PY'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
Image.open(f"{d}/chelsea.png").convert("RGB").save("chelsea.jpg", quality=90)
Image.open(f"{d}/coffee.png").convert("RGB").save("coffee444.jpg", quality=90, subsampling=0)
Image.open(f"{d}/astronaut.png").convert("RGB").save("astronaut.jpg", quality=90, progressive=True)
Image.open(f"{d}/camera.png").convert("L").crop((0, 0, 509, 389)).save("camera.jpg", quality=90)
y, x = np.mgrid[0:37, 0:53]
px = np.stack([128 + 100 * np.sin(x / 5.0 + k) * np.cos(y / 5.0) for k in range(3)], -1)
Image.fromarray(px.astype(np.uint8)).save("odd.jpg", quality=90)
PY
}

# check_fast K FILE...: pool --fast -m avg -k K gives floor(H/K) x floor(W/K), as the exact
# path, within FAST_MIN_PSNR of NumPy's block means of Pillow's decode, and exactly
# Pillow's draft() decode (libjpeg's DCT scaling) cropped to that size.
check_fast() {
    local k=$1 f
    shift
    for f in "$@"; do
        "$POOL" -q --fast -m avg -k "$k" "$f" -o "$f.fast.npy"
    done
    "$PY" - "$k" "$FAST_MIN_PSNR" "$@" <<'PY'
import sys, numpy as np
from PIL import Image
k, least = int(sys.argv[1]), float(sys.argv[2])
for f in sys.argv[3:]:
    got = np.load(f + ".fast.npy")
    im = Image.open(f)
    full = np.asarray(im).astype(np.float64)
    h, w = full.shape[0] // k, full.shape[1] // k
    blocks = full[: h * k, : w * k].reshape(h, k, w, k, *full.shape[2:])
    exact = np.floor(blocks.mean(axis=(1, 3)) + 0.5)
    assert got.shape == exact.shape, (f, k, got.shape, exact.shape)
    mse = np.mean((got - exact) ** 2)
    psnr = 10 * np.log10(255.0 ** 2 / mse) if mse else np.inf
    assert psnr > least, (f, k, psnr)
    im = Image.open(f)
    im.draft(im.mode, (im.size[0] // k, im.size[1] // k))
    draft = np.asarray(im)[:h, :w]
    assert np.array_equal(got, draft), (f, k, int(np.abs(got.astype(int) - draft).max()))
PY
}

@test "--fast keeps the exact path's shape at odd sizes, near its values, as Pillow's draft()" {
    jpegs
    for k in 2 4 8; do
        check_fast "$k" chelsea.jpg coffee444.jpg astronaut.jpg camera.jpg odd.jpg
    done
}

@test "--fast gives the exact path's shape and output formats: JPEG, PNG, PNM, .npy" {
    jpegs
    for f in chelsea.jpg camera.jpg odd.jpg; do
        for ext in jpg png pnm npy; do
            "$POOL" -q -m avg -k 4 "$f" -o "exact.$ext"
            "$POOL" -q --fast -m avg -k 4 "$f" -o "fast.$ext"
        done
        "$PY" - <<'PY'
import numpy as np
from PIL import Image
for ext in ("jpg", "png", "pnm"):
    e, f = Image.open("exact." + ext), Image.open("fast." + ext)
    assert (e.format, e.mode, e.size) == (f.format, f.mode, f.size), (ext, e, f)
assert np.load("exact.npy").shape == np.load("fast.npy").shape
PY
    done
    # -f png on stdout, and a JPEG on stdin
    "$POOL" -q --fast -m avg -k 2 -f png < chelsea.jpg > s.png
    "$PY" -c 'from PIL import Image; im = Image.open("s.png"); assert (im.format, im.size) == ("PNG", (225, 150)), im'
}

@test "later passes pool the decoder's output" {
    jpegs
    "$POOL" -q --fast -P avg:2 -P max:3,s=2 -P avg:2 chelsea.jpg -o out.npy
    "$PY" - <<'PY'
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
im = Image.open("chelsea.jpg")
im.draft("RGB", (225, 150))
t = torch.from_numpy(np.asarray(im)[:150, :225].astype(np.float64)).permute(2, 0, 1)[None]
t = np.floor(F.max_pool2d(t, 3, 2) + 0.5)   # (the max of integers is an integer)
t = np.floor(F.avg_pool2d(t, 2) + 0.5)
want = t[0].permute(1, 2, 0).numpy().astype(np.uint8)
got = np.load("out.npy")
assert got.shape == want.shape and np.array_equal(got, want), (got.shape, want.shape)
PY
}

@test "where --fast cannot apply, the exact path runs, byte for byte and silently" {
    jpegs
    cp "$DATA/coffee.png" coffee.png
    # check_same FILE WHY OPTIONS...: --fast changes nothing and says nothing; --plan says WHY
    check_same() {
        local f=$1 why=$2
        shift 2
        "$POOL" -q "$@" "$f" -o exact.npy
        run "$POOL" -q --fast "$@" "$f" -o fast.npy
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        cmp exact.npy fast.npy
        run "$POOL" --fast --plan "$f" "$@"
        [[ "$output" == *"--fast: every pass exact: $why"* ]] || { echo "$output"; return 1; }
    }
    check_same coffee.png "the input is PNG, and only JPEG's decoder shrinks" -m avg -k 2
    for pass in max:2 avg:3 avg:2,s=1 avg:2,p=1 avg:16 avg:2,div=3 avg,out=100x80 gavg; do
        check_same chelsea.jpg "pass 1 is not an average of 2x2, 4x4 or 8x8 blocks" -P "$pass"
    done
    check_same chelsea.jpg "pass 1 is not an average" -m avg -k 2x4
    check_same chelsea.jpg "pass 1 is not an average" -m avg -k 2 --edge replicate
    check_same chelsea.jpg "pass 1 is not an average" -P max:2 -P avg:2
    check_same chelsea.jpg "pass 1 is not an average" -m avg --size 100x100
    check_same chelsea.jpg "ceil mode keeps a partial last window" -m avg -k 2 --ceil
    check_same chelsea.jpg "--linear averages light" -m avg -k 2 --linear
    # ceil mode where the size divides is floor mode: --fast applies
    "$PY" -c 'from PIL import Image; Image.open("chelsea.jpg").crop((0, 0, 448, 296)).save("even.jpg", quality=90)'
    run "$POOL" --fast --plan even.jpg -m avg -k 8 --ceil
    [[ "$output" == *"--fast: the JPEG decoder does pass 1, decoding at 1/8 (DCT scaling)"* ]]
    # so does the layout images have, given
    run "$POOL" --fast --plan chelsea.jpg -m avg -k 2 --layout hwc
    [[ "$output" == *"decoding at 1/2"* ]]
}

@test "--fast leaves the views and the shift test exact: they need the full image" {
    jpegs
    run "$POOL" --fast --plan chelsea.jpg -m avg -k 2 --shift-test
    [[ "$output" == *"--fast: every pass exact: --shift-test pools the full image shifted"* ]]
    mkdir views
    "$POOL" -q --fast -m avg -k 2 --save-passes views chelsea.jpg -o fast.png
    "$POOL" -q -m avg -k 2 chelsea.jpg -o exact.png
    cmp exact.png fast.png
}

@test "--plan marks the pass the decoder does, for each input" {
    jpegs
    cp "$DATA/coffee.png" coffee.png
    run "$POOL" --fast --plan chelsea.jpg coffee.png odd.jpg -P avg:4 -P max:2
    [ "$status" -eq 0 ]
    # (bats leaves the blank lines between the tables out of lines)
    [ "${lines[0]}" = "chelsea.jpg:" ]
    [[ "${lines[3]}" == "1     avg     112x75 "*"99.3%  (decoder)" ]]
    [[ "${lines[4]}" == "2     max     56x37 "*"98.7%" ]]
    [ "${lines[5]}" = "--fast: the JPEG decoder does pass 1, decoding at 1/4 (DCT scaling)" ]
    [ "${lines[6]}" = "coffee.png:" ]
    [[ "${lines[9]}" == "1     avg     150x100 "*"100.0%" ]]
    [ "${lines[11]}" = "--fast: every pass exact: the input is PNG, and only JPEG's decoder shrinks" ]
    [ "${lines[12]}" = "odd.jpg:" ]
    [[ "${lines[16]}" == "2     max     6x4 "* ]]
    [ "${lines[17]}" = "--fast: the JPEG decoder does pass 1, decoding at 1/4 (DCT scaling)" ]
    # without --fast, no word of it
    run "$POOL" --plan chelsea.jpg -m avg -k 2
    [[ "$output" != *"fast"* && "$output" != *"decoder"* ]]
}

@test "in a batch of mixed files each JPEG takes the fast path and each PNG the exact one" {
    jpegs
    mkdir in
    cp chelsea.jpg odd.jpg camera.jpg in/
    cp "$DATA/coffee.png" in/coffee.png
    "$POOL" -q -m avg -k 2 -R in -O exact -j 2
    "$POOL" -q --fast -m avg -k 2 -R in -O fast -j 2
    cmp exact/coffee.png fast/coffee.png
    "$POOL" -q --fast -m avg -k 2 -R in -O fast1 -j 1 -f npy
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
for n, size in (("chelsea.jpg", (225, 150)), ("odd.jpg", (26, 18)), ("camera.jpg", (254, 194))):
    e, f = Image.open("exact/" + n), Image.open("fast/" + n)
    assert e.size == f.size == size and e.mode == f.mode, (n, e, f)
    im = Image.open("in/" + n)
    im.draft(im.mode, (size[0], size[1]))
    assert np.array_equal(np.load("fast1/" + n.replace(".jpg", ".npy")), np.asarray(im)[: size[1], : size[0]]), n
PY
}

@test "--stats says the decoder did pass 1: its shapes and coverage, no figures" {
    jpegs
    "$POOL" -q --fast -P avg:2 -P max:2 --stats=s.jsonl chelsea.jpg -o /dev/null -f png
    "$PY" - <<'PY'
import json
one, two = [json.loads(l) for l in open("s.jsonl")]
assert one["pass"] == 1 and one["decoder"] == "jpeg" and one["spec"] == "avg:2,s=2", one
assert one["in_shape"] == [300, 451, 3] and one["out_shape"] == [150, 225, 3], one
assert one["coverage"] > 0.99 and one["min"] == [] and one["psnr"] is None and one["seconds"] is None, one
assert two["pass"] == 2 and "decoder" not in two and two["in_shape"] == [150, 225, 3], two
assert two["psnr"] > 10 and two["stack_psnr"] is None and two["seconds"] >= 0, two
PY
    run "$POOL" -q --fast -m avg -k 2 --stats-format text chelsea.jpg -o /dev/null -f png
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" == "1    avg:2,s=2"*"451x300 u8"*"225x150 u8"*"done by the jpeg decoder (--fast)" ]]
    # without --fast the records are as they were: no decoder key
    "$POOL" -q -m avg -k 2 --stats=e.jsonl chelsea.jpg -o /dev/null -f png
    ! grep -q decoder e.jsonl
}

@test "EXIF-turned JPEGs: --fast where the sizes are whole blocks, exact where the windows start at the far end" {
    need_photos
    "$PY" - "$DATA" <<'PY'
import sys
from PIL import Image
up = Image.open(f"{sys.argv[1]}/chelsea.png").convert("RGB")
for name, size in (("whole", (448, 296)), ("odd", (451, 299))):
    for tag, method in ((3, Image.ROTATE_180), (6, Image.ROTATE_90)):
        ex = Image.Exif()
        ex[0x0112] = tag
        up.crop((0, 0) + size).transpose(method).save(f"{name}{tag}.jpg", exif=ex.tobytes(), quality=90)
PY
    for tag in 3 6; do
        run "$POOL" --fast --plan "whole$tag.jpg" -m avg -k 4
        [[ "$output" == *"decoding at 1/4"* ]]
        "$POOL" -q --fast -m avg -k 4 "whole$tag.jpg" -o "whole$tag.npy"
        run "$POOL" --fast --plan "odd$tag.jpg" -m avg -k 4
        [[ "$output" == *"--fast: every pass exact: the EXIF orientation lays pass 1's windows from the far end"* ]]
        "$POOL" -q --fast -m avg -k 4 "odd$tag.jpg" -o "fast$tag.png"
        "$POOL" -q -m avg -k 4 "odd$tag.jpg" -o "exact$tag.png"
        cmp "exact$tag.png" "fast$tag.png"
    done
    "$PY" - <<'PY'
import numpy as np
from PIL import Image, ImageOps
for tag in (3, 6):
    im = Image.open(f"whole{tag}.jpg")
    im.draft("RGB", (im.size[0] // 4, im.size[1] // 4))
    want = np.asarray(ImageOps.exif_transpose(im))
    got = np.load(f"whole{tag}.npy")
    assert got.shape == want.shape == (74, 112, 3) and np.array_equal(got, want), (tag, got.shape, want.shape)
PY
}

@test "--fast is as strict with a truncated or corrupt JPEG, and as --lenient" {
    jpegs
    head -c 20000 chelsea.jpg > cut.jpg
    run "$POOL" -m avg -k 2 --fast cut.jpg -o out.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: cut.jpg: truncated JPEG data"*"--lenient decodes it as far as it goes" ]]
    [ ! -e out.png ]
    run "$POOL" -m avg -k 2 --fast --lenient cut.jpg -o out.png
    [ "$status" -eq 0 ]
    [[ "$output" == *"decoded as far as it goes (--lenient)"* ]]
    # data cut in the last block row, which --fast decodes and drops (odd.jpg is 37 high:
    # 4 rows at 1/8 and a partial fifth)
    size=$(stat -c %s odd.jpg)
    head -c $((size - 60)) odd.jpg > end.jpg
    run "$POOL" -m avg -k 8 --fast end.jpg -o out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: end.jpg: truncated JPEG data (after the last row); --lenient decodes it as far as it goes" ]
    head -c $((size - 400)) odd.jpg > end.jpg
    run "$POOL" -m avg -k 8 --fast end.jpg -o out.png
    [ "$output" = "pool: end.jpg: truncated JPEG data (row 3 of 4); --lenient decodes it as far as it goes" ]
}
