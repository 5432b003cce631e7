#!/bin/sh
# Runs the PyTorch oracle test with Debian's python3 (numpy, torch). Skips (77) when they are
# missing, unless POOL_REQUIRE_ORACLE is set, as scripts/test does.
py=${ORACLE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import numpy, torch' 2>/dev/null; then
    echo "oracle: $py has no numpy or torch (Debian: python3-numpy python3-torch)"
    [ -n "${POOL_REQUIRE_ORACLE:-}" ] && exit 1
    exit 77
fi
exec "$py" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/torch_oracle.py" "$@"
