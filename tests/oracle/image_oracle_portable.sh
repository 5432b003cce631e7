#!/bin/sh
# image_oracle.sh again with the portable kernels (POOL_KERNELS=portable) on one thread (-j 1):
# the vector kernels and the crew of threads, which the first run takes, and the portable
# loops on one thread must both match the oracle.
POOL_KERNELS=portable
POOL_ORACLE_ARGS='-j 1'
export POOL_KERNELS POOL_ORACLE_ARGS
exec "${SHELL:-/bin/sh}" "${TESTS_DIR:-$(dirname "$0")/..}/oracle/image_oracle.sh" "$@"
