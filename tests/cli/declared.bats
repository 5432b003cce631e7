#!/usr/bin/env bats
# A header may declare a huge image and deliver a few bytes: pool must fail as soon as the
# data runs out (or, from a regular file, as soon as the header is read), never spend time
# in proportion to the size the header merely declares. Each case runs under a generous
# `timeout 10`: a hang or a minutes-long setup fails, a slow machine does not.

load helpers

# huge_png FILE INTERLACE: 2 x 500,000,000 gray pixels declared, 10 rows of data.
huge_png() {
    "$PY" - "$1" "$2" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
ihdr = struct.pack('>IIBBBBB', 2, 500000000, 8, 0, 0, 0, int(sys.argv[2]))
rows = b''.join(b'\x00\x01\x02' for _ in range(10))
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
                              chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
PY
}

# huge_jpeg FILE PROGRESSIVE: a 64x64 JPEG whose frame header claims 16000 x 65000.
huge_jpeg() {
    "$PY" - "$1" "$2" <<'PY'
import io, struct, sys
from PIL import Image
progressive = sys.argv[2] == '1'
b = io.BytesIO()
Image.new('RGB', (64, 64), (100, 150, 200)).save(b, 'JPEG', progressive=progressive)
j = bytearray(b.getvalue())
i = j.index(b'\xff\xc2' if progressive else b'\xff\xc0')
j[i + 5:i + 9] = struct.pack('>HH', 65000, 16000)
open(sys.argv[1], 'wb').write(bytes(j))
PY
}

# huge_npy FILE: shape (1, 1, 500000000, 2) u8, two bytes of data.
huge_npy() {
    "$PY" - "$1" <<'PY'
import struct, sys
hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 500000000, 2), }"
hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
open(sys.argv[1], 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + b'\x01\x02')
PY
}

# fails_fast MESSAGE CMD...: CMD exits 1 within the limit, with MESSAGE in its output, and
# leaves no output file.
fails_fast() {
    local want=$1
    shift
    run timeout 10 "$@"
    [ "$status" -eq 1 ] || { echo "status $status (124 is the timeout): $output"; return 1; }
    [[ "$output" == *"$want"* ]] || { echo "output: $output"; return 1; }
    [ ! -e out.npy ] && [ ! -e out.png ]
}

# Every per-file feature that is set up before the first row: the passes, the PSNR
# estimate, --stats, the shift test, saved passes.
OPTION_SETS=("-q" "" "--stats=stats.jsonl --shift-test" "-q --save-passes saved")

each_option_set() {
    local want=$1 input=$2
    mkdir -p saved
    for opts in "${OPTION_SETS[@]}"; do
        # shellcheck disable=SC2086
        fails_fast "$want" "$POOL" $opts -m avg -k 3 -s 2 -p 1 "$input" -o out.npy
    done
}

@test "PNM files declaring 2^29 rows fail at the header, naming both sizes" {
    printf 'P5\n2 536870912\n255\n\x01' > tall.pgm
    each_option_set "pool: tall.pgm: truncated PNM data: the header declares 2x536870912 pixels, which need 1073741824 bytes of samples, and the file has 1 byte after it" tall.pgm
    printf 'P6\n2 536870912\n255\n\x01\x02\x03' > tall.ppm
    each_option_set "need 3221225472 bytes of samples, and the file has 3 bytes after it" tall.ppm
    printf 'P4\n8 134217728\n\x01' > tall.pbm
    each_option_set "need 134217728 bytes of samples, and the file has 1 byte after it" tall.pbm
    printf 'P2\n2 536870912\n255\n1 2 3' > plain.pgm
    each_option_set "need at least 2147483647 bytes of samples, and the file has 5 bytes" plain.pgm
    printf 'P7\nWIDTH 2\nHEIGHT 536870912\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\x01' > tall.pam
    each_option_set "pool: tall.pam: truncated PNM data: the header declares 2x536870912 pixels" tall.pam
}

@test "PNM through a pipe declaring 2^29 rows fails when its data runs out" {
    for opts in "${OPTION_SETS[@]}"; do
        mkdir -p saved
        printf 'P5\n2 536870912\n255\n\x01' |
            fails_fast "pool: <stdin>: truncated PNM data (row 1 of 536870912)" "$POOL" $opts -m max -k 2 -o out.npy
        printf 'P7\nWIDTH 2\nHEIGHT 536870912\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01\x02\x03' |
            fails_fast "pool: <stdin>: truncated PNM data (row 2 of 536870912)" "$POOL" $opts -m max -k 2 -o out.npy
    done
}

@test "a PNG declaring 500,000,000 rows with a 10-row IDAT fails at row 11" {
    huge_png tall.png 0
    each_option_set "pool: tall.png: bad PNG data (row 11 of 500000000)" tall.png
    huge_png interlaced.png 1
    each_option_set "pool: interlaced.png: bad PNG data (interlace pass 1 of 7" interlaced.png
}

@test "a JPEG declaring 16000x65000 pixels with 64x64 of data fails at once" {
    huge_jpeg tall.jpg 0
    each_option_set "pool: tall.jpg: corrupt JPEG data: premature end of data segment" tall.jpg
    huge_jpeg progressive.jpg 1
    # a progressive one would be held whole as coefficients: refused before any is allocated
    each_option_set "pool: progressive.jpg: a progressive JPEG, held whole as DCT coefficients, needs 2.9 GiB, more than the memory budget of 1 GiB (--max-memory)" progressive.jpg
}

@test ".npy declaring (1, 1, 500000000, 2) fails at once, from a file and from a pipe" {
    huge_npy tall.npy
    each_option_set "pool: tall.npy: truncated data: expected 1000000000 bytes of array data, got 2" tall.npy
    for opts in "${OPTION_SETS[@]}"; do
        mkdir -p saved
        fails_fast "pool: <stdin>: truncated data: expected 1000000000 bytes of array data, got 2" \
            sh -c "cat tall.npy | \"\$0\" $opts -m max -k 2 -o out.npy" "$POOL"
    done
}

@test "raw input with a huge --shape fails at once, from a file and from a pipe" {
    printf '\x01\x02\x03' > tall.raw
    fails_fast "pool: tall.raw: size mismatch: shape 1x1x500000000x2 u8 needs 1000000000 bytes, the input has 3 bytes" \
        "$POOL" --shape 1x1x500000000x2 --dtype u8 -m max -k 2 tall.raw -o out.npy
    for opts in "${OPTION_SETS[@]}"; do
        mkdir -p saved
        fails_fast "pool: <stdin>: size mismatch: shape 1x1x500000000x2 u8 needs 1000000000 bytes, the input has 3 bytes" \
            sh -c "printf '\\001\\002\\003' | \"\$0\" $opts --shape 1x1x500000000x2 --dtype u8 -m max -k 2 -o out.npy" "$POOL"
    done
}

@test "a 3-D tensor declaring 2^30 rows of depth fails at once" {
    "$PY" - <<'PY'
import struct
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1073741824, 4, 4), }"
hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
open('deep.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + b'\0' * 64)
PY
    fails_fast "pool: <stdin>: truncated data: expected 68719476736 bytes of array data, got 64" \
        sh -c 'cat deep.npy | "$0" -q -m avg -k 3 -s 2 -p 1 -o out.npy' "$POOL"
}

@test "--plan takes no time in proportion to the sizes it prints" {
    # adaptive outputs of 16.7 million elements, and an axis of 10^12
    run timeout 10 "$POOL" --plan 1x1x16777216 -m max --output-size 16777215
    [ "$status" -eq 0 ]
    [[ "$output" == *"1x16777215x16777215"* ]]
    run timeout 10 "$POOL" --plan 1x1x1000000000000 --layout ncl -P max:3,s=2,p=1,d=2 -P avg:2 -P lp:3,s=3
    [ "$status" -eq 0 ]
    # max 3 s2 d2 reads only odd indices: 50%; avg 2 reads all; Lp 3 s3 reads all
    [[ "$output" == *"1     max     1x1x499999999999 (NCL)   2              5              50.0%"* ]]
    [[ "$output" == *"3     lp      1x1x83333333333 (NCL)    12             15             100.0%"* ]]
}
