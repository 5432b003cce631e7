#!/bin/sh
# Cross-checks the .npy codec against real NumPy: saves arrays of every dtype, both byte
# orders, C and Fortran order, format versions 1.0, 2.0 and 3.0, then runs the unit test
# with NPY_FIXTURE_DIR pointing at them. The test reads each one back (every element must
# equal its C-order index) and writes the little-endian C-order ones again, which must come
# out byte for byte as NumPy saved them.
#
# Usage: tests/unit/npy_numpy_check.sh [TEST_COMMAND]   (default $TEST_NPY, else /tmp/test_npy; may have
# words, e.g. "valgrind -q --error-exitcode=1 /tmp/test_npy")
# Needs Debian's /usr/bin/python3 with numpy (apt-get install python3-numpy); the python3
# on PATH may be another one without numpy.
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
set -eu

test_command=${1:-${TEST_NPY:-/tmp/test_npy}}
python=${ORACLE_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import numpy' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "npy_numpy_check: $python has no numpy"
fi

dir=$(mktemp -d /tmp/npy_fixtures.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$python" - "$dir" <<'EOF'
import os
import sys

import numpy as np

out = sys.argv[1]
codes = ["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"]
base = np.arange(24).reshape(2, 3, 4)

for code in codes:
    for order_name, byte_order in (("le", "<"), ("be", ">")):
        c_array = base.astype(byte_order + code)
        for layout, array in (("C", c_array), ("F", np.asfortranarray(c_array))):
            for version in (1, 2, 3):
                name = "%s_%s_%s_v%d.npy" % (code, order_name, layout, version)
                with open(os.path.join(out, name), "wb") as f:
                    np.lib.format.write_array(f, array, version=(version, 0))

shapes = {"shape_1d": (7,), "shape_5d": (1, 2, 3, 2, 2), "shape_wide": (1, 1000)}
for name, shape in shapes.items():
    count = int(np.prod(shape))
    np.save(os.path.join(out, name + ".npy"), np.arange(count, dtype="<f4").reshape(shape))
EOF

# Unquoted on purpose: the command may be a wrapper with its arguments.
NPY_FIXTURE_DIR=$dir $test_command
