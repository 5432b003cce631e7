#!/bin/sh
# stats.bats again with the portable kernels (POOL_KERNELS=portable): --stats figures
# come from the pooled rows, so both kinds of kernel must give the same ones.
POOL_KERNELS=portable
export POOL_KERNELS
exec "${BATS:-bats}" --tap "${TESTS_DIR:-$(dirname "$0")/..}/cli/stats.bats"
