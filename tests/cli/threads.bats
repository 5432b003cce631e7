#!/usr/bin/env bats
# Threads inside one tensor (-j N): a crew pools its planes at once and writes them in
# order, byte for byte what one thread writes; a failure stops every worker.

load helpers

# same_for_every_j SPEC...: the output with -j 2, 3 and 8 equals -j 1's, byte for byte.
same_for_every_j() {
    "$POOL" -j 1 "$@" t.npy -o j1.npy
    for j in 2 3 8; do
        "$POOL" -j "$j" "$@" t.npy -o "j$j.npy"
        cmp j1.npy "j$j.npy"
    done
}

@test "threads: every mode gives the same bytes on 1, 2, 3 and 8 threads" {
    mknpy t.npy 'np.random.default_rng(3).standard_normal((3, 5, 23, 19)).astype(np.float32)'
    for spec in "-k 2" "-m avg -k 3 -s 2 -p 1" "-m min -k 3 -s 1 -p 1 --ceil" "-m lp --norm 3 -k 2" \
        "-m median -k 3 -s 2" "-m gavg" "-m avg -k 2 -r 2" "-m max -k 3 -d 2"; do
        same_for_every_j $spec
    done
    # integers and casts on the way
    mknpy t.npy 'np.random.default_rng(4).integers(0, 7, (2, 9, 31, 17)).astype(np.uint8)'
    same_for_every_j -m mode -k 2
    same_for_every_j -m avg -k 2 --output-dtype f32
    # and against NumPy: the crew's planes land in order
    "$POOL" -j 3 -m max -k 2 t.npy -o m.npy
    npy_equal m.npy 'np.load("t.npy")[:, :, :30, :16].reshape(2, 9, 15, 2, 8, 2).max(axis=(3, 5))'
}

@test "threads: a 3-D pool and a channels-last tensor are split by their planes too" {
    mknpy t.npy 'np.random.default_rng(5).standard_normal((2, 3, 6, 10, 12)).astype(np.float64)'
    same_for_every_j -m avg -k 2
    mknpy t.npy 'np.random.default_rng(6).standard_normal((4, 10, 12, 3)).astype(np.float32)'
    same_for_every_j --layout nhwc -m max -k 2
}

@test "threads: a tensor cut short fails once, names the input, and writes nothing" {
    mknpy t.npy 'np.ones((1, 16, 64, 64), np.float32)'
    head -c 100000 t.npy > short.npy
    run "$POOL" -j 2 -k 2 short.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "pool: short.npy: "* ]]
    [ ! -e out.npy ]
    [ -z "$(ls -A | grep -v -x -e t.npy -e short.npy)" ]
}

@test "threads: an output that cannot be written fails once and stops the crew" {
    [ -w /dev/full ] || skip "no /dev/full"
    mknpy t.npy 'np.ones((1, 16, 64, 64), np.float32)'
    run "$POOL" -j 2 -k 2 t.npy -o /dev/full -f npy
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "pool: /dev/full: "* ]]
}

@test "threads: with statistics, indices or fmax (which keep to one thread) the output is the same" {
    mknpy t.npy 'np.random.default_rng(7).standard_normal((1, 6, 20, 20)).astype(np.float32)'
    "$POOL" -j 1 --stats=s1.jsonl -k 2 t.npy -o a1.npy
    "$POOL" -j 2 --stats=s2.jsonl -k 2 t.npy -o a2.npy
    cmp a1.npy a2.npy
    "$PY" -c 'import json, sys; a, b = (json.loads(open(f).readline()) for f in sys.argv[1:]); [x.pop(k, None) for x in (a, b) for k in ("seconds", "pool_seconds", "input")]; assert a == b, (a, b)' s1.jsonl s2.jsonl
    same_for_every_j -m fmax -k 2 --output-size 7 --seed 3
    same_for_every_j -m max -k 2 --indices idx.npy
}

@test "threads: small planes go to the workers in groups, the last group short" {
    # 3003 planes of one row: a turn per plane cost a hand-over between threads each
    mknpy t.npy 'np.random.default_rng(8).standard_normal((3, 1001, 37)).astype(np.float32)'
    same_for_every_j --layout ncl -m avg -k 3 -s 2
    same_for_every_j --layout ncl -m max -k 2 --output-dtype f64
    mknpy t.npy 'np.random.default_rng(9).integers(0, 9, (7, 131, 8, 8)).astype(np.uint8)'
    same_for_every_j -m mode -k 2
}
