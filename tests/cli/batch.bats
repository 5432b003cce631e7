#!/usr/bin/env bats
# Batches: folders walked with -R, one output per input under -O DIR or an -o template,
# collisions refused before anything is read, a bad file reported while the rest go on,
# existing outputs refused, skipped or overwritten, and a summary line at the end.

load helpers

# A small tree of real photographs, with odd names, a broken file, a text file and a
# hidden folder.
make_tree() {
    photo_tree
    head -c 3000 "$DATA/astronaut.png" > photos/a/broken.png
}

# avg_equal OUT IN: OUT is the exact 2x2 average of IN, rounded half up, by NumPy.
avg_equal() {
    "$PY" - "$1" "$2" <<'PY'
import sys, numpy as np
from PIL import Image
got = np.asarray(Image.open(sys.argv[1])).astype(np.int64)
x = np.asarray(Image.open(sys.argv[2])).astype(np.int64)
h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
x = x[:h, :w]
s = x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]
want = (2 * s + 4) // 8
assert got.shape == want.shape and (got == want).all(), f"{sys.argv[1]}: differs"
PY
}

@test "-R -O mirrors a tree: every image pooled, bad files reported, the rest written" {
    make_tree
    run "$POOL" -m avg -k 2 -R photos -O out
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: photos/a/broken.png: truncated PNG data (header)" ]
    [ "${lines[1]}" = "pool: 5 written, 1 failed, 1 skipped (not an image or tensor)" ]
    [ "$(cd out && find . -type f | sort | tr '\n' ' ')" = \
      "./-dash/-x.png ./a/b/chelsea.png ./a/camera.png ./astronaut.png ./with space/it's 1.png " ]
    avg_equal out/astronaut.png photos/astronaut.png
    avg_equal "out/with space/it's 1.png" "photos/with space/it's 1.png"
    avg_equal out/a/b/chelsea.png photos/a/b/chelsea.png
    # no temp files anywhere
    [ -z "$(find out -name '.*')" ]
}

@test "a folder without -R is a usage error; hidden files and non-images are left out" {
    make_tree
    run "$POOL" -k 2 photos -O out
    [ "$status" -eq 2 ]
    [ "$output" = "pool: photos: is a folder: give -R to pool the files in it" ]
    [ ! -e out ]
    mkdir texts && echo hello > texts/a.txt
    run "$POOL" -k 2 -R texts -O out
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 0 written, 0 failed, 1 skipped (not an image or tensor)" ]
    [ ! -e out ]
    # nothing to do is not a failure of a batch (find -newer found nothing new)...
    run bash -c 'printf "" | "$POOL" -k 2 --files-from - -O out'
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 0 written, 0 failed, 0 skipped" ]
    mkdir empty empty/.hidden   # (a folder of no names: UBSan once saw qsort given NULL)
    run "$POOL" -k 2 -R empty -O out
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 0 written, 0 failed, 0 skipped" ]
    # ... but one output needs an input
    run "$POOL" -k 2 -R texts -f csv -o t.csv
    [ "$status" -eq 2 ]
    [ "$output" = "pool: no images or tensors to pool (every file found was skipped)" ]
}

@test "an existing output fails its input; --skip-existing re-runs only what is missing; --force overwrites" {
    make_tree
    rm photos/a/broken.png
    "$POOL" -q -m avg -k 2 -R photos -O out
    rm out/a/camera.png
    echo old > out/astronaut.png.keep
    run "$POOL" -m avg -k 2 -R photos -O out
    [ "$status" -eq 1 ]
    [[ "$output" == *"pool: out/astronaut.png: exists (--force overwrites it, --skip-existing skips its input)"* ]]
    [[ "$output" == *"pool: 1 written, 4 failed, 1 skipped (not an image or tensor)" ]]
    rm out/a/camera.png
    run "$POOL" -m avg -k 2 -R photos -O out --skip-existing
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 1 written, 0 failed, 5 skipped (1 not an image or tensor, 4 already written)" ]
    avg_equal out/a/camera.png photos/a/camera.png
    cp "$DATA/coffee.png" out/astronaut.png   # something else in its place
    run "$POOL" -m avg -k 2 -R photos -O out --force
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 5 written, 0 failed, 1 skipped (not an image or tensor)" ]
    avg_equal out/astronaut.png photos/astronaut.png
    # a link at an output's path is there too, even when it points nowhere
    rm out/astronaut.png && ln -s nowhere.png out/astronaut.png
    run "$POOL" -m avg -k 2 -R photos -O out
    [ "$status" -eq 1 ]
    [[ "$output" == *"pool: out/astronaut.png: exists (--force overwrites it, --skip-existing skips its input)"* ]]
    [ -L out/astronaut.png ]
    run "$POOL" -k 2 -R photos -O out --force --skip-existing
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --force and --skip-existing: give one" ]
}

@test "--fail-fast stops at the first failure" {
    make_tree
    run "$POOL" -m avg -k 2 -R photos -O out --fail-fast -j 1
    [ "$status" -eq 1 ]
    [ "${lines[1]}" = "pool: 2 written, 1 failed, 1 skipped (not an image or tensor), 3 not begun (--fail-fast)" ]   # -dash/-x.png, a/b/chelsea.png, then a/broken.png
    [ ! -e out/a/camera.png ]
    # with two workers, the input the other one had begun may still finish
    run "$POOL" -m avg -k 2 -R photos -O out2 --fail-fast -j 2
    [ "$status" -eq 1 ]
    [[ "${lines[1]}" =~ ^"pool: "([23])" written, 1 failed, 1 skipped (not an image or tensor), "([23])" not begun (--fail-fast)"$ ]]
    [ $((BASH_REMATCH[1] + BASH_REMATCH[2])) -eq 5 ]
    [ ! -e out2/astronaut.png ]
}

@test "-o templates: %d %n %i %e %%, and -f converts as it goes" {
    make_tree
    rm photos/a/broken.png
    run "$POOL" -q -m avg -k 2 -R photos -f jpeg -o 'small/%d/%n_%i%%.%e'
    [ "$status" -eq 0 ]
    [ "$(cd small && find . -type f | sort | tr '\n' ' ')" = \
      "./-dash/-x_1%.jpg ./a/b/chelsea_2%.jpg ./a/camera_3%.jpg ./astronaut_4%.jpg ./with space/it's 1_5%.jpg " ]
    "$PY" -c 'from PIL import Image; im = Image.open("small/a/camera_3%.jpg"); assert im.format == "JPEG" and im.size == (256, 256)'
    # a template without an extension: refused before anything is read
    run "$POOL" -k 2 -R photos -o 'noext/%n'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: noext/%n: cannot tell the output format from the names the template gives (noext/-x): end it with .%e or an extension, or give -f" ]
    [ ! -e noext ]
    # a template's folder inside the tree is not walked on the next run
    "$POOL" -q -m avg -k 2 -R photos -o 'photos/small/%d/%n.%e'
    run "$POOL" -m avg -k 2 -R photos -o 'photos/small/%d/%n.%e' --skip-existing
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 0 written, 0 failed, 6 skipped (1 not an image or tensor, 5 already written)" ]
    [ ! -e photos/small/small ]
    rm -rf photos/small
    # what the output format cannot hold is said of the input (outputs named by number)
    mkdir mixed && cp "$DATA/camera.png" mixed/gray.png
    "$PY" -c 'import numpy as np; np.save("mixed/f.npy", np.zeros((8, 8), np.float32))'
    run "$POOL" -k 2 -R mixed -f jpeg -o 'numbered/%i.%e'
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: mixed/f.npy: JPEG stores 8-bit unsigned integers, and this tensor is f32: write .npy instead, or give --output-dtype u8" ]
    [ -f numbered/2.jpg ] && [ ! -e numbered/1.jpg ]
    run "$POOL" -k 2 -R photos -o 'x/%q.png'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: x/%q.png: %q: unknown code in the output template (%n %e %d %i %%)" ]
    run "$POOL" -k 2 -R photos -o 'x/%n%'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: x/%n%: a % ends the output template: write %% for a %" ]
}

@test "two inputs that would write one output, or an output that is its input, are refused before anything is read" {
    make_tree
    rm photos/a/broken.png
    cp "$DATA/camera.png" photos/a/b/camera.png
    run "$POOL" -k 2 -R photos -o 'flat/%n.png'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: photos/a/b/camera.png and photos/a/camera.png would both write flat/camera.png" ]
    [ ! -e flat ]
    run "$POOL" -q -k 2 -R photos -O mirrored   # mirrored, they do not collide
    [ "$status" -eq 0 ]
    [ -f mirrored/a/b/camera.png ] && [ -f mirrored/a/camera.png ]
    cp "$DATA/camera.png" c.png
    run "$POOL" -k 2 c.png -o '%n.%e'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: c.png: the output c.png is the input itself" ]
    cmp c.png "$DATA/camera.png"
}

@test "--files-from lists inputs, one a line or NUL-separated with -0, names with newlines too" {
    make_tree
    rm photos/a/broken.png
    nl_name=$'photos/new\nline.png'
    cp "$DATA/camera.png" "$nl_name"
    # listed paths are mirrored whole, as rsync --files-from does
    printf '%s\0%s\0' "$nl_name" ./photos/a | "$POOL" -q -m avg -k 2 -R --files-from - -0 -O out
    [ -f $'out/photos/new\nline.png' ] && [ -f out/photos/a/camera.png ] && [ -f out/photos/a/b/chelsea.png ]
    avg_equal $'out/photos/new\nline.png' "$DATA/camera.png"
    printf 'photos/astronaut.png\n\nphotos/a/camera.png\n' > list.txt
    run "$POOL" -m avg -k 2 --files-from list.txt -O out2
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 2 written, 0 failed, 0 skipped" ]
    [ -f out2/photos/astronaut.png ] && [ -f out2/photos/a/camera.png ]
    # train/x.png and val/x.png stay apart
    mkdir train val && cp "$DATA/camera.png" train/x.png && cp "$DATA/moon.png" val/x.png
    find train val -name '*.png' -print0 | "$POOL" -q -m avg -k 2 --files-from - -0 -O split
    avg_equal split/train/x.png train/x.png
    avg_equal split/val/x.png val/x.png
    run "$POOL" -k 2 --files-from <(echo ../x.png) -O out4
    [ "$status" -eq 2 ]
    [ "$output" = "pool: ../x.png: a listed path with '..' cannot be mirrored under the output folder: list it from a folder above it" ]
    run "$POOL" -k 2 --files-from missing.txt -O out3
    [ "$status" -eq 2 ]
    [ "$output" = "pool: missing.txt: cannot open the list of inputs: No such file or directory" ]
    run "$POOL" -k 2 -0 photos/astronaut.png -O out3
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -0 describes the list of --files-from: give it" ]
}

@test "a symbolic link back up the tree is walked once; a dangling one is skipped and counted" {
    make_tree
    rm photos/a/broken.png
    ln -s .. photos/a/b/up
    ln -s nowhere.png photos/a/dangling.png
    run "$POOL" -m avg -k 2 -R photos -O out
    [ "$status" -eq 0 ]
    [[ "$output" == *"pool: photos/a/b/up: warning: a symbolic link back to a folder being walked: not walked again"* ]]
    [[ "$output" == *"pool: 5 written, 0 failed, 2 skipped (not images or tensors)" ]]
}

@test "several inputs without -O or a template still go into one table, and a folder too" {
    make_tree
    rm photos/a/broken.png
    run "$POOL" -q -P gavg -R "photos/with space" photos/a/b photos/astronaut.png -f csv -o table.csv
    [ "$status" -eq 0 ]
    [ "$(cut -d, -f1 table.csv | tr '\n' ' ')" = "file photos/with space/it's 1.png photos/a/b/chelsea.png photos/astronaut.png " ]
    run "$POOL" -k 2 photos/astronaut.png photos/a/camera.png -o two.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: two.png: several inputs go into one csv, txt, PNM or TIFF output (-f csv, txt, pnm or tiff) or, with --stack, one .npy; for one output each, give -O DIR or an -o template" ]
}

@test "a batch killed midway leaves no partial output; --skip-existing then completes the set" {
    need_photos
    mkdir in
    for i in $(seq -w 1 60); do cp "$DATA/astronaut.png" "in/p$i.png"; done
    "$POOL" -q --png-level 9 -m avg -k 2 -R in -O out &
    pid=$!
    # kill it once a few outputs are in place (or let it finish on a fast machine)
    for _ in $(seq 1 200); do
        [ "$(ls out 2>/dev/null | wc -l)" -ge 3 ] && break
        sleep 0.05
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    [ -z "$(find out -name '.*pool-*')" ]           # no temp file left
    n=$(ls out | wc -l)
    # every file there is whole: each is the exact 2x2 average of the photograph
    "$PY" - out/*.png <<'PY'
import sys, numpy as np
from PIL import Image
x = np.asarray(Image.open("in/p01.png")).astype(np.int64)
want = (2 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) + 4) // 8
for path in sys.argv[1:]:
    assert (np.asarray(Image.open(path)) == want).all(), path
PY
    run "$POOL" -m avg -k 2 -R in -O out --skip-existing
    [ "$status" -eq 0 ]
    skipped=" (already written)"; [ "$n" -eq 0 ] && skipped=""
    [ "$output" = "pool: $((60 - n)) written, 0 failed, $n skipped$skipped" ]
    [ "$(ls out | wc -l)" -eq 60 ]
    avg_equal out/p60.png in/p60.png
}

@test "interrupts in a batch of many small files, on every worker, leave no temp file" {
    "$PY" - <<'PY'
import os, numpy as np
from PIL import Image
px = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
for i in range(3000):
    d = f"tiny/{i // 100:02d}"
    os.makedirs(d, exist_ok=True)
    Image.fromarray(px).save(f"{d}/t{i:04d}.png")
PY
    for signal in INT TERM HUP INT TERM; do
        rm -rf out
        # (a shell ignores SIGINT in its background jobs, and pool keeps what it ignored)
        env --default-signal=INT "$POOL" -q -m avg -k 2 -R tiny -O out 2> err &
        pid=$!
        for _ in $(seq 1 400); do [ "$(find out -type f 2>/dev/null | head -n 50 | wc -l)" -ge 50 ] && break; sleep 0.01; done
        kill -"$signal" "$pid"
        wait "$pid" && false || true
        [ -z "$(find out -name '.*pool-*')" ]
        [ ! -s err ]    # nothing said: no rename raced with the clean-up
    done
}

@test "-j 1 and -j 2 give the same outputs, stats records, messages and summary" {
    make_tree
    for i in 1 2 3 4 5 6; do cp "$DATA/coffee.png" "photos/a/c$i.png"; done
    "$POOL" -m avg -k 2 -R photos -O one -j 1 --stats=one.jsonl 2> one.err && false
    "$POOL" -m avg -k 2 -R photos -O two -j 2 --stats=two.jsonl 2> two.err && false
    diff -r one two
    cmp one.err two.err
    [ "$(tail -n 1 two.err)" = "pool: 11 written, 1 failed, 1 skipped (not an image or tensor)" ]
    # the records in input order, with the same figures (seconds aside)
    "$PY" - <<'PY'
import json
one = [json.loads(l) for l in open("one.jsonl")]
two = [json.loads(l) for l in open("two.jsonl")]
assert len(one) == len(two) == 11, (len(one), len(two))
for a, b in zip(one, two):
    a.pop("seconds"); b.pop("seconds")
    assert a == b, (a, b)
names = [r["input"] for r in one]
want = (["photos/-dash/-x.png", "photos/a/b/chelsea.png"] +
        [f"photos/a/c{i}.png" for i in range(1, 7)] +
        ["photos/a/camera.png", "photos/astronaut.png", "photos/with space/it's 1.png"])
assert names == want, names
PY
    run "$POOL" -k 2 -j 0 -R photos -O three
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -j 0: bad number '0'"* ]]
}

@test "warnings in a batch: one line per kind at the end, counted over the inputs, the same for any -j" {
    make_tree
    rm photos/a/broken.png
    # a stride past the kernel: every input, with the range of the share never read
    "$POOL" -m max -k 2 -s 3 -R photos -O one -j 1 2> one.err
    "$POOL" -m max -k 2 -s 3 -R photos -O two -j 2 2> two.err
    cmp one.err two.err
    [ "$(wc -l < one.err)" -eq 2 ]
    [[ "$(head -n 1 one.err)" =~ ^"pool: 5 of 5 inputs: warning: pass 1 (max): stride 3 > kernel 2: "5[0-9]"% to "5[0-9]"% of input elements are never read (most in photos/".*")"$ ]]
    [ "$(tail -n 1 one.err)" = "pool: 5 written, 0 failed, 1 skipped (not an image or tensor)" ]
    # the PSNR warning: how many fell below, the lowest figure and whose it is
    "$POOL" -m avg -k 32 -R photos -O psnr -j 2 --stats=psnr.jsonl 2> psnr.err
    "$PY" - <<'PY'
import json, re
records = [json.loads(l) for l in open("psnr.jsonl")]
low = [r for r in records if r["stack_psnr"] < 18]
worst = min(low, key=lambda r: r["stack_psnr"])
lines = open("psnr.err").read().splitlines()
want = (f"pool: {len(low)} of {len(records)} inputs: warning: pass 1 (avg): PSNR below 18 dB "
        f"against the input, the lowest {worst['stack_psnr']:.1f} dB ({worst['input']}): "
        "much of their detail is lost")
assert 1 < len(low) < len(records), [r["stack_psnr"] for r in records]
assert lines[0] == want, (lines, want)
assert len(lines) == 2, lines
PY
    # met by one input only: that input's own warning
    "$POOL" -m avg -k 16 -R photos -O sixteen 2> sixteen.err
    [ "$(wc -l < sixteen.err)" -eq 2 ]
    [[ "$(head -n 1 sixteen.err)" == "pool: photos/astronaut.png: warning: pass 1 (avg): PSNR "*" dB against the input, below 18 dB: "* ]]
    # -q: none
    "$POOL" -q -m max -k 2 -s 3 -R photos -O quiet 2> quiet.err
    [ ! -s quiet.err ]
}

@test "--stack: several inputs into one .npy along a new leading axis; a bad input is left out" {
    mknpy f0.npy 'np.random.default_rng(0).standard_normal((2, 8, 8)).astype(np.float32)'
    mknpy f1.npy 'np.random.default_rng(1).standard_normal((2, 8, 8)).astype(np.float32)'
    mknpy f2.npy 'np.random.default_rng(2).standard_normal((2, 8, 8)).astype(np.float32)'
    mknpy small.npy 'np.zeros((2, 6, 6), np.float32)'
    mknpy ints.npy 'np.zeros((2, 8, 8), np.int16)'
    head -c 100 f1.npy > cut.npy
    run "$POOL" --warn-psnr 0 -m avg -k 2 -s 2 -p 1 f0.npy cut.npy f1.npy small.npy ints.npy f2.npy --stack -o st.npy
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 4 ]
    [[ "${lines[0]}" == "pool: cut.npy: "* ]]
    [ "${lines[1]}" = "pool: small.npy: this output is 2x4x4 (CHW) f32, the stack's items are 2x5x5 (CHW) f32: stack outputs of one shape and type" ]
    [ "${lines[2]}" = "pool: ints.npy: this output is 2x5x5 (CHW) i16, the stack's items are 2x5x5 (CHW) f32: stack outputs of one shape and type" ]
    [ "${lines[3]}" = "pool: 3 of 6 inputs in the stack, 3 failed" ]
    "$PY" - <<'PY'
import numpy as np, torch
s = np.load("st.npy")
assert s.shape == (3, 2, 5, 5) and s.dtype == np.float32, (s.shape, s.dtype)
for k, name in enumerate(["f0.npy", "f1.npy", "f2.npy"]):
    x = torch.from_numpy(np.load(name))
    want = torch.nn.functional.avg_pool2d(x, 2, 2, 1).numpy()
    assert np.allclose(s[k], want, rtol=1e-6), name
PY
    # photographs of one size, walked: a (N, H, W) u8 stack, each the exact 2x2 average
    need_photos
    mkdir -p cams/a
    cp "$DATA/camera.png" cams/one.png
    cp "$DATA/camera.png" cams/a/two.png
    "$PY" -c 'from PIL import Image; Image.open("cams/one.png").transpose(Image.FLIP_LEFT_RIGHT).save("cams/a/three.png")'
    "$POOL" -q -m avg -k 2 -R cams --stack -o cams.npy
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
s = np.load("cams.npy")
assert s.shape == (3, 256, 256) and s.dtype == np.uint8, (s.shape, s.dtype)
for k, name in enumerate(["cams/a/three.png", "cams/a/two.png", "cams/one.png"]):
    x = np.asarray(Image.open(name)).astype(np.int64)
    want = (2 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) + 4) // 8
    assert (s[k] == want).all(), name
PY
    # --flatten first, then the stack's axis
    mknpy g.npy 'np.arange(32, dtype=np.float64).reshape(1, 2, 4, 4)'
    "$POOL" -q -m max -k 2 g.npy g.npy --flatten --stack -o flat.npy
    "$PY" -c 'import numpy as np; s = np.load("flat.npy"); assert s.shape == (2, 2, 2, 2), s.shape; assert (s[1] == np.load("g.npy")[0].reshape(2, 2, 2, 2, 2).max(axis=(2, 4))).all()'
    # refused: a pipe (the header is rewritten at the end), another format, -O
    run bash -o pipefail -c '"$POOL" -q -k 2 f0.npy f1.npy --stack -o - | cat > /dev/null'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: <stdout>: --stack needs a file, not a pipe: its header, which counts the inputs, is written again at the end" ]
    printf XXXX > appended.npy
    run bash -c '"$POOL" -q -k 2 f0.npy f1.npy --stack -o - >> appended.npy'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: <stdout>: --stack rewrites its header at the end, which a file opened to append to (>>) does not allow: use -o FILE" ]
    [ "$(cat appended.npy)" = XXXX ]
    # standard output on a file that holds something already: the header is rewritten where
    # it began, after what was there
    { printf HDR0; "$POOL" -q -k 2 f0.npy f1.npy --stack -o -; } > after.npy
    "$POOL" -q -k 2 f0.npy f1.npy --stack -o ref.npy
    [ "$(tail -c +5 after.npy | cmp - ref.npy && echo same)" = same ]
    [ "$(head -c 4 after.npy)" = HDR0 ]
    # the first input fails after its shape opened the stack: the others still go in
    cp f1.npy late.npy && truncate -s -8 late.npy
    run "$POOL" --warn-psnr 0 -k 2 late.npy f0.npy f2.npy --stack -o first.npy
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "pool: late.npy: "* ]]
    [ "${lines[1]}" = "pool: 2 of 3 inputs in the stack, 1 failed" ]
    "$PY" -c 'import numpy as np; assert np.load("first.npy").shape == (2, 2, 4, 4)'
    # a first input that cannot be stacked at all leaves no temp file
    mknpy five.npy 'np.zeros((1, 1, 2, 4, 4), np.float32)'
    run "$POOL" --warn-psnr 0 -k 2 five.npy f0.npy --stack -o five_out.npy
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: five.npy: --stack: a 5-axis output has no room for one more axis in .npy (5 at most)" ]
    [ -z "$(ls -A | grep pool-)" ]
    run "$POOL" -k 2 f0.npy f1.npy --stack -o st.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: st.png: --stack makes one .npy: give -o FILE.npy or -f npy" ]
    run "$POOL" -k 2 f0.npy f1.npy --stack -O out
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --stack gathers every input into one .npy: give -o FILE.npy, not -O or a template" ]
    # every input bad: no file at all
    run "$POOL" -k 2 cut.npy cut.npy --stack -o none.npy
    [ "$status" -eq 1 ]
    [ ! -e none.npy ]
    [ -z "$(ls -A | grep -v '\.npy$' | grep -v '^cams$')" ]
}

@test "--save-passes refuses walked inputs whose pass files would share names" {
    make_tree
    rm photos/a/broken.png
    cp "$DATA/camera.png" photos/a/b/camera.png
    run "$POOL" -k 2 -R photos -O out --save-passes passes
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --save-passes: photos/a/b/camera.png and photos/a/camera.png would both save as camera.passN" ]
    [ ! -e out ] && [ ! -e passes ]
}

@test "a table goes on past a bad input, which adds no row, not even part of one" {
    need_photos
    cp "$DATA/camera.png" a.png
    cp "$DATA/moon.png" c.png
    # the data stops halfway down: the row of 16x16 averages would be half written
    "$PY" -c 'd = open("a.png", "rb").read(); open("b.png", "wb").write(d[: len(d) * 6 // 10])'
    run "$POOL" -m avg -k 16 a.png b.png c.png -f csv -o table.csv
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "pool: b.png: "* ]]
    [ "${lines[1]}" = "pool: 2 of 3 inputs in the table, 1 failed" ]
    "$PY" - <<'PY'
import csv
import numpy as np
from PIL import Image
rows = list(csv.reader(open("table.csv")))
assert [r[0] for r in rows] == ["file", "a.png", "c.png"], [r[0] for r in rows]
for name, row in zip(["a.png", "c.png"], rows[1:]):
    x = np.asarray(Image.open(name)).astype(np.int64)
    s = x.reshape(32, 16, 32, 16).sum(axis=(1, 3))
    want = (2 * s + 256) // 512
    assert [int(v) for v in row[1:]] == want.ravel().tolist(), name
PY
    # every input failing leaves no table at all
    run "$POOL" -q -m avg -k 16 b.png b.png -f csv -o none.csv
    [ "$status" -eq 1 ]
    [ ! -e none.csv ]
    # any other output still stops at the first failure
    run "$POOL" -m avg -k 16 a.png b.png c.png -f pnm -o stream.pnm
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "pool: b.png: "* ]]
    [ ! -e stream.pnm ]
}

@test "--shard: the shards together write exactly what one run writes; GNU parallel runs them" {
    make_tree
    rm photos/a/broken.png
    for i in 1 2 3 4 5 6 7 8; do cp "$DATA/coffee.png" "photos/a/c$i.png"; done
    "$POOL" -q -m avg -k 2 -R photos -O one -j 2
    for k in 0 1 2; do "$POOL" -q -m avg -k 2 -R photos -O three --shard $k/3; done
    diff -r one three
    # the file that is not an image is counted by one shard only
    for k in 0 1 2; do "$POOL" -m avg -k 2 -R photos -O counted --shard $k/3 2>&1; done > summaries
    [ "$(grep -c 'skipped (not an image or tensor)$' summaries)" -eq 1 ]
    [ "$(grep -c ' 0 skipped$' summaries)" -eq 2 ]
    # each input in exactly one shard: three runs into separate folders share no file
    for k in 0 1 2; do "$POOL" -q -m avg -k 2 -R photos -O "s$k" --shard $k/3; done
    [ "$(cd s0 && find . -type f; cd ../s1 && find . -type f; cd ../s2 && find . -type f)" != "" ]
    [ "$( (cd s0 && find . -type f; cd ../s1 && find . -type f; cd ../s2 && find . -type f) | sort | uniq -d)" = "" ]
    # the README's recipe, on two local job slots
    seq 0 3 | parallel -j 2 "$POOL" -q -j 1 -m avg -k 2 -R photos -O par --shard {}/4
    diff -r one par
    # ... and with xargs
    seq 0 3 | xargs -P 4 -I{} "$POOL" -q -j 1 -m avg -k 2 -R photos/ -O xa/ --shard {}/4
    diff -r one xa
    run "$POOL" -k 2 -R photos -O x --shard 3/3
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --shard 3/3: K: bad number '3'"* ]]
    run "$POOL" -k 2 photos/astronaut.png -o y.png --shard 0/2
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --shard works with one output per input (-O DIR, or -o with % codes)" ]
}

@test "a progress line on a terminal only (or with --progress), never on stdout, never with -q" {
    make_tree
    command -v script >/dev/null || skip "no script(1)"
    # under a pseudo-terminal: drawn in place, cleared before the summary
    script -qc "\"$POOL\" -m avg -k 2 -R photos -O tty" /dev/null > tty.txt
    grep -q $'\rpool: 6/6 files, [0-9.]* MB/s, 0:00 left' tty.txt
    grep -q "pool: 5 written, 1 failed, 1 skipped (not an image or tensor)" tty.txt
    # not a terminal: nothing but messages and the summary
    "$POOL" -m avg -k 2 -R photos -O plain 2> plain.err > plain.out && false
    [ ! -s plain.out ]
    ! grep -q $'\r' plain.err
    [ "$(wc -l < plain.err)" -eq 2 ]
    # --progress forces it, still on stderr; -q silences it
    "$POOL" --progress -m avg -k 2 -R photos -O forced 2> forced.err > forced.out && false
    [ ! -s forced.out ]
    grep -q $'\rpool: 6/6 files' forced.err
    script -qc "\"$POOL\" -q --progress -m avg -k 2 -R photos -O quiet" /dev/null > quiet.txt
    ! grep -q "files," quiet.txt
    # interrupted: the progress line is ended, so what follows starts a line of its own
    mkdir many && for i in $(seq 1 200); do cp "$DATA/astronaut.png" "many/$i.png"; done
    env --default-signal=INT "$POOL" --progress --png-level 9 -j 1 -m avg -k 2 -R many -O stopped 2> stopped.err &
    pid=$!
    for _ in $(seq 1 200); do grep -q "files," stopped.err && break; sleep 0.05; done
    kill -INT "$pid"
    wait "$pid" || true
    grep -q "files," stopped.err
    [ "$(tail -c 1 stopped.err | od -An -c | tr -d ' ')" = '\n' ]
}

@test "-O inside the input tree is not walked again; %i counts the whole run under --shard; an unreadable folder is said and the rest go on" {
    make_tree
    rm photos/a/broken.png
    "$POOL" -q -m avg -k 2 -R photos -O photos/small
    run "$POOL" -m avg -k 2 -R photos -O photos/small --skip-existing
    [ "$status" -eq 0 ]
    [ "$output" = "pool: 0 written, 0 failed, 6 skipped (1 not an image or tensor, 5 already written)" ]
    [ ! -e photos/small/small ]
    rm -rf photos/small
    "$POOL" -q -k 2 -R photos -o 'whole/%i.png'
    for k in 0 1 2; do "$POOL" -q -k 2 -R photos -o 'sharded/%i.png' --shard $k/3; done
    diff -r whole sharded
    # root reads any folder: then run pool as nobody (setpriv, from util-linux)
    as_user=()
    [ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chmod -R a+rX . && chmod a+rwx .
    mkdir photos/locked && cp "$DATA/camera.png" photos/locked/ && chmod 000 photos/locked
    cp "$POOL" ./pool-copy   # nobody may not reach the build folder
    run "${as_user[@]}" ./pool-copy -m avg -k 2 -R photos -O out
    chmod 755 photos/locked
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: photos/locked: cannot read the folder: Permission denied" ]
    [ "${lines[1]}" = "pool: 5 written, 1 failed, 1 skipped (not an image or tensor)" ]
    [ -f out/astronaut.png ]
}
