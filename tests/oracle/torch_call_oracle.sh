#!/bin/sh
# Runs the --from-torch oracle test with Debian's python3 (numpy, torch).
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
py=${ORACLE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import numpy, torch' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "oracle: $py has no numpy or torch (Debian: python3-numpy python3-torch)"
fi
exec "$py" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/torch_call_oracle.py" "$@"
