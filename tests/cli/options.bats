#!/usr/bin/env bats
# Every option of the command line, checked against values worked out with NumPy.

load helpers

@test "--help and -h print the usage and exit 0" {
    run "$POOL" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage: pool [OPTIONS] [FILE|DIR...]"* ]]
    [[ "$output" == *"-R, --recursive"* ]]
    [[ "$output" == *"--output-size"* ]]
    run "$POOL" -h
    [ "$status" -eq 0 ]
    [[ "$output" == *"-P, --pass SPEC"* ]]
}

@test "-V and --version print the version, the codecs built in and the kernels that run" {
    run "$POOL" -V
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^pool\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    [[ "${lines[1]}" =~ ^codecs:\ png\ \(libpng\),\ jpeg\ \(libjpeg\),\ tiff\ \((not\ built:\ )?libtiff\),\ webp\ \((not\ built:\ )?libwebp\)$ ]]
    [[ "${lines[2]}" =~ ^kernels:\ (baseline|avx2|avx512)\  ]]
    [ "${#lines[@]}" -eq 3 ]
    POOL_KERNELS=portable run "$POOL" --version
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^kernels:\ portable\  ]]
}

@test "POOL_KERNELS: every level this processor runs writes the same bytes; others are refused" {
    mknpy a.npy 'np.random.default_rng(5).standard_normal((2, 3, 37, 29)).astype(np.float32)'
    "$PY" -c 'import numpy as np; a = np.load("a.npy"); a[0, 0, 3, 4] = np.nan; a[1, 2, 5, 6] = -0.0; np.save("a.npy", a)'
    best=$("$POOL" --version | sed -n 's/^kernels: \([a-z0-9]*\).*/\1/p')
    for spec in "-k 2" "-m avg -k 3 -s 2 -p 1" "-m min -k 3 -s 1 -p 1 --ceil" "-m avg -k 4 -s 2 --no-count-include-pad"; do
        POOL_KERNELS=portable "$POOL" $spec a.npy -o portable.npy
        for level in baseline avx2 avx512; do
            if POOL_KERNELS=$level "$POOL" $spec a.npy -o "$level.npy" 2>err; then
                cmp portable.npy "$level.npy"
            else
                # only a level past the best is refused, as a usage error that says so
                [ "$level" = avx512 ] || [ "$best" = baseline ]
                grep -q "^pool: POOL_KERNELS=$level: this processor or build has no $level" err
            fi
        done
    done
    POOL_KERNELS=sse9 run "$POOL" -k 2 a.npy -o b.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: POOL_KERNELS=sse9: not one of portable, baseline, avx2, avx512" ]
    [ ! -e b.npy ]
}

@test "max 2x2 by default mode, on nchw" {
    mknpy a.npy 'np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)'
    run "$POOL" -k 2 a.npy -o b.npy
    [ "$status" -eq 0 ]
    npy_equal b.npy 'np.arange(32, dtype=np.float32).reshape(1,2,2,2,2,2).max(axis=(3,5))'
}

@test "-m avg, -m min, --mode lp --norm" {
    mknpy a.npy 'np.arange(16, dtype=np.float64).reshape(4, 4)'
    "$POOL" -m avg -k 2 a.npy -o avg.npy
    npy_equal avg.npy 'np.arange(16.).reshape(2,2,2,2).mean(axis=(1,3))'
    "$POOL" --mode min --kernel 2 a.npy -o min.npy
    npy_equal min.npy 'np.arange(16.).reshape(2,2,2,2).min(axis=(1,3))'
    "$POOL" -m lp --norm 2 -k 2 a.npy -o lp.npy
    npy_equal lp.npy 'np.sqrt((np.arange(16.).reshape(2,2,2,2)**2).sum(axis=(1,3)))'
}

@test "-k HxW, -s and -p per axis" {
    mknpy a.npy 'np.arange(30, dtype=np.float32).reshape(5, 6)'
    run "$POOL" -k 3x2 -s 2x2 -p 1x0 a.npy -o b.npy
    [ "$status" -eq 0 ]
    # rows: windows [-1,2) [1,4) [3,6) clipped to 5 rows; columns: pairs
    npy_equal b.npy 'np.array([[7,9,11],[19,21,23],[25,27,29]], dtype=np.float32)'
}

@test "-d dilation and --ceil" {
    mknpy a.npy 'np.arange(7, dtype=np.float32)'
    "$POOL" -k 2 -d 3 -s 2 a.npy -o d.npy
    npy_equal d.npy 'np.array([3, 5], dtype=np.float32)'
    "$POOL" --layout l -m avg -k 2 --ceil a.npy -o c.npy
    npy_equal c.npy 'np.array([0.5, 2.5, 4.5, 6], dtype=np.float32)'
}

@test "padding counts in avg's divisor by default, as PyTorch's; --no-count-include-pad leaves it out" {
    mknpy a.npy 'np.ones((1, 3), dtype=np.float64)'
    "$POOL" -m avg -k 1x3 -s 1 -p 0x1 a.npy -o c.npy
    npy_equal c.npy 'np.array([[2/3, 1, 2/3]])'
    "$POOL" -m avg -k 1x3 -s 1 -p 0x1 --count-include-pad a.npy -o c2.npy
    cmp c.npy c2.npy
    "$POOL" -m avg -k 1x3 -s 1 -p 0x1 --no-count-include-pad a.npy -o n.npy
    npy_equal n.npy 'np.ones((1, 3))'
    "$POOL" -P avg:1x3,s=1,p=0x1,cip=0 a.npy -o n2.npy
    cmp n.npy n2.npy
}

@test "-P takes several specs separated by blanks, as -P each" {
    mknpy a.npy 'np.arange(64, dtype=np.float32).reshape(1, 8, 8)'
    "$POOL" -q -P " max:2  avg:2,s=1 " a.npy -o b.npy
    "$POOL" -q -P max:2 -P avg:2,s=1 a.npy -o c.npy
    cmp b.npy c.npy
    # max 2x2: 16i + 2j + 9; then avg 2x2 stride 1: 16i + 2j + 18
    npy_equal b.npy 'np.array([[[18, 20, 22], [34, 36, 38], [50, 52, 54]]], dtype=np.float32)'
    run "$POOL" -P "  " a.npy -o x.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -P '  ': no pass spec" ]
    run "$POOL" -P "max:2 nope" a.npy -o x.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: -P nope: unknown mode 'nope'"* ]]
}

@test "--divisor and div= divide every window by N (divisor_override), clipped ones too" {
    mknpy a.npy 'np.arange(1, 6, dtype=np.float64).reshape(1, 5)'
    "$POOL" -m avg -k 1x2 -s 1x2 -p 0x1 --divisor 4 a.npy -o d.npy
    # windows [pad,1] [2,3] [4,5]: sums 1, 5, 9, each over 4
    npy_equal d.npy 'np.array([[0.25, 1.25, 2.25]])'
    "$POOL" -P avg:1x2,s=1x2,p=0x1,div=4 a.npy -o d2.npy
    cmp d.npy d2.npy
    run "$POOL" -m max -k 2 --divisor 4 a.npy -o x.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: "*"divisor_override"*"avg only"* ]]
    run "$POOL" -m avg --output-size 2 --divisor 4 a.npy -o x.npy
    [ "$status" -eq 2 ]
    run "$POOL" -m avg -k 2 --divisor 0 a.npy -o x.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: --divisor 0: bad number"* ]]
    run "$POOL" -m avg -k 2 --no-count-include-pad -m max a.npy -o x.npy
    [ "$status" -eq 2 ]
    # integers saturate; an image's alpha weighting steps aside, each channel over N
    "$PY" -c '
import numpy as np; from PIL import Image
Image.fromarray(np.array([[[200, 100, 20, 200], [200, 100, 20, 0]]] * 2, np.uint8), "RGBA").save("a.png")'
    "$POOL" -q -m avg -k 2 --divisor 8 a.png -o d8.png
    "$POOL" -q -m avg -k 2 --divisor 1 a.png -o d1.png
    "$PY" -c '
import numpy as np; from PIL import Image
assert np.asarray(Image.open("d8.png")).tolist() == [[[100, 50, 10, 50]]], np.asarray(Image.open("d8.png"))
assert np.asarray(Image.open("d1.png")).tolist() == [[[255, 255, 80, 255]]], np.asarray(Image.open("d1.png"))'
}

@test "--output-size: adaptive pooling" {
    mknpy a.npy 'np.arange(10, dtype=np.float32).reshape(1, 1, 10)'
    "$POOL" --layout ncl -m avg --output-size 3 a.npy -o b.npy
    # windows [0,4) [3,7) [6,10)
    npy_equal b.npy 'np.array([[[1.5, 4.5, 7.5]]], dtype=np.float32)'
}

@test "global modes keep spatial axes of size 1" {
    mknpy a.npy 'np.arange(24, dtype=np.int32).reshape(2, 3, 4)'
    "$POOL" -m gmax a.npy -o max.npy
    npy_equal max.npy 'np.array([11, 23], dtype=np.int32).reshape(2, 1, 1)'
    "$POOL" -m gavg a.npy -o avg.npy
    npy_equal avg.npy 'np.array([6, 18], dtype=np.int32).reshape(2, 1, 1)'
    "$POOL" -m gmin a.npy -o min.npy
    npy_equal min.npy 'np.array([0, 12], dtype=np.int32).reshape(2, 1, 1)'
}

@test "-r repeats the pass; -P chains passes in order" {
    mknpy a.npy 'np.arange(256, dtype=np.float32).reshape(16, 16)'
    "$POOL" -k 2 -r 3 a.npy -o r.npy
    npy_equal r.npy 'np.arange(256, dtype=np.float32).reshape(2,8,2,8).max(axis=(1,3))'
    "$POOL" -P max:2 -P max:2 -P max:2 a.npy -o p.npy
    cmp r.npy p.npy
    "$POOL" -P max:3,s=2,p=1 -P avg:2 -P gavg a.npy -o chain.npy
    "$POOL" -P max:3,s=2,p=1 a.npy | "$POOL" -P avg:2 | "$POOL" -P gavg > piped.npy
    cmp chain.npy piped.npy
    run npy_show chain.npy
    [ "$output" = "float32 (1, 1)" ]
}

@test "-P with keys: k s p d ceil cip norm out" {
    mknpy a.npy 'np.arange(7, dtype=np.float32)'
    "$POOL" -P max,k=2,d=3,s=2 a.npy -o a1.npy
    npy_equal a1.npy 'np.array([3, 5], dtype=np.float32)'
    "$POOL" -P avg:2,ceil a.npy -o a2.npy
    npy_equal a2.npy 'np.array([0.5, 2.5, 4.5, 6], dtype=np.float32)'
    "$POOL" -P avg:3,s=3,p=1,cip=1 a.npy -o a3.npy
    npy_equal a3.npy 'np.array([1/3, 3, 11/3], dtype=np.float32)'
    "$POOL" -P lp:7,norm=1 a.npy -o a4.npy
    npy_equal a4.npy 'np.array([21], dtype=np.float32)'
    "$POOL" -P avg,out=2 a.npy -o a5.npy
    npy_equal a5.npy 'np.array([1.5, 4.5], dtype=np.float32)'
}

@test "--layout hwc pools each channel of a channels-last tensor" {
    mknpy a.npy 'np.stack([np.arange(16).reshape(4,4), 100 + np.arange(16).reshape(4,4)], -1).astype(np.uint8)'
    "$POOL" --layout hwc -k 2 a.npy -o b.npy
    npy_equal b.npy 'np.stack([np.array([[5,7],[13,15]]), 100 + np.array([[5,7],[13,15]])], -1).astype(np.uint8)'
}

@test "3-D: ncdhw with a DxHxW kernel" {
    mknpy a.npy 'np.arange(2*4*4*6, dtype=np.float64).reshape(1, 2, 4, 4, 6)'
    "$POOL" -m avg -k 2x2x3 a.npy -o b.npy
    npy_equal b.npy 'np.arange(2*4*4*6, dtype=np.float64).reshape(1,2,2,2,2,2,2,3).mean(axis=(3,5,7))'
}

@test "integer averages round half up, exactly" {
    mknpy a.npy 'np.array([[0, 1, 2, 2, 254, 255]], dtype=np.uint8)'
    "$POOL" -m avg -k 1x2 a.npy -o b.npy
    npy_equal b.npy 'np.array([[1, 2, 255]], dtype=np.uint8)'
    mknpy s.npy 'np.array([[-1, -2, -3, 4]], dtype=np.int16)'
    "$POOL" -m avg -k 1x2 s.npy -o t.npy
    npy_equal t.npy 'np.array([[-2, 1]], dtype=np.int16)'
}

@test "-f raw and the .raw extension write bare elements" {
    mknpy a.npy 'np.arange(16, dtype=np.float32).reshape(4, 4)'
    "$POOL" -k 2 -f raw a.npy > b.raw
    [ "$(stat -c %s b.raw)" -eq 16 ]
    "$POOL" -k 2 a.npy -o c.raw
    cmp b.raw c.raw
    "$PY" -c 'import numpy as np; assert (np.fromfile("c.raw", np.float32) == [5, 7, 13, 15]).all()'
}

@test "-q is accepted" {
    mknpy a.npy 'np.zeros((2, 2), np.float32)'
    run "$POOL" -q -k 2 a.npy -o b.npy
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "option errors name the option: clustered short ones, flags given a value, abbreviations" {
    run "$POOL" -k 2 -xq a.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -x: unknown option (see pool --help)" ]
    run "$POOL" --ceil=1 -k 2 a.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --ceil takes no value" ]
    run "$POOL" --c -k 2 a.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --c: ambiguous, say which option (see pool --help)" ]
    run "$POOL" -k
    [ "$output" = "pool: -k: needs a value" ]
    # -O - is not stdout (it made a folder named -)
    run "$POOL" -k 2 -O - a.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: -O -: -O takes a folder (./- for one named -); for standard output give -o -" ]
    [ ! -e - ]
}

@test "a dilated kernel spanning more than 2^40 elements is refused, not wrapped" {
    run "$POOL" -k 4294967297 -d 4294967296 a.npy
    [ "$status" -eq 2 ]
    [[ "$output" == *"dilation 4294967296 times kernel 4294967297 spans more than 2^40 elements" ]]
}

@test "--help, --version and --plan fail when stdout cannot be written" {
    [ -w /dev/full ] || skip "no /dev/full"
    run bash -c '"$0" --help > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    run bash -c '"$0" --version > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    run bash -c '"$0" --plan 3x8x8 -k 2 > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdout>: write failed" ]
}
