#!/usr/bin/env bats
# No leaks or memory errors under valgrind, on success and on the error paths.
# (The sanitizer build is checked by ASan instead: the two do not mix.)

load helpers


# JSIMD_FORCENONE: libjpeg-turbo's SIMD decoder computes whole vectors over its rows'
# uninitialised padding and discards those lanes, which valgrind cannot follow: on JPEGs
# whose width is not a multiple of the vectors it reports the decoded pixels as undefined
# (a 21x30 JPEG pooled with -k 3 does; the pixels equal Pillow's). Its C code paths are
# exact and valgrind follows them.
vg() {
    JSIMD_FORCENONE=1 valgrind -q --leak-check=full --show-leak-kinds=all \
        --errors-for-leak-kinds=all --error-exitcode=99 "$POOL" "$@"
}

# vg_dying: for a run that a signal ends, its threads still running: memory errors only, as
# valgrind would count the stacks of those threads as possibly lost.
vg_dying() {
    JSIMD_FORCENONE=1 valgrind -q --leak-check=no --error-exitcode=99 "$POOL" "$@"
}

skip_unless_valgrind() {
    [ "${POOL_SANITIZED:-no}" = yes ] && skip "sanitizer build: valgrind cannot run a binary built with a sanitizer (the ASan build checks for leaks)"
    command -v valgrind >/dev/null || skip "no valgrind"
}

@test "valgrind: pooling passes of every kind, npy and raw" {
    skip_unless_valgrind
    mknpy a.npy 'np.arange(2*3*9*10, dtype=np.float32).reshape(2, 3, 9, 10)'
    run vg -P max:3,s=2,p=1,d=1 -P avg:2,ceil,cip -P lp:1,norm=3 -P gavg a.npy -o b.npy
    [ "$status" -eq 0 ]
    run vg -m avg --output-size 4x3 -f raw a.npy -o b.raw
    [ "$status" -eq 0 ]
    mknpy c.npy 'np.asfortranarray(np.arange(5*6*7, dtype=">i2").reshape(5, 6, 7))'
    run vg --layout dhw -m min -k 2 -d 2 c.npy -o d.npy
    [ "$status" -eq 0 ]
}

@test "valgrind: error paths free everything" {
    skip_unless_valgrind
    mknpy a.npy 'np.zeros((4, 4), np.float32)'
    head -c 100 a.npy > cut.npy
    run vg -k 2 cut.npy -o out.npy
    [ "$status" -eq 1 ]
    run vg -k 9 a.npy -o out.npy
    [ "$status" -eq 1 ]
    run vg -k 0 a.npy
    [ "$status" -eq 2 ]
    run vg -k 2 a.npy -o no/dir/out.npy
    [ "$status" -eq 1 ]
    run vg --shape 3x3 -k 2 a.npy -o out.npy
    [ "$status" -eq 1 ]
}

@test "valgrind: stats, shift test, saved passes and a contact sheet, and their failures" {
    skip_unless_valgrind
    mknpy a.npy 'np.arange(3*9*10, dtype=np.uint8).reshape(9, 10, 3)'
    run vg -P max:3,s=2,p=1 -P avg:2 --stats=s.jsonl --shift-test --save-passes saved \
        --contact-sheet sheet.png --linear a.npy -o b.npy
    [ "$status" -eq 0 ]
    [ -s sheet.png ] && [ -s saved/a.pass2.npy ] && [ -s s.jsonl ]
    mknpy v.npy 'np.arange(2*5*6*7, dtype=np.float32).reshape(1, 2, 5, 6, 7)'
    run vg -P avg:2 --stats --stats-format=text --shift-test v.npy -o w.npy
    [ "$status" -eq 0 ]
    run vg -k 2 --stats --save-passes saved --contact-sheet /nonexistent/s.png a.npy -o c.npy
    [ "$status" -eq 1 ]
    run vg -k 2 --contact-sheet s.png v.npy -o c.npy
    [ "$status" -eq 1 ]
}

@test "valgrind: a contact sheet scaled, cropped, turned upright, and a crop past the image" {
    skip_unless_valgrind
    "$PY" -c 'import numpy as np; from PIL import Image
ex = Image.Exif(); ex[0x0112] = 6
Image.fromarray(np.arange(9 * 10 * 3, dtype=np.uint8).reshape(9, 10, 3)).save("t.png", exif=ex.tobytes())'
    run vg -P max:3,s=2,p=1 -P avg:2 --sheet-height 7 --contact-sheet a.png t.png -o a.npy
    [ "$status" -eq 0 ]
    run vg -P avg:2 --sheet-crop 4x3+1+2 --sheet-height 13 --contact-sheet b.png t.png -o b.npy
    [ "$status" -eq 0 ]
    [ -s a.png ] && [ -s b.png ]
    run vg -k 2 --save-passes s --sheet-crop 10x3 --contact-sheet c.png t.png -o c.npy
    [ "$status" -eq 1 ]
}

@test "valgrind: a batch with a bad file, a skip, a collision and a symbolic link loop" {
    skip_unless_valgrind
    mkdir -p in/a
    mknpy in/x.npy 'np.arange(64, dtype=np.float32).reshape(8, 8)'
    mknpy in/a/y.npy 'np.arange(64, dtype=np.uint8).reshape(8, 8)'
    head -c 20 in/x.npy > in/a/bad.npy
    echo text > in/notes.txt
    ln -s .. in/a/up
    run vg -k 2 -R in -O out
    [ "$status" -eq 1 ]
    [[ "$output" == *"pool: 2 written, 1 failed, 1 skipped (not an image or tensor)" ]]
    run vg -k 2 -R in -O out --skip-existing --stats=s.jsonl
    [ "$status" -eq 1 ]
    run vg -k 2 -R in -o 'flat/%q'
    [ "$status" -eq 2 ]
    printf 'in/x.npy\0in/a\0' > list
    # in/a/up leads back to in/x.npy, which the list also names: one output, two inputs
    run vg -k 2 -R --files-from list -0 -o 'flat/%n.%e'
    [ "$status" -eq 2 ]
    [[ "$output" == *"pool: in/x.npy and in/a/up/x.npy would both write flat/x.npy" ]]
}

@test "valgrind: a stack and a csv table with bad inputs, and warnings counted over inputs" {
    skip_unless_valgrind
    mknpy a.npy 'np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)'
    mknpy b.npy 'np.zeros((2, 3, 6, 6), np.float32)'
    head -c 90 a.npy > cut.npy
    run vg -m avg -k 2 -s 3 a.npy cut.npy b.npy a.npy --stack -o s.npy
    [ "$status" -eq 1 ]
    # counted over the 2 inputs stacked (cut.npy and b.npy, of another shape, failed: their
    # warnings are moot)
    [[ "$output" == *"pool: 2 of 2 inputs: warning: pass 1 (avg): stride 3 > kernel 2: 44% of input elements are never read"* ]]
    run vg -P gavg a.npy cut.npy a.npy -f csv --no-header -o t.csv
    [ "$status" -eq 1 ]
    [ "$(wc -l < t.csv)" -eq 4 ]
    run vg -k 2 a.npy a.npy --stack -o s.png
    [ "$status" -eq 2 ]
}

@test "valgrind: label modes, palettes, EXIF orientation, conversions, --size and --edge" {
    skip_unless_valgrind
    mknpy l.npy 'np.random.default_rng(1).integers(0, 4, (2, 3, 9, 10)).astype(np.int16)'
    run vg -P mode:3,s=2,p=1 -P median:2,d=1 -P nearest:2 --stats=/dev/null l.npy -o m.npy
    [ "$status" -eq 0 ]
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(2)
p = Image.fromarray(rng.integers(0, 3, (21, 30)).astype(np.uint8), "P")
p.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0])
p.save("pal.png", transparency=b"\x00")
rgba = Image.fromarray(rng.integers(0, 256, (21, 30, 4)).astype(np.uint8), "RGBA")
ex = Image.Exif()
ex[0x0112] = 6
ex[0x010F] = "Cam"
rgba.save("o6.png", exif=ex.tobytes())
rgba.convert("RGB").save("o6.jpg", exif=ex.tobytes())
PY
    run vg -m mode -k 2 pal.png -o pal_out.png
    [ "$status" -eq 0 ]
    run vg -m avg -k 3 --edge replicate --background white --shift-test o6.png -o a.jpg
    [ "$status" -eq 2 ]   # (replicate and the shift test do not go together)
    run vg -m avg --size 10x10 --background white --depth 16 o6.png -o a.png
    [ "$status" -eq 0 ]
    run vg -m median -k 4 --edge partial o6.png -o c.png
    [ "$status" -eq 0 ]
    run vg -m max -k 3 --edge replicate o6.jpg -o b.jpg
    [ "$status" -eq 0 ]
    run vg -P gavg --output-dtype f32 -f csv o6.jpg o6.png -o f.csv
    [ "$status" -eq 1 ]   # o6.png has 4 channels: the table goes on without it
    run vg -m mode -k 2 --depth 16 pal.png -o x.png   # refused: palette indices
    [ "$status" -eq 1 ]
}

@test "valgrind: --indices, pool unpool (one band and several), and their refusals" {
    skip_unless_valgrind
    mknpy a.npy 'np.round(np.random.default_rng(2).standard_normal((2, 3, 9, 9))).astype(np.float32)'
    run vg -m max -k 3 -s 2 -p 1 --indices i.npy a.npy -o v.npy
    [ "$status" -eq 0 ]
    run vg unpool --indices i.npy --output-size 9x9 v.npy -o u.npy
    [ "$status" -eq 0 ]
    POOL_UNPOOL_BAND_BYTES=64 run vg unpool --indices i.npy -k 3 -s 2 -p 1 v.npy -o u2.npy
    [ "$status" -eq 0 ]
    cmp u.npy u2.npy
    mknpy bad.npy 'np.full((2, 3, 5, 5), 999)'
    run vg unpool --indices bad.npy --output-size 9x9 v.npy -o u3.npy
    [ "$status" -eq 1 ]
    printf 'P5\n4 4\n255\n0123456789abcdef0123' > two.pgm
    run vg -k 2 --indices j.npy two.pgm -o x.pgm
    [ "$status" -eq 1 ]
    run vg -m avg -k 2 --divisor 3 --no-count-include-pad -p 1 a.npy -o d.npy
    [ "$status" -eq 0 ]
    # the exact meter, with output rows that no input row is nearest to (L + 1 outputs)
    mknpy u.npy 'np.random.default_rng(3).integers(0, 255, (9, 11, 3)).astype(np.uint8)'
    run vg --stats=/dev/null -P avg:2,s=1,p=1,cip=0 u.npy -o w.npy
    [ "$status" -eq 0 ]
}

@test "valgrind: faults: a full device, a closed pipe, an existing output, a bad input under --force, stdin cut short" {
    skip_unless_valgrind
    mknpy a.npy 'np.random.default_rng(0).random((1, 3, 256, 256), dtype=np.float32)'
    run vg -k 2 a.npy -o /dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    mkdir -p in/d out/d
    cp a.npy in/d/x.npy && cp a.npy in/y.npy
    run vg -P gavg -f csv -R in -o t.csv --stats=/dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    # a closed pipe (the output, 192 KiB, is more than a pipe holds): with SIGPIPE as it
    # comes the process ends there, its threads running (no leak check: valgrind would count
    # their stacks), with SIGPIPE ignored it goes through the error path and frees it all
    { st=0; vg_dying -k 2 a.npy 2> err || st=$?; echo "$st" > st; } | head -c 10 > /dev/null
    [ "$(cat st)" -eq 141 ]
    [ ! -s err ]
    mkdir img
    mknpy img/p.npy 'np.random.default_rng(1).integers(0, 256, (512, 512, 3), dtype=np.uint8)'
    cp img/p.npy img/q.npy
    { trap '' PIPE; st=0; vg -k 2 -j 2 -R img --layout hwc -f pnm -o - 2> err || st=$?; echo "$st" > st; } |
        head -c 10 > /dev/null
    [ "$(cat st)" -eq 1 ]
    [ "$(cat err)" = "pool: <stdout>: write failed: Broken pipe" ]
    # an existing output in a batch on two workers; a bad input under --force
    echo old > out/d/x.npy
    run vg -k 2 -j 2 -R in -O out --stats=s.jsonl
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: out/d/x.npy: exists (--force overwrites it, --skip-existing skips its input)" ]
    [ "$(cat out/d/x.npy)" = old ]
    head -c 1000 a.npy > in/d/x.npy
    run vg -k 2 -j 2 -R in -O out --force --stats=s.jsonl
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: in/d/x.npy: truncated data: expected 786432 bytes of array data, got 872" ]
    [ "$(cat out/d/x.npy)" = old ]
    run bash -c 'head -c 100000 a.npy | JSIMD_FORCENONE=1 valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 "$0" -k 2 - -o b.npy' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated data: expected 786432 bytes of array data, got 99872" ]
    [ -z "$(find . -name '.*.pool-*')" ]
}

@test "valgrind: an interrupt in the middle of a write" {
    skip_unless_valgrind
    mknpy a.npy 'np.random.default_rng(0).random((1, 3, 1024, 1024), dtype=np.float32)'
    mkfifo feed
    exec 5<> feed   # read-write: opening never blocks, and pool sees no end of data
    # (valgrind itself, not a subshell running vg, has $!)
    JSIMD_FORCENONE=1 valgrind -q --leak-check=no --error-exitcode=99 "$POOL" -k 2 feed \
        -o out.npy 2> err 5>&- &
    pid=$!
    timeout 60 head -c 4000000 a.npy >&5
    for _ in $(seq 1 600); do
        [ -n "$(find . -name '.out.npy.pool-*' -size +0)" ] && break
        sleep 0.1
    done
    [ -n "$(find . -name '.out.npy.pool-*' -size +0)" ]   # pool is writing
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    exec 5>&-
    [ "$status" -eq 143 ]
    [ ! -s err ]   # no memory error before the end (leaks: see vg_dying)
    [ "$(ls -A | sort | tr '\n' ' ')" = "a.npy err feed " ] || { ls -A; false; }
}

@test "valgrind: every fuzz harness over its seeds and regressions" {
    skip_unless_valgrind
    [ -n "${FUZZ_BIN:-}" ] || skip "FUZZ_BIN not set: run through make check"
    for h in $FUZZ_HARNESSES; do
        JSIMD_FORCENONE=1 run valgrind -q --leak-check=full --show-leak-kinds=all \
            --errors-for-leak-kinds=all --error-exitcode=99 "$FUZZ_BIN/fuzz_$h"
        [ "$status" -eq 0 ] || { echo "fuzz_$h: $output"; false; }
    done
}
