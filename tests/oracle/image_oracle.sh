#!/bin/sh
# Runs the image oracle test with Debian's python3 (numpy, Pillow, skimage's photographs).
#
# Skips when they are missing, except under scripts/test and in CI, where that fails
# (tests/skips.sh).
py=${ORACLE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import numpy, PIL, png, skimage' 2>/dev/null; then
    . "${TESTS_DIR:-$(dirname "$0")/..}/skips.sh"
    skip_all "oracle: $py lacks numpy, PIL, png or skimage (Debian: python3-pil python3-png python3-skimage)"
fi
exec "$py" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/image_oracle.py" "$@"
