#!/usr/bin/env bats
# Resource limits for files from strangers (issue 12): the memory budget (--max-memory),
# the progressive-scan limit (--max-scans), JPEG warnings by kind and --lenient, an animated
# PNG's dropped frames. The malformed corpus (bad.bats) holds the small files; these tests
# stream the large ones.

load helpers

BAD=$BATS_TEST_DIRNAME/../data/bad

# under_memory KB CMD...: CMD with its address space capped, so that an allocation the
# budget should have refused fails instead (not under a sanitizer, which reserves terabytes
# of shadow memory: there the message alone is checked).
under_memory() {
    local kb=$1
    shift
    if [ "${POOL_SANITIZED:-no}" = yes ]; then
        "$@"
    else
        (ulimit -v "$kb" && "$@")
    fi
}

@test "limits: --max-memory takes sizes in binary units and refuses junk as a usage error" {
    mknpy a.npy 'np.ones((4, 4), np.float32)'
    for size in 1G 512M 4096K 1GiB 2gb 1048576; do
        run "$POOL" --max-memory "$size" -k 2 a.npy -o "b$size.npy"
        [ "$status" -eq 0 ]
    done
    for size in 1.5G -1G 1K 12Q '' G; do
        run "$POOL" --max-memory "$size" -k 2 a.npy -o c.npy
        [ "$status" -eq 2 ]
        [[ "$output" == "pool: --max-memory $size: bad size '$size'"* ]]
    done
    [ ! -e c.npy ]
    "$POOL" --help | grep -q -- '--max-memory SIZE'
}

@test "limits: a row so wide its windows exceed the budget is refused before allocating, streamed or not" {
    # 300 million RGB pixels a row, 900 MB: the row itself fits in the 1 GiB budget (read
    # without read-ahead), the table of 150 million output windows does not
    run under_memory 2500000 bash -c 'printf "P6\n300000000 3\n255\n" | "$0" -m avg -k 2 - -o out.png' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: pass 1 (avg): its table of windows needs 4.5 GiB, which with the 858.3 MiB taken before is more than the memory budget of 1 GiB (--max-memory)" ]]
    [ ! -e out.png ]
    # a smaller budget stops it at the row; a larger one lets it through to the missing data
    run bash -c 'printf "P6\n300000000 3\n255\n" | "$0" --max-memory 512M -k 2 - -o out.png' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: the input rows read at once need 858.3 MiB, more than the memory budget of 512 MiB (--max-memory)" ]]
    run bash -c 'printf "P5\n30000000 3\n255\n" | "$0" --max-memory 8G -m max -k 2 - -o out.png' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: truncated PNM data"* ]]
    [ -z "$(ls -A)" ]
}

@test "limits: statistics are weighed too; the warning's estimate is left out where it does not fit" {
    # 40 million pixels a row: its meters would need gigabytes
    run under_memory 2500000 bash -c 'printf "P6\n40000000 2\n255\n" | "$0" --stats=s.jsonl -m avg -k 2 - -o out.pnm' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: pass 1 (avg): its statistics (--stats) need "*" GiB, which with the "*" taken before is more than the memory budget of 1 GiB (--max-memory)" ]]
    run under_memory 2500000 bash -c 'printf "P6\n40000000 2\n255\n" | "$0" -m avg -k 2 - -o out.pnm' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated PNM data (row 1 of 2)" ]
    # what a reader holds whole counts with the rest
    mknpy f.npy 'np.asfortranarray(np.zeros((76, 1000000), np.uint8))'
    run "$POOL" --max-memory 80M -m avg -k 2 f.npy -o g.npy
    [ "$status" -eq 1 ]
    # (the input rows fit: their batches shrink to what the array leaves of the budget)
    [ "$output" = "pool: f.npy: pass 1 (avg): its table of windows needs 15.3 MiB, which with the 73.4 MiB taken before is more than the memory budget of 80 MiB (--max-memory)" ]
    [ -z "$(ls -A | grep -v -x f.npy)" ]
}

@test "limits: a 1-gigapixel photo streams through within the budget" {
    # 32768x32768 gray from a pipe, 1 GiB of samples: pooled 8x8 to 4096x4096, each output
    # the mean of its block (the rows are all 7, then all 9 from row 16384)
    run under_memory 400000 bash -c '{ printf "P5\n32768 32768\n255\n"; head -c $((32768 * 16384)) /dev/zero | tr "\0" "\7"; head -c $((32768 * 16384)) /dev/zero | tr "\0" "\11"; } | "$0" -m avg -k 8 - -o giga.pgm' "$POOL"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
a = np.asarray(Image.open("giga.pgm"))
assert a.shape == (4096, 4096), a.shape
assert (a[:2048] == 7).all() and (a[2048:] == 9).all()
PY
}

@test "limits: a Fortran-order .npy and a progressive JPEG are held whole, within the budget" {
    # each refused by a budget below its size (bad.bats: the default one; an interlaced PNG
    # too), each pooled when the budget allows it
    mknpy f.npy 'np.asfortranarray(np.arange(512 * 1024, dtype=np.float64).reshape(512, 1024))'
    run "$POOL" --max-memory 1M -m max -k 2 f.npy -o g.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: f.npy: a Fortran-order array, read whole, needs 4 MiB, more than the memory budget of 1 MiB (--max-memory)" ]
    run "$POOL" --max-memory 5M -m max -k 2 f.npy -o g.npy
    [ "$status" -eq 0 ]
    npy_equal g.npy 'np.arange(512 * 1024, dtype=np.float64).reshape(256, 2, 512, 2).max(axis=(1, 3))'
    need_photos
    "$PY" -c '
from PIL import Image
im = Image.open("'"$DATA"'/astronaut.png").resize((1024, 1024))
im.save("p.jpg", progressive=True, quality=90)'
    run "$POOL" --max-memory 1M -k 2 p.jpg -o q.png
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: p.jpg: a progressive JPEG, held whole as DCT coefficients, needs 3."*" MiB, more than the memory budget of 1 MiB (--max-memory)" ]]
    run "$POOL" --max-memory 8M -k 2 p.jpg -o q.png
    [ "$status" -eq 0 ]
    [ -z "$(ls -A | grep -v -x -e f.npy -e g.npy -e p.jpg -e q.png)" ]
}

@test "limits: a JPEG of more scans than --max-scans is refused at once; more allowed, it decodes as Pillow does" {
    cp "$BAD/jpg-many-scans.jpg" s.jpg
    run timeout 5 "$POOL" -k 2 s.jpg -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: s.jpg: more than 100 scans (--max-scans): refused"* ]]
    run "$POOL" --max-scans 127 -k 2 s.jpg -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"more than 127 scans"* ]]
    run "$POOL" --max-scans 128 -m avg -k 1 s.jpg -o out.npy
    [ "$status" -eq 0 ]
    "$PY" -c '
import numpy as np
from PIL import Image
assert (np.load("out.npy") == np.asarray(Image.open("s.jpg"))).all()'
    run "$POOL" --max-scans 0 -k 2 s.jpg -o x.npy
    [ "$status" -eq 2 ]
}

@test "limits: stray bytes between JPEG markers are a warning, the pixels Pillow's; --quiet silences it" {
    need_photos
    "$PY" - <<'PY'
import io
from PIL import Image
b = io.BytesIO()
Image.open(__import__("os").environ["DATA"] + "/chelsea.png").save(b, "JPEG", quality=90)
d = b.getvalue()
sos = d.index(b"\xff\xda")
open("stray.jpg", "wb").write(d[:sos] + b"\x00\x11\x22\x33" + d[sos:])
PY
    run "$POOL" -m avg -k 1 stray.jpg -o out.npy
    [ "$status" -eq 0 ]
    [ "$output" = 'pool: stray.jpg: warning: JPEG: libjpeg says "Corrupt JPEG data: 4 extraneous bytes before marker 0xda": stray bytes between markers, skipped; the pixels are intact' ]
    "$PY" -c '
import numpy as np
from PIL import Image
assert (np.load("out.npy") == np.asarray(Image.open("stray.jpg"))).all()'
    run "$POOL" -q -m avg -k 2 stray.jpg -o out2.png
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "limits: a truncated JPEG is an error; --lenient decodes what is there, with a warning" {
    need_photos
    "$PY" - <<'PY'
import os
from PIL import Image
Image.open(os.environ["DATA"] + "/astronaut.png").save("whole.jpg", quality=90)
for name, progressive in (("base", False), ("prog", True)):
    Image.open(os.environ["DATA"] + "/astronaut.png").save(name + ".jpg", quality=90,
                                                          progressive=progressive)
    d = open(name + ".jpg", "rb").read()
    open(name + "-cut.jpg", "wb").write(d[:len(d) * 3 // 5])
PY
    for f in base-cut prog-cut; do
        run "$POOL" -k 2 "$f.jpg" -o "$f.png"
        [ "$status" -eq 1 ]
        [[ "$output" == "pool: $f.jpg: truncated JPEG data"*"; --lenient decodes it as far as it goes" ]]
        [ ! -e "$f.png" ]
        run "$POOL" --lenient -m avg -k 1 "$f.jpg" -o "$f.npy"
        [ "$status" -eq 0 ]
        [[ "$output" == "pool: $f.jpg: warning: libjpeg says \"Premature end of JPEG file\" ("*"): decoded as far as it goes (--lenient)"* ]]
    done
    # what libjpeg makes of it, as Pillow does with LOAD_TRUNCATED_IMAGES; the baseline's
    # first rows are the whole file's
    "$PY" - <<'PY'
import numpy as np
from PIL import Image, ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = True
whole = np.asarray(Image.open("whole.jpg"))
for name in ("base-cut", "prog-cut"):
    got, want = np.load(name + ".npy"), np.asarray(Image.open(name + ".jpg"))
    assert got.shape == want.shape == whole.shape, (name, got.shape)
    assert (got == want).all(), name
assert (np.load("base-cut.npy")[:200] == whole[:200]).all()
PY
    # a cut header is never taken
    head -c 300 whole.jpg > head.jpg
    run "$POOL" --lenient -k 2 head.jpg -o head.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: head.jpg: truncated JPEG header" ]
}

@test "limits: in a batch, each kind of decoder warning is said once for all inputs" {
    mkdir in
    cp "$BAD/jpg-extraneous-bytes.jpg" in/a.jpg
    cp "$BAD/jpg-extraneous-bytes.jpg" in/b.jpg
    cp "$BAD/png-animated.png" in/c.png
    run "$POOL" -m avg -k 2 -R in -O out
    [ "$status" -eq 0 ]
    [[ "$output" == *"pool: 2 of 3 inputs: warning: JPEG: stray bytes between markers, skipped; the pixels are intact; in/a.jpg among them"* ]]
    [[ "$output" == *"pool: in/c.png: warning: an animated PNG (acTL: 2 frames): its default image is pooled, the animation left out"* ]]
    [ "$(ls out)" = "$(printf 'a.jpg\nb.jpg\nc.png')" ]
}

@test "limits: the shift test's copies and pool unpool's rows are weighed too" {
    # a million pixels a row under a 128M budget: the passes and their statistics fit,
    # the shift test's copies do not
    for opts in "" "--stats=s.jsonl"; do
        run bash -c 'printf "P5\n1000000 2\n255\n" | "$0" --max-memory 128M --warn-psnr 0 $1 -m avg -k 2 - -o out.pgm' "$POOL" "$opts"
        [ "$status" -eq 1 ]
        [ "$output" = "pool: <stdin>: truncated PNM data (row 1 of 2)" ]
    done
    run bash -c 'printf "P5\n1000000 2\n255\n" | "$0" --max-memory 128M --warn-psnr 0 --shift-test --stats=s.jsonl -m avg -k 2 - -o out.pgm' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: the shift test's copy of pass 1: "*"more than the memory budget of 128 MiB (--max-memory)" ]]
    # unpool: headers declaring 100 million values a row, from pipes
    "$PY" - <<'PY'
import struct
def header(descr):
    h = ("{'descr': '%s', 'fortran_order': False, 'shape': (1, 1, 1, 100000000), }" % descr).encode()
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h
open("v.npy", "wb").write(header("<f4"))
open("i.npy", "wb").write(header("<i8"))
PY
    run under_memory 1000000 bash -c '"$0" unpool --indices <(cat i.npy) -k 1x2 <(cat v.npy) -o u.npy' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: /dev/fd/"*": a row of the values and indices and a band of the output need 1.9 GiB, more than the memory budget of 1 GiB (--max-memory)" ]]
    run bash -c '"$0" unpool --max-memory 4G --indices <(cat i.npy) -k 1x2 <(cat v.npy) -o u.npy' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == *"truncated data: expected 400000000 bytes of array data, got 0" ]]
    [ ! -e u.npy ]
}
