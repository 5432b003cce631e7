#!/usr/bin/env bats
# Errors: each says "pool: WHAT: reason" on stderr, exits 1 (data) or 2 (usage), and leaves
# no output file behind.

load helpers

good() { mknpy in.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'; }

@test "a zero or negative kernel is a usage error" {
    good
    run "$POOL" -k 0 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -k 0: kernel must be at least 1" ]
    run "$POOL" -k -1 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -k -1: bad size '-1'"* ]]
    run "$POOL" -P avg:0 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -P avg:0: kernel must be at least 1" ]
    no_files_but in.npy
}

@test "an unknown mode is a usage error" {
    good
    run "$POOL" -m mean -k 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -m mean: unknown mode (modes: max avg min lp mode median nearest fmax gmax gavg gmin)" ]]
    run "$POOL" -P mean:2 in.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -P mean:2: unknown mode 'mean'"* ]]
    no_files_but in.npy
}

@test "junk in a shape or size is a usage error" {
    good
    run "$POOL" --shape 4x4junk -k 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --shape 4x4junk: bad shape '4x4junk'"* ]]
    run "$POOL" -k 2x -o out.npy in.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -k 2x: bad size"* ]]
    run "$POOL" -k 2 -s 1.5 in.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -s 1.5: bad size '1.5': unexpected '.'" ]
    run "$POOL" -k 2 -r 0 in.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -r 0: bad number"* ]]
    no_files_but in.npy
}

@test "rules between parameters are named" {
    good
    run "$POOL" -k 3 -p 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -k 3 -p 2: padding 2 is more than half the kernel 3"* ]]
    run "$POOL" -m avg -k 2 -d 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"dilation works with max, min, mode, median and nearest only"* ]]
    run "$POOL" -m max -k 2 --count-include-pad in.npy -o out.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -m max -k 2 --count-include-pad: count-include-pad works with avg only" ]
    run "$POOL" -m lp -k 2 -p 1 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -m lp -k 2 -p 1: lp takes no padding (as PyTorch's lp_pool)" ]
    run "$POOL" -m avg in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"needs a kernel size"* ]]
    run "$POOL" -m gavg -k 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -m gavg -k 2: gavg pools each channel to one value: it takes no kernel,"* ]]
    run "$POOL" -k 2 -P max:2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"not both"* ]]
    run "$POOL" in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: no pass given"* ]]
    no_files_but in.npy
}

@test "a kernel larger than the input names the pass and axis, writes nothing" {
    good
    run "$POOL" -P max:2 -P avg:3 in.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: in.npy: pass 2 (avg): axis H: the kernel 3 is larger than the input 2 (the output would be empty)" ]
    run "$POOL" -k 2x2x2 in.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"kernel has 3 sizes but the input has 2 spatial axes"* ]]
    no_files_but in.npy
}

@test "bad options and arguments" {
    good
    run "$POOL" --bogus -k 2 in.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --bogus: unknown option (see pool --help)" ]
    run "$POOL" -k
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -k: needs a value" ]]
    run "$POOL" -k 2 in.npy in.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: <stdout>: several inputs go into one csv, txt, PNM or TIFF output"* ]]
    run "$POOL" -k 2 -f gif in.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -f gif: unknown format (npy raw png jpeg pnm tiff webp txt csv)" ]]
    run "$POOL" -k 2 in.npy -o out.xyz
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: out.xyz: cannot tell the output format"* ]]
    run "$POOL" --layout nhcw -k 2 in.npy -o out.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --layout nhcw: unknown layout 'nhcw'"* ]]
    run "$POOL" --layout chw -k 2 in.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"layout 'chw' has 3 axes but the tensor has 2"* ]]
    run "$POOL" --dtype f32 -k 2 in.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --dtype describes raw input: give --shape too" ]
    no_files_but in.npy
}

@test "a missing file, a directory, an empty or unknown input" {
    run "$POOL" -k 2 nope.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: nope.npy: cannot open: No such file or directory" ]
    mkdir d
    run "$POOL" -k 2 d -o out.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: d: is a folder: give -R to pool the files in it" ]
    : > empty.npy
    run "$POOL" -k 2 empty.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: empty.npy: empty input"* ]]
    echo "hello, world" > text.npy
    run "$POOL" -k 2 text.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: text.npy: unknown format"* ]]
    run "$POOL" -k 2 -o out.npy < text.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: unknown format"* ]]
    no_files_but d empty.npy text.npy
}

@test "a truncated .npy fails with both sizes and leaves no output" {
    mknpy full.npy 'np.arange(64, dtype=np.float32).reshape(8, 8)'
    head -c 200 full.npy > cut.npy
    run "$POOL" -k 2 cut.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: cut.npy: truncated"* ]]
    [[ "$output" == *"256"* ]]
    head -c 20 full.npy > header.npy
    run "$POOL" -k 2 header.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: header.npy: "* ]]
    no_files_but full.npy cut.npy header.npy
}

@test "a header whose shape overflows size_t is refused before allocating" {
    "$PY" - <<'PY'
import numpy as np
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"
hdr = hdr + " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
with open("huge.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode() + b"\0" * 64)
PY
    run "$POOL" -k 2 huge.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: huge.npy: "*"too many"* ]]
    no_files_but huge.npy
}

@test "unsupported .npy element types are named" {
    mknpy b.npy 'np.array([True, False])'
    run "$POOL" -k 1 b.npy -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: b.npy: "*"'|b1'"* ]]
    mknpy c.npy 'np.zeros(4, np.complex64)'
    run "$POOL" -k 1 c.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: c.npy: unsupported dtype '<c8' (complex); supported: f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 (any byte order)" ]
    no_files_but b.npy c.npy
}

@test "raw input whose size does not match the shape says both sizes" {
    head -c 100 /dev/zero > r.raw
    run "$POOL" --shape 1x3x4x4 --dtype f32 -k 2 r.raw -o out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: r.raw: "*"192"*"100"* ]]
    run "$POOL" --shape 1x3x4x4 --dtype f32 -k 2 -o out.npy < r.raw
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdin>: "*"192"*"100"* ]]
    head -c 300 /dev/zero | { run "$POOL" --shape 1x3x4x4 -k 2 -o out.npy; [ "$status" -eq 1 ]; }
    no_files_but r.raw
}

@test "write errors are reported" {
    mknpy in.npy 'np.zeros((64, 64), np.float32)'
    run "$POOL" -k 2 in.npy -o no/such/dir/out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: no/such/dir/out.npy: cannot create a file in its folder"* ]]
    run bash -c '"$0" -k 2 in.npy > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: <stdout>: write failed"* ]]
    [ "${#lines[@]}" -eq 1 ]   # one message, not one per layer
}

@test "binary data is not written to a terminal" {
    command -v script >/dev/null || skip "no script(1)"
    mknpy in.npy 'np.zeros((4, 4), np.float32)'
    run script -qec "$POOL -k 2 in.npy" /dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"refusing to write binary data to a terminal"* ]]
}

@test "an interrupted run leaves no partial output" {
    mkfifo feed
    exec 5<>feed   # read-write: opening never blocks, and pool sees no end of data
    timeout 20 "$POOL" -k 2 --shape 1x1x2048x2048 -o out.npy feed 2>/dev/null &
    pid=$!
    head -c 1000000 /dev/zero >&5
    for _ in $(seq 50); do
        ls -A | grep -q '^\.out\.npy\.pool-' && break
        sleep 0.1
    done
    ls -A | grep -q '^\.out\.npy\.pool-'   # the temp file exists while it runs
    kill -TERM "$pid"
    wait "$pid" || true
    exec 5>&-
    no_files_but feed
}

@test "control bytes quoted from a damaged header are escaped: one line, no terminal codes" {
    printf 'P7\nWIDTH 37\033HEIGHT 2\n' > bad.pam
    run "$POOL" -k 2 bad.pam
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"37\\x1bHEIGHT"* ]]
}

@test "an output that is its own input is refused before anything is read, whatever the path says" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    cp a.npy keep.npy
    ln -s a.npy link.npy
    for args in "a.npy -o a.npy" "a.npy -o ./a.npy" "link.npy -o a.npy" "keep.npy a.npy -f pnm -o a.npy"; do
        run "$POOL" -k 2 $args
        [ "$status" -eq 2 ]
        [[ "$output" == "pool: "*": the output "*"a.npy is the input itself: write it elsewhere" ]]
        cmp a.npy keep.npy
    done
    run bash -c '"$POOL" -k 2 - -o a.npy < a.npy'
    [ "$status" -eq 2 ]
    [ "$output" = "pool: <stdin>: the output a.npy is the input itself: write it elsewhere" ]
    cmp a.npy keep.npy
    "$POOL" -k 2 a.npy -o /dev/null
}

@test "an input path longer than the system takes is named as such; long shared prefixes list right" {
    mknpy a.npy 'np.zeros((4, 4), np.float32)'
    long=$(printf 'x%.0s' $(seq 1 4100))
    run "$POOL" -k 2 "$long.npy" -o out.npy
    [ "$status" -eq 1 ]
    # (a subject this long shows its ends, so that the reason is said whole)
    [ "$output" = "pool: ${long:0:300}...${long:0:296}.npy: the path is longer than the system takes (4095 bytes)" ]
    # listed (or found in a folder), it is said and counted, and the others go on
    printf '%s\n' "$long.npy" a.npy > list
    run "$POOL" -k 2 --files-from list -O small
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == "pool: x"*"...x"*".npy: the path is longer than the system takes (4095 bytes)" ]]
    [ "${lines[1]}" = "pool: 1 written, 1 failed, 0 skipped" ]
    [ -f small/a.npy ]
    # 40 files whose names share long prefixes, across the list's restart points
    d=deep/$(printf 'folder_with_a_long_name_%.0s' 1 2 3 4 5)
    mkdir -p "$d"
    for i in $(seq -w 1 40); do cp a.npy "$d/item_$i.npy"; cp a.npy "$d/item_${i}_b.npy"; done
    "$POOL" -q -k 2 -R deep -f csv -o list.csv
    [ "$(cut -d, -f1 list.csv | tail -n +2)" = "$(cd . && find deep -name '*.npy' | LC_ALL=C sort)" ]
}
