#!/usr/bin/env bats
# Input and output: .npy of every type and byte order, raw, stdin and stdout, atomic output.

load helpers

@test "every element type survives a kernel-1 pass unchanged" {
    for t in uint8 int8 uint16 int16 uint32 int32 uint64 int64 float16 float32 float64; do
        mknpy "$t.npy" "(np.arange(60) * 37 % 251 - (0 if np.dtype('$t').kind == 'u' else 100)).astype('$t').reshape(3, 4, 5)"
        "$POOL" -k 1 "$t.npy" -o "out-$t.npy"
        npy_equal "out-$t.npy" "np.load('$t.npy')"
    done
}

@test "every element type pools: max and avg of 2x2 against NumPy" {
    for t in uint8 int8 uint16 int16 uint32 int32 uint64 int64 float16 float32 float64; do
        mknpy "$t.npy" "(np.arange(64) * 37 % 101 - (0 if np.dtype('$t').kind == 'u' else 50)).astype('$t').reshape(8, 8)"
        "$POOL" -k 2 "$t.npy" -o "max-$t.npy"
        npy_equal "max-$t.npy" "np.load('$t.npy').reshape(4,2,4,2).max(axis=(1,3))"
        "$POOL" -m avg -k 2 "$t.npy" -o "avg-$t.npy"
        if [ "${t#float}" != "$t" ]; then
            want="np.load('$t.npy').astype(np.float64).reshape(4,2,4,2).mean(axis=(1,3)).astype('$t')"
        else   # round half away from zero
            want="(lambda m: (np.sign(m) * np.floor(np.abs(m) + 0.5)).astype('$t'))(np.load('$t.npy').astype(np.float64).reshape(4,2,4,2).mean(axis=(1,3)))"
        fi
        npy_equal "avg-$t.npy" "$want"
    done
}

@test "big-endian .npy input is read correctly and written little-endian" {
    mknpy be.npy 'np.arange(16).reshape(4, 4).astype(">f4")'
    "$POOL" -k 2 be.npy -o le.npy
    npy_equal le.npy 'np.array([[5, 7], [13, 15]], dtype="<f4")'
    mknpy be8.npy 'np.arange(16).reshape(4, 4).astype(">i8") - 8'
    "$POOL" -m avg -k 2 be8.npy -o le8.npy
    npy_equal le8.npy 'np.array([[-6, -4], [3, 5]], dtype="<i8")'  # -5.5 and -3.5 round away from zero
}

@test ".npy versions 2.0 and 3.0 are read" {
    "$PY" - <<'PY'
import numpy as np
from numpy.lib import format as fmt
a = np.arange(16, dtype=np.float32).reshape(4, 4)
for v in [(2, 0), (3, 0)]:
    with open(f"v{v[0]}.npy", "wb") as f:
        fmt.write_array(f, a, version=v)
PY
    "$POOL" -k 2 v2.npy -o o2.npy
    "$POOL" -k 2 v3.npy -o o3.npy
    npy_equal o2.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    cmp o2.npy o3.npy
}

@test "Fortran-ordered .npy input is transposed correctly" {
    mknpy f.npy 'np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4))'
    "$POOL" -m avg -k 1x2 f.npy -o c.npy
    npy_equal c.npy 'np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2).mean(axis=3)'
}

@test "stdin to stdout, and - for both" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    "$POOL" -k 2 < a.npy > b.npy
    npy_equal b.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    cat a.npy | "$POOL" -k 2 - -o - > c.npy
    cmp b.npy c.npy
}

@test "raw in with --shape and --dtype, from a file and from a pipe" {
    "$PY" -c 'import numpy as np; np.arange(2*4*4, dtype=np.uint16).tofile("in.raw")'
    "$POOL" --shape 2x4x4 --dtype u16 -m avg -k 2 in.raw -o out.npy
    npy_equal out.npy 'np.floor(np.arange(32, dtype=np.float64).reshape(2,2,2,2,2).mean(axis=(2,4)) + 0.5).astype(np.uint16)'
    cat in.raw | "$POOL" --shape 2x4x4 --dtype u16 -k 2 > out.raw
    "$PY" -c 'import numpy as np; a = np.fromfile("out.raw", np.uint16); assert (a == np.arange(32).reshape(2,2,2,2,2).max(axis=(2,4)).ravel()).all(), a'
    "$POOL" --shape 2x4x4 --dtype u16 -k 2 in.raw -f npy > out2.npy
    npy_equal out2.npy 'np.arange(32, dtype=np.uint16).reshape(2,2,2,2,2).max(axis=(2,4))'
}

@test "the output replaces an existing file (never the input: errors.bats)" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    echo old > out.npy
    "$POOL" -k 2 a.npy -o out.npy
    npy_equal out.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    no_files_but a.npy out.npy
}

@test "the output file gets ordinary permissions" {
    mknpy a.npy 'np.zeros((2, 2), np.float32)'
    umask 022
    "$POOL" -k 2 a.npy -o out.npy
    [ "$(stat -c %a out.npy)" = 644 ]
}

@test "NaN propagates through max and min, as in PyTorch" {
    mknpy a.npy 'np.array([[1, np.nan, 3, 4]], dtype=np.float32)'
    "$POOL" -k 1x2 a.npy -o max.npy
    npy_equal max.npy 'np.array([[np.nan, 4]], dtype=np.float32)'
    "$POOL" -m min -k 1x2 a.npy -o min.npy
    npy_equal min.npy 'np.array([[np.nan, 3]], dtype=np.float32)'
}

@test "a tall input is pooled in a pipeline without holding it whole" {
    # 1x4x4096x256 float32 is 16 MiB; the output row count checks the streaming order.
    "$PY" -c 'import numpy as np; np.save("t.npy", np.random.default_rng(1).standard_normal((1, 4, 4096, 256), dtype=np.float32))'
    "$POOL" -k 2 t.npy | "$POOL" -m avg -k 2 -o out.npy
    npy_equal out.npy 'np.load("t.npy").reshape(1,4,2048,2,128,2).max(axis=(3,5)).astype(np.float64).reshape(1,4,1024,2,64,2).mean(axis=(3,5)).astype(np.float32)'
}

@test "a FIFO or device is written in place, never replaced; a symlink stays a link" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    mkfifo out.fifo
    cat out.fifo > got.npy &
    "$POOL" -k 2 a.npy -o out.fifo
    wait
    [ -p out.fifo ]
    npy_equal got.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    touch target.npy
    ln -s target.npy link.npy
    "$POOL" -k 2 a.npy -o link.npy
    [ -L link.npy ]
    npy_equal target.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    "$POOL" -k 2 a.npy -o /dev/null
    [ -c /dev/null ]
}

@test "replacing an existing output keeps its permissions" {
    mknpy a.npy 'np.zeros((4, 4), np.float32)'
    touch private.npy
    chmod 600 private.npy
    "$POOL" -k 2 a.npy -o private.npy
    [ "$(stat -c %a private.npy)" = "600" ]
    npy_equal private.npy 'np.zeros((2, 2), np.float32)'
}

@test "an output whose name is near NAME_MAX is written (its temp name stays short enough)" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    long=$(printf 'n%.0s' $(seq 1 251)).npy   # 255 bytes, the most a name may have
    "$POOL" -k 2 a.npy -o "$long"
    npy_equal "$long" 'np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2).max(axis=(1, 3))'
    [ "$(ls -A | wc -l)" -eq 2 ]
}

@test "one output: --force changes nothing, --skip-existing leaves an existing output alone" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    "$POOL" -k 2 a.npy -o out.npy --force
    npy_equal out.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    echo old > kept.npy
    run "$POOL" -k 2 a.npy -o kept.npy --skip-existing
    [ "$status" -eq 0 ]
    [ "$output" = "pool: kept.npy: exists: nothing done (--skip-existing)" ]
    [ "$(cat kept.npy)" = old ]
    "$POOL" -k 2 a.npy -o new.npy --skip-existing
    npy_equal new.npy 'np.array([[5, 7], [13, 15]], dtype=np.float32)'
    run "$POOL" -k 2 a.npy --skip-existing
    [ "$status" -eq 2 ]
}
