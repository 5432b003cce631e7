# Shared set-up for the bats tests of the command line.
# POOL (the binary) and ORACLE_PYTHON (Debian's python3 with numpy) come from make check.

POOL=${POOL:-$BATS_TEST_DIRNAME/../../build/pool}
PY=${ORACLE_PYTHON:-/usr/bin/python3}

# Real photographs: Debian's python3-skimage ships them in its data/ folder, found through
# the oracle Python so that no path is written down twice. Empty when it is missing; tests
# that need it call need_photos.
DATA=$("$PY" -c 'import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), "data"))' 2>/dev/null) || DATA=
export DATA

# The skip policy (tests/skips.sh): under scripts/test and in CI a skip fails the test
# unless its reason holds on every machine. bats's own skip stays, behind the policy.
. "$BATS_TEST_DIRNAME/../skips.sh"
eval "$(declare -f skip | sed '1s/^skip /bats_skip /')"
skip() {
    if skips_strict && ! skip_allowed "${1:-}"; then
        echo "a skip is a failure under scripts/test and in CI: ${1:-no reason given}" >&2
        return 1
    fi
    bats_skip "$@"
}

need_photos() {
    [ -n "$DATA" ] && [ -f "$DATA/astronaut.png" ] || skip "no skimage photographs (python3-skimage) for $PY"
}

# photo_tree: photos/, a tree of real photographs with odd names (spaces, a quote, a leading
# dash), a hidden folder and a text file.
photo_tree() {
    need_photos
    mkdir -p photos/a/b "photos/with space" photos/.hidden "photos/-dash"
    cp "$DATA/astronaut.png" photos/
    cp "$DATA/camera.png" photos/a/
    cp "$DATA/chelsea.png" photos/a/b/
    cp "$DATA/coffee.png" "photos/with space/it's 1.png"
    cp "$DATA/camera.png" "photos/-dash/-x.png"
    cp "$DATA/camera.png" photos/.hidden/
    echo "not an image" > photos/notes.txt
}

setup() {
    TMP=$(mktemp -d)
    cd "$TMP" || return 1
}

teardown() {
    rm -rf "$TMP"
}

# mknpy FILE EXPR: saves the NumPy array EXPR (np is numpy) to FILE.
mknpy() {
    "$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], eval(sys.argv[2]))' "$1" "$2"
}

# npy_equal FILE EXPR: succeeds when FILE holds exactly EXPR (same shape, dtype, values).
npy_equal() {
    "$PY" - "$1" "$2" <<'PY'
import sys, numpy as np
got = np.load(sys.argv[1])
want = np.asarray(eval(sys.argv[2]))
if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(got, want, equal_nan=True):
    print(f"got {got.dtype} {got.shape}:\n{got}\nwant {want.dtype} {want.shape}:\n{want}")
    sys.exit(1)
PY
}

# npy_show FILE: prints shape and dtype, for asserting on them.
npy_show() {
    "$PY" -c 'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape)' "$1"
}

# no_files_but EXPECTED...: the test folder holds exactly these files (no leftovers).
no_files_but() {
    local got want
    got=$(ls -A | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || { echo "files: $got, want: $want"; return 1; }
}
