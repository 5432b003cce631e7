#!/bin/sh
# Runs the image oracle test with Debian's python3 (numpy, Pillow, skimage's photographs).
# Skips (77) when they are missing, unless POOL_REQUIRE_ORACLE is set, as scripts/test does.
py=${ORACLE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import numpy, PIL, skimage' 2>/dev/null; then
    echo "oracle: $py lacks numpy, PIL or skimage (Debian: python3-pil python3-skimage)"
    [ -n "${POOL_REQUIRE_ORACLE:-}" ] && exit 1
    exit 77
fi
exec "$py" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/image_oracle.py" "$@"
