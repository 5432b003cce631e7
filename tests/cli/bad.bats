#!/usr/bin/env bats
# The malformed-input corpus (tests/data/bad, made by scripts/make-bad-corpus): every file
# gives the status and message tests/data/bad/EXPECTED says, names itself on every line,
# never crashes or hangs, and leaves no output and no temp file; alone, from a FIFO, in a
# batch beside good files, and under valgrind. (The sanitizer build runs the same tests.)

load helpers

BAD=$BATS_TEST_DIRNAME/../data/bad

# expected [FAMILY]: EXPECTED's cases (FILE OUTPUT STATUS MESSAGE, tab-separated), those
# whose file name starts with FAMILY.
expected() {
    grep -v -e '^#' -e '^$' "$BAD/EXPECTED" | awk -F'\t' -v f="${1:-}" 'index($1, f) == 1'
}

# check_case FILE OUTPUT STATUS MESSAGE: runs pool -k 2 FILE -o out.OUTPUT in the test's
# folder, FILE copied there, and checks what EXPECTED says; leaves the folder as it was.
check_case() {
    local f=$1 ext=$2 want=$3 msg=$4 line
    cp "$BAD/$f" .
    run timeout 20 "$POOL" -k 2 "$f" -o "out.$ext"
    if [ "$status" -ne "$want" ]; then
        echo "$f -> out.$ext: status $status, want $want: $output"
        return 1
    fi
    if [ "$want" -eq 0 ] && [ "$msg" = - ]; then
        [ -z "$output" ] && [ -s "out.$ext" ] || { echo "$f -> out.$ext: '$output'"; return 1; }
        rm "out.$ext"
    elif [ "$want" -eq 0 ]; then
        # written, with one warning: the message
        [ "${#lines[@]}" -eq 1 ] && [[ "${lines[0]}" == "pool: $f: $msg"* ]] && [ -s "out.$ext" ] ||
            { echo "$f -> out.$ext: '$output', want one line 'pool: $f: $msg'"; return 1; }
        rm "out.$ext"
    else
        # the reason on the last line; every line names the file (or the output it refuses)
        [ "${#lines[@]}" -ge 1 ] || { echo "$f: nothing said"; return 1; }
        if [[ "$msg" == out.* ]]; then
            [[ "${lines[-1]}" == "pool: $msg"* ]] || { echo "$f: '${lines[-1]}', want 'pool: $msg'"; return 1; }
        else
            [[ "${lines[-1]}" == "pool: $f: $msg"* ]] || { echo "$f: '${lines[-1]}', want 'pool: $f: $msg'"; return 1; }
        fi
        for line in "${lines[@]}"; do
            [[ "$line" == "pool: $f: "* || "$line" == "pool: out.$ext: "* ]] ||
                { echo "$f: a line that names neither it nor the output: '$line'"; return 1; }
        done
    fi
    rm "$f"
    [ -z "$(ls -A)" ] || { echo "after $f -> out.$ext: $(ls -A)"; return 1; }
}

# check_family FAMILY: every case of the family (one OUTPUT, or * for png and npy).
check_family() {
    local f ext want msg n=0
    while IFS=$'\t' read -r f ext want msg; do
        if [ "$ext" = '*' ]; then
            check_case "$f" png "$want" "$msg" || return 1
            check_case "$f" npy "$want" "$msg" || return 1
        else
            check_case "$f" "$ext" "$want" "$msg" || return 1
        fi
        n=$((n + 1))
    done < <(expected "$1")
    [ "$n" -gt 0 ] || { echo "no cases for $1"; return 1; }
}

@test "bad: the corpus is at least 60 small files, each with its expected outcome, and nothing else" {
    local files listed
    files=$(cd "$BAD" && ls -A | grep -v '^EXPECTED$' | sort)
    listed=$(expected | cut -f1 | sort -u)
    [ "$files" = "$listed" ] || { diff <(echo "$files") <(echo "$listed"); return 1; }
    [ "$(echo "$files" | wc -l)" -ge 60 ]
    [ -z "$(find "$BAD" -type f ! -name EXPECTED -size +8k)" ]
    # every case is well formed: an output, a status and a message
    [ -z "$(expected | awk -F'\t' 'NF != 4 || $2 !~ /^(png|npy|\*)$/ || $3 !~ /^[0-9]+$/ || $4 == ""')" ]
    [ -z "$(expected | awk -F'\t' '($3 == 0) != ($4 == "-" || $4 ~ /^warning: /)')" ]
}

@test "bad: scripts/make-bad-corpus writes the committed files byte for byte" {
    [ -x "$BATS_TEST_DIRNAME/../../scripts/make-bad-corpus" ] || skip "no scripts/ in this tree"
    "$BATS_TEST_DIRNAME/../../scripts/make-bad-corpus" "$PWD/regen"
    diff -r --exclude=EXPECTED "$BAD" regen
}

@test "bad: PNG: truncations, CRCs, missing and misplaced chunks, palettes, sizes, EXIF" {
    check_family png-
}

@test "bad: JPEG: truncations, SOF fields, tables, 12-bit, CMYK, YCCK, arithmetic, EXIF" {
    check_family jpg-
}

@test "bad: PNM: truncations, sizes, maxvals, samples above maxval, text junk" {
    check_family pnm-
}

@test "bad: PAM: depth 0, missing and unknown header lines, sizes, short rasters" {
    check_family pam-
}

@test "bad: .npy: truncations, header lengths, shapes, dtypes, trailing data" {
    check_family npy-
}

@test "bad: empty files and no format at all" {
    check_family empty.
    check_family unknown.
}

@test "bad: the files accepted decode as Pillow does (EXIF orientation applied)" {
    local f
    for f in $(expected | awk -F'\t' '$3 == 0 && $2 != "png" {print $1}' | sort -u); do
        "$POOL" -q -m max -k 1 "$BAD/$f" -o "$f.npy"
        "$PY" - "$BAD/$f" "$f.npy" <<'PY'
import sys, numpy as np
from PIL import Image, ImageOps
im = Image.open(sys.argv[1])
want = np.asarray(ImageOps.exif_transpose(im))
got = np.load(sys.argv[2])
assert got.shape == want.shape and np.array_equal(got, want), (sys.argv[1], got.shape, want.shape)
PY
    done
}

@test "bad: a folder without -R, a FIFO whose writer closes at once, a bad file through a FIFO and stdin" {
    mkdir d
    run timeout 20 "$POOL" -k 2 d -o out.png
    [ "$status" -eq 2 ]   # a usage error, as tests/cli/errors.bats has it
    [ "$output" = "pool: d: is a folder: give -R to pool the files in it" ]
    mkfifo fifo
    timeout 20 bash -c ': > fifo' &
    run timeout 20 "$POOL" -k 2 fifo -o out.png
    wait
    [ "$status" -eq 1 ]
    [ "$output" = "pool: fifo: empty input" ]
    timeout 20 cat "$BAD/png-cut-idat.png" > fifo &
    run timeout 20 "$POOL" -k 2 fifo -o out.png
    wait
    [ "$status" -eq 1 ]
    [ "$output" = "pool: fifo: truncated PNG data (row 1 of 8)" ]
    run timeout 20 "$POOL" -k 2 -o out.npy < "$BAD/npy-header-length-past-end.npy"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated header: expected 9000 bytes, got 182" ]
    run timeout 20 "$POOL" -k 2 -o out.png < "$BAD/jpg-sof-zero-sampling.jpg"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: bogus sampling factors" ]
    no_files_but d fifo
}

# good_images DIR: three good images, a PNG, a JPEG and a PGM, into DIR.
good_images() {
    "$PY" - "$1" <<'PY'
import sys, numpy as np
from PIL import Image
rng = np.random.default_rng(5)
d = sys.argv[1]
Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(d + "/good-a.png")
Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(d + "/good-b.jpg", quality=95)
Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8)).save(d + "/good-c.pgm")
PY
}

@test "bad: a batch over the corpus and three good files: each good one written as if alone, each bad one said once" {
    mkdir in
    (cd "$BAD" && cp $(expected | cut -f1 | sort -u) "$OLDPWD/in/")
    good_images in
    run timeout 300 "$POOL" -m avg -k 2 --warn-psnr 0 -R in -O out
    [ "$status" -eq 1 ]
    # written: the good files and those EXPECTED accepts in a format that holds them;
    # skipped, silently: what has no known magic bytes (pool(1), -R); failed: the rest
    local accepted skipped failed f
    accepted=$(expected | awk -F'\t' '$3 == 0 && $2 != "png" {print $1}' | sort -u)
    skipped=$(expected | awk -F'\t' '$4 ~ /^(unknown format|empty input)/ {print $1}' | sort -u)
    failed=$(expected | cut -f1 | sort -u | grep -v -x -F "$accepted" | grep -v -x -F "$skipped")
    [ "${lines[-1]}" = "pool: $(($(echo "$accepted" | wc -l) + 3)) written, $(echo "$failed" | wc -l) failed, $(echo "$skipped" | wc -l) skipped (not images or tensors)" ]
    for f in $skipped; do
        ! printf '%s\n' "${lines[@]}" | grep -q -F "in/$f" || { echo "$f said"; return 1; }
    done
    for f in $failed; do
        [ "$(printf '%s\n' "${lines[@]}" | grep -c -F "pool: in/$f: ")" -eq 1 ] || { echo "$f said not once"; return 1; }
        [ ! -e "out/$f" ] || { echo "out/$f written"; return 1; }
    done
    for f in good-a.png good-b.jpg good-c.pgm $accepted; do
        "$POOL" -q -m avg -k 2 "in/$f" -o "alone-$f"
        cmp "out/$f" "alone-$f"
    done
    # no temp file left in out/
    [ "$(ls -A out | wc -l)" -eq $(($(echo "$accepted" | wc -l) + 3)) ]
}

vg() {
    JSIMD_FORCENONE=1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "$POOL" "$@"
}

@test "bad: valgrind: the whole corpus in two batches, and the PNG refusals of CMYK: no error, no leak" {
    [ "${POOL_SANITIZED:-no}" = yes ] && skip "sanitizer build: valgrind cannot run a binary built with a sanitizer (the ASan build checks for leaks)"
    command -v valgrind >/dev/null || skip "no valgrind"
    # the batches read every file (avg expands palettes, max keeps their indices) and
    # write what is accepted in its own format, then as .npy
    run vg -q -m avg -k 2 -R "$BAD" -O out
    [ "$status" -eq 1 ]
    run vg -q -k 2 -f npy -R "$BAD" -O out2
    [ "$status" -eq 1 ]
    run vg -k 2 "$BAD/jpg-cmyk.jpg" "$BAD/jpg-ycck.jpg" -O out3 -f png
    [ "$status" -eq 1 ]
}
