#!/usr/bin/env bats
# --stats (JSON Lines and text), and the PSNR warning.

load helpers

# pgm FILE W H BYTES...: an 8-bit PGM with these pixel values (octal escapes for printf).
pgm() {
    local file=$1 w=$2 h=$3
    shift 3
    { printf 'P5 %s %s 255\n' "$w" "$h"; printf "$@"; } > "$file"
}

# json_get FILE LINE KEY: one value of one record, as Python prints it.
json_get() {
    "$PY" -c 'import sys, json; r = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]); print(r[sys.argv[3]])' "$@"
}

# json_near FILE LINE KEY EXPR: that value equals EXPR (Python, with math's names) to 1e-12.
json_near() {
    "$PY" - "$@" <<'PY'
import json, math, sys
file, line, key, expr = sys.argv[1:]
got = json.loads(open(file).read().splitlines()[int(line)])[key]
want = eval(expr, vars(math))
if got is None or not math.isclose(got, want, rel_tol=1e-12):
    sys.exit(f"{key}: {got}, want {expr} = {want}")
PY
}

# pnm_at_maxval PHOTO MAXVAL FILE: the photograph as a P5 (gray) or P6 whose codes are
# rescaled to MAXVAL.
pnm_at_maxval() {
    "$PY" - "$@" <<'PY'
import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1])
a = np.asarray(im if im.mode == "L" else im.convert("RGB")).astype(np.int64)
maxval = int(sys.argv[2])
codes = ((2 * a * maxval + 255) // 510).astype(np.uint8 if maxval < 256 else ">u2")
magic = b"P5" if a.ndim == 2 else b"P6"
with open(sys.argv[3], "wb") as f:
    f.write(b"%s %d %d %d\n" % (magic, a.shape[1], a.shape[0], maxval) + codes.tobytes())
PY
}

# stats_check [--shift] [--linear] [--layout L] [--format FMT] INPUT SPEC...: every key of
# pool's --stats against PyTorch and NumPy (tests/oracle/stats_check.py).
stats_check() {
    run "$PY" "$BATS_TEST_DIRNAME/../oracle/stats_check.py" "$@"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "every JSON key matches PyTorch and NumPy on a photograph: avg 2x2 then max 3x3 stride 2 pad 1" {
    stats_check "$DATA/astronaut.png" avg:2 max:3,s=2,p=1
}

@test "every JSON key matches PyTorch and NumPy: stride > kernel, ceil and count_include_pad on odd sizes" {
    stats_check "$DATA/coffee.png" max:2,s=3 avg:3,ceil,cip,p=1 avg:2,s=1,p=1,cip=0
}

@test "every JSON key matches PyTorch and NumPy: Lp, adaptive and global passes on a gray photograph" {
    stats_check "$DATA/camera.png" lp:3,norm=3 max,out=7x5 gavg
}

@test "the stack's loss against the input, by NumPy, for stacks of 1 to 4 passes on photographs" {
    stats_check "$DATA/chelsea.png" max:8
    stats_check "$DATA/chelsea.png" max:2 max:2 max:2
    stats_check "$DATA/coffee.png" avg:3,s=2,p=1 max:2 avg:2,s=1 min:3,s=2,d=2
    stats_check "$DATA/camera.png" avg:2 avg:2 avg:2 avg:2
    # -k 8 and -k 2 -r 3 write the same output and report the same final figures
    "$POOL" -q -P max:8 --stats=one.jsonl "$DATA/chelsea.png" -o one.png
    "$POOL" -q -k 2 -r 3 --stats=three.jsonl "$DATA/chelsea.png" -o three.png
    cmp one.png three.png
    for key in stack_mse stack_rmse stack_psnr; do
        [ "$(json_get one.jsonl 0 $key)" = "$(json_get three.jsonl 2 $key)" ]
    done
    # ... while the per-pass figures of the stack look gentler
    "$PY" -c 'import json
one = json.loads(open("one.jsonl").readline())
three = [json.loads(l) for l in open("three.jsonl")]
assert all(r["psnr"] > one["psnr"] + 1 for r in three), (one["psnr"], [r["psnr"] for r in three])
assert [round(r["stack_psnr"], 6) for r in three] == sorted((round(r["stack_psnr"], 6) for r in three), reverse=True)'
}

@test "the stack's loss on an image taller than 65536 rows (pairs found as rows stream), by NumPy" {
    "$PY" -c 'import numpy as np
rng = np.random.default_rng(4)
np.save("tall.npy", (np.cumsum(rng.integers(-3, 4, (70001, 24)), axis=0) % 256).astype(np.uint8))'
    "$POOL" -q -P max:3,s=2,p=1 -P avg:5,s=3,ceil -P max:2,s=3 -P avg:3,s=2,p=1 --stats=s.jsonl \
        tall.npy -o out.npy
    "$PY" - <<'PY'
import json, math, numpy as np, torch, torch.nn.functional as F
x0 = np.load("tall.npy").astype(np.float64)
def windows(n, k, s, p, ceil):  # PyTorch's output length; each window's real taps
    out = (n + 2 * p - k + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return [(max(o * s - p, 0), min(o * s - p + k, n) - 1) for o in range(out)]
def nearest(wins, n):  # the earlier output on a tie; centres are nondecreasing here
    c = np.array([a + b for a, b in wins])
    t = 2 * np.arange(n)
    i = np.searchsorted(c, t)
    lo, hi = np.clip(i - 1, 0, len(c) - 1), np.clip(i, 0, len(c) - 1)
    pick = np.where(np.abs(c[lo] - t) <= np.abs(c[hi] - t), lo, hi)
    return np.searchsorted(c, c[pick])
specs = [("max", 3, 2, 1, False), ("avg", 5, 3, 0, True), ("max", 2, 3, 0, False),
         ("avg", 3, 2, 1, False)]
x, maps = x0, [np.arange(n) for n in x0.shape]
for rec, (mode, k, s, p, ceil) in zip(map(json.loads, open("s.jsonl")), specs):
    t = torch.from_numpy(x)[None, None]
    y = (F.max_pool2d(t, k, s, p, ceil_mode=ceil) if mode == "max"
         else F.avg_pool2d(t, k, s, p, ceil_mode=ceil))[0, 0].numpy()
    y = np.floor(y + 0.5)                      # u8 averages: half up
    maps = [nearest(windows(n, k, s, p, ceil), n)[m] for m, n in zip(maps, x.shape)]
    mse = float(np.mean((x0 - y[maps[0]][:, maps[1]]) ** 2))
    assert math.isclose(rec["stack_mse"], mse, rel_tol=1e-12), (rec["pass"], rec["stack_mse"], mse)
    x = y
assert np.array_equal(np.load("out.npy"), x)
PY
}

@test "every JSON key matches PyTorch and NumPy: float, 3-D, 1-D and 16-bit tensors" {
    mknpy f.npy 'np.random.default_rng(1).standard_normal((2, 3, 37, 29)).astype(np.float32) * 10 + 1000'
    mknpy v.npy 'np.random.default_rng(2).standard_normal((1, 2, 9, 17, 13))'
    mknpy l.npy 'np.random.default_rng(3).standard_normal((2, 4, 101)).astype(np.float32)'
    mknpy u.npy 'np.random.default_rng(4).integers(0, 65535, (3, 40, 50)).astype(np.uint16)'
    stats_check f.npy max:3,s=2,d=2 avg:2,s=1 min:2,s=3,ceil
    stats_check v.npy avg:3,s=2,p=1 max:2 avg,out=2x3x4
    stats_check l.npy max:5,s=3,p=2 avg:4,s=4,ceil gmax
    stats_check u.npy avg:4 lp:2
}

@test "hand-computed: avg of [0 100; 0 0] loses RMSE 43.30, PSNR 15.40 dB" {
    pgm a.pgm 2 2 '\000\144\000\000'
    "$POOL" -q -P avg:2 --stats=s.jsonl a.pgm -o out.pgm
    # output 25; errors 25, 75, 25, 25: MSE (3*625 + 5625)/4 = 1875
    [ "$(json_get s.jsonl 0 mse)" = "1875" ]
    [ "$(json_get s.jsonl 0 rmse)" = "43.30127018922193" ]
    [ "$(json_get s.jsonl 0 psnr)" = "15.400790888041726" ]   # 10 log10(255^2 / 1875)
    [ "$(json_get s.jsonl 0 mean)" = "[25]" ]
    [ "$(json_get s.jsonl 0 std)" = "[0]" ]
    [ "$(json_get s.jsonl 0 coverage)" = "1" ]
}

@test "hand-computed: stride 3 over kernel 2 covers 6 of 10 per axis, 36% of a 10x10 image" {
    pgm a.pgm 10 10 "$(printf '\\%03o' $(seq 0 99))"
    "$POOL" -q -P max:2,s=3 --stats=s.jsonl a.pgm -o out.pgm
    [ "$(json_get s.jsonl 0 coverage)" = "0.36" ]
    [ "$(json_get s.jsonl 0 out_shape)" = "[3, 3]" ]
    # 1-D: 10 values, windows [0,1] [3,4] [6,7]: 60%
    mknpy l.npy 'np.arange(10, dtype=np.float32)'
    "$POOL" -q -P max:2,s=3 --stats=t.jsonl l.npy -o /dev/null
    [ "$(json_get t.jsonl 0 coverage)" = "0.6" ]
}

@test "a pass that changes nothing has MSE 0 and PSNR null (infinite)" {
    mknpy a.npy 'np.full((1, 8, 8), 7, np.float32)'
    "$POOL" -q -P avg:2 --stats=s.jsonl a.npy -o /dev/null
    [ "$(json_get s.jsonl 0 mse)" = "0" ]
    [ "$(json_get s.jsonl 0 psnr)" = "None" ]
    grep -q '"psnr":null' s.jsonl
}

@test "--stats goes to stderr as JSON Lines, one record per input per pass" {
    pgm a.pgm 4 4 '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017'
    cp a.pgm b.pgm
    "$POOL" -q -P avg:2 -P max:2 --stats -f csv a.pgm b.pgm > out.csv 2> s.jsonl
    [ "$(wc -l < s.jsonl)" -eq 4 ]
    [ "$(json_get s.jsonl 0 input)" = "a.pgm" ]
    [ "$(json_get s.jsonl 1 pass)" = "2" ]
    [ "$(json_get s.jsonl 2 input)" = "b.pgm" ]
    [ "$(json_get s.jsonl 3 in_shape)" = "[2, 2]" ]
    [ "$(wc -l < out.csv)" -eq 3 ]
}

@test "--stats-format=text prints an aligned table with the channels" {
    pgm a.pgm 2 2 '\000\144\000\000'
    run bash -c '"$0" -q -P avg:2 --stats --stats-format=text a.pgm -o out.pgm' "$POOL"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "a.pgm (image 1)" ]
    [[ "${lines[1]}" =~ ^pass\ +spec\ +in\ +out\ +coverage\ +rmse\ +psnr\ +stack\ +ms$ ]]
    [[ "${lines[2]}" =~ ^1\ +avg:2,s=2\ +2x2\ u8\ +1x1\ u8\ +100\.0%\ +43\.3\ +15\.40\ +15\.40\  ]]
    [[ "${lines[3]}" =~ channel\ 0\ +min\ 25\ +max\ 25\ +mean\ 25\ +std\ 0 ]]
}

@test "--stats-format=text sums up more than 4 channels in one line, and fits long shapes" {
    mknpy f.npy 'np.arange(2 * 6 * 4 * 4, dtype=np.float32).reshape(2, 6, 4, 4)'
    run bash -c '"$0" -q -P max:2 --stats-format=text f.npy -o out.npy' "$POOL"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    # channel c holds 16c .. 16c + 15 (and 96 more in the second item): max 2x2 keeps the
    # odd rows' odd columns, 5 7 13 15 + 16c and 96 more: means 58 + 16c (NumPy's figures)
    [ "${lines[3]}" = "     6 channels: min 5 max 191, means 58 to 138, stds 48.1768 to 48.1768 (--stats JSON has each)" ]
    [[ "${lines[2]}" =~ ^1\ +max:2,s=2\ +2x6x4x4\ \(NCHW\)\ f32\ +2x6x2x2\ \(NCHW\)\ f32\ +100\.0% ]]
    # the header's columns line up with the row's
    [ "$(echo "${lines[1]}" | grep -bo coverage | cut -d: -f1)" -lt "$(echo "${lines[2]}" | grep -bo '100.0%' | cut -d: -f1)" ]
}

@test "--stats=FILE leaves stderr quiet, and a failure leaves no stats file" {
    pgm a.pgm 2 2 '\000\144\000\000'
    run bash -c '"$0" -q -P avg:2 --stats=s.jsonl a.pgm -o out.pgm 2>&1' "$POOL"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -s s.jsonl ]
    rm s.jsonl out.pgm
    printf 'P5 2 2 255\n\000' > bad.pgm
    run "$POOL" -q -P avg:2 --stats=s.jsonl bad.pgm -o out.pgm
    [ "$status" -eq 1 ]
    no_files_but a.pgm bad.pgm
    run "$POOL" -P avg:2 --stats=/nonexistent/s.jsonl a.pgm -o out.pgm
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: /nonexistent/s.jsonl: "* ]]
    no_files_but a.pgm bad.pgm
}

@test "--stats FILE (a blank, not '='): the missing input says how to give the file" {
    pgm a.pgm 2 2 '\000\144\000\000'
    run "$POOL" -q -k 2 --stats loss.jsonl a.pgm -o out.pgm
    [ "$status" -eq 1 ]
    [ "$output" = "pool: loss.jsonl: cannot open: No such file or directory (to write the statistics there, give --stats=loss.jsonl)" ]
    # the statistics of an earlier run (--stats=loss.jsonl) are no input either
    echo '{"pass":1}' > loss.jsonl
    run "$POOL" -q -k 2 --stats loss.jsonl a.pgm -o out.pgm
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: loss.jsonl: unknown format: "*" (to write the statistics there, give --stats=loss.jsonl)" ]]
    rm loss.jsonl
    # a name that says statistics, anywhere among the inputs of a bare --stats
    run "$POOL" -q -k 2 --stats -O out a.pgm run.log
    [ "$status" -eq 1 ]
    [[ "$output" == *"pool: run.log: cannot open: No such file or directory (to write the statistics there, give --stats=run.log)"* ]]
    # not when --stats has its file, nor for an input that is not the word after it
    run "$POOL" -q -k 2 --stats=s.jsonl nope.pgm -o out.pgm
    [ "$output" = "pool: nope.pgm: cannot open: No such file or directory" ]
    run "$POOL" -q -k 2 --stats a.pgm nope.pgm -f pnm -o out.pgm
    [[ "$output" == *$'\n'"pool: nope.pgm: cannot open: No such file or directory" ]]
}

@test "--stats=text and --stats=json ask for a format, not a file of that name" {
    pgm a.pgm 2 2 '\000\144\000\000'
    run "$POOL" -k 2 --stats=text a.pgm -o out.pgm
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --stats=text would write a file named text: for a text table give --stats-format text (for such a file, give --stats=./text)" ]
    run "$POOL" -k 2 --stats=json a.pgm -o out.pgm
    [ "$status" -eq 2 ]
    [[ "$output" == *"JSON Lines are the default, give --stats alone"* ]]
    no_files_but a.pgm
    "$POOL" -q -k 2 --stats=./text a.pgm -o out.pgm
    [ -s text ]
    # a file of that name already there is refused too: it might be anyone's
    echo precious > json
    run "$POOL" -q -k 2 --stats=json a.pgm -o out.pgm
    [ "$status" -eq 2 ]
    [ "$(cat json)" = precious ]
}

@test "--stats-format and --warn-psnr refuse bad values" {
    run "$POOL" -k 2 --stats-format=xml a.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --stats-format xml: json or text" ]
    run "$POOL" -k 2 --warn-psnr=-3 a.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --warn-psnr -3: "* ]]
    run "$POOL" -k 2 --warn-psnr 20dB a.npy
    [ "$status" -eq 2 ]
}

@test "the PSNR warning: on images below 18 dB by default, the stack's figure, not with -q or --warn-psnr 0" {
    # 4x4 checkerboard: avg 2x2 gives 128 everywhere, 6.0 dB against the input
    pgm a.pgm 4 4 '\000\377\000\377\377\000\377\000\000\377\000\377\377\000\377\000'
    run "$POOL" -P avg:2 a.pgm -o out.pgm
    [ "$status" -eq 0 ]
    [ "$output" = "pool: a.pgm: warning: pass 1 (avg): PSNR 6.0 dB against the input, below 18 dB: much of its detail is lost (--warn-psnr DB sets the limit, 0 turns the warning off)" ]
    run "$POOL" -P avg:2 --warn-psnr 5 a.pgm -o out.pgm
    [ -z "$output" ]
    run "$POOL" -P avg:2 --warn-psnr 7 a.pgm -o out.pgm
    [[ "$output" == *"below 7 dB"* ]]
    run "$POOL" -q -P avg:2 a.pgm -o out.pgm
    [ -z "$output" ]
    run "$POOL" -P avg:2 --warn-psnr 0 a.pgm -o out.pgm
    [ -z "$output" ]
    # 2x and 4x averages of a photograph: silent
    run "$POOL" -m avg -k 2 "$DATA/astronaut.png" -o out.png
    [ -z "$output" ]
    run "$POOL" -m avg -k 4 "$DATA/astronaut.png" -o out.png
    [ -z "$output" ]
    # an 8x8 max on it warns, and -k 2 -r 3 (the same output) with the same figure (exact:
    # the estimate reads 64 output rows, all this one has)
    run "$POOL" -P max:8 "$DATA/astronaut.png" -o one.png
    [[ "$output" =~ warning:\ pass\ 1\ \(max\):\ PSNR\ 13\.6\ dB\ against\ the\ input ]]
    run "$POOL" -k 2 -r 3 "$DATA/astronaut.png" -o three.png
    [[ "$output" =~ warning:\ passes\ 1-3:\ PSNR\ 13\.6\ dB\ against\ the\ input ]]
    cmp one.png three.png
    # with --stats the figure is exact
    run bash -c '"$0" -k 2 -r 3 --stats=s.jsonl "$1" -o out.png' "$POOL" "$DATA/astronaut.png"
    [[ "$output" == *"passes 1-3: PSNR 13.6 dB against"* ]]
}

@test "the warning's estimate does not fall in step with regular rows (lines of text)" {
    # 4096 rows, a dark line every 16 rows, with noise: a pick of every 8th output row of
    # -k 2 would read every window holding a line and no other
    "$PY" -c 'import numpy as np; from PIL import Image
rng = np.random.default_rng(7)
a = np.where((np.arange(4096) % 16 == 0)[:, None], 20, 230) + rng.integers(-20, 21, (4096, 64))
Image.fromarray(a.astype(np.uint8)).save("lines.png")'
    run "$POOL" -m avg -k 2 --warn-psnr 99 lines.png -o out.png
    estimate=$(echo "$output" | sed -n 's/.*PSNR about \([0-9.]*\) dB.*/\1/p')
    "$POOL" -q -m avg -k 2 --stats=s.jsonl lines.png -o out.png
    "$PY" -c 'import json, sys; exact = json.loads(open("s.jsonl").readline())["stack_psnr"]
assert abs(float(sys.argv[1]) - exact) < 0.3, (sys.argv[1], exact)' "$estimate"
}

@test "the PSNR warning matrix: global passes, tensors and label modes only when asked" {
    # a global pass keeps one value by design: no warning, and none for a stack ending in one
    run "$POOL" -P gavg "$DATA/astronaut.png" -o out.png
    [ -z "$output" ]
    run "$POOL" -P avg:2 -P gmax "$DATA/astronaut.png" -o out.png
    [ -z "$output" ]
    # ... but the local passes before it are read: max 8 then global
    run "$POOL" -P max:8 -P gavg "$DATA/astronaut.png" -o out.png
    [[ "$output" == *"warning: pass 1 (max): PSNR 13.6 dB"* ]]
    # a tensor: a 2x2 max of noise loses much, silent unless asked
    mknpy t.npy 'np.random.default_rng(1).standard_normal((4, 16, 16)).astype(np.float32)'
    run "$POOL" -k 2 t.npy -o out.npy
    [ -z "$output" ]
    run "$POOL" -k 2 --warn-psnr 30 t.npy -o out.npy
    [[ "$output" == "pool: t.npy: warning: pass 1 (max): PSNR "*" dB against the input, below 30 dB"* ]]
    # a label mask pooled by mode: silent unless asked; by max it is an image like another
    # (classes 60 apart, so that the mode's loss is far below 18 dB)
    mknpy m.npy '(60 * np.kron(np.random.default_rng(2).integers(0, 5, (8, 8)), np.ones((4, 4)))).astype(np.uint8)[1:, 3:]'
    "$PY" -c 'import numpy as np; from PIL import Image; Image.fromarray(np.load("m.npy")).save("m.png")'
    run "$POOL" -m mode -k 8 m.png -o out.png
    [ -z "$output" ]
    run "$POOL" -m mode -k 8 --warn-psnr 18 m.png -o out.png
    [[ "$output" == "pool: m.png: warning: pass 1 (mode): PSNR"*"below 18 dB"* ]]
    run "$POOL" -m max -k 8 m.png -o out.png
    [[ "$output" == "pool: m.png: warning: pass 1 (max): PSNR"*"below 18 dB"* ]]
    # the structural warnings stay, on any input
    run "$POOL" -k 2 -s 3 t.npy -o out.npy
    [[ "$output" == *"stride 3 > kernel 2"* ]]
}

@test "the warning reads the stack up to its last local pass, once per input; several inputs are counted" {
    pgm a.pgm 4 4 '\000\377\000\377\377\000\377\000\000\377\000\377\377\000\377\000'
    # one input holding two images: one warning; pass 3 is global (1x1), so passes 1-2
    cat a.pgm a.pgm > two.pgm
    run "$POOL" -P max:1 -P avg:2 -P avg:2 two.pgm -f pnm -o out.pnm
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "${lines[0]}" = "pool: two.pgm: warning: passes 1-2: PSNR 6.0 dB against the input, below 18 dB: much of its detail is lost (--warn-psnr DB sets the limit, 0 turns the warning off)" ]
    # several inputs: one line for them all, said once the last is through
    cp a.pgm b.pgm
    run "$POOL" -P max:1 -P avg:2 -P avg:2 a.pgm two.pgm b.pgm -f pnm -o out.pnm
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "${lines[0]}" = "pool: 3 of 3 inputs: warning: passes 1-2: PSNR below 18 dB against the input, the lowest 6.0 dB (a.pgm): much of their detail is lost; --stats gives every input's figure" ]
}

@test "shift test on stripes: max 2x2 changes 25% of outputs, avg 75%; along the stripes nothing" {
    # 8x8, vertical stripes two columns wide: 0 0 255 255 0 0 255 255
    row='\000\000\377\377\000\000\377\377'
    pgm s.pgm 8 8 "$row$row$row$row$row$row$row$row"
    "$POOL" -q -P max:2 --shift-test --stats=max.jsonl s.pgm -o /dev/null
    "$POOL" -q -P avg:2 --stats=shift --stats-format=json s.pgm -o /dev/null 2> avg.jsonl
    # max: columns 0 255 0 255 become 0 255 255 255 when shifted right by one
    [ "$(json_get max.jsonl 0 shift)" = "{'h': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}, 'w': {'changed': 0.25, 'mean_change': 255, 'relative_change': 1, 'expected_change': 0.25}}" ]
    # avg: 0 255 0 255 become 0 128 128 128: (128 + 127 + 127) / 3 of 255
    [ "$(json_get avg.jsonl 0 shift)" = "{'h': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}, 'w': {'changed': 0.75, 'mean_change': 127.33333333333333, 'relative_change': 0.4993464052287582, 'expected_change': 0.37450980392156863}}" ]
    # one pass: the stack so far is the pass
    [ "$(json_get avg.jsonl 0 shift)" = "$(json_get avg.jsonl 0 stack_shift)" ]
}

@test "shift test: global average is more shift-robust than 2x2 max, which is more than no pooling" {
    # rows of 0 0 0 0 60 120 180 0; shifted right by one: 0 0 0 0 0 60 120 180
    row='\000\000\000\000\074\170\264\000'
    pgm r.pgm 8 4 "$row$row$row$row"
    for spec in max:1 max:2 gavg; do
        "$POOL" -q -P $spec --shift-test --stats r.pgm -o /dev/null 2>> s.jsonl
    done
    # no pooling: 4 of 8 columns change, by 60, 60, 60 and 180: 90 on average, half the range
    [ "$(json_get s.jsonl 0 shift)" = "{'h': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}, 'w': {'changed': 0.5, 'mean_change': 90, 'relative_change': 0.5, 'expected_change': 0.25}}" ]
    # max 2x2: 0 0 120 180 become 0 0 60 180: a quarter, by 60, a third of the range
    [ "$(json_get s.jsonl 1 shift)" = "{'h': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}, 'w': {'changed': 0.25, 'mean_change': 60, 'relative_change': 0.3333333333333333, 'expected_change': 0.08333333333333333}}" ]
    # global average: the same sum, nothing changes
    [ "$(json_get s.jsonl 2 shift)" = "{'h': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}, 'w': {'changed': 0, 'mean_change': 0, 'relative_change': 0, 'expected_change': 0}}" ]
    # on a feature map (floats: a global average changes by a little everywhere) the figure
    # that ranks them is the expected change, every output counted: global < max < none
    mknpy f.npy 'np.maximum(np.random.default_rng(5).standard_normal((1, 8, 40, 40)), 0).astype(np.float32)'
    for spec in max:1 max:2 gavg; do
        "$POOL" -q -P $spec --shift-test --stats f.npy -o /dev/null 2>> f.jsonl
    done
    "$PY" -c 'import json
none, mx, glob = ([r["shift"][a]["expected_change"] for a in "hw"] for r in map(json.loads, open("f.jsonl")))
assert all(g < m < n for g, m, n in zip(glob, mx, none)), (glob, mx, none)'
    stats_check --shift f.npy max:2 gavg
    # the text table says it in words
    run bash -c '"$0" -q -P max:2 --shift-test --stats-format text r.pgm -o /dev/null' "$POOL"
    [[ "$output" == *"shift w by 1: 25.0% of outputs change, by 60 (33.33% of the input's range; 8.33% per output)"* ]]
}

@test "shift test: per pass, the stack so far, checked against PyTorch and NumPy on a photograph and tensors" {
    stats_check --shift "$DATA/astronaut.png" avg:2 max:3,s=2,p=1
    mknpy v.npy 'np.random.default_rng(2).standard_normal((1, 2, 9, 17, 13))'
    mknpy l.npy 'np.random.default_rng(3).standard_normal((2, 4, 101)).astype(np.float32)'
    stats_check --shift v.npy avg:3,s=2,p=1,cip=0 max:2 avg:2,p=1,div=3
    stats_check --shift l.npy max:5,s=3,p=2 avg:4,s=4,ceil gmax
}

@test "the shift test in the text table" {
    row='\000\000\377\377\000\000\377\377'
    pgm s.pgm 8 8 "$row$row$row$row$row$row$row$row"
    run bash -c '"$0" -q -P max:2 --shift-test --stats-format=text s.pgm -o /dev/null' "$POOL"
    [ "$status" -eq 0 ]
    [ "${lines[4]}" = "     shift h by 1: 0.0% of outputs change" ]
    [ "${lines[5]}" = "     shift w by 1: 25.0% of outputs change, by 255 (100.00% of the input's range; 25.00% per output)" ]
    # a second pass: the pass alone, then the stack so far
    run bash -c '"$0" -q -P max:1 -P max:2 --shift-test --stats-format=text s.pgm -o /dev/null' "$POOL"
    [ "${lines[9]}" = "     shift w by 1: 25.0% of outputs change, by 255 (100.00% of the input's range; 25.00% per output); passes 1-2: 25.0%, by 255 (100.00%; 25.00%)" ]
}

@test "loss where window centres tie or run backwards: adaptive upsampling, dilated and padded" {
    # [0 10 20] adaptively to 7: every input has an exact copy at its nearest output
    mknpy r.npy 'np.array([[[[0, 10, 20]]]], np.float32)'
    "$POOL" -q -P avg,out=1x7 --stats=s.jsonl r.npy -o /dev/null
    [ "$(json_get s.jsonl 0 mse)" = "0" ]
    run "$POOL" -P avg,out=1x7 r.npy -o /dev/null
    [ -z "$output" ]
    # centres 4 3 5 7 9 (max 2, dilation 3, padding 1, stride 1 over 0..50): by hand,
    # inputs 0..5 pair with outputs 1 1 0 2 3 4: errors 30 20 20 20 20 20 -> MSE 233.33
    mknpy d.npy 'np.array([[0, 10, 20, 30, 40, 50]], np.float32)'
    "$POOL" -q --layout cl -P max:2,d=3,p=1,s=1 --stats=t.jsonl d.npy -o /dev/null
    [ "$(json_get t.jsonl 0 mse)" = "233.33333333333334" ]
    mknpy f.npy 'np.random.default_rng(5).standard_normal((1, 2, 12, 12)).astype(np.float32)'
    mknpy v.npy 'np.random.default_rng(6).standard_normal((1, 1, 5, 6, 7))'
    mknpy t.npy 'np.random.default_rng(7).standard_normal((1, 2, 2, 3)).astype(np.float32)'
    stats_check f.npy max:2,d=3,p=1,s=1 avg,out=14x13
    stats_check v.npy max,out=13x14x6
    stats_check t.npy avg:4,s=1,p=2,ceil,cip avg:3,s=2,p=1,div=7
    stats_check f.npy lp:2,norm=1.23456789
}

@test "NaN or inf in the input: the loss and the spread are null, not 0" {
    mknpy n.npy 'np.where(np.arange(64).reshape(1, 8, 8) == 9, np.nan, np.arange(64).reshape(1, 8, 8)).astype(np.float32)'
    mknpy i.npy 'np.where(np.arange(64).reshape(1, 8, 8) == 9, np.inf, np.arange(64).reshape(1, 8, 8)).astype(np.float32)'
    "$POOL" -q -P max:2 -P avg:2 --stats=n.jsonl n.npy -o /dev/null
    "$POOL" -q -P max:2 --stats=i.jsonl i.npy -o /dev/null
    grep -q '"mse":null,"rmse":null' n.jsonl
    grep -q '"mse":null,"rmse":null' i.jsonl
    grep -q '"std":\[null\]' i.jsonl
}

@test "32- and 64-bit integers measure PSNR against the input's range" {
    mknpy w.npy 'np.arange(64, dtype=np.int32).reshape(1, 8, 8) * 1000'
    stats_check w.npy avg:2
    "$POOL" -q -P avg:2 --stats=s.jsonl w.npy -o /dev/null
    [ "$(json_get s.jsonl 0 peak)" = "63000" ]
}

@test "the PSNR peak of a PNM whose codes keep their maxval is the maxval; stretched, 255" {
    # [0 100; 0 0] at maxval 100: output 25, MSE 1875 as at maxval 255, but the peak is 100
    printf 'P5 2 2 100\n\000\144\000\000' > m.pgm
    "$POOL" -q -P avg:2 --stats=s.jsonl m.pgm -o out.pgm
    [ "$(json_get s.jsonl 0 peak)" = "100" ]
    json_near s.jsonl 0 psnr '10 * log10(100**2 / 1875)'       # 7.27 dB, not 15.40
    # PNG output wants the full range: codes 0 255 0 0 first, output 64 (63.75 half up),
    # errors 64 191 64 64, against 255
    "$POOL" -q -P avg:2 --stats=t.jsonl m.pgm -o out.png
    [ "$(json_get t.jsonl 0 peak)" = "255" ]
    [ "$(json_get t.jsonl 0 mse)" = "12192.25" ]
    json_near t.jsonl 0 psnr '10 * log10(255**2 / 12192.25)'
    pnm_at_maxval "$DATA/camera.png" 100 camera.pgm
    pnm_at_maxval "$DATA/astronaut.png" 1000 astronaut.ppm
    stats_check camera.pgm avg:2 max:3,s=2,p=1
    stats_check --format png camera.pgm avg:3 lp:2
    stats_check --shift astronaut.ppm avg:2 min:3,s=2
}

@test "the PSNR peak of 8- and 16-bit integers, signed too, is the type's range" {
    # i8 [-100 100; 0 0]: output 0, errors 100 100 0 0, MSE 5000; the peak is 255, not the
    # input's max - min (200)
    mknpy b.npy 'np.array([[-100, 100], [0, 0]], np.int8)'
    "$POOL" -q -P avg:2 --stats=s.jsonl b.npy -o /dev/null
    [ "$(json_get s.jsonl 0 peak)" = "255" ]
    json_near s.jsonl 0 psnr '10 * log10(255**2 / 5000)'        # 11.14 dB
    mknpy i8.npy 'np.random.default_rng(8).integers(-60, 61, (2, 3, 30, 41)).astype(np.int8)'
    mknpy i16.npy 'np.random.default_rng(9).integers(-3000, 3001, (3, 33, 40)).astype(np.int16)'
    stats_check i8.npy avg:3,s=2,p=1 max:2 lp:2
    stats_check i16.npy avg:2 min:3,s=2,ceil
}

@test "with --linear the PSNR peak is the linear input's max - min, not 1, 255 or a maxval" {
    # codes 0 and 10 lie on the sRGB curve's straight part: 10 is v = 10/255/12.92 in
    # linear light. [0 v; 0 0]: output v/4, errors v/4 3v/4 v/4 v/4, MSE 0.1875 v^2, and
    # with peak v a PSNR of 10 log10(1 / 0.1875) = 7.27 dB (peak 1: 57.6 dB; 255: 105.8)
    pgm a.pgm 2 2 '\000\012\000\000'
    "$POOL" -q --linear -P avg:2 --stats=s.jsonl a.pgm -o out.pgm
    [ "$(json_get s.jsonl 0 dtype)" = "f64" ]
    json_near s.jsonl 0 peak '10 / 255 / 12.92'
    json_near s.jsonl 0 psnr '10 * log10(1 / 0.1875)'
    # at maxval 100 code 4 is 4/100/12.92: a maxval kept in the codes is no peak here
    printf 'P5 2 2 100\n\000\004\000\000' > m.pgm
    "$POOL" -q --linear -P avg:2 --stats=t.jsonl m.pgm -o out.pgm
    json_near t.jsonl 0 peak '4 / 100 / 12.92'
    json_near t.jsonl 0 psnr '10 * log10(1 / 0.1875)'
    pnm_at_maxval "$DATA/camera.png" 100 camera.pgm
    stats_check --linear "$DATA/astronaut.png" avg:2 max:3,s=2,p=1
    stats_check --linear "$DATA/logo.png" avg:3 lp:2
    stats_check --linear --shift camera.pgm avg:2 min:2,s=1
}

@test "the shift test counts NaN against NaN as no change, and leaves NaN out of the range" {
    # 0..15 in 4x4, NaN at the top left: max 2x2 gives [NaN 7; 13 15]; the input's range
    # is 15 - 1 = 14. Shifted down [NaN 3; 9 11]: 3 of 4 changed, by 4 each, 4/14 of the
    # range. Shifted right [NaN 6; 12 14]: 3 of 4 changed, by 1 each, 1/14.
    mknpy n.npy 'np.where(np.arange(16).reshape(4, 4) == 0, np.nan, np.arange(16).reshape(4, 4)).astype(np.float32)'
    "$POOL" -q -P max:2 --shift-test --stats=s.jsonl n.npy -o /dev/null
    [ "$(json_get s.jsonl 0 shift)" = "{'h': {'changed': 0.75, 'mean_change': 4, 'relative_change': 0.2857142857142857, 'expected_change': 0.21428571428571427}, 'w': {'changed': 0.75, 'mean_change': 1, 'relative_change': 0.07142857142857142, 'expected_change': 0.05357142857142857}}" ]
    mknpy r.npy 'np.where(np.random.default_rng(10).random((2, 3, 15, 17)) < 0.05, np.nan, np.random.default_rng(11).standard_normal((2, 3, 15, 17))).astype(np.float32)'
    stats_check --shift r.npy max:2 avg:3,s=2,p=1 gmax
}

@test "with --shift-test a pass that does not fit is still named" {
    pgm a.pgm 4 4 '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017'
    run "$POOL" -q -m avg -k 2 -r 5 --shift-test a.pgm -o /dev/null
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: a.pgm: pass 3 (avg): axis H: "* ]]
}

@test "the shift test of a global average: one output, changed a little against the input's range" {
    # 0..8: mean 4; shifted 0 0 1 .. 7: mean 28/9; the change 8/9 is 1/9 of the range 8
    mknpy g.npy 'np.arange(9, dtype=np.float64).reshape(1, 9)'
    "$POOL" -q --layout cl -P gavg --shift-test --stats=s.jsonl g.npy -o /dev/null
    "$PY" -c 'import json, math, sys; f = json.loads(open("s.jsonl").readline())["shift"]["l"]
assert f["changed"] == 1 and math.isclose(f["mean_change"], 8 / 9) and math.isclose(f["relative_change"], 1 / 9), f'
    # a constant input cannot change: 0, not a division by its zero range
    mknpy c.npy 'np.full((1, 9), 3.0)'
    "$POOL" -q --layout cl -P gavg --shift-test --stats=c.jsonl c.npy -o /dev/null
    grep -q '"shift":{"l":{"changed":0,"mean_change":0,"relative_change":0,"expected_change":0}}' c.jsonl
}

@test "file names that are not UTF-8 still give JSON; --stats-format implies --stats" {
    pgm a.pgm 2 2 '\000\144\000\000'
    cp a.pgm "$(printf 'b\377.pgm')"
    "$POOL" -q -P avg:2 --stats=s.jsonl "$(printf 'b\377.pgm')" -o /dev/null
    [ "$(json_get s.jsonl 0 input)" = "b�.pgm" ]
    run bash -c '"$0" -q -P avg:2 --stats-format=text a.pgm -o /dev/null' "$POOL"
    [ "${lines[0]}" = "a.pgm (image 1)" ]
}
