#!/bin/sh
# image_oracle.sh again with the portable kernels (POOL_KERNELS=portable): the vector kernels,
# which the first run takes, and the portable loops must both match the oracle.
POOL_KERNELS=portable
export POOL_KERNELS
exec "${SHELL:-/bin/sh}" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/image_oracle.sh" "$@"
