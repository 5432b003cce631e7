#!/usr/bin/env bats
# Allocation failures. tests/alloc/pool-failalloc is pool built from its own objects with
# the n-th allocation made to fail on demand (tests/alloc/failalloc.c says which calls
# count: malloc, calloc, realloc, strdup, realpath, getdelim, open_memstream and
# pthread_create as our code calls them, libpng's and libexif's allocations through
# pool's hooks; not what libjpeg, libtiff, zlib outside libpng and libc allocate inside
# themselves). For each run below, a clean run counts its allocations N; then for every n
# in 1..N the n-th fails, and the run must
#   - end with status 0 and outputs byte for byte the clean run's, or fail with status 1
#     and one line "pool: [SUBJECT: ]out of memory[ for ...]" saying so;
#   - not crash, and say nothing on stderr but "pool: " lines (no sanitizer or valgrind
#     report: under the ASan build every n is also a leak check);
#   - leave no partial output: each file under its real name is the clean run's, and no
#     temp file remains;
#   - in a batch, fail the input whose work it was, and only it: the others written, the
#     summary's counts those of the files and messages there are.
# Under valgrind (the plain build), a sample of n: five spread over 1..N, the last two. The runs
# and checks are tests/alloc/each-fails.sh.

load helpers

FAILALLOC=${POOL_FAILALLOC:-$BATS_TEST_DIRNAME/../../build/tests/alloc/pool-failalloc}
export FAILALLOC

# each_allocation_fails ARGS...: tests/alloc/each-fails.sh, the number of allocations
# shown in the TAP output.
each_allocation_fails() {
    run bash "$BATS_TEST_DIRNAME/../alloc/each-fails.sh" "$@"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "# ${lines[-1]}: pool $*" >&3
}

setup() {
    TMP=$(mktemp -d)
    cd "$TMP" || return 1
    [ -x "$FAILALLOC" ] || skip "no $FAILALLOC: run through make check"
    # A 40x30 RGB photo-like image (smooth, with some texture) stored sideways (EXIF
    # orientation 6) with an sRGB ICC profile: PNG, JPEG and PPM; a float tensor; a tree
    # of them with a truncated PNG.
    "$PY" - <<'PY'
import os, numpy as np
from PIL import Image, ImageCms
y, x = np.mgrid[0:30, 0:40]
rng = np.random.default_rng(7)
rgb = np.stack([4 * x + 2 * y, 200 - 3 * y + x, 120 + 60 * np.sin(x / 5.0) * np.cos(y / 4.0)], -1)
a = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
ex = Image.Exif()
ex[0x0112] = 6
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
im = Image.fromarray(a)
im.save("p.png", exif=ex.tobytes(), icc_profile=icc)
im.save("j.jpg", exif=ex.tobytes(), icc_profile=icc, quality=90)
im.save("n.ppm")
np.save("t.npy", rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
os.makedirs("tree/sub")
im.save("tree/p.png", exif=ex.tobytes(), icc_profile=icc)
im.save("tree/sub/j.jpg", exif=ex.tobytes(), icc_profile=icc, quality=90)
np.save("tree/sub/t.npy", rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
with open("tree/p.png", "rb") as f:
    open("tree/bad.png", "wb").write(f.read()[:500])
with open("list", "w") as f:
    f.write("%s/tree/p.png\n%s/tree/sub/t.npy\n" % (os.getcwd(), os.getcwd()))
PY
}

@test "every allocation fails in turn: a PNG photo, EXIF-sideways with a profile, 2x2 averages" {
    each_allocation_fails -m avg -k 2 ../p.png -o out.png
}

@test "every allocation fails in turn: a JPEG photo" {
    each_allocation_fails -m avg -k 2 ../j.jpg -o out.jpg
}

@test "every allocation fails in turn: a JPEG through --fast, its partial blocks dropped" {
    each_allocation_fails --fast --no-auto-orient -P avg:4 -P max:2 --stats=s.jsonl ../j.jpg \
        -o out.jpg
}

@test "every allocation fails in turn: TIFF pages with a profile in, a multi-page TIFF out" {
    "$POOL" --version | grep -q 'tiff (libtiff)' || skip "built without TIFF (configure --without-tiff)"
    "$PY" -c 'from PIL import Image; im = Image.open("p.png"); im.save("t.tif", compression="tiff_lzw", icc_profile=im.info["icc_profile"])'
    tiffcp t.tif t.tif pages.tif
    each_allocation_fails -m avg -k 2 ../pages.tif -o out.tif
}

@test "every allocation fails in turn: a PPM" {
    each_allocation_fails -m max -k 2 ../n.ppm -o out.ppm
}

@test "every allocation fails in turn: an npy through two passes" {
    each_allocation_fails -P max:3,s=2,p=1 -P avg:2 ../t.npy -o out.npy
}

@test "every allocation fails in turn: --stats=FILE" {
    each_allocation_fails -m avg -k 2 --stats=s.jsonl ../n.ppm -o out.ppm
}

@test "every allocation fails in turn: stats, shift test, saved passes, a contact sheet" {
    each_allocation_fails -P max:3,s=2,p=1 -P avg:2 --stats=s.jsonl --shift-test \
        --save-passes saved --contact-sheet sheet.png ../p.png -o out.png
}

@test "every allocation fails in turn: a two-worker batch with a bad file" {
    each_allocation_fails -m avg -k 2 -R ../tree -O out -j 2
}

@test "every allocation fails in turn: --files-from" {
    each_allocation_fails -k 2 --files-from ../list -O out
}
